import DeviceDefender
import Foundation
import JSON

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

    /// `&`, `<` and `>` as entities, for the chat formats that give them a meaning.
    static func escapeMarkup(_ text: String) -> String {
        // Most text has none of them: nothing to copy.
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") }) else { return text }
        return text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A message document as JSON, keys sorted, slashes unescaped: what `JSONSerialization`
    /// wrote with those options, written directly (one is rendered per receiver for every
    /// alert, inside the ingest transaction, where `JSONSerialization` cost most of the time).
    /// Values are strings, integers, booleans, arrays and string-keyed dictionaries.
    static func json(_ object: Any) -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        write(object, to: &writer)
        return writer.bytes
    }

    private static func write(_ value: Any, to writer: inout JSONWriter) {
        switch value {
        case let text as String:
            writer.string(text)
        case let flag as Bool:
            writer.raw(flag ? "true" : "false")
        case let number as Int:
            writer.integer(number)
        case let number as Int64:
            writer.integer(number)
        case let number as Double:
            writer.number(number)
        case let object as [String: Any]:
            writer.raw("{")
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(key)
                writer.raw(":")
                write(object[key]!, to: &writer)
            }
            writer.raw("}")
        case let array as [Any]:
            writer.raw("[")
            for (index, element) in array.enumerated() {
                if index > 0 { writer.raw(",") }
                write(element, to: &writer)
            }
            writer.raw("]")
        default:
            writer.raw("null")
        }
    }

    static func isoTime(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
