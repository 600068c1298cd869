#!/usr/bin/env python3
"""Sanity check of a receiver before the benchmark loads it: one message with one character of
its Message changed must be refused with 403, and the genuine message then accepted with 200
"recorded". Exits non-zero, saying why, when the receiver does otherwise.

Usage: probe.py URL MESSAGES_FILE LINE   (LINE: 0-based line of the genuine message to use)
"""
import http.client
import json
import sys
import urllib.parse

HEADERS = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"}


def read_line(path, index):
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number == index:
                return line.rstrip("\n")
    raise SystemExit(f"probe: {path} has no line {index}")


def tampered(body):
    """The same envelope with one digit of its Message changed (the Message stays valid JSON)."""
    envelope = json.loads(body)
    message = envelope["Message"]
    position = message.index('"taskStartTime":') + len('"taskStartTime":')
    digit = message[position]
    envelope["Message"] = message[:position] + str((int(digit) + 1) % 10) + message[position + 1:]
    return json.dumps(envelope, separators=(",", ":"))


def post(url, body):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("POST", parts.path, body=body.encode("utf-8"), headers=HEADERS)
    response = connection.getresponse()
    text = response.read().decode("utf-8", "replace")
    connection.close()
    return response.status, text


def main():
    url, path, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
    genuine = read_line(path, index)
    status, text = post(url, tampered(genuine))
    if status != 403:
        raise SystemExit(f"probe FAILED: {url} answered {status} to a tampered message (expected 403): {text[:300]}")
    status, text = post(url, genuine)
    if status != 200 or '"recorded"' not in text:
        raise SystemExit(f"probe FAILED: {url} answered {status} to a genuine message (expected 200 recorded): {text[:300]}")
    print(f"probe: tampered message refused with 403, genuine one accepted with 200 ({url})")


if __name__ == "__main__":
    main()
