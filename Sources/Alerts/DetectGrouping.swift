import DeviceDefender

/// How Detect events are gathered into one message (`alerts.detect`), as Alertmanager groups
/// alerts: events with the same values of `groupBy` (and topic: accounts never mix) wait
/// `wait` for company after the first, and a group told of once waits `interval` before its
/// next message. A storm of 500 things breaching one behavior is one message, not 500.
public struct DetectGrouping: Sendable, Equatable {
    public enum Field: String, Sendable, CaseIterable {
        case securityProfile = "security_profile"
        case behavior
        case thing
    }

    public var groupBy: [Field]
    public var waitSeconds: Int64
    public var intervalSeconds: Int64

    public init(groupBy: [Field] = [.securityProfile, .behavior], waitSeconds: Int64 = 30, intervalSeconds: Int64 = 300) {
        self.groupBy = groupBy
        self.waitSeconds = waitSeconds
        self.intervalSeconds = intervalSeconds
    }

    /// The group an event joins.
    public func key(of violation: DetectViolation, topicARN: String) -> String {
        ([topicARN] + groupBy.map { field in
            switch field {
            case .securityProfile: violation.securityProfileName
            case .behavior: violation.behaviorName
            case .thing: violation.thingName
            }
        }).joined(separator: "|")
    }
}
