import DeviceDefender

/// Something worth telling people, built from a stored message, independent of where it goes.
/// Every receiver renders the same alert; the generic webhook sends it as it is (schema
/// `defender-relay.alert/1`, documented in docs/ALERT-SCHEMA.md).
public struct Alert: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// `overdue`: a scheduled audit has not arrived in time (`alerts.expect`), or is back.
        case audit, detect, subscription, unrecognized, overdue
    }

    /// One check of an audit as the alert shows it.
    public struct Finding: Sendable, Equatable, Codable {
        public enum Change: String, Sendable, Codable {
            /// Non-compliant now, not before.
            case new
            /// More non-compliant resources than before.
            case worse
            /// Non-compliant before and now, same count.
            case known
            /// Fewer non-compliant resources than before.
            case better
            /// Compliant now, non-compliant before.
            case resolved
            /// The check did not run (failed or canceled).
            case failed
        }

        /// The check's API name (what to search for in AWS's documentation and logs).
        public var checkName: String
        /// The check's readable title from the catalog; nil for a check the catalog does not know.
        public var title: String?
        public var severity: Severity
        public var change: Change
        public var nonCompliantResources: Int
        public var totalResources: Int
        public var previousNonCompliantResources: Int?
        /// Why the check failed (errorCode and message), when it did.
        public var error: String?
        /// What a non-compliant result of this check means (from the catalog).
        public var meaning: String?
        /// What to do about it (from the catalog).
        public var remediation: String?
        /// The check's page in AWS's documentation.
        public var documentationURL: String?

        /// The readable title, or the API name for a check the catalog does not know.
        public var displayName: String { title ?? checkName }

        enum CodingKeys: String, CodingKey {
            case checkName, title, severity, change, nonCompliantResources, totalResources, previousNonCompliantResources, error, meaning, remediation
            case documentationURL = "documentationUrl"
        }
    }

    /// One Detect event of a (grouped) Detect alert.
    public struct Violation: Sendable, Equatable, Codable {
        public var violationID: String
        public var thingName: String
        public var eventType: String
        /// Epoch milliseconds.
        public var eventTime: Int64
        public var metricValue: String?
        /// A clearing: when the alarm it ends began, when known.
        public var alarmStartedAt: Int64?

        public init(violationID: String, thingName: String, eventType: String, eventTime: Int64, metricValue: String?, alarmStartedAt: Int64?) {
            self.violationID = violationID
            self.thingName = thingName
            self.eventType = eventType
            self.eventTime = eventTime
            self.metricValue = metricValue
            self.alarmStartedAt = alarmStartedAt
        }
    }

    public struct Fact: Sendable, Equatable, Codable {
        public var label: String
        public var value: String
    }

    public var schema = "defender-relay.alert/1"
    public var kind: Kind
    /// Stable per event: the same event always builds the same id (delivery idempotency keys).
    public var id: String
    public var title: String
    /// The first line a person sees (a push preview, a mail subject), at most 80 characters:
    /// how bad, what changed, where. `CRITICAL: 2 new findings · prod (123456789012) eu-west-1 · dailyAudit`.
    public var headline: String
    /// One line of plain text with the counts behind the headline.
    public var summary: String
    /// The most severe finding that is new or worse (or, without any, the most severe at all).
    public var severity: Severity
    public var topicARN: String
    public var region: String?
    public var accountID: String?
    /// The account's name from the `accounts:` map of the configuration.
    public var accountAlias: String?
    /// Where a person sees the details in the AWS console.
    public var link: String?
    /// Milliseconds since the Unix epoch.
    public var occurredAt: Int64
    /// Audits: when the previous run of the same schedule started; nil for a first run.
    public var previousRunAt: Int64?
    public var facts: [Fact]
    /// Audits only: new and worse first, then known, failed, better, resolved.
    public var findings: [Finding]
    /// Detect only: the events this alert tells of, oldest first.
    public var violations: [Violation] = []
    /// What routes match on.
    public var attributes: Attributes

    enum CodingKeys: String, CodingKey {
        case schema, kind, id, title, headline, summary, severity, region, accountAlias, link, occurredAt, previousRunAt, facts, findings, violations, attributes
        case topicARN = "topicArn"
        case accountID = "accountId"
    }

    /// The values routing rules match on.
    public struct Attributes: Sendable, Equatable, Codable {
        public var taskStatus: String?
        public var taskType: String?
        public var scheduledAuditName: String?
        public var checkNames: [String]
        public var nonCompliantChecks: Int
        public var hasNewFindings: Bool
        public var eventType: String?
        public var securityProfileName: String?
        /// For repeat suppression: equal when nothing a person cares about changed.
        public var fingerprint: String
        /// Audits: checks that were non-compliant in the previous run and are compliant now.
        public var resolvedCheckNames: [String] = []
        /// The most severe of those: a route asking for CRITICAL hears that its critical
        /// finding was resolved.
        public var resolvedSeverity: Severity? = nil
    }

    /// What `min_severity` judges: the worst finding that changed (new, worse or resolved),
    /// else the worst that is open. A LOW finding resolved beside a known CRITICAL one is a LOW
    /// change.
    public var routingSeverity: Severity {
        if attributes.hasNewFindings { return max(severity, attributes.resolvedSeverity ?? .unknown) }
        return attributes.resolvedSeverity ?? severity
    }

    /// A completed audit whose checks all passed, with nothing resolved and nothing that failed
    /// to run: nobody is told unless a route asks for it.
    public var isQuiet: Bool {
        kind == .audit && attributes.taskStatus == "COMPLETED" && attributes.nonCompliantChecks == 0
            && attributes.resolvedCheckNames.isEmpty && !findings.contains { $0.change == .failed }
    }

    /// Where the alert came from, in words: `prod (123456789012) eu-west-1`.
    public var place: String {
        var parts: [String] = []
        if let accountID { parts.append(AlertText.accountName(accountID, alias: accountAlias)) }
        if let region { parts.append(region) }
        return parts.joined(separator: " ")
    }
}
