#!/usr/bin/env python3
"""Accepts TCP connections, logs one line per connection (with the first line it received,
e.g. a proxy's CONNECT request) and closes them. Plays a proxy that must not be used, or one
that must be.

    count_connections.py PORT_FILE LOG_FILE
"""
import os
import socket
import sys
import threading

port_file, log_file = sys.argv[1], sys.argv[2]
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
with open(port_file + ".tmp", "w") as handle:
    handle.write(str(server.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
lock = threading.Lock()


def serve(connection):
    connection.settimeout(5)
    try:
        first = connection.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
    except OSError:
        first = ""
    with lock, open(log_file, "a") as log:
        log.write(first + "\n")
    connection.close()


while True:
    connection, _ = server.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
