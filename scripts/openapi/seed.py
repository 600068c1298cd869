#!/usr/bin/env python3
"""Seeds a live relay for scripts/check-openapi.sh through its SNS endpoint, the only way data
gets in: SignatureVersion 2 Notifications signed with the bench PKI (scripts/bench/make_pki.py),
whose certificate the relay fetches from scripts/bench/cert_server.py through
outbound.connect_to. What it posts covers the optional parts of every API document:

- two runs of the scheduled audit "dailyAudit" (the second, 4e2bcd1ccbc2a5dd15292a82ab80c380,
  has a previous run: newly non-compliant, worsened, improved, resolved and unchanged checks, a
  FAILED check with message and errorCode, a check the catalog does not know, header counts
  that disagree with the details), and a FAILED on-demand audit without details;
- two Detect events: one with metric, criteria, metricValue and verificationState, one without;
- alerts: the relay's configuration routes them to "hook" (scripts/soak/webhook.py, answering
  200, then 400 for the last event: delivered and dead deliveries) and "down" (nothing listens:
  pending deliveries with lastError); the topic's subscription is recorded as confirmed.

Exits 1 with a reason when the relay does not store what it is sent.
"""
import argparse
import base64
import datetime
import http.client
import json
import ssl
import sys
import time
import urllib.request
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

SIGNING_CERT_URL = ("https://sns.us-east-1.amazonaws.com/"
                    "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem")
ACCOUNT = "123456789012"
NEWEST_AUDIT = "4e2bcd1ccbc2a5dd15292a82ab80c380"
DAY_MS = 86_400_000


def check(name, status, noncompliant=0, total=1, **extra):
    return {"checkName": name, "checkRunStatus": status, "nonCompliantResourcesCount": noncompliant,
            "totalResourcesCount": total, **extra}


def audit(task_id, start_ms, details, task_type="SCHEDULED_AUDIT_TASK", status="COMPLETED", name="dailyAudit",
          total=None):
    runs = [d["checkRunStatus"] for d in details]
    summary = {
        "accountId": ACCOUNT, "taskId": task_id, "taskStatus": status, "taskType": task_type,
        "failedChecksCount": runs.count("FAILED"), "canceledChecksCount": runs.count("CANCELED"),
        "nonCompliantChecksCount": runs.count("COMPLETED_NON_COMPLIANT"),
        "compliantChecksCount": runs.count("COMPLETED_COMPLIANT"),
        "totalChecksCount": len(details) if total is None else total,
        "taskStartTime": start_ms, "auditDetails": details,
    }
    if name is not None:
        summary["scheduledAuditName"] = name
    return summary


