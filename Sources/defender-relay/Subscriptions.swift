import ArgumentParser
import RelayConfig
import Curl
import Foundation
import Relay
import SNS
import Storage

struct Subscriptions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the relay's SNS subscriptions, or confirm a pending one.",
        subcommands: [List.self, Confirm.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List subscriptions and their state.")

        @OptionGroup var options: ConfigurationOptions

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            let configuration = try options.load()
            let subscriptions = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { store in
                try await store.subscriptions()
            }
            if json {
                let rows = subscriptions.map { subscription -> [String: String] in
                    var row = ["topicArn": subscription.topicARN, "status": subscription.status.rawValue,
                               "updatedAt": SNSInstant(millisecondsSince1970: subscription.updatedAt).description]
                    row["subscriptionArn"] = subscription.subscriptionARN
                    row["lastError"] = subscription.lastError
                    return row
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                return
            }
            guard !subscriptions.isEmpty else {
                print("No subscriptions recorded yet.")
                return
            }
            let header = ["TOPIC", "STATUS", "SUBSCRIPTION", "UPDATED", "LAST ERROR"]
            let rows = subscriptions.map { subscription in
                [subscription.topicARN, subscription.status.rawValue, subscription.subscriptionARN ?? "-",
                 SNSInstant(millisecondsSince1970: subscription.updatedAt).description, subscription.lastError ?? "-"]
            }
            print(TextTable.render(header: header, rows: rows))
        }
    }

    struct Confirm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Confirm the pending subscription of a topic (sns.confirm_subscriptions: manual).")

        @Argument(help: "The topic ARN whose pending subscription to confirm.")
        var topicARN: String

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let configuration = try options.load()
            let outcome = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { store in
                try await confirm(configuration: configuration, store: store)
            }
            print(outcome)
        }

        private func confirm(configuration: RelayConfiguration, store: any Store) async throws -> String {
            guard let subscription = try await store.subscription(topicARN: topicARN) else {
                throw CommandFailure("No subscription is recorded for \(topicARN).")
            }
            guard subscription.status == .pending, let subscribeURL = subscription.subscribeURL else {
                throw CommandFailure("The subscription to \(topicARN) is \(subscription.status.rawValue), not pending.")
            }
            let policy = try configuration.sns.verifier().policy.subscribeURLPolicy
            let outcome = try await CurlClient.withClient(configuration: CurlConfiguration(configuration.outbound)) { curl in
                await SubscriptionConfirmer(curl: curl, policy: policy)
                    .confirm(subscribeURL: subscribeURL, topicARN: topicARN)
            }
            let now = RelayClock.now().millisecondsSince1970
            switch outcome {
            case .confirmed(let subscriptionARN):
                try await store.markConfirmed(topicARN: topicARN, subscriptionARN: subscriptionARN, at: now)
                return "Confirmed \(topicARN)\(subscriptionARN.map { " as \($0)" } ?? "")."
            case .transientFailure(let reason), .permanentFailure(let reason):
                try await store.markConfirmationFailed(topicARN: topicARN, reason: reason, at: now)
                throw CommandFailure("Not confirmed: \(reason)")
            }
        }
    }
}

