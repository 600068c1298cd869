#!/usr/bin/env python3
"""Plays the alert webhook for the soak: an HTTPS server on 127.0.0.1 (the bench TLS
certificate for hooks.bench.example) that answers every POST /hook at once with the current
status and remembers, per Idempotency-Key, how many requests it answered 2xx and how many it
refused. The soak counts an alert delivered when its key got at least one 2xx, and every 2xx
beyond the first for the same key as a duplicate delivery (the relay delivers at least once).

  POST /hook                 answered with the current status (200, or what /__status set)
  POST /__status?code=NNN    sets the status later POSTs get (503 plays an outage); keeps the counts
  POST /__reset              forgets every count and answers 200 again (one reset per scenario)
  GET  /__stats              {"status", "requests", "keys": {key: [answered 2xx, refused,
                              [wall-clock times of the 2xx answers]]}, "no_key": requests
                              without an Idempotency-Key}

Unlike scripts/bench/webhook_server.py (which counts distinct keys only, for a rate), this one
keeps the count per key and does not reset on a status change, so that an outage in the
middle of a scenario leaves what was delivered before it in the figures.
Writes the port it listens on to --port-file once it is ready.
"""
import argparse
import asyncio
import json
import os
import ssl
import time

state = {"status": 200, "requests": 0, "keys": {}, "no_key": 0}


def reset():
    state.update(status=200, requests=0, keys={}, no_key=0)


def answer(status, body=b"", content_type=b"text/plain"):
    reason = {200: b"OK", 503: b"Service Unavailable"}.get(status, b"Status")
    return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (status, reason, content_type, len(body))) + body


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            path, _, query = target.partition("?")
            if method == "POST" and path == "/hook":
                status = state["status"]
                state["requests"] += 1
                key = headers.get("idempotency-key")
                if key is None:
                    state["no_key"] += 1
                else:
                    counts = state["keys"].setdefault(key, [0, 0, []])
                    if 200 <= status < 300:
                        counts[0] += 1
                        # When each copy arrived: the evidence behind a duplicate delivery.
                        counts[2].append(round(time.time(), 3))
                    else:
                        counts[1] += 1
                writer.write(answer(status, b"ok"))
            elif path == "/__status":
                state["status"] = int(query.split("=", 1)[1])
                writer.write(answer(200, b"ok"))
            elif path == "/__reset":
                reset()
                writer.write(answer(200, b"ok"))
            elif path == "/__stats":
                body = json.dumps({"status": state["status"], "requests": state["requests"],
                                   "keys": state["keys"], "no_key": state["no_key"]}).encode()
                writer.write(answer(200, body, b"application/json"))
            else:
                writer.write(answer(404))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tls-cert", required=True)
    parser.add_argument("--tls-key", required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context, backlog=256)
    with open(args.port_file + ".tmp", "w") as handle:
        handle.write(str(server.sockets[0].getsockname()[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
