import Alerts
import ArgumentParser
import Curl
import Foundation
import Ingest
import Relay
import RelayConfig
import SNS
import Storage

/// `defender-relay receivers test NAME`: a clearly marked test alert through the same
/// rendering, URL policy and sender (libcurl) as real deliveries, sent at once instead of
/// through the outbox; the outcome is printed.
struct ReceiversCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "receivers", abstract: "Check receivers.", subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a test alert to one receiver and print the HTTP or SMTP outcome.",
            discussion: "Exits 0 only when the receiver took the alert. A PagerDuty receiver gets a trigger and, right after, its resolve."
        )

        @Argument(help: "The receiver's name.") var name: String
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let configuration = try options.load()
            guard configuration.receivers.contains(where: { $0.name == name }) else {
                throw CommandFailure("No receiver is named '\(name.prefix(64))'; the configuration has: \(configuration.receivers.map(\.name).joined(separator: ", ")).")
            }
            let planner = try AlertPlanner(configuration: configuration)
            let now = RelayClock.now().millisecondsSince1970
            let alert = planner.builder.test(receiver: name, at: now)
            let receiver = configuration.receivers.first { $0.name == name }!
            var bodies: [[UInt8]]
            if receiver.kind == .pagerduty {
                let trigger = PagerDutyEvent.events(alert)
                bodies = trigger.map(\.body) + trigger.map { PagerDutyEvent.resolve($0.dedupKey).body }
            } else {
                bodies = [planner.render(alert, forReceiverNamed: name) ?? []]
            }
            let results = try await CurlClient.withClient(configuration: CurlConfiguration(configuration.outbound)) { curl in
                let sender = AlertSender(curl: curl, receivers: configuration.receivers, clock: RelayClock.now)
                var results: [SendResult] = []
                for (index, body) in bodies.enumerated() {
                    results.append(await sender.send(.unqueued(id: "\(alert.id)#\(name)#\(index)", receiver: name, alertID: alert.id, kind: alert.kind.rawValue, body: body, at: now)))
                }
                return results
            }
            var delivered = true
            for result in results {
                switch result {
                case .accepted(let status):
                    print("delivered: \(receiver.kind == .email ? "SMTP" : "HTTP") \(status)")
                case .refused(let status, _, let detail):
                    print("refused: HTTP \(status)\(detail.isEmpty ? "" : " — \(detail)")")
                    delivered = false
                case .unreachable(let reason):
                    print("unreachable: \(reason)")
                    delivered = false
                case .invalid(let reason):
                    print("not sent: \(reason)")
                    delivered = false
                }
            }
            if !delivered { throw ExitCode.failure }
        }
    }
}
