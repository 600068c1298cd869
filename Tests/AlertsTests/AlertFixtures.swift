import Alerts
import DeviceDefender

enum AlertFixtures {
    static let topic = "arn:aws:sns:eu-west-1:123456789012:device-defender-audits"

    static func audit(_ id: String, status: AuditNotification.TaskStatus = .completed, schedule: String? = "dailyAudit", startedAt: Int64 = 1_795_000_000_000, _ checks: [(String, AuditCheckResult.RunStatus, Int, Int)]) -> AuditNotification {
        AuditNotification(
            accountID: "123456789012", taskID: id, taskStatus: status, taskType: schedule == nil ? .onDemand : .scheduled, scheduledAuditName: schedule,
            failedChecksCount: checks.filter { $0.1 == .failed }.count, canceledChecksCount: 0,
            nonCompliantChecksCount: checks.filter { $0.1 == .nonCompliant }.count, compliantChecksCount: checks.filter { $0.1 == .compliant }.count,
            totalChecksCount: checks.count, taskStartTime: startedAt,
            checks: checks.map { AuditCheckResult(checkName: $0.0, runStatus: $0.1, nonCompliantResourcesCount: $0.2, totalResourcesCount: $0.3, message: $0.1 == .failed ? "Audit role lacks iot:ListCertificates" : nil, errorCode: $0.1 == .failed ? "INSUFFICIENT_PERMISSIONS" : nil, severity: CheckCatalog.known.severity(of: $0.0)) },
            region: "eu-west-1"
        )
    }

    /// The previous run and this run of a daily audit: one new critical finding, one worse,
    /// one known, one resolved, one check that could not run.
    static var reviewedAudit: Alert {
        let previous = audit("a0f3c1d2e4b5a6978877665544332211", startedAt: 1_795_000_000_000 - 86_400_000, [
            ("DEVICE_CERTIFICATE_SHARED_CHECK", .compliant, 0, 1200), ("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", .nonCompliant, 2, 35),
            ("DEVICE_CERTIFICATE_EXPIRING_CHECK", .nonCompliant, 17, 1200), ("LOGGING_DISABLED_CHECK", .nonCompliant, 1, 1),
            ("CA_CERTIFICATE_EXPIRING_CHECK", .compliant, 0, 3),
        ])
        let current = audit("4e2bcd1ccbc2a5dd15292a82ab80c380", [
            ("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 3, 1200), ("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", .nonCompliant, 5, 35),
            ("DEVICE_CERTIFICATE_EXPIRING_CHECK", .nonCompliant, 17, 1200), ("LOGGING_DISABLED_CHECK", .compliant, 0, 1),
            ("CA_CERTIFICATE_EXPIRING_CHECK", .failed, 0, 0),
        ])
        return AlertBuilder(accountAliases: ["123456789012": "prod"]).audit(current, change: AuditChange.between(previous: previous, current: current), topicARN: topic)
    }

    static func manyFindings(_ count: Int) -> Alert {
        let checks = (0..<count).map { ("CUSTOM_CHECK_NUMBER_\($0)_WITH_A_RATHER_LONG_NAME_CHECK", AuditCheckResult.RunStatus.nonCompliant, $0 + 1, 10_000) }
        let current = audit("big-\(count)", checks)
        return AlertBuilder().audit(current, change: AuditChange.between(previous: nil, current: current), topicARN: topic)
    }

    static var detect: Alert {
        AlertBuilder().detect(DetectViolation(violationID: "76ef8d1dc35ed4eb802ff44568f91097", thingName: "gateway-eu-17", securityProfileName: "NormalHTTPTraffic", eventType: .inAlarm, eventTime: 1_795_000_100_000, behaviorName: "PacketsOut", metric: "aws:all-packets-out", criteria: "greater-than 100 for 300 s", metricValue: "2914"), topicARN: topic)
    }
}
