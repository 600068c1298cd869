#!/usr/bin/env python3
"""Load for the soak, posting like SNS does: each message of a slice of the signed messages file
is posted once, at a steady total rate spread over a few concurrent posters; a message that is
not acknowledged (503, another 5xx, 408, 429, a connection refused or reset by a killed relay,
a timeout) is posted again later with the same body, until it gets a 200 or the drain window
ends. A 4xx other than 408 and 429 is final, as it is for SNS (the message would be lost: the
soak counts it as a failure).

The fresh phase lasts --duration seconds, or until the slice runs out (reported), or until the
poster gets SIGUSR1 (the soak sends it once its kills are done, however long they took); then
only retries are sent, for at most --drain more seconds. With several --url (replicas), fresh
message i goes to url i mod n and each retry to the next url, as a load balancer would send a
retry elsewhere.

Writes OUT.attempts.jsonl (one line per POST: t, id, url index, attempt, result), OUT.acked
(the MessageIds answered 200, one a line) and OUT.json:
  sent, acked, refused, unacked, attempts, fresh_rate (achieved), latency_ms_200 {p50, p99, max},
  results {"200 recorded": n, "503 store_busy": n, "error ConnectionRefusedError": n, ...},
  recorded_twice [MessageIds answered "recorded" more than once: a message processed twice],
  slice_ran_out, fresh_seconds, seconds
and prints a one-line summary on stderr.
"""
import argparse
import heapq
import http.client
import json
import random
import signal
import sys
import threading
import time
import urllib.parse

HEADERS = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"}
RETRIED = {408, 429}
REQUEST_TIMEOUT = 15.0


class Message:
    __slots__ = ("index", "body", "message_id", "attempts", "recorded", "final")

    def __init__(self, index, body, message_id):
        self.index, self.body, self.message_id = index, body, message_id
        self.attempts = 0
        self.recorded = 0
        self.final = None  # "acked" or "refused" once settled


class Soak:
    def __init__(self, args, messages):
        self.args = args
        self.messages = messages
        self.urls = [urllib.parse.urlsplit(url) for url in args.url]
        self.lock = threading.Lock()
        self.retries = []  # heap of (due, sequence, message)
        self.sequence = 0
        self.next_fresh = 0
        self.in_flight = 0
        self.results = {}
        self.attempt_lines = []
        self.t0 = time.monotonic()
        self.fresh_end = self.t0 + args.duration
        self.deadline = self.fresh_end + args.drain
        self.fresh_stopped_at = None
        self.latencies = []  # seconds, of the POSTs answered 200

    def end_fresh_phase(self, *_):
        with self.lock:
            now = time.monotonic()
            if now < self.fresh_end:
                self.fresh_end = now
                self.deadline = now + self.args.drain

    def fresh_due(self, index):
        return self.t0 + index / self.args.rate

    def take(self):
        """The next message to post and its url index, None to wait a little, or False when done."""
        with self.lock:
            now = time.monotonic()
            if now >= self.deadline:
                return False
            if self.retries and self.retries[0][0] <= now:
                _, _, message = heapq.heappop(self.retries)
                self.in_flight += 1
                return message, (message.index + message.attempts) % len(self.urls)
            fresh_open = now < self.fresh_end and self.next_fresh < len(self.messages)
            if fresh_open and self.fresh_due(self.next_fresh) <= now:
                message = self.messages[self.next_fresh]
                self.next_fresh += 1
                self.in_flight += 1
                return message, message.index % len(self.urls)
            if not fresh_open and self.fresh_stopped_at is None:
                self.fresh_stopped_at = now
            if not fresh_open and not self.retries and self.in_flight == 0:
                return False
            return None

    def settle(self, message, result, url_index, started):
        with self.lock:
            self.in_flight -= 1
            if result.startswith("200 "):
                self.latencies.append(time.monotonic() - started)
            self.results[result] = self.results.get(result, 0) + 1
            self.attempt_lines.append(json.dumps({"t": round(started - self.t0, 3), "id": message.message_id, "url": url_index,
                                                  "attempt": message.attempts, "result": result}))
            status = result.split(" ", 1)[0]
            if status == "200":
                message.final = "acked"
                if result == "200 recorded":
                    message.recorded += 1
            elif status.isdigit() and 400 <= int(status) < 500 and int(status) not in RETRIED:
                message.final = "refused"
            else:
                # SNS retries later with the same body; jitter spreads a burst of failures.
                due = time.monotonic() + self.args.retry_delay * random.uniform(0.5, 1.5)
                self.sequence += 1
                heapq.heappush(self.retries, (due, self.sequence, message))

    def post(self, connections, url_index, body):
        parts = self.urls[url_index]
        connection = connections.get(url_index)
        if connection is None:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
            connections[url_index] = connection
        try:
            connection.request("POST", parts.path, body=body, headers=HEADERS)
            response = connection.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            connections.pop(url_index, None)
            return "error " + type(error).__name__
        if response.will_close:
            connection.close()
            connections.pop(url_index, None)
        try:
            document = json.loads(text)
            code = document.get("status") or document.get("error") or "?"
        except ValueError:
            code = "?"
        return f"{response.status} {code}"

    def poster(self):
        connections = {}
        while True:
            taken = self.take()
            if taken is False:
                break
            if taken is None:
                time.sleep(0.005)
                continue
            message, url_index = taken
            message.attempts += 1
            started = time.monotonic()
            result = self.post(connections, url_index, message.body)
            self.settle(message, result, url_index, started)
        for connection in connections.values():
            connection.close()


