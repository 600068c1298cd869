#!/usr/bin/env python3
"""Plays AWS's SNS certificate host for the benchmark: serves the bench signing certificate
over HTTPS (TLS certificate for sns.us-east-1.amazonaws.com) on 127.0.0.1, and counts the
certificate fetches so the report can show how often each receiver fetched it.

  GET /SimpleNotificationService-0123456789abcdef0123456789abcdef.pem   the certificate (counted)
  GET /__count                                                          fetches so far, as a number

Writes the port it listens on to --port-file once it is ready.
"""
import argparse
import http.server
import os
import ssl
import threading

CERT_PATH = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fetches = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == CERT_PATH:
            with Handler.lock:
                Handler.fetches += 1
            return self.answer(200, self.server.pem, "application/x-pem-file")
        if self.path == "/__count":
            with Handler.lock:
                count = Handler.fetches
            return self.answer(200, str(count).encode(), "text/plain")
        self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pem", required=True, help="the signing certificate to serve")
    parser.add_argument("--tls-cert", required=True)
    parser.add_argument("--tls-key", required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(args.pem, "rb") as handle:
        server.pem = handle.read()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as handle:
        handle.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
