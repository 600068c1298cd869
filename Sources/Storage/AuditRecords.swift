import DeviceDefender

/// An audit as stored: the summary from the notification, where it came from, and what changed
/// since the previous run of the same audit.
public struct StoredAuditSummary: Sendable, Equatable {
    public var taskID: String
    public var accountID: String
    /// The region the audit ran in (from its topic); empty when it could not be told (rows
    /// stored before regions were, whose message had been pruned).
    public var region: String
    public var taskType: String
    public var taskStatus: String
    public var scheduledAuditName: String?
    public var failedChecksCount: Int
    public var canceledChecksCount: Int
    public var nonCompliantChecksCount: Int
    public var compliantChecksCount: Int
    public var totalChecksCount: Int
    /// Milliseconds since the Unix epoch.
    public var taskStartTime: Int64
    public var receivedAt: Int64
    public var sourceMessageID: String
    /// Sum of non-compliant resources over all checks.
    public var nonCompliantResources: Int
    public var change: AuditChange
    /// Disagreements between the header counts and the details.
    public var warnings: [String]

    public init(
        taskID: String, accountID: String, taskType: String, taskStatus: String, scheduledAuditName: String?, failedChecksCount: Int,
        canceledChecksCount: Int, nonCompliantChecksCount: Int, compliantChecksCount: Int, totalChecksCount: Int, taskStartTime: Int64,
        receivedAt: Int64, sourceMessageID: String, nonCompliantResources: Int, change: AuditChange, warnings: [String], region: String = ""
    ) {
        self.taskID = taskID
        self.accountID = accountID
        self.region = region
        self.taskType = taskType
        self.taskStatus = taskStatus
        self.scheduledAuditName = scheduledAuditName
        self.failedChecksCount = failedChecksCount
        self.canceledChecksCount = canceledChecksCount
        self.nonCompliantChecksCount = nonCompliantChecksCount
        self.compliantChecksCount = compliantChecksCount
        self.totalChecksCount = totalChecksCount
        self.taskStartTime = taskStartTime
        self.receivedAt = receivedAt
        self.sourceMessageID = sourceMessageID
        self.nonCompliantResources = nonCompliantResources
        self.change = change
        self.warnings = warnings
    }
}

/// An audit with its per-check rows.
public struct StoredAudit: Sendable, Equatable {
    public var summary: StoredAuditSummary
    public var checks: [AuditCheckResult]

    public init(summary: StoredAuditSummary, checks: [AuditCheckResult]) {
        self.summary = summary
        self.checks = checks
    }
}

/// Filters for listing audits, newest first.
public struct AuditQuery: Sendable, Equatable {
    public var taskStatus: String?
    /// Only audits that ran this check.
    public var checkName: String?
    public var accountID: String?
    public var region: String?
    public var scheduledAuditName: String?
    /// Inclusive bounds on taskStartTime, milliseconds since the Unix epoch.
    public var since: Int64?
    public var until: Int64?
    /// Only audits with at least one non-compliant check.
    public var nonCompliantOnly: Bool
    public var limit: Int
    /// Continue after this position (from `AuditPage.nextCursor`).
    public var after: AuditCursor?

    public init(
        taskStatus: String? = nil, checkName: String? = nil, accountID: String? = nil, scheduledAuditName: String? = nil,
        since: Int64? = nil, until: Int64? = nil, nonCompliantOnly: Bool = false, limit: Int = 50, after: AuditCursor? = nil,
        region: String? = nil
    ) {
        self.taskStatus = taskStatus
        self.checkName = checkName
        self.accountID = accountID
        self.region = region
        self.scheduledAuditName = scheduledAuditName
        self.since = since
        self.until = until
        self.nonCompliantOnly = nonCompliantOnly
        self.limit = limit
        self.after = after
    }
}

/// A position in the newest-first audit order: stable under inserts, unlike an offset.
public struct AuditCursor: Sendable, Equatable {
    public var taskStartTime: Int64
    public var taskID: String

    public init(taskStartTime: Int64, taskID: String) {
        self.taskStartTime = taskStartTime
        self.taskID = taskID
    }

    /// Opaque text for URLs: `<startTime>.<taskId>`; task ids are `[a-zA-Z0-9-]`.
    public var token: String { "\(taskStartTime).\(taskID)" }

    public init?(token: String) {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let time = Int64(parts[0]), !parts[1].isEmpty else { return nil }
        self.init(taskStartTime: time, taskID: String(parts[1]))
    }
}

public struct AuditPage: Sendable, Equatable {
    public var audits: [StoredAuditSummary]
    public var nextCursor: AuditCursor?

    public init(audits: [StoredAuditSummary], nextCursor: AuditCursor?) {
        self.audits = audits
        self.nextCursor = nextCursor
    }
}

/// The latest result of one check (per account), with its recent history.
public struct CheckStatus: Sendable, Equatable {
    public var checkName: String
    public var accountID: String
    public var region: String
    public var severity: Severity
    public var latestTaskID: String
    public var latestTaskStartTime: Int64
    public var runStatus: String
    public var nonCompliantResourcesCount: Int
    public var totalResourcesCount: Int
    /// Non-compliant resource counts over the last audits that ran the check, oldest first.
    public var trend: [Int]

    public init(
        checkName: String, accountID: String, severity: Severity, latestTaskID: String, latestTaskStartTime: Int64, runStatus: String,
        nonCompliantResourcesCount: Int, totalResourcesCount: Int, trend: [Int], region: String = ""
    ) {
        self.checkName = checkName
        self.accountID = accountID
        self.region = region
        self.severity = severity
        self.latestTaskID = latestTaskID
        self.latestTaskStartTime = latestTaskStartTime
        self.runStatus = runStatus
        self.nonCompliantResourcesCount = nonCompliantResourcesCount
        self.totalResourcesCount = totalResourcesCount
        self.trend = trend
    }
}

/// A stored Detect violation event.
public struct StoredViolation: Sendable, Equatable {
    public var messageID: String
    public var violation: DetectViolation
    public var receivedAt: Int64

    public init(messageID: String, violation: DetectViolation, receivedAt: Int64) {
        self.messageID = messageID
        self.violation = violation
        self.receivedAt = receivedAt
    }
}

public struct ViolationQuery: Sendable, Equatable {
    public var thingName: String?
    public var securityProfileName: String?
    public var eventType: String?
    public var since: Int64?
    public var limit: Int

    public init(thingName: String? = nil, securityProfileName: String? = nil, eventType: String? = nil, since: Int64? = nil, limit: Int = 100) {
        self.thingName = thingName
        self.securityProfileName = securityProfileName
        self.eventType = eventType
        self.since = since
        self.limit = limit
    }
}
