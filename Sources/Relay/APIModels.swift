import DeviceDefender
import SNS
import Storage

/// The JSON the query API answers and `--json` prints: camelCase keys like AWS's payloads,
/// times as milliseconds since the Unix epoch (as AWS's taskStartTime).
public enum APIModels {
    public struct AuditSummary: Encodable, Sendable {
        var taskId: String
        var accountId: String
        /// Empty when the audit was stored before regions were and its message had been pruned.
        var region: String
        var taskType: String
        var taskStatus: String
        var scheduledAuditName: String?
        var failedChecksCount: Int
        var canceledChecksCount: Int
        var nonCompliantChecksCount: Int
        var compliantChecksCount: Int
        var totalChecksCount: Int
        var taskStartTime: Int64
        var receivedAt: Int64
        var sourceMessageId: String
        var nonCompliantResources: Int
        var change: Change
        var warnings: [String]

        public init(_ summary: StoredAuditSummary) {
            taskId = summary.taskID
            accountId = summary.accountID
            region = summary.region
            taskType = summary.taskType
            taskStatus = summary.taskStatus
            scheduledAuditName = summary.scheduledAuditName
            failedChecksCount = summary.failedChecksCount
            canceledChecksCount = summary.canceledChecksCount
            nonCompliantChecksCount = summary.nonCompliantChecksCount
            compliantChecksCount = summary.compliantChecksCount
            totalChecksCount = summary.totalChecksCount
            taskStartTime = summary.taskStartTime
            receivedAt = summary.receivedAt
            sourceMessageId = summary.sourceMessageID
            nonCompliantResources = summary.nonCompliantResources
            change = Change(summary.change)
            warnings = summary.warnings
        }
    }

    public struct Change: Encodable, Sendable {
        var previousTaskId: String?
        var hasNewFindings: Bool
        var newlyNonCompliant: [AuditChange.Entry]
        var worsened: [AuditChange.Entry]
        var improved: [AuditChange.Entry]
        var resolved: [AuditChange.Entry]
        var unchanged: [AuditChange.Entry]

        init(_ change: AuditChange) {
            previousTaskId = change.previousTaskID
            hasNewFindings = change.hasNewFindings
            newlyNonCompliant = change.newlyNonCompliant
            worsened = change.worsened
            improved = change.improved
            resolved = change.resolved
            unchanged = change.unchanged
        }
    }

    public struct CheckResult: Encodable, Sendable {
        var checkName: String
        var checkRunStatus: String
        var nonCompliantResourcesCount: Int
        var totalResourcesCount: Int
        var message: String?
        var errorCode: String?
        var severity: String
        var title: String?
        var description: String?

        init(_ check: AuditCheckResult, catalog: CheckCatalog) {
            let definition = catalog.definition(for: check.checkName)
            checkName = check.checkName
            checkRunStatus = check.runStatus.rawValue
            nonCompliantResourcesCount = check.nonCompliantResourcesCount
            totalResourcesCount = check.totalResourcesCount
            message = check.message
            errorCode = check.errorCode
            severity = check.severity.rawValue
            title = definition?.title
            description = definition?.description
        }
    }

    public struct AuditDetail: Encodable, Sendable {
        var audit: AuditSummary
        var auditDetails: [CheckResult]

        public init(_ audit: StoredAudit, catalog: CheckCatalog = .known) {
            self.audit = AuditSummary(audit.summary)
            // Most severe and most non-compliant first: what a reader should see first.
            auditDetails = audit.checks
                .sorted { ($0.severity.rank, $0.nonCompliantResourcesCount, $1.checkName) > ($1.severity.rank, $1.nonCompliantResourcesCount, $0.checkName) }
                .map { CheckResult($0, catalog: catalog) }
        }
    }

    public struct AuditList: Encodable, Sendable {
        var audits: [AuditSummary]
        var nextCursor: String?

        public init(_ page: AuditPage) {
            audits = page.audits.map(AuditSummary.init)
            nextCursor = page.nextCursor?.token
        }
    }

    public struct Check: Encodable, Sendable {
        var checkName: String
        var accountId: String
        var region: String
        var severity: String
        var title: String?
        var description: String?
        var latestTaskId: String
        var latestTaskStartTime: Int64
        var checkRunStatus: String
        var nonCompliantResourcesCount: Int
        var totalResourcesCount: Int
        /// Oldest first.
        var trend: [Int]

        public init(_ status: CheckStatus, catalog: CheckCatalog = .known) {
            let definition = catalog.definition(for: status.checkName)
            checkName = status.checkName
            accountId = status.accountID
            region = status.region
            severity = status.severity.rawValue
            title = definition?.title
            description = definition?.description
            latestTaskId = status.latestTaskID
            latestTaskStartTime = status.latestTaskStartTime
            checkRunStatus = status.runStatus
            nonCompliantResourcesCount = status.nonCompliantResourcesCount
            totalResourcesCount = status.totalResourcesCount
            trend = status.trend
        }
    }

