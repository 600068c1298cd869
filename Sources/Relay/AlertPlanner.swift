import Alerts
import DeviceDefender
import Foundation
import Mustache
import Storage

/// Turns what the store recorded into outbox entries: build the alert, route it, render it
/// for each receiver. Pure (runs inside the recording transaction); templates are loaded once.
public struct AlertPlanner: Sendable {
    let builder: AlertBuilder
    let router: AlertRouter
    let receivers: [String: RelayConfiguration.Receiver]
    let templates: [String: MustacheTemplate]
    let mailTemplates: [String: MailTemplates]

    /// A mail receiver's templates; nil parts fall back to the built-in rendering.
    struct MailTemplates: Sendable {
        var subject: MustacheTemplate?
        var text: MustacheTemplate?
        var html: MustacheTemplate?
    }
    let alertOnSubscriptionChanges: Bool

    public init(configuration: RelayConfiguration) throws {
        builder = AlertBuilder(consoleURLTemplate: configuration.alerts.consoleURL)
        router = AlertRouter(routes: configuration.routes, defaultReceivers: configuration.alerts.defaultReceivers)
        receivers = Dictionary(uniqueKeysWithValues: configuration.receivers.map { ($0.name, $0) })
        var templates: [String: MustacheTemplate] = [:]
        for receiver in configuration.receivers {
            if let path = receiver.template {
                templates[receiver.name] = try MustacheTemplate(string: String(contentsOfFile: path, encoding: .utf8))
            }
        }
        self.templates = templates
        var mailTemplates: [String: MailTemplates] = [:]
        for receiver in configuration.receivers where receiver.kind == .email {
            mailTemplates[receiver.name] = MailTemplates(
                subject: try receiver.subjectTemplate.map { try MustacheTemplate(string: $0) },
                text: try receiver.textTemplate.map { try MustacheTemplate(string: String(contentsOfFile: $0, encoding: .utf8)) },
                html: try receiver.htmlTemplate.map { try MustacheTemplate(string: String(contentsOfFile: $0, encoding: .utf8)) }
            )
        }
        self.mailTemplates = mailTemplates
        alertOnSubscriptionChanges = configuration.alerts.alertOnSubscriptionChanges
    }

    /// True when there is anywhere to send alerts at all.
    public var isEnabled: Bool { !receivers.isEmpty }

    public func alert(for message: StoredMessage, event: RecordedEvent) -> Alert? {
        switch event {
        case .audit(let audit, let change):
            return builder.audit(audit, change: change, topicARN: message.topicARN)
        case .detect(let violation):
            return builder.detect(violation, topicARN: message.topicARN)
        case .unrecognized(let reason):
            return builder.unrecognized(topicARN: message.topicARN, subject: message.subject, message: message.message, reason: reason, messageID: message.messageID, at: message.receivedAt)
        case .subscription(let status):
            guard alertOnSubscriptionChanges else { return nil }
            return builder.subscription(topicARN: message.topicARN, status: status, detail: nil, messageID: message.messageID, at: message.receivedAt)
        }
    }

    public func plan(_ message: StoredMessage, _ event: RecordedEvent) -> [OutboxEntry] {
        guard isEnabled, let alert = alert(for: message, event: event) else { return [] }
        return entries(for: alert, now: message.receivedAt)
    }

    /// The entries for one alert (also used for alerts that follow a later step).
    public func entries(for alert: Alert, now: Int64) -> [OutboxEntry] {
        router.decide(alert, now: now).compactMap { decision in
            guard !decision.muted, let receiver = receivers[decision.receiver] else { return nil }
            return OutboxEntry(
                id: "\(alert.id)#\(receiver.name)", receiver: receiver.name, alertID: alert.id, kind: alert.kind.rawValue,
                body: render(alert, for: receiver), fingerprint: alert.attributes.fingerprint, repeatIntervalSeconds: decision.repeatIntervalSeconds
            )
        }
    }

    /// What `receiver` gets for `alert`.
    public func render(_ alert: Alert, for receiver: RelayConfiguration.Receiver) -> [UInt8] {
        switch receiver.kind {
        case .slack: return SlackMessage.render(alert)
        case .teams: return TeamsMessage.render(alert)
        case .discord: return DiscordMessage.render(alert)
        case .googlechat: return GoogleChatMessage.render(alert)
        case .webhook:
            let document = WebhookDocument.render(alert)
            guard let template = templates[receiver.name],
                  let context = try? JSONSerialization.jsonObject(with: Data(document))
            else { return document }
            return Array(template.render(context).utf8)
        case .email:
            var mail = EmailMessage.render(alert)
            if let templates = mailTemplates[receiver.name], templates.subject != nil || templates.text != nil || templates.html != nil,
               let context = try? JSONSerialization.jsonObject(with: Data(WebhookDocument.render(alert))) {
                // A subject is one line whatever the template says.
                if let subject = templates.subject?.render(context) { mail.subject = subject.components(separatedBy: .newlines).joined(separator: " ") }
                if let text = templates.text?.render(context) { mail.text = text }
                if let html = templates.html?.render(context) { mail.html = html }
            }
            return Array((try? JSONEncoder().encode(["subject": mail.subject, "text": mail.text, "html": mail.html])) ?? Data())
        }
    }
}
