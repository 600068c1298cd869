import DeviceDefender
import Foundation

/// Wording shared by every renderer, so Slack, Teams, Discord, Google Chat and mail say the same.
public enum AlertText {
    /// `NEW`, `WORSE 2→7`, `known`, ...
    public static func changeLabel(_ finding: Alert.Finding) -> String {
        switch finding.change {
        case .new: "NEW"
        case .worse: "WORSE \(finding.previousNonCompliantResources ?? 0)→\(finding.nonCompliantResources)"
        case .known: "known"
        case .better: "better \(finding.previousNonCompliantResources ?? 0)→\(finding.nonCompliantResources)"
        case .resolved: "resolved"
        case .failed: "did not run"
        }
    }

    /// One line per finding, plain text.
    public static func line(_ finding: Alert.Finding) -> String {
        var line = "[\(changeLabel(finding))] \(finding.severity.rawValue) \(finding.checkName)"
        switch finding.change {
        case .failed:
            if let error = finding.error, !error.isEmpty { line += ": \(error)" }
        case .resolved:
            break
        default:
            line += ": \(finding.nonCompliantResources) of \(finding.totalResources) resources"
        }
        return line
    }

    /// The first lines that fit `maxCharacters` and `maxLines`, then "and N more checks".
    public static func lines(_ findings: [Alert.Finding], maxLines: Int, maxCharacters: Int, render: (Alert.Finding) -> String = line) -> [String] {
        var result: [String] = []
        var used = 0
        for (index, finding) in findings.enumerated() {
            let text = render(finding)
            let remaining = findings.count - index
            let reserve = remaining > 1 ? 40 : 0
            if result.count == maxLines - (remaining > 1 ? 1 : 0) || used + text.count + 1 + reserve > maxCharacters {
                result.append("and \(remaining) more check\(remaining == 1 ? "" : "s")")
                return result
            }
            result.append(text)
            used += text.count + 1
        }
        return result
    }

    /// Cuts `text` to `limit` characters, ending with an ellipsis when cut.
    public static func truncate(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(max(0, limit - 1))) + "…"
    }

    /// RGB colour by severity (Discord, Teams accent).
    public static func colour(_ severity: Severity) -> Int {
        switch severity {
        case .critical: 0xB0_1E_23
        case .high: 0xE0_6C_00
        case .medium: 0xE6_B4_00
        case .low: 0x2E_86_C1
        case .unknown: 0x80_80_80
        }
    }

    static func json(_ object: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }

    static func isoTime(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