    public struct CheckList: Encodable, Sendable {
        var checks: [Check]

        public init(_ statuses: [CheckStatus]) {
            checks = statuses.sorted { ($0.severity.rank, $1.checkName) > ($1.severity.rank, $0.checkName) }.map { Check($0) }
        }
    }

    public struct Violation: Encodable, Sendable {
        var messageId: String
        var violationId: String
        var thingName: String
        var securityProfileName: String
        var violationEventType: String
        var violationEventTime: Int64
        var behaviorName: String
        var metric: String?
        var criteria: String?
        var metricValue: String?
        var verificationState: String?
        var receivedAt: Int64

        public init(_ stored: StoredViolation) {
            messageId = stored.messageID
            violationId = stored.violation.violationID
            thingName = stored.violation.thingName
            securityProfileName = stored.violation.securityProfileName
            violationEventType = stored.violation.eventType.rawValue
            violationEventTime = stored.violation.eventTime
            behaviorName = stored.violation.behaviorName
            metric = stored.violation.metric
            criteria = stored.violation.criteria
            metricValue = stored.violation.metricValue
            verificationState = stored.violation.verificationState
            receivedAt = stored.receivedAt
        }
    }

    public struct ViolationList: Encodable, Sendable {
        var violations: [Violation]

        public init(_ violations: [StoredViolation]) {
            self.violations = violations.map(Violation.init)
        }
    }

    /// A subscription without its SubscribeURL: that URL carries the confirmation token.
    public struct SubscriptionInfo: Encodable, Sendable {
        var topicArn: String
        var status: String
        var subscriptionArn: String?
        var lastError: String?
        var updatedAt: Int64
        var confirmedAt: Int64?

        public init(_ subscription: Subscription) {
            topicArn = subscription.topicARN
            status = subscription.status.rawValue
            subscriptionArn = subscription.subscriptionARN
            lastError = subscription.lastError
            updatedAt = subscription.updatedAt
            confirmedAt = subscription.confirmedAt
        }
    }

    public struct SubscriptionList: Encodable, Sendable {
        var subscriptions: [SubscriptionInfo]

        public init(_ subscriptions: [Subscription]) {
            self.subscriptions = subscriptions.map(SubscriptionInfo.init)
        }
    }

    public struct SilenceInfo: Encodable, Sendable {
        var id: String
        var check: String
        var account: String?
        var region: String?
        var scheduledAudit: String?
        var startsAt: String
        var endsAt: String
        var comment: String
        var createdBy: String?
        var expiredAt: String?

        public init(_ silence: Silence) {
            id = silence.id
            check = silence.checkName
            account = silence.accountID
            region = silence.region
            scheduledAudit = silence.scheduledAuditName
            startsAt = SNSInstant(millisecondsSince1970: silence.startsAt).description
            endsAt = SNSInstant(millisecondsSince1970: silence.endsAt).description
            comment = silence.comment
            createdBy = silence.createdBy
            expiredAt = silence.expiredAt.map { SNSInstant(millisecondsSince1970: $0).description }
        }
    }

    public struct SilenceList: Encodable, Sendable {
        var silences: [SilenceInfo]

        public init(_ silences: [Silence]) {
            self.silences = silences.map(SilenceInfo.init)
        }
    }

    /// A delivery without its body (it can hold what the alert said, not secrets, but is large).
    public struct DeliveryInfo: Encodable, Sendable {
        var id: String
        var receiver: String
        var alertId: String
        var kind: String
        var state: String
        var attempts: Int
        var nextAttemptAt: Int64
        var createdAt: Int64
        var updatedAt: Int64
        var lastError: String?
        var lastStatus: Int?
        var deliveredAt: Int64?

        public init(_ delivery: Delivery) {
            id = delivery.id
            receiver = delivery.receiver
            alertId = delivery.alertID
            kind = delivery.kind
            state = delivery.state.rawValue
            attempts = delivery.attempts
            nextAttemptAt = delivery.nextAttemptAt
            createdAt = delivery.createdAt
            updatedAt = delivery.updatedAt
            lastError = delivery.lastError
            lastStatus = delivery.lastStatus
            deliveredAt = delivery.deliveredAt
        }
    }

    public struct DeliveryList: Encodable, Sendable {
        var deliveries: [DeliveryInfo]

        public init(_ deliveries: [Delivery]) {
            self.deliveries = deliveries.map(DeliveryInfo.init)
        }
    }
}
