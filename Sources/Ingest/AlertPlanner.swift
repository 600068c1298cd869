import Alerts
import Foundation
import Mustache
import Storage

/// Turns what a transaction stored into outbox entries: build the alert, route it, render it
/// for each receiver. Pure: it runs inside the ingest transaction, between its writes, on the
/// transaction's own task (never on the database's writer thread).
public struct AlertPlanner: Sendable {
    /// What the planner needs to know of a receiver: where its alerts go is the sender's business.
    public struct Receiver: Sendable {
        public var name: String
        public var kind: ReceiverKind
        /// Webhook only: renders the alert document instead of sending it as is.
        public var template: MustacheTemplate?
        /// Email only: templates for the subject and the parts; nil parts use the built-in rendering.
        public var mailSubject: MustacheTemplate?
        public var mailText: MustacheTemplate?
        public var mailHTML: MustacheTemplate?
        /// Slack, Teams and Discord: who is called for a new or worse CRITICAL finding.
        public var mentions: [String]

        public init(
            name: String, kind: ReceiverKind, template: MustacheTemplate? = nil, mailSubject: MustacheTemplate? = nil,
            mailText: MustacheTemplate? = nil, mailHTML: MustacheTemplate? = nil, mentions: [String] = []
        ) {
            self.mentions = mentions
            self.name = name
            self.kind = kind
            self.template = template
            self.mailSubject = mailSubject
            self.mailText = mailText
            self.mailHTML = mailHTML
        }
    }

    public let builder: AlertBuilder
    let router: AlertRouter
    /// Scheduled audits that must keep arriving (`alerts.expect`).
    public let expectations: [AuditExpectation]
    /// How Detect events are gathered into messages (`alerts.detect`).
    public let detectGrouping: DetectGrouping
    let receivers: [String: Receiver]
    let alertOnSubscriptionChanges: Bool

    public init(
        builder: AlertBuilder, router: AlertRouter, receivers: [Receiver], alertOnSubscriptionChanges: Bool, expectations: [AuditExpectation] = [],
        detectGrouping: DetectGrouping = DetectGrouping()
    ) {
        self.expectations = expectations
        self.detectGrouping = detectGrouping
        self.builder = builder
        self.router = router
        self.receivers = Dictionary(receivers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.alertOnSubscriptionChanges = alertOnSubscriptionChanges
    }

    /// True when there is anywhere to send alerts at all.
    public var isEnabled: Bool { !receivers.isEmpty }

    /// The alert `event` makes; nil when it makes none (a subscription change nobody asked to
    /// hear of, an audit whose every finding is silenced).
    public func alert(for message: StoredMessage, event: RecordedEvent, silences: [Silence] = []) -> Alert? {
        switch event {
        case .audit(let audit, let change):
            return builder.audit(audit, change: change, topicARN: message.topicARN, silenced: silences.silencedChecks(of: audit, at: message.receivedAt))
        case .detect(let violation):
            return builder.detect(violation, topicARN: message.topicARN)
        case .unrecognized(let reason):
            return builder.unrecognized(topicARN: message.topicARN, subject: message.subject, message: message.message, reason: reason, messageID: message.messageID, at: message.receivedAt)
        case .subscription(let status):
            guard alertOnSubscriptionChanges else { return nil }
            return builder.subscription(topicARN: message.topicARN, status: status, detail: nil, messageID: message.messageID, at: message.receivedAt)
        }
    }

    public func plan(_ message: StoredMessage, _ event: RecordedEvent, silences: [Silence] = []) -> [OutboxEntry] {
        guard isEnabled, let alert = alert(for: message, event: event, silences: silences) else { return [] }
        return entries(for: alert, now: message.receivedAt)
    }

    /// The entries for one alert (also used for alerts that follow a later step).
    /// `alsoTo`: receivers that get the alert whatever the routes say (a clearing goes where its
    /// alarm went).
    public func entries(for alert: Alert, now: Int64, alsoTo extra: [String] = []) -> [OutboxEntry] {
        var decisions = router.decide(alert, now: now)
        for receiver in extra where !decisions.contains(where: { $0.receiver == receiver }) {
            decisions.append(AlertRouter.Decision(receiver: receiver, routeIndex: nil, repeatIntervalSeconds: nil, muted: false))
        }
        return decisions.flatMap { decision -> [OutboxEntry] in
            guard !decision.muted, let receiver = receivers[decision.receiver] else { return [] }
            if receiver.kind == .pagerduty {
                // One event per finding: each is its own outbox entry (and repeat fingerprint).
                return PagerDutyEvent.events(alert).map { event in
                    OutboxEntry(
                        id: "\(alert.id)#\(receiver.name)#\(event.dedupKey)", receiver: receiver.name, alertID: alert.id, kind: alert.kind.rawValue,
                        // Never held back as a repeat: PagerDuty's state must follow the findings'.
                        body: event.body, fingerprint: event.fingerprint, repeatIntervalSeconds: nil
                    )
                }
            }
            return [OutboxEntry(
                id: "\(alert.id)#\(receiver.name)", receiver: receiver.name, alertID: alert.id, kind: alert.kind.rawValue,
                body: render(alert, for: receiver), fingerprint: alert.attributes.fingerprint, repeatIntervalSeconds: decision.repeatIntervalSeconds
            )]
        }
    }

    /// What the receiver called `name` gets for `alert`; nil when there is no such receiver.
    public func render(_ alert: Alert, forReceiverNamed name: String) -> [UInt8]? {
        receivers[name].map { render(alert, for: $0) }
    }

    /// What `receiver` gets for `alert`.
    public func render(_ alert: Alert, for receiver: Receiver) -> [UInt8] {
        switch receiver.kind {
        case .slack: return SlackMessage.render(alert, mentions: receiver.mentions)
        case .teams: return TeamsMessage.render(alert, mentions: receiver.mentions)
        case .discord: return DiscordMessage.render(alert, mentions: receiver.mentions)
        case .googlechat: return GoogleChatMessage.render(alert)
        case .pagerduty:
            return PagerDutyEvent.events(alert).first?.body ?? []
        case .webhook:
            let document = WebhookDocument.render(alert)
            guard let template = receiver.template,
                  let context = try? JSONSerialization.jsonObject(with: Data(document))
            else { return document }
            return Array(template.render(context).utf8)
        case .email:
            var mail = EmailMessage.render(alert)
            if receiver.mailSubject != nil || receiver.mailText != nil || receiver.mailHTML != nil,
               let context = try? JSONSerialization.jsonObject(with: Data(WebhookDocument.render(alert))) {
                // A subject is one line whatever the template says.
                if let subject = receiver.mailSubject?.render(context) { mail.subject = subject.components(separatedBy: .newlines).joined(separator: " ") }
                if let text = receiver.mailText?.render(context) { mail.text = text }
                if let html = receiver.mailHTML?.render(context) { mail.html = html }
            }
            return Array((try? JSONEncoder().encode(["subject": mail.subject, "text": mail.text, "html": mail.html])) ?? Data())
        }
    }
}
