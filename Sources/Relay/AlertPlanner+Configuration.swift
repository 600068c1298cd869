import Alerts
import RelayConfig
import Foundation
import Ingest
import Mustache

extension AlertPlanner {
    /// The planner for the configured receivers and routes; template files are read here, once.
    public init(configuration: RelayConfiguration) throws {
        var receivers: [Receiver] = []
        for receiver in configuration.receivers {
            var planned = Receiver(name: receiver.name, kind: receiver.kind, mentions: receiver.mentions)
            if let path = receiver.template {
                planned.template = try WebhookTemplate.parse(String(contentsOfFile: path, encoding: .utf8), path: path)
            }
            if receiver.kind == .email {
                planned.mailSubject = try receiver.subjectTemplate.map { try MustacheTemplate(string: $0) }
                planned.mailText = try receiver.textTemplate.map { try WebhookTemplate.parse(String(contentsOfFile: $0, encoding: .utf8), path: $0) }
                planned.mailHTML = try receiver.htmlTemplate.map { try WebhookTemplate.parse(String(contentsOfFile: $0, encoding: .utf8), path: $0) }
            }
            receivers.append(planned)
        }
        self.init(
            builder: AlertBuilder(consoleURLTemplate: configuration.alerts.consoleURL, accountAliases: configuration.accounts),
            router: AlertRouter(routes: configuration.routes, defaultReceivers: configuration.alerts.defaultReceivers),
            receivers: receivers,
            alertOnSubscriptionChanges: configuration.alerts.alertOnSubscriptionChanges,
            expectations: configuration.alerts.expectations,
            detectGrouping: configuration.alerts.detectGrouping
        )
    }
}
