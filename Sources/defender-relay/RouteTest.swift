import Alerts
import ArgumentParser
import DeviceDefender
import Ingest
import Foundation
import Relay
import RelayConfig
import SNS
import Storage

struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check routing rules.", subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which receivers a message would reach and what each would get. Sends nothing.",
            discussion: "FILE is a saved SNS message (JSON envelope) or a bare payload (audit, Detect event, anything). An audit is treated as the first run of its series."
        )

        @Argument(help: "A saved SNS message or a bare payload.") var file: String
        @Option(help: "The topic to assume for a bare payload.") var topic = "arn:aws:sns:us-east-1:123456789012:device-defender-audits"
        @Option(help: "Evaluate mute windows at this ISO 8601 time (default: now).") var now: String?
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let configuration = try options.load()
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
            var text = String(decoding: data, as: UTF8.self)
            var topicARN = topic
            var subject: String?
            // An envelope (signed or not: nothing is sent, so nothing is verified) or a bare payload.
            if let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
               object["Type"] is String, let inner = object["Message"] as? String {
                text = inner
                topicARN = object["TopicArn"] as? String ?? topic
                subject = object["Subject"] as? String
            }
            let at: Int64
            if let now {
                guard let instant = SNSInstant(iso8601: now) else { throw ValidationError("--now must be an ISO 8601 UTC time") }
                at = instant.millisecondsSince1970
            } else {
                at = RelayClock.now().millisecondsSince1970
            }
            let message = StoredMessage(messageID: "route-test", type: "Notification", topicARN: topicARN, subject: subject, message: text, snsTimestamp: "", signatureVersion: "2", signingCertURL: "", rawEnvelope: [], receivedAt: at)
            let event: RecordedEvent = switch DefenderPayload.classify(text) {
            case .audit(let audit): .audit(audit, AuditChange.between(previous: nil, current: audit))
            case .detect(let violation): .detect(violation)
            case .unrecognized(let reason): .unrecognized(reason: reason)
            }
            let planner = try AlertPlanner(configuration: configuration)
            guard let alert = planner.alert(for: message, event: event) else { throw CommandFailure("no alert would be built") }
            print("\(alert.kind.rawValue) alert, \(alert.severity.rawValue): \(alert.title)")
            let decisions = AlertRouter(routes: configuration.routes, defaultReceivers: configuration.alerts.defaultReceivers).decide(alert, now: at)
            guard !decisions.isEmpty else {
                print("No receiver: no route matched and alerts.default_receivers is empty.")
                return
            }
            for decision in decisions {
                let rule = decision.routeIndex.map { "routes[\($0)]" } ?? "alerts.default_receivers"
                print("\n→ \(decision.receiver) via \(rule)\(decision.muted ? " (MUTED now: nothing would be sent)" : "")\(decision.repeatIntervalSeconds.map { ", repeat_interval \($0) s" } ?? "")")
                guard let body = planner.render(alert, forReceiverNamed: decision.receiver) else { continue }
                print(String(decoding: body, as: UTF8.self))
            }
        }
    }
}
