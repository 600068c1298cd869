import Alerts
import DeviceDefender
import Foundation
import Testing

/// What each service receives for the reviewed fixture audit, compared with snapshot files a
/// person read and approved (Snapshots/). A mismatch writes `<name>.new` beside the snapshot for
/// review; it never overwrites the approved file.
struct RenderingTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    static func pretty(_ bytes: [UInt8]) -> String {
        let object = try! JSONSerialization.jsonObject(with: Data(bytes))
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self) + "\n"
    }

    func assertSnapshot(_ text: String, _ name: String) throws {
        let file = Self.snapshots.appendingPathComponent(name)
        let approved = try? String(contentsOf: file, encoding: .utf8)
        if approved != text {
            try text.write(to: file.appendingPathExtension("new"), atomically: true, encoding: .utf8)
        }
        #expect(approved == text, "\(name) differs from the approved snapshot; review \(name).new")
    }

    @Test func slack() throws { try assertSnapshot(Self.pretty(SlackMessage.render(AlertFixtures.reviewedAudit)), "slack-audit.json") }
    @Test func teams() throws { try assertSnapshot(Self.pretty(TeamsMessage.render(AlertFixtures.reviewedAudit)), "teams-audit.json") }
    @Test func discord() throws { try assertSnapshot(Self.pretty(DiscordMessage.render(AlertFixtures.reviewedAudit)), "discord-audit.json") }
    @Test func googleChat() throws { try assertSnapshot(Self.pretty(GoogleChatMessage.render(AlertFixtures.reviewedAudit)), "googlechat-audit.json") }
    @Test func webhook() throws { try assertSnapshot(Self.pretty(WebhookDocument.render(AlertFixtures.reviewedAudit)), "webhook-audit.json") }
    /// A trigger per open finding (new, worse, known: PagerDuty folds a repeat into its open
    /// incident), a resolve per resolved finding; a check that did not run sends nothing.
    @Test func pagerDuty() throws {
        let events = PagerDutyEvent.events(AlertFixtures.reviewedAudit)
        #expect(events.map(\.dedupKey) == [
            "123456789012:eu-west-1:DEVICE_CERTIFICATE_SHARED_CHECK", "123456789012:eu-west-1:IOT_POLICY_OVERLY_PERMISSIVE_CHECK",
            "123456789012:eu-west-1:DEVICE_CERTIFICATE_EXPIRING_CHECK", "123456789012:eu-west-1:LOGGING_DISABLED_CHECK",
        ])
        let document = "[" + events.map { String(decoding: $0.body, as: UTF8.self) }.joined(separator: ",") + "]"
        try assertSnapshot(Self.pretty(Array(document.utf8)), "pagerduty-audit.json")
    }

    @Test func slackDetect() throws { try assertSnapshot(Self.pretty(SlackMessage.render(AlertFixtures.detect)), "slack-detect.json") }

    @Test func email() throws {
        let mail = EmailMessage.render(AlertFixtures.reviewedAudit)
        try assertSnapshot("Subject: \(mail.subject)\n\n\(mail.text)\n---\n\(mail.html)\n", "email-audit.txt")
        let mime = String(decoding: mail.mime(from: "relay@example.com", to: ["a@example.com", "b@example.com"], messageID: "m-1", date: Date(timeIntervalSince1970: 1_795_000_000)), as: UTF8.self)
        #expect(mime.contains("To: a@example.com, b@example.com\r\n"))
        #expect(mime.contains("Content-Type: multipart/alternative;"))
        #expect(mime.contains("Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"))
        #expect(!mime.contains("\n\n"), "lines end in CRLF")
        let hostile = EmailMessage(subject: "x\r\nBcc: victim@example.com", text: "t", html: "h")
        #expect(!String(decoding: hostile.mime(from: "a@example.com\r\nBcc: x@y", to: ["b@example.com"], messageID: "m", date: Date()), as: UTF8.self).contains("\r\nBcc:"))
    }

    @Test(arguments: [5, 60, 400])
    func staysWithinEachServicesLimits(_ count: Int) throws {
        let alert = AlertFixtures.manyFindings(count)

        let slack = try JSONSerialization.jsonObject(with: Data(SlackMessage.render(alert))) as! [String: Any]
        let attachment = (slack["attachments"] as! [[String: Any]])[0]
        let blocks = attachment["blocks"] as! [[String: Any]]
        #expect(blocks.count <= 50)
        let sections = blocks.compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        #expect(sections.allSatisfy { $0.count <= 3000 })
        #expect((slack["text"] as! String).count <= AlertHeadline.maxCharacters)
        let slackShown = sections.filter { $0.hasPrefix("*UNKNOWN* · *CUSTOM_CHECK") }.count
        let slackMore = blocks.last { $0["type"] as? String == "context" }.flatMap { (($0["elements"] as? [[String: Any]])?.first?["text"] as? String) }
        if slackShown < count {
            #expect(slackMore == "and \(count - slackShown) more checks (all of them in the console)")
        } else {
            #expect(slackShown == count)
        }

        let discord = try JSONSerialization.jsonObject(with: Data(DiscordMessage.render(alert))) as! [String: Any]
        let embed = (discord["embeds"] as! [[String: Any]])[0]
        let description = embed["description"] as! String
        let fields = embed["fields"] as? [[String: Any]] ?? []
        let total = (embed["title"] as! String).count + description.count + ((embed["footer"] as! [String: Any])["text"] as! String).count
            + fields.reduce(0) { $0 + ($1["name"] as! String).count + ($1["value"] as! String).count }
        #expect(description.count <= 4096)
        #expect(total <= 6000)
        #expect((discord["content"] as! String).count <= 2000)
        let shown = description.components(separatedBy: "\n").filter { $0.hasPrefix("**UNKNOWN**") }.count
        if shown < count {
            #expect(description.hasSuffix("and \(count - shown) more checks"))
        } else {
            #expect(!description.contains("more check"))
        }

        let chat = GoogleChatMessage.render(alert)
        #expect(chat.count < 32_000)
        #expect(((try JSONSerialization.jsonObject(with: Data(chat)) as! [String: Any])["text"] as! String).count <= 4096)
        #expect(TeamsMessage.render(alert).count < 28_000)
    }
}
