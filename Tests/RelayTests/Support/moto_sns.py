#!/usr/bin/env python3
"""moto as the SNS peer of the relay's interop test.

  moto_sns.py serve PORT_FILE
      picks a free loopback port, writes it to PORT_FILE and execs `moto_server` on it.
  moto_sns.py publish MOTO_URL ENDPOINT COUNT
      with boto3 against moto: creates the topic, subscribes ENDPOINT over HTTP, publishes
      COUNT Device Defender audit notifications and prints {"topicArn", "messageIds"} as JSON.
      No Subject: moto leaves Subject out of the string it signs, unlike AWS.
"""
import json
import os
import socket
import sys


def serve(port_file):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(port_file + ".tmp", "w") as handle:
        handle.write(str(port))
    os.rename(port_file + ".tmp", port_file)
    os.execvp("moto_server", ["moto_server", "-H", "127.0.0.1", "-p", str(port)])


def publish(moto_url, endpoint, count):
    import boto3

    sns = boto3.client(
        "sns", endpoint_url=moto_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    topic = sns.create_topic(Name="device-defender-audits")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol=endpoint.split(":")[0], Endpoint=endpoint)
    ids = []
    for index in range(count):
        audit = {
            "accountId": "123456789012",
            "taskId": "4e2bcd1ccbc2a5dd15292a82ab80c38%d" % index,
            "taskStatus": "COMPLETED",
            "taskType": "SCHEDULED_AUDIT_TASK",
            "scheduledAuditName": "dailyAudit",
            "failedChecksCount": 0,
            "canceledChecksCount": 0,
            "nonCompliantChecksCount": 1,
            "compliantChecksCount": 1,
            "totalChecksCount": 2,
            "taskStartTime": 1524740766191 + index,
            "auditDetails": [
                {"checkName": "DEVICE_CERTIFICATE_SHARED_CHECK", "checkRunStatus": "COMPLETED_NON_COMPLIANT",
                 "nonCompliantResourcesCount": 2, "totalResourcesCount": 40},
                {"checkName": "LOGGING_DISABLED_CHECK", "checkRunStatus": "COMPLETED_COMPLIANT",
                 "nonCompliantResourcesCount": 0, "totalResourcesCount": 1},
            ],
        }
        ids.append(sns.publish(TopicArn=topic, Message=json.dumps(audit))["MessageId"])
    print(json.dumps({"topicArn": topic, "messageIds": ids}))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        publish(sys.argv[2], sys.argv[3], int(sys.argv[4]))
