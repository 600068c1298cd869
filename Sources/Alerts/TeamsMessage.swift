import DeviceDefender
import Foundation

/// Microsoft Teams Workflows webhook: a message with one Adaptive Card (schema 1.5, which
/// Teams renders). The headline is the card's first line, in a container styled by severity
/// (`attention`, `warning`, `good`, `accent`), and the activity's `summary` (what Teams shows
/// in notifications); the card does not repeat it. Teams refuses messages above about 28 KB;
/// findings are capped well below. The retired Office 365 connector MessageCard is not used.
public enum TeamsMessage {
    public static let cardVersion = "1.5"
    public static let maxFindings = 20
    public static let maxCharacters = 20_000

    /// `mentions`: the receiver's `mention:` entries, `Display Name <id>` (a user's Microsoft
    /// Entra object id or UPN, or a tag id), called only for new or worse CRITICAL findings.
    public static func render(_ alert: Alert, mentions: [String] = []) -> [UInt8] {
        var head: [[String: Any]] = [
            ["type": "TextBlock", "text": AlertText.truncate(alert.headline, 300), "weight": "Bolder", "size": "Medium", "wrap": true],
            ["type": "TextBlock", "text": AlertText.truncate(alert.summary, 2000), "wrap": true, "spacing": "Small"],
        ]
        var entities: [[String: Any]] = []
        if AlertText.mentions(alert), !mentions.isEmpty {
            let parsed = mentions.map(mention)
            head.append(["type": "TextBlock", "text": parsed.map { "<at>\($0.name)</at>" }.joined(separator: " "), "wrap": true])
            entities = parsed.map { ["type": "mention", "text": "<at>\($0.name)</at>", "mentioned": ["id": $0.id, "name": $0.name]] }
        }
        var body: [[String: Any]] = [["type": "Container", "style": style(alert), "bleed": true, "items": head]]
        if !alert.facts.isEmpty {
            body.append(["type": "FactSet", "facts": alert.facts.prefix(12).map { ["title": $0.label, "value": AlertText.truncate($0.value, 500)] }])
        }
        var used = 0
        let shown = alert.findings.count > maxFindings ? maxFindings - 1 : alert.findings.count
        var count = 0
        for finding in alert.findings.prefix(shown) {
            let items = findingItems(finding)
            let size = items.reduce(0) { $0 + (($1["text"] as? String)?.count ?? 0) + 60 }
            if used + size > maxCharacters { break }
            used += size
            count += 1
            body.append(["type": "Container", "separator": true, "items": items])
        }
        if count < alert.findings.count {
            let rest = alert.findings.count - count
            body.append(["type": "TextBlock", "text": AlertText.moreChecks(rest), "isSubtle": true, "wrap": true])
        }
        if alert.violations.count > 1 {
            let lines = AlertText.lines(alert.violations, maxLines: 30, maxCharacters: 8000, noun: "thing", render: AlertText.line)
            body.append(["type": "TextBlock", "text": lines.map { "- " + $0 }.joined(separator: "\n"), "wrap": true])
        }
        var card: [String: Any] = [
            "type": "AdaptiveCard", "version": cardVersion, "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "body": body,
            "msteams": entities.isEmpty ? ["width": "Full"] as [String: Any] : ["width": "Full", "entities": entities],
        ]
        if let link = alert.link {
            card["actions"] = [["type": "Action.OpenUrl", "title": "Open in AWS IoT console", "url": link]]
        }
        return AlertText.json([
            "type": "message", "summary": alert.headline,
            "attachments": [["contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": NSNull(), "content": card]],
        ])
    }

    /// A finding as card elements: title line (severity coloured), guidance, AWS's page.
    static func findingItems(_ finding: Alert.Finding) -> [[String: Any]] {
        var items: [[String: Any]] = [[
            "type": "TextBlock", "wrap": true, "weight": "Bolder",
            "color": finding.change == .resolved || finding.change == .better ? "Good" : finding.change == .failed ? "Default" : textColour(finding.severity),
            "text": "\(AlertText.severityLabel(finding)) · \(finding.displayName) — " + ([AlertText.changeLabel(finding)] + (AlertText.counts(finding).map { [$0] } ?? [])).joined(separator: " · "),
        ]]
        if let guidance = AlertText.guidance(finding) {
            items.append(["type": "TextBlock", "text": guidance, "wrap": true, "spacing": "Small"])
        }
        let reference = finding.documentationURL.map { "[\(finding.checkName)](\($0))" } ?? finding.checkName
        items.append(["type": "TextBlock", "text": reference, "wrap": true, "isSubtle": true, "size": "Small", "spacing": "Small"])
        return items
    }

    /// `Ops On Call <29:1abc…>` → name and id; an entry without `<…>` is its own name.
    static func mention(_ entry: String) -> (name: String, id: String) {
        guard entry.hasSuffix(">"), let open = entry.lastIndex(of: "<") else { return (entry, entry) }
        let name = entry[..<open].trimmingCharacters(in: .whitespaces)
        let id = String(entry[entry.index(after: open)..<entry.index(before: entry.endIndex)])
        return (name.isEmpty ? id : name, id)
    }

    /// The container style for the headline.
    static func style(_ alert: Alert) -> String {
        if AlertText.isGoodNews(alert) { return "good" }
        switch alert.severity {
        case .critical, .high: return "attention"
        case .medium: return "warning"
        case .low, .unknown: return "accent"
        }
    }

    static func textColour(_ severity: Severity) -> String {
        switch severity {
        case .critical, .high: "Attention"
        case .medium: "Warning"
        case .low, .unknown: "Default"
        }
    }
}
