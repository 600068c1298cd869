import DeviceDefender

/// Discord webhook: the headline as `content` (what notifications show), one embed coloured by
/// severity with what it is about as its title, the findings as its description and the facts
/// as fields. Limits (discord.com/developers/docs): content 2000, title 256, description 4096,
/// 25 fields (name 256, value 1024), footer 2048, and 6000 characters across the embed.
/// Nobody is pinged unless the receiver names them: `allowed_mentions` lists exactly the
/// roles and users of its `mention:` entries, and `@everyone` in alert text pings nobody.
public enum DiscordMessage {
    public static let maxDescription = 4096
    public static let maxEmbedTotal = 6000

    /// `mentions`: `role:ID` or `user:ID` entries, called only for new or worse CRITICAL findings.
    public static func render(_ alert: Alert, mentions: [String] = []) -> [UInt8] {
        let title = AlertText.truncate(embedTitle(alert), 256)
        let fields = alert.facts.prefix(10).map { ["name": AlertText.truncate($0.label, 256), "value": AlertText.truncate(escape($0.value), 1024), "inline": true] as [String: Any] }
        let factCharacters = alert.facts.prefix(10).reduce(0) { $0 + min($1.label.count, 256) + min($1.value.count, 1024) }
        let budget = min(maxDescription, maxEmbedTotal - title.count - factCharacters - 100)
        var description = AlertText.truncate(escape(alert.summary), min(1000, budget))
        if !alert.findings.isEmpty {
            // A blank line between findings; `lines` counts one character per separator, so
            // the budget leaves room for the second.
            let lines = AlertText.lines(alert.findings, maxLines: 40, maxCharacters: max(100, budget - description.count - 2 - 40), render: findingText)
            description += "\n\n" + lines.joined(separator: "\n\n")
        }
        if alert.violations.count > 1 {
            let lines = AlertText.lines(alert.violations, maxLines: 40, maxCharacters: max(100, budget - description.count - 2), noun: "thing") { "- " + escape(AlertText.line($0)) }
            description += "\n\n" + lines.joined(separator: "\n")
        }
        var embed: [String: Any] = [
            "title": title, "description": description, "color": AlertText.alertColour(alert),
            "timestamp": AlertText.isoTime(alert.occurredAt), "footer": ["text": "defender-relay · \(alert.severity.rawValue)"],
        ]
        if let link = alert.link { embed["url"] = link }
        if !fields.isEmpty { embed["fields"] = Array(fields) }
        var content = escape(alert.headline)
        var roles: [String] = []
        var users: [String] = []
        if AlertText.mentions(alert) {
            for entry in mentions {
                if entry.hasPrefix("role:") { roles.append(String(entry.dropFirst(5))) }
                if entry.hasPrefix("user:") { users.append(String(entry.dropFirst(5))) }
            }
            let tags = roles.map { "<@&\($0)>" } + users.map { "<@\($0)>" }
            if !tags.isEmpty { content += "\n" + tags.joined(separator: " ") }
        }
        return AlertText.json([
            "content": AlertText.truncate(content, 2000), "embeds": [embed],
            "allowed_mentions": ["parse": [String](), "roles": roles, "users": users],
        ])
    }

    /// What the alert is about, not the headline again: `Audit dailyAudit` or the Detect
    /// profile and behavior.
    static func embedTitle(_ alert: Alert) -> String {
        switch alert.kind {
        case .audit: "Device Defender audit · " + (alert.attributes.scheduledAuditName ?? "on demand")
        case .detect: "Device Defender Detect · " + (alert.attributes.securityProfileName ?? "")
        case .subscription, .unrecognized, .overdue: alert.title
        }
    }

    /// `**CRITICAL** Device certificate shared — new · 3 of 1200 resources`, guidance, page.
    static func findingText(_ finding: Alert.Finding) -> String {
        var text = "**\(AlertText.severityLabel(finding))** \(escape(finding.displayName)) — \(escape(AlertText.changeLabel(finding)))"
        if let counts = AlertText.counts(finding) { text += " · \(counts)" }
        if let guidance = AlertText.guidance(finding) { text += "\n" + escape(guidance) }
        if let url = finding.documentationURL { text += "\n[\(finding.checkName)](\(url))" }
        return text
    }

    /// Markdown characters in alert text are shown as they are, not as formatting (lines the
    /// relay writes never start with text from an alert, so `#`, `>` and `-` need no escape).
    static func escape(_ text: String) -> String {
        guard text.contains(where: { "\\*_~`|[]".contains($0) }) else { return text }
        var result = ""
        result.reserveCapacity(text.count + 8)
        for character in text {
            if "\\*_~`|[]".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
