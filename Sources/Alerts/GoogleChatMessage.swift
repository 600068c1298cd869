import DeviceDefender
/// Google Chat incoming webhook: a `cardsV2` card with a text fallback. Chat refuses messages
/// above 32,000 bytes and text above 4096 characters.
public enum GoogleChatMessage {
    public static let maxFindingLines = 30
    public static let maxCharacters = 16_000

    public static func render(_ alert: Alert) -> [UInt8] {
        var sections: [[String: Any]] = []
        if !alert.facts.isEmpty {
            sections.append(["widgets": alert.facts.prefix(10).map { ["decoratedText": ["topLabel": $0.label, "text": escape(AlertText.truncate($0.value, 500))]] }])
        }
        if !alert.findings.isEmpty {
            let lines = AlertText.lines(alert.findings, maxLines: maxFindingLines, maxCharacters: maxCharacters)
            sections.append(["header": "Checks", "widgets": [["textParagraph": ["text": lines.map(escape).joined(separator: "<br>")]]]])
        }
        if let link = alert.link {
            sections.append(["widgets": [["buttonList": ["buttons": [["text": "Open in AWS IoT console", "onClick": ["openLink": ["url": link]]]]]]]])
        }
        let card: [String: Any] = [
            "cardId": String(alert.id.prefix(64)),
            "card": ["header": ["title": AlertText.truncate(alert.title, 200), "subtitle": "\(alert.severity.rawValue) · defender-relay"], "sections": sections],
        ]
        return AlertText.json(["text": AlertText.truncate(alert.summary, 4000), "cardsV2": [card]])
    }

    /// Card text is a small HTML subset.
    static func escape(_ text: String) -> String {
        AlertText.escapeMarkup(text)
    }
}

import Foundation
