/// An AWS IoT Device Defender audit summary, as published to SNS when an audit finishes
/// (schema `arn:aws:iot:::schema:auditnotification/1.0`).
public struct AuditNotification: Sendable, Equatable {
    public enum TaskStatus: String, Sendable, CaseIterable, Codable {
        case failed = "FAILED"
        case canceled = "CANCELED"
        case completed = "COMPLETED"
    }

    public enum TaskType: String, Sendable, CaseIterable, Codable {
        case scheduled = "SCHEDULED_AUDIT_TASK"
        case onDemand = "ON_DEMAND_AUDIT_TASK"
    }

    public var accountID: String
    public var taskID: String
    public var taskStatus: TaskStatus
    public var taskType: TaskType
    /// Present for scheduled audits only.
    public var scheduledAuditName: String?
    public var failedChecksCount: Int
    public var canceledChecksCount: Int
    public var nonCompliantChecksCount: Int
    public var compliantChecksCount: Int
    public var totalChecksCount: Int
    /// Milliseconds since the Unix epoch.
    public var taskStartTime: Int64
    public var checks: [AuditCheckResult]
    /// The AWS region the audit ran in. The payload does not name it: it comes from the
    /// TopicArn of the SNS message that carried the audit (`IngestItem`), nil when unknown
    /// (an audit read from a file).
    public var region: String?

    public init(
        accountID: String, taskID: String, taskStatus: TaskStatus, taskType: TaskType, scheduledAuditName: String?,
        failedChecksCount: Int, canceledChecksCount: Int, nonCompliantChecksCount: Int, compliantChecksCount: Int,
        totalChecksCount: Int, taskStartTime: Int64, checks: [AuditCheckResult], region: String? = nil
    ) {
        self.accountID = accountID
        self.taskID = taskID
        self.taskStatus = taskStatus
        self.taskType = taskType
        self.scheduledAuditName = scheduledAuditName
        self.failedChecksCount = failedChecksCount
        self.canceledChecksCount = canceledChecksCount
        self.nonCompliantChecksCount = nonCompliantChecksCount
        self.compliantChecksCount = compliantChecksCount
        self.totalChecksCount = totalChecksCount
        self.taskStartTime = taskStartTime
        self.checks = checks
        self.region = region
    }

    /// Non-compliant resources summed over the checks that found any.
    public var nonCompliantResources: Int {
        checks.reduce(0) { $0 + ($1.isNonCompliant ? $1.nonCompliantResourcesCount : 0) }
    }

    /// What identifies "the same audit" across runs: the account, the region, and the
    /// scheduled audit's name (or, for on-demand audits, the task type). The same scheduled
    /// audit name in two regions is two series: each region's account is audited on its own.
    public var seriesKey: String {
        Self.seriesKey(accountID: accountID, region: region ?? "", scheduledAuditName: scheduledAuditName, taskType: taskType.rawValue)
    }

    /// The series key as stored (`audit_tasks.series_key`); the stores' migration builds the
    /// same text in SQL.
    public static func seriesKey(accountID: String, region: String, scheduledAuditName: String?, taskType: String) -> String {
        if let scheduledAuditName { return "scheduled:\(accountID):\(region):\(scheduledAuditName)" }
        return "\(taskType):\(accountID):\(region)"
    }
}

/// One check's result in an audit summary.
public struct AuditCheckResult: Sendable, Equatable {
    public enum RunStatus: String, Sendable, CaseIterable, Codable {
        case failed = "FAILED"
        case canceled = "CANCELED"
        case compliant = "COMPLETED_COMPLIANT"
        case nonCompliant = "COMPLETED_NON_COMPLIANT"
    }

    /// The current name when the catalog knows the check (aliases are normalised), else as sent.
    public var checkName: String
    public var runStatus: RunStatus
    public var nonCompliantResourcesCount: Int
    public var totalResourcesCount: Int
    public var message: String?
    /// `INSUFFICIENT_PERMISSIONS`, `AUDIT_CHECK_DISABLED`, or whatever AWS adds.
    public var errorCode: String?
    public var severity: Severity

    public init(checkName: String, runStatus: RunStatus, nonCompliantResourcesCount: Int, totalResourcesCount: Int, message: String? = nil, errorCode: String? = nil, severity: Severity) {
        self.checkName = checkName
        self.runStatus = runStatus
        self.nonCompliantResourcesCount = nonCompliantResourcesCount
        self.totalResourcesCount = totalResourcesCount
        self.message = message
        self.errorCode = errorCode
        self.severity = severity
    }

    public var isNonCompliant: Bool { runStatus == .nonCompliant && nonCompliantResourcesCount > 0 }
}
