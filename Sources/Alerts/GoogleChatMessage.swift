import Foundation
import DeviceDefender

/// Google Chat incoming webhook: the headline as `text` (shown above the card and in
/// notifications) and a `cardsV2` card whose header says what the alert is about and where,
/// without repeating the headline. Chat card headers take no colour: the severity is the
/// first widget, in the severity's colour. Chat refuses messages above 32,000 bytes and text
/// above 4096 characters.
public enum GoogleChatMessage {
    public static let maxFindings = 20
    public static let maxCharacters = 16_000

    public static func render(_ alert: Alert) -> [UInt8] {
        var sections: [[String: Any]] = []
        var top: [[String: Any]] = [
            ["decoratedText": ["topLabel": "Severity", "text": "<font color=\"\(AlertText.colourHex(alert))\"><b>\(AlertText.isGoodNews(alert) ? "RESOLVED" : alert.severity.rawValue)</b></font>"]],
            ["textParagraph": ["text": escape(AlertText.truncate(alert.summary, 2000))]],
        ]
        // The header names the audit and the place: facts that only repeat them are left out.
        top += alert.facts.filter { !["Account", "Region", "Audit"].contains($0.label) }.prefix(10).map { ["decoratedText": ["topLabel": $0.label, "text": escape(AlertText.truncate($0.value, 500))]] }
        sections.append(["widgets": top])
        if !alert.findings.isEmpty {
            var widgets: [[String: Any]] = []
            var used = 0
            for finding in alert.findings.prefix(maxFindings) {
                let text = findingText(finding)
                if used + text.count > maxCharacters { break }
                used += text.count
                widgets.append(["textParagraph": ["text": text]])
            }
            if widgets.count < alert.findings.count {
                let rest = alert.findings.count - widgets.count
                widgets.append(["textParagraph": ["text": AlertText.moreChecks(rest)]])
            }
            sections.append(["header": "Findings", "collapsible": widgets.count > 6, "uncollapsibleWidgetsCount": min(widgets.count, 6), "widgets": widgets])
        }
        if alert.violations.count > 1 {
            let lines = AlertText.lines(alert.violations, maxLines: 30, maxCharacters: 8000, noun: "thing") { escape(AlertText.line($0)) }
            sections.append(["header": "Things", "widgets": [["textParagraph": ["text": lines.joined(separator: "<br>")]]]])
        }
        if let link = alert.link {
            sections.append(["widgets": [["buttonList": ["buttons": [["text": "Open in AWS IoT console", "onClick": ["openLink": ["url": link]]]]]]]])
        }
        let subject = switch alert.kind {
        case .audit: "Device Defender audit · " + (alert.attributes.scheduledAuditName ?? "on demand")
        case .detect: "Device Defender Detect · " + (alert.attributes.securityProfileName ?? "")
        case .overdue: "Device Defender audit schedule"
        case .subscription, .unrecognized: "defender-relay"
        }
        let card: [String: Any] = [
            "cardId": String(alert.id.prefix(64)),
            "card": ["header": ["title": AlertText.truncate(subject, 200), "subtitle": AlertText.truncate(alert.place.isEmpty ? alert.topicARN : alert.place, 200)], "sections": sections],
        ]
        // Chat text takes `<users/all>` and `<url|label>`: what came from a message is escaped.
        return AlertText.json(["text": AlertText.truncate(escape(alert.headline), 4000), "cardsV2": [card]])
    }

    /// `<b>CRITICAL</b> Device certificate shared — new · 3 of 1200 resources`, guidance, page.
    static func findingText(_ finding: Alert.Finding) -> String {
        let colour = AlertText.findingColourHex(finding)
        var text = "<font color=\"\(colour)\"><b>\(AlertText.severityLabel(finding))</b></font> <b>\(escape(finding.displayName))</b> — \(escape(AlertText.changeLabel(finding)))"
        if let counts = AlertText.counts(finding) { text += " · \(counts)" }
        if let guidance = AlertText.guidance(finding) { text += "<br>" + escape(guidance) }
        if let url = finding.documentationURL { text += "<br><a href=\"\(escape(url))\">\(finding.checkName)</a>" }
        return text
    }

    /// Card text is a small HTML subset.
    static func escape(_ text: String) -> String {
        AlertText.escapeMarkup(text).replacingOccurrences(of: "\"", with: "&quot;")
    }
}
