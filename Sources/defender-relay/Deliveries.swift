import ArgumentParser
import Relay
import RelayConfig
import SNS
import Storage

struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the alert outbox, or retry dead-lettered deliveries.",
        subcommands: [List.self, Retry.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries, newest first.")

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "pending, sending, delivered or dead.") var state: String?
        @Option(help: "At most this many.") var limit = 50
        @Flag(help: "Print JSON (as GET /api/v1/deliveries).") var json = false

        func run() async throws {
            let state = try self.state.map { text -> Delivery.State in
                guard let state = Delivery.State(rawValue: text) else { throw ValidationError("--state must be pending, sending, delivered or dead") }
                return state
            }
            let configuration = try options.load()
            let deliveries = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { try await $0.deliveries(state: state, limit: limit) }
            if json {
                try JSONOutput.print(APIModels.DeliveryList(deliveries))
                return
            }
            guard !deliveries.isEmpty else {
                print("No deliveries.")
                return
            }
            print(TextTable.render(header: ["ID", "RECEIVER", "STATE", "ATTEMPTS", "UPDATED", "LAST ERROR"], rows: deliveries.map { delivery in
                [delivery.id, delivery.receiver, delivery.state.rawValue, String(delivery.attempts),
                 SNSInstant(millisecondsSince1970: delivery.updatedAt).description, String((delivery.lastError ?? "-").prefix(80))]
            }))
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue dead-lettered deliveries again (one by id, or --all).")

        @Argument(help: "The delivery id (see deliveries list --state dead).") var id: String?
        @Flag(help: "Every dead-lettered delivery.") var all = false
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard (id == nil) != !all else { throw ValidationError("give a delivery id or --all") }
        }

        func run() async throws {
            let configuration = try options.load()
            let count = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) {
                try await $0.retryDeadDeliveries(id: id, at: RelayClock.now().millisecondsSince1970)
            }
            guard count > 0 else { throw CommandFailure(id.map { "No dead delivery has id \($0)." } ?? "No dead deliveries.") }
            print("Queued \(count) deliver\(count == 1 ? "y" : "ies") again.")
        }
    }
}
