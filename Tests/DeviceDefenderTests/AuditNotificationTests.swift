import DeviceDefender
import Foundation
import Testing

/// The audit payload as AWS documents it (../shared/seeds: the "payload example"), with each
/// `a|b` alternative of its checkName, checkRunStatus, taskStatus and taskType split into a real value.
enum SeedPayload {
    static let checkNames = [
        "DEVICE_CERT_APPROACHING_EXPIRATION_CHECK", "REVOKED_DEVICE_CERT_CHECK", "CA_CERT_APPROACHING_EXPIRATION_CHECK",
        "REVOKED_CA_CERT_CHECK", "DEVICE_CERTIFICATE_SHARED_CHECK", "IOT_POLICY_UNRESTRICTED_CHECK",
        "UNAUTHENTICATED_COGNITO_IDENTITY_UNRESTRICTED_ACCESS_CHECK", "AUTHENTICATED_COGNITO_IDENTITY_UNRESTRICTED_ACCESS_CHECK",
        "CONFLICTING_CLIENT_IDS_CHECK", "LOGGING_DISABLED_CHECK",
    ]

    static func audit(
        taskID: String = "4e2bcd1ccbc2a5dd15292a82ab80c380", taskStatus: String = "COMPLETED", taskType: String = "SCHEDULED_AUDIT_TASK",
        scheduledAuditName: String? = "myWeeklyAudit", startTime: Int64 = 1_524_740_766_191, details: [[String: Any]]
    ) -> [String: Any] {
        var payload: [String: Any] = [
            "accountId": "123456789012", "taskId": taskID, "taskStatus": taskStatus, "taskType": taskType,
            "failedChecksCount": details.filter { $0["checkRunStatus"] as? String == "FAILED" }.count,
            "canceledChecksCount": details.filter { $0["checkRunStatus"] as? String == "CANCELED" }.count,
            "nonCompliantChecksCount": details.filter { $0["checkRunStatus"] as? String == "COMPLETED_NON_COMPLIANT" }.count,
            "compliantChecksCount": details.filter { $0["checkRunStatus"] as? String == "COMPLETED_COMPLIANT" }.count,
            "totalChecksCount": details.count, "taskStartTime": startTime, "auditDetails": details,
        ]
        if let scheduledAuditName { payload["scheduledAuditName"] = scheduledAuditName }
        return payload
    }

    static func detail(_ name: String, _ status: String = "COMPLETED_NON_COMPLIANT", nonCompliant: Int = 1, total: Int = 1, errorCode: String? = nil) -> [String: Any] {
        var detail: [String: Any] = ["checkName": name, "checkRunStatus": status, "nonCompliantResourcesCount": nonCompliant, "totalResourcesCount": total]
        if let errorCode {
            detail["errorCode"] = errorCode
            detail["message"] = "optional message if an error occurred"
        }
        return detail
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

struct AuditNotificationTests {
    @Test func decodesTheDocumentedExampleWithEveryCheckNameSplitOut() throws {
        let details = SeedPayload.checkNames.map { SeedPayload.detail($0) }
        let audit = try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(details: details)))
        #expect(audit.accountID == "123456789012")
        #expect(audit.taskID == "4e2bcd1ccbc2a5dd15292a82ab80c380")
        #expect(audit.taskStatus == .completed)
        #expect(audit.taskType == .scheduled)
        #expect(audit.scheduledAuditName == "myWeeklyAudit")
        #expect(audit.taskStartTime == 1_524_740_766_191)
        #expect(audit.checks.count == 10)
        // The example's 2018 names map to today's names and severities.
        #expect(audit.checks[0].checkName == "DEVICE_CERTIFICATE_EXPIRING_CHECK")
        #expect(audit.checks[0].severity == .medium)
        #expect(audit.checks[5].checkName == "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
        #expect(audit.checks[5].severity == .critical)
        #expect(audit.checks[9].checkName == "LOGGING_DISABLED_CHECK")
        #expect(audit.checks[9].severity == .low)
        #expect(audit.checks.allSatisfy { $0.severity != .unknown })
        #expect(audit.consistencyWarnings.isEmpty)
    }

