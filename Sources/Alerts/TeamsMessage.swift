import DeviceDefender
/// Microsoft Teams Workflows webhook: a message with one Adaptive Card (schema 1.4). The
/// retired Office 365 connector MessageCard is not used. Teams refuses messages above about
/// 28 KB; findings are capped well below.
public enum TeamsMessage {
    public static let maxFindingLines = 30
    public static let maxCharacters = 20_000

    public static func render(_ alert: Alert) -> [UInt8] {
        var body: [[String: Any]] = [
            ["type": "TextBlock", "text": AlertText.truncate(alert.title, 300), "weight": "Bolder", "size": "Medium", "wrap": true,
             "color": alert.severity == .critical || alert.severity == .high ? "Attention" : "Default"],
            ["type": "TextBlock", "text": AlertText.truncate(alert.summary, 2000), "wrap": true],
        ]
        if !alert.facts.isEmpty {
            body.append(["type": "FactSet", "facts": alert.facts.prefix(12).map { ["title": $0.label, "value": AlertText.truncate($0.value, 500)] }])
        }
        if !alert.findings.isEmpty {
            let lines = AlertText.lines(alert.findings, maxLines: maxFindingLines, maxCharacters: maxCharacters)
            body.append(["type": "TextBlock", "text": lines.map { "- " + $0 }.joined(separator: "\n"), "wrap": true])
        }
        var card: [String: Any] = [
            "type": "AdaptiveCard", "version": "1.4", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "body": body,
            "msteams": ["width": "Full"],
        ]
        if let link = alert.link {
            card["actions"] = [["type": "Action.OpenUrl", "title": "Open in AWS IoT console", "url": link]]
        }
        return AlertText.json([
            "type": "message",
            "attachments": [["contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": NSNull(), "content": card]],
        ])
    }
}

import Foundation
