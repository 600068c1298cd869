import DeviceDefender

/// Something worth telling people, built from a stored message, independent of where it goes.
/// Every receiver renders the same alert; the generic webhook sends it as it is (schema
/// `defender-relay.alert/1`, documented in docs/ALERT-SCHEMA.md).
public struct Alert: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case audit, detect, subscription, unrecognized
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

        public var checkName: String
        public var title: String?
        public var severity: Severity
        public var change: Change
        public var nonCompliantResources: Int
        public var totalResources: Int
        public var previousNonCompliantResources: Int?
        /// Why the check failed (errorCode and message), when it did.
        public var error: String?
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
    /// One line of plain text: the fallback every service shows in notifications.
    public var summary: String
    /// The most severe finding that is new or worse (or, without any, the most severe at all).
    public var severity: Severity
    public var topicARN: String
    public var region: String?
    public var accountID: String?
    /// Where a person sees the details in the AWS console.
    public var link: String?
    /// Milliseconds since the Unix epoch.
    public var occurredAt: Int64
    public var facts: [Fact]
    /// Audits only: new and worse first, then known, failed, better, resolved.
    public var findings: [Finding]
    /// What routes match on.
    public var attributes: Attributes

    enum CodingKeys: String, CodingKey {
        case schema, kind, id, title, summary, severity, region, link, occurredAt, facts, findings, attributes
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
    }
}
