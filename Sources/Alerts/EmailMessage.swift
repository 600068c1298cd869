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

    /// The subject is the headline; the body starts with what the headline does not say.
    /// The HTML part uses tables and inline styles only, which mail clients render alike.
    public static func render(_ alert: Alert) -> EmailMessage {
        let shown = Array(alert.findings.prefix(maxFindingLines))
        var text = alert.summary + "\n\n"
        for fact in alert.facts { text += "\(fact.label): \(fact.value)\n" }
        for finding in shown {
            text += "\n- " + AlertText.line(finding) + "\n"
            if let guidance = AlertText.guidance(finding) { text += "  " + guidance + "\n" }
            if let url = finding.documentationURL { text += "  \(finding.checkName): \(url)\n" }
        }
        if alert.findings.count > shown.count { text += "\nand \(alert.findings.count - shown.count) more checks\n" }
        if alert.violations.count > 1 {
            text += "\n" + AlertText.lines(alert.violations, maxLines: maxFindingLines, maxCharacters: 50_000, noun: "thing", render: AlertText.line).map { "- " + $0 }.joined(separator: "\n") + "\n"
        }
        if let link = alert.link { text += "\nOpen in the AWS IoT console: \(link)\n" }

        let colour = AlertText.colourHex(alert)
        var html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>\(escape(alert.headline))</title></head>"
        html += "<body style=\"margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1d1d1d;background:#ffffff\">"
        html += "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:720px;border-left:6px solid \(colour)\">"
        html += "<tr><td style=\"padding:8px 16px\"><p style=\"margin:0 0 4px 0;font-weight:bold;color:\(colour)\">\(AlertText.isGoodNews(alert) ? "RESOLVED" : alert.severity.rawValue)</p>"
        html += "<p style=\"margin:0 0 12px 0\">\(escape(alert.summary))</p>"
        html += "<table role=\"presentation\" cellpadding=\"2\" cellspacing=\"0\" style=\"font-size:13px\">"
        for fact in alert.facts { html += "<tr><th align=\"left\" style=\"padding-right:12px;color:#555555;font-weight:normal\">\(escape(fact.label))</th><td>\(escape(fact.value))</td></tr>" }
        html += "</table></td></tr>"
        for finding in shown {
            let findingColour = AlertText.findingColourHex(finding)
            html += "<tr><td style=\"padding:10px 16px;border-top:1px solid #e0e0e0\">"
            html += "<p style=\"margin:0\"><span style=\"font-weight:bold;color:\(findingColour)\">\(AlertText.severityLabel(finding))</span> "
            html += "<strong>\(escape(finding.displayName))</strong> — \(escape(AlertText.changeLabel(finding)))"
            if let counts = AlertText.counts(finding) { html += " · \(escape(counts))" }
            html += "</p>"
            if let guidance = AlertText.guidance(finding) { html += "<p style=\"margin:4px 0 0 0\">\(escape(guidance))</p>" }
            if let url = finding.documentationURL {
                html += "<p style=\"margin:4px 0 0 0;font-size:12px\"><a href=\"\(escape(url))\" style=\"color:#0b57d0\">\(escape(finding.checkName))</a></p>"
            } else {
                html += "<p style=\"margin:4px 0 0 0;font-size:12px;color:#555555\">\(escape(finding.checkName))</p>"
            }
            html += "</td></tr>"
        }
        if alert.findings.count > shown.count {
            html += "<tr><td style=\"padding:10px 16px;border-top:1px solid #e0e0e0;color:#555555\">and \(alert.findings.count - shown.count) more checks</td></tr>"
        }
        if alert.violations.count > 1 {
            let lines = AlertText.lines(alert.violations, maxLines: maxFindingLines, maxCharacters: 50_000, noun: "thing", render: AlertText.line)
            html += "<tr><td style=\"padding:10px 16px;border-top:1px solid #e0e0e0\"><ul style=\"margin:0;padding-left:18px\">" + lines.map { "<li>\(escape($0))</li>" }.joined() + "</ul></td></tr>"
        }
        if let link = alert.link {
            html += "<tr><td style=\"padding:12px 16px;border-top:1px solid #e0e0e0\"><a href=\"\(escape(link))\" style=\"display:inline-block;padding:8px 14px;background:#232f3e;color:#ffffff;text-decoration:none;border-radius:4px\">Open in AWS IoT console</a></td></tr>"
        }
        html += "</table></body></html>"
        return EmailMessage(subject: alert.headline, text: text, html: html)
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
