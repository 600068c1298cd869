import DeviceDefender
import Foundation
import Ingest
import Storage

/// Audit payloads and stored messages for storage and API tests.
enum AuditFixtures {
    static func audit(
        _ taskID: String, start: Int64, status: String = "COMPLETED", type: String = "SCHEDULED_AUDIT_TASK",
        schedule: String? = "daily", account: String = "123456789012", checks: [(String, String, Int)]
    ) -> String {
        var payload: [String: Any] = [
            "accountId": account, "taskId": taskID, "taskStatus": status, "taskType": type,
            "failedChecksCount": checks.filter { $0.1 == "FAILED" }.count,
            "canceledChecksCount": checks.filter { $0.1 == "CANCELED" }.count,
            "nonCompliantChecksCount": checks.filter { $0.1 == "COMPLETED_NON_COMPLIANT" }.count,
            "compliantChecksCount": checks.filter { $0.1 == "COMPLETED_COMPLIANT" }.count,
            "totalChecksCount": checks.count, "taskStartTime": start,
            "auditDetails": checks.map { ["checkName": $0.0, "checkRunStatus": $0.1, "nonCompliantResourcesCount": $0.2, "totalResourcesCount": 50] },
        ]
        if let schedule { payload["scheduledAuditName"] = schedule }
        return String(decoding: try! JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]), as: UTF8.self)
    }

    static func message(_ text: String, id: String = UUID().uuidString.lowercased(), receivedAt: Int64 = 1_800_000_000_000, subject: String? = nil, region: String = "us-east-1") -> StoredMessage {
        StoredMessage(
            messageID: id, type: "Notification", topicARN: "arn:aws:sns:\(region):123456789012:device-defender-audits", subject: subject,
            message: text, snsTimestamp: "2027-01-15T08:00:00.000Z", signatureVersion: "2",
            signingCertURL: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem", rawEnvelope: envelope(text, id: id), receivedAt: receivedAt
        )
    }

    /// An envelope carrying `text` (unsigned: the store keeps what it is given; the Message is
    /// read back from it).
    static func envelope(_ text: String, id: String) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: ["Type": "Notification", "MessageId": id, "Message": text], options: [.sortedKeys]))
    }

    /// Records `text` as a Notification, classified as the relay does.
    @discardableResult
    static func record(
        _ text: String, in store: any Store, id: String = UUID().uuidString.lowercased(), receivedAt: Int64 = 1_800_000_000_000, region: String = "us-east-1"
    ) async throws -> RecordOutcome {
        try await store.record(message(text, id: id, receivedAt: receivedAt, region: region), effect: .notificationDelivered, payload: DefenderPayload.classify(text))
    }
}