    @Test(arguments: ["FAILED", "CANCELED", "COMPLETED"])
    func acceptsEveryTaskStatus(_ status: String) throws {
        let audit = try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(taskStatus: status, details: [])))
        #expect(audit.taskStatus.rawValue == status)
    }

    @Test(arguments: ["ON_DEMAND_AUDIT_TASK", "SCHEDULED_AUDIT_TASK"])
    func acceptsEveryTaskType(_ type: String) throws {
        let audit = try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(taskType: type, scheduledAuditName: nil, details: [])))
        #expect(audit.taskType.rawValue == type)
        #expect(audit.scheduledAuditName == nil)
    }

    @Test(arguments: ["FAILED", "CANCELED", "COMPLETED_COMPLIANT", "COMPLETED_NON_COMPLIANT"])
    func acceptsEveryCheckRunStatus(_ status: String) throws {
        let audit = try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(details: [SeedPayload.detail("LOGGING_DISABLED_CHECK", status, errorCode: status == "FAILED" ? "INSUFFICIENT_PERMISSIONS" : nil)])))
        #expect(audit.checks[0].runStatus.rawValue == status)
        if status == "FAILED" {
            #expect(audit.checks[0].errorCode == "INSUFFICIENT_PERMISSIONS")
            #expect(audit.checks[0].message == "optional message if an error occurred")
        }
    }

    @Test func refusesValuesOutsideTheSchemaEnums() {
        #expect(throws: PayloadDecodingError.valueOutsideSchema(key: "taskStatus", value: "IN_PROGRESS")) {
            try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(taskStatus: "IN_PROGRESS", details: [])))
        }
        #expect(throws: PayloadDecodingError.valueOutsideSchema(key: "taskType", value: "WEEKLY")) {
            try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(taskType: "WEEKLY", details: [])))
        }
        #expect(throws: PayloadDecodingError.valueOutsideSchema(key: "auditDetails[0].checkRunStatus", value: "WAITING_FOR_DATA_COLLECTION")) {
            try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(details: [SeedPayload.detail("LOGGING_DISABLED_CHECK", "WAITING_FOR_DATA_COLLECTION")])))
        }
    }

    @Test(arguments: [
        "accountId", "taskId", "taskStatus", "taskType", "failedChecksCount", "canceledChecksCount",
        "nonCompliantChecksCount", "compliantChecksCount", "totalChecksCount", "taskStartTime", "auditDetails",
    ])
    func refusesAPayloadMissingARequiredKey(_ key: String) {
        var payload = SeedPayload.audit(details: [SeedPayload.detail("LOGGING_DISABLED_CHECK")])
        payload[key] = nil
        #expect(throws: PayloadDecodingError.missingKey(key)) { try AuditNotification.decode(SeedPayload.json(payload)) }
    }

    @Test(arguments: ["checkName", "checkRunStatus", "nonCompliantResourcesCount", "totalResourcesCount"])
    func refusesACheckMissingARequiredKey(_ key: String) {
        var detail = SeedPayload.detail("LOGGING_DISABLED_CHECK")
        detail[key] = nil
        #expect(throws: PayloadDecodingError.missingKey("auditDetails[0].\(key)")) {
            try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(details: [detail])))
        }
    }

    @Test func refusesWrongTypes() {
        var payload = SeedPayload.audit(details: [])
        payload["taskStartTime"] = "1524740766191"
        #expect(throws: PayloadDecodingError.wrongType(key: "taskStartTime", expected: "an integer")) { try AuditNotification.decode(SeedPayload.json(payload)) }
        var detail = SeedPayload.detail("LOGGING_DISABLED_CHECK")
        detail["nonCompliantResourcesCount"] = "one"
        #expect(throws: PayloadDecodingError.wrongType(key: "auditDetails[0].nonCompliantResourcesCount", expected: "an integer")) {
            try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(details: [detail])))
        }
    }

    @Test func keepsUnknownCheckNamesWithUnknownSeverity() throws {
        let audit = try AuditNotification.decode(SeedPayload.json(SeedPayload.audit(details: [SeedPayload.detail("QUANTUM_KEY_QUALITY_CHECK", nonCompliant: 3, total: 9)])))
        #expect(audit.checks[0].checkName == "QUANTUM_KEY_QUALITY_CHECK")
        #expect(audit.checks[0].severity == .unknown)
        #expect(audit.checks[0].nonCompliantResourcesCount == 3)
    }

    @Test func flagsCountsThatDisagreeWithTheDetails() throws {
        var payload = SeedPayload.audit(details: [SeedPayload.detail("LOGGING_DISABLED_CHECK"), SeedPayload.detail("DEVICE_CERTIFICATE_SHARED_CHECK", nonCompliant: 5, total: 2)])
        payload["totalChecksCount"] = 3
        payload["nonCompliantChecksCount"] = 1
        let audit = try AuditNotification.decode(SeedPayload.json(payload))
        #expect(audit.consistencyWarnings.contains("totalChecksCount is 3 but auditDetails has 2"))
        #expect(audit.consistencyWarnings.contains("nonCompliantChecksCount is 1 but auditDetails has 2"))
        #expect(audit.consistencyWarnings.contains("DEVICE_CERTIFICATE_SHARED_CHECK has 5 non-compliant of 2 resources"))
    }

    @Test func theCatalogKnowsEveryDocumentedCheck() {
        #expect(CheckCatalog.known.definitions.count == 17)
        #expect(CheckCatalog.known.severity(of: "IOT_POLICY_POTENTIAL_MIS_CONFIGURATION_CHECK") == .medium)
        #expect(CheckCatalog.known.canonicalName("REVOKED_CA_CERT_CHECK") == "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK")
    }
}

