import DeviceDefender
/// Discord webhook: one embed coloured by severity. Limits (discord.com/developers/docs):
/// content 2000, title 256, description 4096, 25 fields (name 256, value 1024), footer 2048,
/// and 6000 characters across the embed.
public enum DiscordMessage {
    public static let maxDescription = 4096
    public static let maxEmbedTotal = 6000

    public static func render(_ alert: Alert) -> [UInt8] {
        let title = AlertText.truncate(alert.title, 256)
        let fields = alert.facts.prefix(10).map { ["name": AlertText.truncate($0.label, 256), "value": AlertText.truncate($0.value, 1024), "inline": true] as [String: Any] }
        let factCharacters = alert.facts.prefix(10).reduce(0) { $0 + min($1.label.count, 256) + min($1.value.count, 1024) }
        let budget = min(maxDescription, maxEmbedTotal - title.count - factCharacters - 100)
        var description = AlertText.truncate(alert.summary, min(1000, budget))
        if !alert.findings.isEmpty {
            let lines = AlertText.lines(alert.findings, maxLines: 40, maxCharacters: max(100, budget - description.count - 2))
            description += "\n\n" + lines.joined(separator: "\n")
        }
        var embed: [String: Any] = [
            "title": title, "description": description, "color": AlertText.colour(alert.severity),
            "timestamp": AlertText.isoTime(alert.occurredAt), "footer": ["text": "defender-relay · \(alert.severity.rawValue)"],
        ]
        if let link = alert.link { embed["url"] = link }
        if !fields.isEmpty { embed["fields"] = Array(fields) }
        return AlertText.json(["content": AlertText.truncate(alert.summary, 2000), "embeds": [embed], "allowed_mentions": ["parse": [String]()]])
    }
}
