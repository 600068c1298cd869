"""The reference receiver the benchmark compares defender-relay with: what a typical user
writes instead. A Flask app (run under gunicorn with 2 sync workers) that verifies each SNS
message with aws-sns-verifier and stores it in SQLite with one INSERT and commit per request
(WAL, synchronous=FULL, like the relay's durability), then answers 200.

  POST /sns      verify, store, 200 {"status": "recorded"|"duplicate"}; 403 when verification fails
  GET  /healthz  200 {"status": "ok"}

Environment:
  PEER_DB          the SQLite file
  PEER_TOPIC_ARN   the only topic accepted
  BENCH_CERT_PORT  port of the local certificate server on 127.0.0.1 (see below)
  SSL_CERT_FILE    the bench CA, so that urllib trusts the local certificate server

The verifier fetches the signing certificate with urllib from sns.us-east-1.amazonaws.com:443.
To keep the benchmark on loopback, name resolution of that one host is pointed at
127.0.0.1:BENCH_CERT_PORT; TLS still checks the certificate against that hostname.
"""
import json
import os
import socket
import sqlite3
import time

from aws_sns_verifier import validate_sns_signature
from flask import Flask, jsonify, request

CERT_HOST = "sns.us-east-1.amazonaws.com"
CERT_PORT = int(os.environ["BENCH_CERT_PORT"])
TOPIC_ARN = os.environ["PEER_TOPIC_ARN"]
DB_PATH = os.environ["PEER_DB"]

_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, port, *args, **kwargs):
    if host == CERT_HOST:
        return _getaddrinfo("127.0.0.1", CERT_PORT, *args, **kwargs)
    return _getaddrinfo(host, port, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo

app = Flask(__name__)
_connection = None
_connection_pid = None


def database():
    """One connection per gunicorn worker, opened in the worker after the fork."""
    global _connection, _connection_pid
    if _connection is None or _connection_pid != os.getpid():
        connection = sqlite3.connect(DB_PATH, timeout=10)
        connection.execute("PRAGMA busy_timeout = 10000")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("CREATE TABLE IF NOT EXISTS sns_messages ("
                           "message_id TEXT PRIMARY KEY, topic TEXT NOT NULL, "
                           "message TEXT NOT NULL, received_at REAL NOT NULL)")
        connection.commit()
        _connection, _connection_pid = connection, os.getpid()
    return _connection


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


@app.post("/sns")
def sns():
    try:
        envelope = json.loads(request.get_data())
        # aws-sns-verifier 0.1.14 requires a Subject on every Notification (its pydantic model
        # has no default), but SNS omits Subject when the publisher gave none, as Device
        # Defender does. An empty Subject is left out of the string to sign, as AWS specifies.
        if isinstance(envelope, dict):
            envelope.setdefault("Subject", "")
        message = validate_sns_signature(envelope, expected_topic_arn=TOPIC_ARN,
                                         auto_confirm_subscription=False)
    except Exception as error:
        return jsonify(error="verification_failed", detail=str(error)[:300]), 403
    connection = database()
    cursor = connection.execute(
        "INSERT OR IGNORE INTO sns_messages (message_id, topic, message, received_at) VALUES (?, ?, ?, ?)",
        (message.MessageId, message.TopicArn, message.Message, time.time()))
    connection.commit()
    return jsonify(status="recorded" if cursor.rowcount == 1 else "duplicate", messageId=message.MessageId)
