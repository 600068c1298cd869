#!/usr/bin/env python3
"""Holds many connections to a server and drips a request into each, one byte at a time, the
way a slowloris client does, and reports when the server closed each one.

    slow_clients.py PORT COUNT SECONDS READY_FILE [MODE]

Opens COUNT connections, sends each the start of a POST whose body never completes, then one
byte per connection every 0.5 s for SECONDS. Writes READY_FILE once every connection is open,
and prints one JSON line at the end: opened, refused (closed before the first drip),
closed_by_server, and the seconds after opening at which the server closed them (max, median).

MODE "early-answer" first sends each connection a GET /healthz that announces a one-byte body,
reads the answer the server gives before that body, then sends the byte: a server that counts
requests and answers naively stops timing the connection. MODE "pipeline" sends 64 GET /healthz
at once and never reads an answer.
"""
import json
import selectors
import socket
import sys
import time

port, count, seconds, ready_file = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
mode = sys.argv[5] if len(sys.argv) > 5 else "drip"
selector = selectors.DefaultSelector()
opened_at = {}
closed_after = []
refused = 0
head = b"POST /sns HTTP/1.1\r\nHost: relay\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
connections = []
for _ in range(count):
    connection = socket.create_connection(("127.0.0.1", port))
    try:
        if mode == "early-answer":
            connection.settimeout(5)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nContent-Length: 1\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = connection.recv(4096)
                if not chunk:
                    raise OSError("closed")
                answer += chunk
            connection.sendall(b"x")
        if mode == "pipeline":
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n" * 64)
        connection.setblocking(False)
        if mode != "pipeline":
            connection.send(head[:10])
    except OSError:
        refused += 1
        connection.close()
        continue
    opened_at[connection] = time.monotonic()
    if mode != "pipeline":
        selector.register(connection, selectors.EVENT_READ)
    connections.append(connection)
with open(ready_file, "w") as handle:
    handle.write(str(len(connections)))

position = {connection: 10 for connection in connections}
open_connections = set(connections)
deadline = time.monotonic() + seconds
next_drip = time.monotonic()
while time.monotonic() < deadline and open_connections:
    if mode == "pipeline":
        # Never read an answer; learn that the server closed from a failing send.
        time.sleep(0.2)
        for connection in list(open_connections):
            try:
                connection.send(b" ")
            except OSError:
                closed_after.append(time.monotonic() - opened_at[connection])
                open_connections.discard(connection)
        continue
    for key, _ in selector.select(timeout=0.05):
        connection = key.fileobj
        try:
            data = connection.recv(4096)
        except OSError:
            data = b""
        if not data:
            closed_after.append(time.monotonic() - opened_at[connection])
            selector.unregister(connection)
            open_connections.discard(connection)
            connection.close()
    if time.monotonic() >= next_drip:
        next_drip += 0.5
        for connection in list(open_connections):
            byte = head[position[connection]:position[connection] + 1] or b"x"
            position[connection] += 1
            try:
                connection.send(byte)
            except OSError:
                pass

closed_after.sort()
print(json.dumps({
    "opened": len(connections),
    "refused": refused,
    "closed_by_server": len(closed_after),
    "max_seconds_to_close": closed_after[-1] if closed_after else None,
    "median_seconds_to_close": closed_after[len(closed_after) // 2] if closed_after else None,
}))
sys.stdout.flush()
