#!/usr/bin/env python3
"""Plays an alert webhook for the benchmark's delivery run: an HTTPS server on 127.0.0.1 (TLS
certificate for hooks.bench.example) that answers every POST at once and counts what arrives.

  POST /hook                 answered with the current status (200, or what /__status set)
  POST /__status?code=NNN    sets the status later POSTs get; resets the counts
  GET  /__stats              {"count", "distinct_keys", "first", "last", "connections"} as JSON:
                             POSTs to /hook since the last reset, their distinct Idempotency-Key
                             values, the monotonic times of the first and last, and how many
                             connections carried them

asyncio with HTTP/1.1 keep-alive, so that it answers far faster than the relay sends: the rate
it reports is the relay's. Writes the port it listens on to --port-file once it is ready.
"""
import argparse
import asyncio
import json
import ssl
import time

state = {"status": 200, "count": 0, "keys": set(), "first": None, "last": None, "connections": 0}


def reset(status):
    state.update(status=status, count=0, keys=set(), first=None, last=None, connections=0)


def answer(status, body=b"", content_type=b"text/plain"):
    reason = {200: b"OK", 400: b"Bad Request"}.get(status, b"Status")
    return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (status, reason, content_type, len(body))) + body


async def serve(reader, writer):
    served = 0
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
                if served == 0:
                    state["connections"] += 1
                served += 1
                now = time.monotonic()
                state["count"] += 1
                state["keys"].add(headers.get("idempotency-key", ""))
                state["first"] = state["first"] or now
                state["last"] = now
                writer.write(answer(state["status"], b"ok"))
            elif path == "/__status":
                reset(int(query.split("=", 1)[1]))
                writer.write(answer(200, b"ok"))
            elif path == "/__stats":
                body = json.dumps({"count": state["count"], "distinct_keys": len(state["keys"]), "first": state["first"],
                                   "last": state["last"], "connections": state["connections"]}).encode()
                writer.write(answer(200, body, b"application/json"))
            else:
                writer.write(answer(404))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
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
    with open(args.port_file, "w") as handle:
        handle.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
