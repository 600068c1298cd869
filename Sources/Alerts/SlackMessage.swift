import DeviceDefender
/// Slack incoming-webhook message: Block Kit with a plain-text fallback in `text`.
/// Limits (api.slack.com/reference/block-kit): 50 blocks, header 150 chars, section text 3000,
/// context elements 10; `text` is kept under 3000 so notifications are not cut mid-word.
public enum SlackMessage {
    public static let maxSectionCharacters = 3000
    public static let maxFindingLines = 25

    public static func render(_ alert: Alert) -> [UInt8] {
        var blocks: [[String: Any]] = [
            ["type": "header", "text": ["type": "plain_text", "text": AlertText.truncate(alert.title, 150), "emoji": false]],
            ["type": "section", "text": ["type": "mrkdwn", "text": AlertText.truncate(escape(alert.summary), maxSectionCharacters)]],
        ]
        if !alert.findings.isEmpty {
            let lines = AlertText.lines(alert.findings, maxLines: maxFindingLines, maxCharacters: maxSectionCharacters - 10) { finding in
                "• " + escape(AlertText.line(finding))
            }
            blocks.append(["type": "section", "text": ["type": "mrkdwn", "text": lines.joined(separator: "\n")]])
        }
        let facts = alert.facts.prefix(10).map { fact in
            ["type": "mrkdwn", "text": AlertText.truncate("*\(escape(fact.label))*: \(escape(fact.value))", 300)]
        }
        if !facts.isEmpty { blocks.append(["type": "context", "elements": Array(facts)]) }
        if let link = alert.link {
            blocks.append(["type": "actions", "elements": [["type": "button", "text": ["type": "plain_text", "text": "Open in AWS IoT console"], "url": link]]])
        }
        return AlertText.json(["text": AlertText.truncate(alert.summary, 3000), "blocks": blocks])
    }

    /// Slack mrkdwn treats &, < and > as control characters.
    static func escape(_ text: String) -> String {
        AlertText.escapeMarkup(text)
    }
}

import Foundation
