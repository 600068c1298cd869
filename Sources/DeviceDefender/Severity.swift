/// AWS's audit finding severities, plus `unknown` for checks the catalog does not know yet.
public enum Severity: String, Sendable, CaseIterable, Codable, Comparable {
    case critical = "CRITICAL"
    case high = "HIGH"
    case medium = "MEDIUM"
    case low = "LOW"
    case unknown = "UNKNOWN"

    /// Higher is more severe; `unknown` ranks lowest so that it never hides a known critical.
    public var rank: Int {
        switch self {
        case .critical: 4
        case .high: 3
        case .medium: 2
        case .low: 1
        case .unknown: 0
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}