def latency_summary(latencies):
    """p50, p99 and max in milliseconds; the fresh rate falls short of --rate when the posters,
    each waiting for its answer, are fewer than rate x latency."""
    if not latencies:
        return {}
    ordered = sorted(latencies)
    pick = lambda fraction: round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 1)
    return {"p50": pick(0.5), "p99": pick(0.99), "max": round(ordered[-1] * 1000, 1)}


def read_slice(path, first, count):
    messages = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle):
            if number >= first + count:
                break
            if number >= first:
                body = line.rstrip(b"\n")
                messages.append(Message(number - first, body, json.loads(body)["MessageId"]))
    if len(messages) < count:
        raise SystemExit(f"poster: {path} has only {len(messages)} lines from line {first}, {count} wanted")
    return messages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--url", action="append", required=True, help="the SNS endpoint; repeat for replicas")
    parser.add_argument("--posters", type=int, default=4)
    parser.add_argument("--rate", type=float, required=True, help="fresh messages per second, all posters together")
    parser.add_argument("--duration", type=float, required=True, help="seconds of fresh messages")
    parser.add_argument("--drain", type=float, default=30, help="seconds of retries at most after the fresh phase")
    parser.add_argument("--retry-delay", type=float, default=1.0, help="mean seconds before a message is posted again")
    parser.add_argument("--out", required=True, help="prefix of the output files")
    args = parser.parse_args()

    # SIGUSR1 ends the fresh phase; installed before the slice is read, since its default action
    # would end the process.
    early = []
    signal.signal(signal.SIGUSR1, lambda *_: early.append(True))
    soak = Soak(args, read_slice(args.messages, args.first, args.count))
    signal.signal(signal.SIGUSR1, soak.end_fresh_phase)
    if early:
        soak.end_fresh_phase()
    threads = [threading.Thread(target=soak.poster, daemon=True) for _ in range(args.posters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        # With a timeout, so that the main thread keeps running Python code and SIGUSR1's
        # handler runs at once; and bounded: a poster stuck past the drain window and a request
        # timeout is left behind (its message counts as not acknowledged).
        while thread.is_alive() and time.monotonic() < soak.deadline + 2 * REQUEST_TIMEOUT:
            thread.join(0.2)
    ended = time.monotonic()

    posted = [message for message in soak.messages if message.attempts > 0]
    acked = [message for message in posted if message.final == "acked"]
    summary = {
        "sent": len(posted),
        "acked": len(acked),
        "refused": sum(1 for message in posted if message.final == "refused"),
        "unacked": sum(1 for message in posted if message.final is None),
        "attempts": sum(message.attempts for message in posted),
        "results": dict(sorted(soak.results.items())),
        "recorded_twice": [message.message_id for message in posted if message.recorded > 1],
        "fresh_rate": round(soak.next_fresh / max(0.001, (soak.fresh_stopped_at or ended) - soak.t0), 1),
        "latency_ms_200": latency_summary(soak.latencies),
        "slice_ran_out": soak.next_fresh >= len(soak.messages) and (soak.fresh_stopped_at or ended) < soak.fresh_end - 0.5,
        "fresh_seconds": round((soak.fresh_stopped_at or ended) - soak.t0, 2),
        "seconds": round(ended - soak.t0, 2),
    }
    with open(args.out + ".attempts.jsonl", "w") as handle:
        handle.write("\n".join(soak.attempt_lines) + "\n")
    with open(args.out + ".acked", "w") as handle:
        handle.write("".join(message.message_id + "\n" for message in acked))
    with open(args.out + ".json", "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"poster: {summary['sent']} sent, {summary['acked']} acknowledged, {summary['unacked']} not acknowledged, "
          f"{summary['refused']} refused, {summary['attempts']} POSTs in {summary['seconds']} s: {summary['results']}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
