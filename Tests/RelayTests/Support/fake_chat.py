#!/usr/bin/env python3
"""Plays Slack, Teams, Discord, Google Chat and generic webhooks over real HTTPS for the
delivery tests. Records every request (one JSON line in --log: time, host, path, headers,
body) and answers by path:

  /status/<code>/...       that status
  /retry-after/<s>/...     429 with Retry-After: <s> the first time, then 200
  /flaky/<n>/...           500 for the first n requests to the path, then 200
  /slow/...                answers after 10 s
  /pause/<ms>/...          answers after <ms> milliseconds
  /close/...               closes the connection without an answer
  anything else            200 "ok"
While the file --down-file exists, every request gets 503.
"""
import argparse
import base64
import http.server
import json
import os
import ssl
import threading
import time

lock = threading.Lock()
counts = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        entry = {
            "time": time.time(), "host": self.headers.get("Host", ""), "path": self.path,
            "client_port": self.client_address[1],
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": base64.b64encode(body).decode(),
        }
        with lock:
            with open(self.server.args.log, "a") as log:
                log.write(json.dumps(entry) + "\n")
            counts[self.path] = counts.get(self.path, 0) + 1
            count = counts[self.path]
        if os.path.exists(self.server.args.down_file):
            return self.answer(503, "down")
        parts = self.path.strip("/").split("/")
        if self.path == "/v2/enqueue":
            return self.pagerduty(body)
        if parts[0] == "status":
            return self.answer(int(parts[1]), "status %s" % parts[1])
        if parts[0] == "retry-after":
            if count == 1:
                return self.answer(429, "slow down", {"Retry-After": parts[1]})
            return self.answer(200, "ok")
        if parts[0] == "flaky" and count <= int(parts[1]):
            return self.answer(500, "flaky")
        if parts[0] == "slow":
            time.sleep(10)
        if parts[0] == "pause":
            time.sleep(int(parts[1]) / 1000)
        if parts[0] == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.answer(200, "ok")

    def pagerduty(self, body):
        """What PagerDuty's Events API v2 checks before it answers 202: a JSON event with a
        routing key, an action, a dedup key, and for a trigger a payload with summary, source
        and a known severity."""
        try:
            event = json.loads(body)
            assert isinstance(event.get("routing_key"), str) and len(event["routing_key"]) == 32
            assert event.get("event_action") in ("trigger", "acknowledge", "resolve")
            assert isinstance(event.get("dedup_key"), str) and 0 < len(event["dedup_key"]) <= 255
            if event["event_action"] == "trigger":
                payload = event["payload"]
                assert 0 < len(payload["summary"]) <= 1024 and payload["source"]
                assert payload["severity"] in ("critical", "error", "warning", "info")
        except (ValueError, KeyError, TypeError, AssertionError):
            return self.answer(400, json.dumps({"status": "invalid event", "message": "Event object is invalid"}))
        return self.answer(202, json.dumps({"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}))

    def answer(self, status, text, headers=None):
        data = text.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--down-file", required=True)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.args = args
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    open(args.log, "a").close()
    with open(args.port_file + ".tmp", "w") as handle:
        handle.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
