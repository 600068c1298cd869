#!/usr/bin/env python3
"""Plays the AWS side of SNS over real HTTPS for the relay's tests.

Serves signing certificates (GET *.pem from --files), answers ConfirmSubscription
requests with the XML AWS sends, and records every request it receives (one JSON
line per request in --log) so that tests can assert that nothing was fetched.

With --moto URL, certificate requests are forwarded to a moto server with a
SigV4-looking Authorization header (moto only serves its PEM to such requests).

A certificate file NAME may have sidecars: NAME.status holds the HTTP status to answer
instead (and, on a second line, a Location header), NAME.delay the seconds to wait first.
With --connections FILE, every TCP connection accepted and the TLS server name it asked for
are logged (one JSON line each), so tests can count connections to unexpected hosts, also
those that never got as far as an HTTP request.

Special paths exercise failure handling:
  /status-503/...pem   answers 503         /slow/...pem  answers after 30 s
  /huge/...pem         answers 100 KiB     /missing/...  answers 404
  Token=expired        ConfirmSubscription answers 400 (as AWS does for an old token)
  Token=flaky-*        ConfirmSubscription answers 503 on the first try, then 200
"""
import argparse
import http.server
import json
import os
import ssl
import threading
import time
import urllib.parse
import urllib.request

lock = threading.Lock()
seen_tokens = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self):
        entry = {"method": self.command, "path": self.path, "host": self.headers.get("Host", "")}
        with lock:
            with open(self.server.args.log, "a") as log:
                log.write(json.dumps(entry) + "\n")

    def answer(self, status, body, content_type="text/plain"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        if url.path.endswith(".pem"):
            return self.certificate(url.path)
        query = urllib.parse.parse_qs(url.query)
        if query.get("Action") == ["ConfirmSubscription"]:
            return self.confirm(query)
        self.answer(404, "not found")

    def certificate(self, path):
        if path.startswith("/status-503/"):
            return self.answer(503, "Service Unavailable")
        if path.startswith("/slow/"):
            time.sleep(30)
            return self.answer(503, "too late")
        if path.startswith("/huge/"):
            return self.answer(200, b"A" * 100 * 1024)
        if self.server.args.moto:
            request = urllib.request.Request(
                self.server.args.moto + path,
                headers={"Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=0"},
            )
            with urllib.request.urlopen(request) as response:
                return self.answer(response.status, response.read(), "application/x-pem-file")
        name = os.path.basename(path)
        file = os.path.join(self.server.args.files, name)
        if os.path.isfile(file + ".delay"):
            with open(file + ".delay") as handle:
                time.sleep(float(handle.read().strip()))
        if os.path.isfile(file + ".status"):
            with open(file + ".status") as handle:
                lines = handle.read().splitlines()
            self.send_response(int(lines[0]))
            if len(lines) > 1:
                self.send_header("Location", lines[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/missing/") or not os.path.isfile(file):
            return self.answer(404, "<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        with open(file, "rb") as handle:
            self.answer(200, handle.read(), "application/x-pem-file")

    def confirm(self, query):
        token = query.get("Token", [""])[0]
        topic = query.get("TopicArn", [""])[0]
        if token == "expired":
            return self.answer(400, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code>"
                                    "<Message>Invalid token</Message></Error></ErrorResponse>", "text/xml")
        if token.startswith("flaky-"):
            with lock:
                first = token not in seen_tokens
                seen_tokens.add(token)
            if first:
                return self.answer(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>", "text/xml")
        arn = topic + ":" + token[-12:]
        self.answer(200, "<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
                         "<ConfirmSubscriptionResult><SubscriptionArn>" + arn + "</SubscriptionArn>"
                         "</ConfirmSubscriptionResult><ResponseMetadata><RequestId>6b9b9bf1</RequestId>"
                         "</ResponseMetadata></ConfirmSubscriptionResponse>", "text/xml")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--files", default=".")
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--moto")
    parser.add_argument("--connections")
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)

    def log_connection(entry):
        if args.connections:
            with lock:
                with open(args.connections, "a") as log:
                    log.write(json.dumps(entry) + "\n")

    def server_name(ssl_socket, name, ssl_context):
        log_connection({"event": "sni", "name": name})

    context.sni_callback = server_name

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            # The TCP connection is logged before TLS, so that a connection refused by the
            # client's certificate check still counts.
            sock, address = self.socket.accept()
            log_connection({"event": "accept"})
            try:
                return context.wrap_socket(sock, server_side=True), address
            except (ssl.SSLError, OSError):
                sock.close()
                raise OSError("TLS handshake failed")

    server = Server(("127.0.0.1", 0), Handler)
    server.args = args
    open(args.log, "a").close()
    if args.connections:
        open(args.connections, "a").close()
    with open(args.port_file + ".tmp", "w") as handle:
        handle.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