def payloads(now_ms):
    first = audit("5b8e6f0c2d4a4c8e9f1a3b5d7c9e0f21", now_ms - 2 * DAY_MS, [
        check("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 2, 10),
        check("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0, 1),
        check("CA_CERTIFICATE_EXPIRING_CHECK", "COMPLETED_NON_COMPLIANT", 1, 3),
        check("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK", "COMPLETED_NON_COMPLIANT", 3, 5),
        check("DEVICE_CERTIFICATE_EXPIRING_CHECK", "COMPLETED_NON_COMPLIANT", 4, 40),
    ])
    second = audit(NEWEST_AUDIT, now_ms - DAY_MS, [
        check("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 5, 10),
        check("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1, 1),
        check("CA_CERTIFICATE_EXPIRING_CHECK", "COMPLETED_COMPLIANT", 0, 3),
        check("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK", "COMPLETED_NON_COMPLIANT", 1, 5),
        check("DEVICE_CERTIFICATE_EXPIRING_CHECK", "COMPLETED_NON_COMPLIANT", 4, 40),
        check("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "FAILED", 0, 0,
              message="The check could not list the policies.", errorCode="AUDIT_CHECK_DISABLED"),
        check("SEED_CHECK_THE_CATALOG_DOES_NOT_KNOW", "COMPLETED_COMPLIANT", 0, 2),
    ], total=8)  # one more than the details: the audit carries a warning
    on_demand = audit("c0ffee00c0ffee00c0ffee00c0ffee00", now_ms - DAY_MS // 2, [],
                      task_type="ON_DEMAND_AUDIT_TASK", status="FAILED", name=None)
    alarm = {
        "violationEventTime": now_ms - 3_600_000, "thingName": "sensor-0042", "violationEventType": "in-alarm",
        "violationId": "2b7e151628aed2a6abf7158809cf4f3c", "securityProfileName": "default-profile",
        "behavior": {"name": "TCPConnections", "metric": "aws:num-established-tcp-connections",
                     "criteria": {"comparisonOperator": "greater-than", "value": {"count": 5}, "durationSeconds": 300}},
        "metricValue": {"count": 9}, "verificationState": "UNKNOWN",
    }
    cleared = {
        "violationEventTime": now_ms - 60_000, "thingName": "sensor-0042", "violationEventType": "alarm-cleared",
        "violationId": "2b7e151628aed2a6abf7158809cf4f3c", "securityProfileName": "default-profile",
        "behavior": {"name": "TCPConnections"},
    }
    return [first, second, on_demand, alarm], cleared


def envelope(key, topic, message):
    message = json.dumps(message, separators=(",", ":"))
    message_id = str(uuid.uuid4())
    now = datetime.datetime.now(datetime.timezone.utc)
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    string_to_sign = (f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
                      f"TopicArn\n{topic}\nType\nNotification\n")
    signature = key.sign(string_to_sign.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return json.dumps({
        "Type": "Notification", "MessageId": message_id, "TopicArn": topic, "Message": message,
        "Timestamp": timestamp, "SignatureVersion": "2", "Signature": base64.b64encode(signature).decode("ascii"),
        "SigningCertURL": SIGNING_CERT_URL,
        "UnsubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:0bd9ee6a",
    }).encode()


def post(url, body, topic):
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification", "x-amz-sns-topic-arn": topic})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def deliveries(relay, token):
    request = urllib.request.Request(f"{relay}/api/v1/deliveries?limit=500", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["deliveries"]


def wait_for(description, condition, relay, token, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = deliveries(relay, token)
        if condition(found):
            return
        time.sleep(0.2)
    sys.exit(f"seed: {description} within {seconds} s; deliveries: {json.dumps(deliveries(relay, token))[:600]}")


def webhook_status(port, code):
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ssl._create_unverified_context())
    connection.request("POST", f"/__status?code={code}")
    connection.getresponse().read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relay", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--sns-path", default="/sns")
    parser.add_argument("--token", required=True, help="api.token")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--signing-key", required=True)
    parser.add_argument("--webhook-port", type=int, required=True)
    args = parser.parse_args()
    with open(args.signing_key, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)

    def send(message):
        status, text = post(args.relay + args.sns_path, envelope(key, args.topic, message), args.topic)
        if status != 200:
            sys.exit(f"seed: the relay answered {status} to a signed notification: {text[:400]}")

    first, last = payloads(int(time.time() * 1000))
    for message in first:
        send(message)
    # Both audits with non-compliant checks and the alarm: three alerts, one delivery each for
    # "hook" (delivered) and for "down" (its connections are refused: pending, with lastError).
    wait_for("three deliveries to hook were not delivered",
             lambda found: sum(1 for d in found if d["receiver"] == "hook" and d["state"] == "delivered") >= 3,
             args.relay, args.token)
    wait_for("no delivery to down failed",
             lambda found: any(d["receiver"] == "down" and "lastError" in d for d in found), args.relay, args.token)
    webhook_status(args.webhook_port, 400)
    send(last)
    wait_for("the delivery answered 400 was not dead-lettered",
             lambda found: any(d["state"] == "dead" and d.get("lastStatus") == 400 for d in found), args.relay, args.token)
    print(f"seed: {len(first) + 1} notifications stored, deliveries delivered, pending and dead", file=sys.stderr)


if __name__ == "__main__":
    main()
