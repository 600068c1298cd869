#!/usr/bin/env python3
"""Reads what a soak scenario left behind (the relay's store, the posters' outcomes, the
webhook's counts) and turns it into the soak's figures.

  figures.py outbox STORE_URL                 prints the deliveries by state as JSON, e.g.
                                              {"pending": 3, "delivered": 812}
  figures.py wait STORE_URL --timeout S       waits until no delivery is pending or sending
                                              (exit 1 if some still are after S seconds)
  figures.py record RESULTS --scenario NAME --store URL --poster PREFIX [--poster PREFIX]
                    --webhook-stats FILE --seconds S [--note TEXT ...]
                                              computes one scenario's row, prints it, appends
                                              it to RESULTS (one JSON object a line)
  figures.py table RESULTS --md FILE          prints every row as a Markdown table with the
                                              details under it, writes it to FILE; exit 1
                                              when a must-be-zero figure is not zero

STORE_URL is the relay's storage.url: sqlite:///ABSOLUTE/PATH or postgres://... (read with
psql, so that the soak needs no Python driver). The store is read directly, not through the
relay's API, so that the figures do not rest on the code under test.
"""
import argparse
import json
import subprocess
import sqlite3
import sys
import time

# The figures that must be zero, with the reason each one matters.
MUST_BE_ZERO = {
    "acked_missing": "acknowledged (200) but not in sns_messages: a message SNS will never send again, lost",
    "stored_twice": "a message stored or processed more than once",
    "dead": "deliveries dead-lettered",
    "not_acked": "messages never acknowledged within the drain window (or refused with a 4xx, which SNS does not retry)",
    "undelivered": "queued alerts the webhook never answered 2xx",
    "unknown_keys": "alerts the webhook received that no deliveries row explains",
}
# Failures that are not a figure of the table.
CHECKS = {"outage_not_seen": "the webhook refused nothing: the outage did not meet a delivery"}


