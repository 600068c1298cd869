import DeviceDefender

/// Slack incoming-webhook message. `text` is the headline: Slack shows it above the
/// attachment and in push notifications. The attachment carries the severity colour bar and
/// Block Kit blocks that do not repeat the headline: context, one section per finding (what
/// changed, what it means, what to do, AWS's page), the console button.
/// Limits (api.slack.com/reference/block-kit): 50 blocks, section text 3000 characters,
/// context elements 10, 25 actions elements.
public enum SlackMessage {
    public static let maxSectionCharacters = 3000
    /// Findings shown one section each; the rest are counted in one line.
    public static let maxFindingSections = 20

    /// `mentions`: the receiver's `mention:` entries (`here`, `channel`, a user id `U…`/`W…`,
    /// a user group id `S…`), called only for new or worse CRITICAL findings.
    public static func render(_ alert: Alert, mentions: [String] = []) -> [UInt8] {
        var blocks: [[String: Any]] = []
        blocks.append(["type": "section", "text": ["type": "mrkdwn", "text": AlertText.truncate(escape(alert.summary), maxSectionCharacters)]])
        let facts = alert.facts.prefix(10).map { fact in
            ["type": "mrkdwn", "text": AlertText.truncate("*\(escape(fact.label))*: \(escape(fact.value))", 300)]
        }
        if !facts.isEmpty { blocks.append(["type": "context", "elements": Array(facts)]) }
        let shown = alert.findings.count > maxFindingSections ? maxFindingSections - 1 : alert.findings.count
        for finding in alert.findings.prefix(shown) {
            blocks.append(["type": "section", "text": ["type": "mrkdwn", "text": AlertText.truncate(findingText(finding), maxSectionCharacters)]])
        }
        if alert.findings.count > shown {
            let rest = alert.findings.count - shown
            blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": AlertText.moreChecks(rest)]]])
        }
        if alert.violations.count > 1 {
            let lines = AlertText.lines(alert.violations, maxLines: 25, maxCharacters: maxSectionCharacters - 10, noun: "thing") { "• " + escape(AlertText.line($0)) }
            blocks.append(["type": "section", "text": ["type": "mrkdwn", "text": lines.joined(separator: "\n")]])
        }
        if let link = alert.link {
            blocks.append(["type": "actions", "elements": [["type": "button", "text": ["type": "plain_text", "text": "Open in AWS IoT console"], "url": link]]])
        }
        // Mentions notify only in the message's own text, not inside an attachment: on a
        // second line, so that the first line a notification shows is still the headline.
        var text = escape(alert.headline)
        if AlertText.mentions(alert), !mentions.isEmpty { text += "\n" + mentions.map(mention).joined(separator: " ") }
        return AlertText.json([
            "text": text,
            "attachments": [["color": AlertText.colourHex(alert), "blocks": blocks]],
        ])
    }

    /// `*CRITICAL* · *Device certificate shared* — new · 3 of 1200 resources`, then what it
    /// means and what to do, then AWS's page named by the check's API name (searchable).
    static func findingText(_ finding: Alert.Finding) -> String {
        var text = "*\(AlertText.severityLabel(finding))* · *\(escape(finding.displayName))* — \(escape(AlertText.changeLabel(finding)))"
        if let counts = AlertText.counts(finding) { text += " · \(counts)" }
        if let guidance = AlertText.guidance(finding) { text += "\n\(escape(guidance))" }
        if let url = finding.documentationURL {
            text += "\n<\(url)|\(finding.checkName)>"
        } else {
            text += "\n`\(escape(finding.checkName))`"
        }
        return text
    }

    /// Slack's mention syntax for a `mention:` entry.
    static func mention(_ entry: String) -> String {
        switch entry {
        case "here", "channel", "everyone": "<!\(entry)>"
        case let id where id.hasPrefix("S"): "<!subteam^\(id)>"
        default: "<@\(entry)>"
        }
    }

    /// Slack mrkdwn treats &, < and > as control characters.
    static func escape(_ text: String) -> String {
        AlertText.escapeMarkup(text)
    }
}
