import DeviceDefender
import Foundation
import JSON

/// Wording shared by every renderer, so Slack, Teams, Discord, Google Chat and mail say the same.
public enum AlertText {
    /// `new`, `worse 2→5`, `known`, `better 5→2`, `resolved`, `did not run: INSUFFICIENT_PERMISSIONS`.
    public static func changeLabel(_ finding: Alert.Finding) -> String {
        switch finding.change {
        case .new: "new"
        case .worse: "worse \(finding.previousNonCompliantResources ?? 0)→\(finding.nonCompliantResources)"
        case .known: "known"
        case .better: "better \(finding.previousNonCompliantResources ?? 0)→\(finding.nonCompliantResources)"
        case .resolved: "resolved"
        case .failed: "did not run" + (finding.error.flatMap { $0.isEmpty ? nil : ": " + truncate($0, 160) } ?? "")
        }
    }

    /// The label a finding leads with: its severity, or `NOT RUN` for a check that could not
    /// run (a problem of the audit's permissions, not a risk of that severity).
    public static func severityLabel(_ finding: Alert.Finding) -> String {
        finding.change == .failed ? "NOT RUN" : finding.severity.rawValue
    }

    /// The colour of a finding's label: green when resolved or better, grey when not run.
    public static func findingColourHex(_ finding: Alert.Finding) -> String {
        switch finding.change {
        case .resolved, .better: "#2E7D32"
        case .failed: "#5F6368"
        default: colourHex(severity: finding.severity)
        }
    }

    /// `prod (123456789012)`, or the bare id for an account without a name.
    public static func accountName(_ accountID: String, alias: String?) -> String {
        alias.map { "\($0) (\(accountID))" } ?? accountID
    }

    /// The line that ends a list of findings cut to the service's limits.
    public static func moreChecks(_ count: Int) -> String {
        "and \(count) more check\(count == 1 ? "" : "s") (all of them in the console)"
    }

    /// `3 of 1200 resources`, or nil where counts say nothing (resolved, did not run).
    public static func counts(_ finding: Alert.Finding) -> String? {
        switch finding.change {
        case .failed, .resolved: nil
        default: "\(finding.nonCompliantResources) of \(finding.totalResources) resource\(finding.totalResources == 1 ? "" : "s")"
        }
    }

    /// `CRITICAL Device certificate shared: new, 3 of 1200 resources`.
    public static func line(_ finding: Alert.Finding) -> String {
        "\(severityLabel(finding)) \(finding.displayName): " + ([changeLabel(finding)] + (counts(finding).map { [$0] } ?? [])).joined(separator: ", ")
    }

    /// What the finding means and what to do, in one line; nil when there is nothing to do
    /// (resolved, better) or the catalog does not know the check.
    public static func guidance(_ finding: Alert.Finding) -> String? {
        switch finding.change {
        case .resolved, .better: return nil
        case .failed: return "The check could not run, so its resources were not audited: fix the cause above and run the audit again."
        default:
            let parts = [finding.meaning, finding.remediation.map { "To fix: " + $0 }].compactMap { $0 }
            return parts.isEmpty ? nil : parts.joined(separator: " ")
        }
    }

    /// Whether a receiver's `mention:` entries are called: only for a CRITICAL finding that is
    /// new or worse, so that a mention keeps meaning "look now".
    public static func mentions(_ alert: Alert) -> Bool {
        alert.severity == .critical && alert.attributes.hasNewFindings
    }

    /// `#B01E23`: the alert's colour.
    public static func colourHex(_ alert: Alert) -> String {
        hex(alertColour(alert))
    }

    /// `#B01E23`: a severity's colour.
    public static func colourHex(severity: Severity) -> String {
        hex(colour(severity))
    }

    private static func hex(_ rgb: Int) -> String {
        let hex = String(rgb, radix: 16, uppercase: true)
        return "#" + String(repeating: "0", count: 6 - hex.count) + hex
    }

    /// The colour of an alert: its severity, green once everything it tells of is resolved or
    /// cleared.
    public static func alertColour(_ alert: Alert) -> Int {
        isGoodNews(alert) ? 0x2E_7D_32 : colour(alert.severity)
    }

    /// Resolved findings with nothing open, a cleared alarm, a compliant audit.
    public static func isGoodNews(_ alert: Alert) -> Bool {
        switch alert.kind {
        case .audit: alert.attributes.taskStatus == "COMPLETED" && alert.attributes.nonCompliantChecks == 0 && !alert.findings.contains { $0.change == .failed }
        case .detect: alert.attributes.eventType != "in-alarm"
        case .overdue: alert.attributes.eventType == "back"
        default: false
        }
    }

    /// The first lines that fit `maxCharacters` and `maxLines`, then "and N more checks".
    public static func lines(_ findings: [Alert.Finding], maxLines: Int, maxCharacters: Int, render: (Alert.Finding) -> String = line) -> [String] {
        lines(findings, maxLines: maxLines, maxCharacters: maxCharacters, noun: "check", render: render)
    }

    /// The first lines that fit `maxCharacters` and `maxLines`, then "and N more <noun>s".
    public static func lines<Item>(_ items: [Item], maxLines: Int, maxCharacters: Int, noun: String, render: (Item) -> String) -> [String] {
        var result: [String] = []
        var used = 0
        for (index, item) in items.enumerated() {
            let text = render(item)
            let remaining = items.count - index
            let reserve = remaining > 1 ? 40 : 0
            if result.count == maxLines - (remaining > 1 ? 1 : 0) || used + text.count + 1 + reserve > maxCharacters {
                if result.isEmpty, remaining == 1 { return [truncate(text, maxCharacters)] }
                result.append("and \(remaining) more \(noun)\(remaining == 1 ? "" : "s")")
                return result
            }
            result.append(text)
            used += text.count + 1
        }
        return result
    }

    /// `gateway-eu-17 · observed 2914 · 2026-11-18 11:08 UTC`, or for a clearing `· lasted 2h 5m`.
    public static func line(_ violation: Alert.Violation) -> String {
        var parts = [violation.thingName]
        if violation.eventType == "in-alarm", let value = violation.metricValue { parts.append("observed " + truncate(value, 100)) }
        if let started = violation.alarmStartedAt { parts.append("lasted " + duration(milliseconds: violation.eventTime - started)) }
        parts.append(utcTime(violation.eventTime))
        return parts.joined(separator: " · ")
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
        // Dark amber: readable as text on white (4.9:1), not only as a bar.
        case .medium: 0x9A_67_00
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

    /// `2026-11-18 11:06 UTC`: when an audit ran, as people read it.
    public static func utcTime(_ millis: Int64) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: Date(timeIntervalSince1970: Double(millis) / 1000))
        func two(_ value: Int?) -> String { let value = value ?? 0; return value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day)) \(two(parts.hour)):\(two(parts.minute)) UTC"
    }

    /// `45s`, `12m`, `2h 5m`, `3d 4h`: how long something lasted.
    public static func duration(milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1000)
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m"
        case ..<86_400: return "\(seconds / 3600)h" + (seconds % 3600 / 60 > 0 ? " \(seconds % 3600 / 60)m" : "")
        default: return "\(seconds / 86_400)d" + (seconds % 86_400 / 3600 > 0 ? " \(seconds % 86_400 / 3600)h" : "")
        }
    }

    /// A short stable digest (FNV-1a, 64 bits, hex) for ids built from many parts.
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func isoTime(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