struct DefenderPayloadTests {
    @Test(arguments: [
        (#"{"violationEventTime":1582745400000,"thingName":"myIoTDevice","behavior":{"criteria":{"consecutiveDatapointsToClear":1,"value":{"count":5000},"consecutiveDatapointsToAlarm":1,"comparisonOperator":"greater-than"},"name":"messageSize","metric":"aws:message-byte-size"},"violationEventType":"in-alarm","metricValue":{"count":26},"violationId":"123456789","securityProfileName":"LargeMessageSize"}"#,
         DetectViolation(violationID: "123456789", thingName: "myIoTDevice", securityProfileName: "LargeMessageSize", eventType: .inAlarm, eventTime: 1_582_745_400_000, behaviorName: "messageSize", metric: "aws:message-byte-size", criteria: "greater-than 5000", metricValue: "26")),
        (#"{"violationEventTime":1542682416515,"thingName":"DefenderWorkshopThing","behavior":{"criteria":{"value":{"count":100},"durationSeconds":300,"comparisonOperator":"less-than"},"name":"PacketsOut","metric":"aws:all-packets-out"},"violationEventType":"alarm-cleared","metricValue":{"count":29},"violationId":"76ef8d1dc35ed4eb802ff44568f91097","securityProfileName":"NormalHTTPTraffic"}"#,
         DetectViolation(violationID: "76ef8d1dc35ed4eb802ff44568f91097", thingName: "DefenderWorkshopThing", securityProfileName: "NormalHTTPTraffic", eventType: .alarmCleared, eventTime: 1_542_682_416_515, behaviorName: "PacketsOut", metric: "aws:all-packets-out", criteria: "less-than 100 for 300 s", metricValue: "29")),
        (#"{"violationId":"1448be98c09c3d4ab7cb9b6f3ece65d6","thingName":"lightbulb-1","securityProfileName":"security-profile-for-smart-lights","behavior":{"name":"LowConfidence_MladBehavior_MessagesSent","metric":"aws:num-messages-sent","criteria":{"consecutiveDatapointsToAlarm":1,"consecutiveDatapointsToClear":1,"mlDetectionConfig":{"confidenceLevel":"HIGH"}},"suppressAlerts":true},"violationEventType":"alarm-invalidated","violationEventTime":1600780245.29}"#,
         DetectViolation(violationID: "1448be98c09c3d4ab7cb9b6f3ece65d6", thingName: "lightbulb-1", securityProfileName: "security-profile-for-smart-lights", eventType: .alarmInvalidated, eventTime: 1_600_780_245_290, behaviorName: "LowConfidence_MladBehavior_MessagesSent", metric: "aws:num-messages-sent", criteria: "ML confidence HIGH")),
    ])
    func decodesDetectAlarmsOfEachEventType(_ message: String, _ expected: DetectViolation) {
        #expect(DefenderPayload.classify(message) == .detect(expected))
    }

    @Test func classifiesAudits() throws {
        let message = SeedPayload.json(SeedPayload.audit(details: [SeedPayload.detail("LOGGING_DISABLED_CHECK")]))
        guard case .audit(let audit) = DefenderPayload.classify(message) else {
            Issue.record("an audit was not classified as one")
            return
        }
        #expect(audit.checks.count == 1)
    }

    @Test(arguments: [
        "plain text alarm",
        "",
        "[]",
        #"{"AlarmName":"cpu","NewStateValue":"ALARM"}"#,
        #"{"taskId":"t","auditDetails":"not a list"}"#,
        #"{"violationId":"v","violationEventType":"on-fire","thingName":"t","securityProfileName":"p","violationEventTime":1,"behavior":{"name":"b"}}"#,
        "{\"taskId\":",
    ])
    func keepsEverythingElseAsUnrecognizedWithAReason(_ message: String) {
        guard case .unrecognized(let reason) = DefenderPayload.classify(message) else {
            Issue.record("\(message) was recognized")
            return
        }
        #expect(!reason.isEmpty)
    }
}
