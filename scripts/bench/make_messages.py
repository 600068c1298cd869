#!/usr/bin/env python3
"""Generates the benchmark's SNS Notifications: N distinct envelopes, SignatureVersion 2
(SHA256withRSA, PKCS#1 v1.5) signed with the bench PKI's signing key, each carrying an AWS IoT
Device Defender audit summary with 1 to 17 checks (bodies of about 1.4 to 4 KB).

Output: one JSON body per line in OUT (JSON escapes newlines, so a line is a body), and
OUT.meta.json describing it. A second run reuses OUT when it holds at least --count, was signed
with the current signing certificate and is younger than --max-age-hours (the bench relay
accepts messages up to a day old).
"""
import argparse
import base64
import datetime
import hashlib
import json
import multiprocessing
import os
import random
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:device-defender-audits"
SIGNING_CERT_URL = ("https://sns.us-east-1.amazonaws.com/"
                    "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem")
UNSUBSCRIBE_URL = ("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                   "arn:aws:sns:us-east-1:123456789012:device-defender-audits:0bd9ee6a-0000-4000-8000-000000000000")
CHECK_NAMES = [
    "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK",
    "CA_CERTIFICATE_EXPIRING_CHECK",
    "CA_CERTIFICATE_KEY_QUALITY_CHECK",
    "CONFLICTING_CLIENT_IDS_CHECK",
    "DEVICE_CERTIFICATE_EXPIRING_CHECK",
    "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK",
    "DEVICE_CERTIFICATE_SHARED_CHECK",
    "IOT_POLICY_OVERLY_PERMISSIVE_CHECK",
    "IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK",
    "IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK",
    "LOGGING_DISABLED_CHECK",
    "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK",
    "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK",
    "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK",
    "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK",
    "IOT_POLICY_POTENTIAL_MIS_CONFIGURATION_CHECK",
    "DEVICE_CERTIFICATE_AGE_CHECK",
]
CHUNK = 500

_signing_key = None


def load_key(path):
    global _signing_key
    with open(path, "rb") as handle:
        _signing_key = serialization.load_pem_private_key(handle.read(), password=None)


def audit_summary(rng, task_start_ms):
    count = rng.randint(1, len(CHECK_NAMES))
    details = []
    for name in CHECK_NAMES[:count]:
        total = rng.randint(1, 500)
        if rng.random() < 0.3:
            details.append({"checkName": name, "checkRunStatus": "COMPLETED_NON_COMPLIANT",
                            "nonCompliantResourcesCount": rng.randint(1, total), "totalResourcesCount": total})
        else:
            details.append({"checkName": name, "checkRunStatus": "COMPLETED_COMPLIANT",
                            "nonCompliantResourcesCount": 0, "totalResourcesCount": total})
    noncompliant = sum(1 for check in details if check["checkRunStatus"] == "COMPLETED_NON_COMPLIANT")
    return {
        "accountId": "123456789012",
        "taskId": uuid.uuid4().hex,
        "taskStatus": "COMPLETED",
        "taskType": "SCHEDULED_AUDIT_TASK",
        "scheduledAuditName": "dailyAudit",
        "customerDefinedName": None,
        "failedChecksCount": 0,
        "canceledChecksCount": 0,
        "nonCompliantChecksCount": noncompliant,
        "compliantChecksCount": count - noncompliant,
        "totalChecksCount": count,
        "taskStartTime": task_start_ms,
        "auditDetails": details,
    }


def sns_timestamp():
    """Now, as SNS writes it: 2026-12-02T05:41:27.123Z."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def envelope(index, task_start_ms):
    rng = random.Random(index)
    message = json.dumps(audit_summary(rng, task_start_ms), separators=(",", ":"))
    message_id = str(uuid.uuid4())
    timestamp = sns_timestamp()
    # The string to sign of a Notification without Subject, fields in byte order of their names.
    string_to_sign = (f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
                      f"TopicArn\n{TOPIC_ARN}\nType\nNotification\n")
    signature = _signing_key.sign(string_to_sign.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return json.dumps({
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC_ARN,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": base64.b64encode(signature).decode("ascii"),
        "SigningCertURL": SIGNING_CERT_URL,
        "UnsubscribeURL": UNSUBSCRIBE_URL,
    }, separators=(",", ":"))


def make_chunk(job):
    first, count, base_ms = job
    return "".join(envelope(i, base_ms + i) + "\n" for i in range(first, first + count))


def certificate_fingerprint(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def reusable(out, count, fingerprint, max_age_hours):
    try:
        with open(out + ".meta.json") as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        return False
    age_hours = (time.time() - meta.get("created", 0)) / 3600
    return (os.path.isfile(out) and meta.get("count", 0) >= count and meta.get("signing_cert_sha256") == fingerprint
            and age_hours < max_age_hours)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pki", required=True, help="directory written by make_pki.py")
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--max-age-hours", type=float, default=12)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()

    fingerprint = certificate_fingerprint(os.path.join(args.pki, "signing.pem"))
    if reusable(args.out, args.count, fingerprint, args.max_age_hours):
        print(f"messages: reusing {args.out} (signed less than {args.max_age_hours:g} hours ago)", file=sys.stderr)
        return
    print(f"messages: signing {args.count} with {args.processes} processes ...", file=sys.stderr)
    started = time.time()
    # taskStartTime: distinct and increasing, ending about now.
    base_ms = int(started * 1000) - args.count * 1000
    jobs = [(first, min(CHUNK, args.count - first), base_ms) for first in range(0, args.count, CHUNK)]
    if os.path.exists(args.out + ".meta.json"):
        os.unlink(args.out + ".meta.json")
    with open(args.out + ".tmp", "w", encoding="utf-8") as out, \
            multiprocessing.Pool(args.processes, initializer=load_key,
                                 initargs=(os.path.join(args.pki, "signing.key"),)) as pool:
        for text in pool.imap(make_chunk, jobs):
            out.write(text)
    os.replace(args.out + ".tmp", args.out)
    with open(args.out + ".meta.json", "w") as handle:
        json.dump({"count": args.count, "created": started, "signing_cert_sha256": fingerprint}, handle)
    print(f"messages: {args.count} signed in {time.time() - started:.1f} s ({os.path.getsize(args.out) / 1e6:.0f} MB)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
