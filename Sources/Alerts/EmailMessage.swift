import DeviceDefender
import Foundation

/// A mail: subject, a text part and an HTML part (multipart/alternative), rendered as the
/// RFC 5322 message libcurl uploads. Header values are single-line and the HTML is escaped.
public struct EmailMessage: Sendable, Equatable {
    public var subject: String
    public var text: String
    public var html: String

    public static let maxFindingLines = 100

    public init(subject: String, text: String, html: String) {
        self.subject = subject
        self.text = text
        self.html = html
    }

    public static func render(_ alert: Alert) -> EmailMessage {
        let lines = AlertText.lines(alert.findings, maxLines: maxFindingLines, maxCharacters: 50_000)
        var text = alert.summary + "\n\n"
        for fact in alert.facts { text += "\(fact.label): \(fact.value)\n" }
        if !lines.isEmpty { text += "\n" + lines.map { "- " + $0 }.joined(separator: "\n") + "\n" }
        if let link = alert.link { text += "\nDetails: \(link)\n" }
        var html = "<html><body><h2>\(escape(alert.title))</h2><p>\(escape(alert.summary))</p><table>"
        for fact in alert.facts { html += "<tr><th align=\"left\">\(escape(fact.label))</th><td>\(escape(fact.value))</td></tr>" }
        html += "</table>"
        if !lines.isEmpty { html += "<ul>" + lines.map { "<li>\(escape($0))</li>" }.joined() + "</ul>" }
        if let link = alert.link { html += "<p><a href=\"\(escape(link))\">Open in AWS IoT console</a></p>" }
        html += "</body></html>"
        return EmailMessage(subject: "[\(alert.severity.rawValue)] " + AlertText.truncate(alert.title, 180), text: text, html: html)
    }

    /// The message as uploaded over SMTP, with CRLF line ends and a random-free boundary
    /// derived from `messageID` (deterministic for tests and snapshots).
    public func mime(from: String, to: [String], messageID: String, date: Date) -> [UInt8] {
        let boundary = "defender-relay-" + String(UInt64(bitPattern: Int64(messageID.hashValue)), radix: 36)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let headers = [
            "From: \(Self.header(from))",
            "To: \(to.map(Self.header).joined(separator: ", "))",
            "Subject: \(Self.encodedWord(subject))",
            "Date: \(formatter.string(from: date))",
            "Message-ID: <\(Self.header(messageID))@defender-relay>",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
        ]
        var body = headers.joined(separator: "\r\n") + "\r\n\r\n"
        for (type, content) in [("text/plain", text), ("text/html", html)] {
            body += "--\(boundary)\r\nContent-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            body += Data(content.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]) + "\r\n"
        }
        body += "--\(boundary)--\r\n"
        return Array(body.utf8)
    }

    /// RFC 2047 encoded word, so a subject can carry any character and never a line break.
    static func encodedWord(_ text: String) -> String {
        "=?UTF-8?B?" + Data(text.utf8).base64EncodedString() + "?="
    }

    /// Header values lose CR and LF: no header injection through alert text or configuration.
    static func header(_ value: String) -> String {
        value.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
