#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for the mail delivery tests. Writes each accepted message as a
JSON line (mail_from, rcpt_tos, content) to --log. With --cert/--key it offers STARTTLS and
requires it, and requires AUTH (relay / smtp-secret) after STARTTLS; with --implicit-tls too,
it speaks TLS from the first byte (smtps) instead."""
import argparse
import json
import os
import socket
import ssl
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, log):
        self.log = log

    async def handle_DATA(self, server, session, envelope):
        with open(self.log, "a") as handle:
            handle.write(json.dumps({
                "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "content": envelope.content.decode("utf-8", "replace"),
                "tls": session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None,
            }) + "\n")
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"relay" and auth_data.password == b"smtp-secret"
    return AuthResult(success=ok)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {}
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.implicit_tls:
            options = dict(ssl_context=context, authenticator=authenticator, auth_required=True, auth_require_tls=False)
        else:
            options = dict(tls_context=context, require_starttls=True, authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller = Controller(Recorder(args.log), hostname="127.0.0.1", port=port, **options)
    controller.start()
    open(args.log, "a").close()
    with open(args.port_file + ".tmp", "w") as handle:
        handle.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