class Store:
    def __init__(self, url):
        self.url = url
        if url.startswith("sqlite://"):
            # The relay runs with WAL; a plain reader sees every committed transaction.
            self.db = sqlite3.connect(url[len("sqlite://"):], timeout=10)
        elif url.startswith("postgres://") or url.startswith("postgresql://"):
            self.db = None
        else:
            raise SystemExit(f"figures: unsupported store {url}")

    def rows(self, sql):
        if self.db is not None:
            return [tuple(str(value) for value in row) for row in self.db.execute(sql)]
        result = subprocess.run(["psql", self.url, "-qtAX", "-v", "ON_ERROR_STOP=1", "-c", f"COPY ({sql}) TO STDOUT"],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise SystemExit(f"figures: psql failed: {result.stderr.strip()}")
        return [tuple(line.split("\t")) for line in result.stdout.splitlines() if line]

    def outbox(self):
        return {state: int(count) for state, count in self.rows("SELECT state, count(*) FROM deliveries GROUP BY state")}


def clock(epoch):
    """An epoch time as the relay's logs show it (UTC), to the millisecond."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}"


def wait(args):
    store = Store(args.store)
    deadline = time.monotonic() + args.timeout
    last = None
    while True:
        outbox = store.outbox()
        busy = outbox.get("pending", 0) + outbox.get("sending", 0)
        if busy == 0:
            print(f"outbox settled: {json.dumps(outbox)}", file=sys.stderr)
            return 0
        if time.monotonic() >= deadline:
            print(f"outbox NOT settled after {args.timeout:g} s: {json.dumps(outbox)}", file=sys.stderr)
            return 1
        if outbox != last and args.verbose:
            print(f"  outbox {json.dumps(outbox)}", file=sys.stderr)
        last = outbox
        time.sleep(0.5)


def record(args):
    store = Store(args.store)
    sent, acked, posters = set(), set(), []
    for prefix in args.poster:
        with open(prefix + ".json") as handle:
            posters.append(json.load(handle))
        with open(prefix + ".attempts.jsonl") as handle:
            sent.update(json.loads(line)["id"] for line in handle if line.strip())
        with open(prefix + ".acked") as handle:
            acked.update(line.strip() for line in handle if line.strip())
    per_url = {}
    for prefix in args.poster:
        with open(prefix + ".attempts.jsonl") as handle:
            for line in handle:
                if line.strip():
                    attempt = json.loads(line)
                    if attempt["result"].startswith("200 "):
                        per_url[attempt["url"]] = per_url.get(attempt["url"], 0) + 1
    recorded_twice = set()
    for poster in posters:
        recorded_twice.update(poster["recorded_twice"])
    results = {}
    for poster in posters:
        for result, count in poster["results"].items():
            results[result] = results.get(result, 0) + count

    stored = {row[0] for row in store.rows("SELECT message_id FROM sns_messages")}
    # message_id is the primary key, so a second row is impossible; what could still happen is
    # a message processed twice: answered "recorded" twice (the poster saw that), or one
    # message giving two audit rows. Both are counted, with the (impossible) duplicate rows.
    twice = set(recorded_twice)
    twice.update(row[0] for row in store.rows("SELECT message_id FROM sns_messages GROUP BY message_id HAVING count(*) > 1"))
    twice.update(row[0] for row in store.rows("SELECT source_message_id FROM audit_tasks GROUP BY source_message_id HAVING count(*) > 1"))
    audits = int(store.rows("SELECT count(*) FROM audit_tasks")[0][0])
    deliveries = {row[0]: (row[1], int(row[2])) for row in store.rows("SELECT id, state, attempts FROM deliveries")}

    with open(args.webhook_stats) as handle:
        webhook = json.load(handle)
    received = {key: counts for key, counts in webhook["keys"].items() if counts[0] > 0}
    refused_requests = sum(counts[1] for counts in webhook["keys"].values())

    row = {
        "scenario": args.scenario,
        "sent": len(sent),
        "acked": len(acked),
        "stored": len(stored),
        "acked_missing": len(acked - stored),
        "stored_twice": len(twice),
        "queued": len(deliveries),
        "delivered": len(received.keys() & deliveries.keys()),
        "duplicates": sum(counts[0] - 1 for counts in received.values()),
        "dead": sum(1 for state, _ in deliveries.values() if state == "dead"),
        "not_acked": len(sent - acked),
        "undelivered": len(deliveries.keys() - received.keys()),
        "unknown_keys": len(received.keys() - deliveries.keys()) + webhook.get("no_key", 0),
        "seconds": round(args.seconds),
        "details": {
            "fresh messages per second achieved": " + ".join(str(poster["fresh_rate"]) for poster in posters),
            "latency of the 200s (ms)": posters[0]["latency_ms_200"] if len(posters) == 1 else [p["latency_ms_200"] for p in posters],
            "poster results (one per POST)": results,
            "200s per relay (url index)": {str(url): count for url, count in sorted(per_url.items())},
            "stored but never acknowledged (the 200 was lost to a kill; not a loss)": len(stored - acked),
            "stored but never sent (impossible)": len(stored - sent),
            "audit rows": audits,
            "deliveries by state": {state: sum(1 for s, _ in deliveries.values() if s == state)
                                    for state in sorted({s for s, _ in deliveries.values()})},
            "deliveries attempted more than once": sum(1 for _, attempts in deliveries.values() if attempts > 1),
            "webhook requests answered 2xx / refused": f"{sum(c[0] for c in webhook['keys'].values())} / {refused_requests}",
            "keys delivered more than once": sum(1 for counts in received.values() if counts[0] > 1),
        },
        "notes": args.note or [],
        "examples": {
            "acked_missing": sorted(acked - stored)[:5],
            "stored_twice": sorted(twice)[:5],
            "duplicates": [f"{key} (2xx at {', '.join(clock(t) for t in received[key][2])})"
                           for key in sorted(key for key, counts in received.items() if counts[0] > 1)[:5]],
            "dead": sorted(key for key, (state, _) in deliveries.items() if state == "dead")[:5],
            "not_acked": sorted(sent - acked)[:5],
            "undelivered": sorted(deliveries.keys() - received.keys())[:5],
            "unknown_keys": sorted(received.keys() - deliveries.keys())[:5],
        },
    }
    if any(poster["slice_ran_out"] for poster in posters):
        row["notes"].append("the posters ran out of messages before the scenario ended its load (raise the slice)")
    failed = [name for name in MUST_BE_ZERO if row[name]]
    # A scenario that did not exercise what it is about proves nothing.
    if args.expect_refusals and refused_requests == 0:
        failed.append("outage_not_seen")
        row["outage_not_seen"] = 1
    row["failed"] = failed
    with open(args.results, "a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(f"{args.scenario}: {row['sent']} sent, {row['acked']} acknowledged, {row['stored']} stored, "
          f"{row['queued']} alerts queued, {row['delivered']} delivered, {row['duplicates']} duplicate deliveries, "
          f"{row['dead']} dead" + (f"; FAILED: {', '.join(failed)}" if failed else ""), file=sys.stderr)


COLUMNS = [
    ("scenario", "scenario"), ("sent", "sent"), ("acked", "acknowledged (200)"), ("stored", "stored"),
    ("acked_missing", "acked but missing ¹"), ("stored_twice", "stored twice ¹"), ("queued", "alerts queued"),
    ("delivered", "alerts delivered"), ("duplicates", "duplicate deliveries ²"), ("dead", "dead ¹"),
    ("not_acked", "never acked ¹"), ("undelivered", "undelivered ¹"), ("seconds", "seconds"),
]


def table(args):
    with open(args.results) as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    lines = ["| " + " | ".join(label for _, label in COLUMNS) + " |",
             "|" + "|".join("---" if key == "scenario" else "---:" for key, _ in COLUMNS) + "|"]
    for row in rows:
        cells = []
        for key, _ in COLUMNS:
            value = row[key]
            cells.append(f"**{value}**" if key in MUST_BE_ZERO and value else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["",
              "¹ must be 0 (the soak exits 1 otherwise). ² not a failure: the relay delivers at least once, and a",
              "kill -9 between the webhook's 200 and the commit of `delivered` sends that alert again (with the same",
              "Idempotency-Key, so the receiver can drop it).", ""]
    failures = []
    for row in rows:
        lines.append(f"**{row['scenario']}**")
        for note in row["notes"]:
            lines.append(f"- {note}")
        for name, value in row["details"].items():
            lines.append(f"- {name}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
        for name, examples in row["examples"].items():
            if examples:
                lines.append(f"- examples of {name}: {', '.join(examples)}")
        for name in row["failed"]:
            failures.append(f"{row['scenario']}: {name} = {row[name]} ({MUST_BE_ZERO.get(name) or CHECKS[name]})")
        lines.append("")
    if not rows:
        failures.append("no scenario recorded any figures")
    for failure in failures:
        lines.append(f"FAILED {failure}")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(args.md, "w") as handle:
        handle.write(text)
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    outbox = commands.add_parser("outbox")
    outbox.add_argument("store")
    waiting = commands.add_parser("wait")
    waiting.add_argument("store")
    waiting.add_argument("--timeout", type=float, required=True)
    waiting.add_argument("--verbose", action="store_true")
    recording = commands.add_parser("record")
    recording.add_argument("results")
    recording.add_argument("--scenario", required=True)
    recording.add_argument("--store", required=True)
    recording.add_argument("--poster", action="append", required=True)
    recording.add_argument("--webhook-stats", required=True)
    recording.add_argument("--seconds", type=float, required=True)
    recording.add_argument("--note", action="append")
    recording.add_argument("--expect-refusals", action="store_true", help="fail unless the webhook refused some requests")
    tabling = commands.add_parser("table")
    tabling.add_argument("results")
    tabling.add_argument("--md", required=True)
    args = parser.parse_args()
    if args.command == "outbox":
        print(json.dumps(Store(args.store).outbox()))
        return 0
    if args.command == "wait":
        return wait(args)
    if args.command == "record":
        record(args)
        return 0
    return table(args)


if __name__ == "__main__":
    sys.exit(main())
