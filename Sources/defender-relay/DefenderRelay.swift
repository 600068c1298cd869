import ArgumentParser
import Relay

@main
struct DefenderRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "defender-relay",
        abstract: "Receives AWS IoT Device Defender results from Amazon SNS, verifies and stores them.",
        version: RelayVersion.current,
        subcommands: [
            Serve.self, Verify.self, Subscriptions.self, Audits.self, Checks.self, Deliveries.self, Silences.self, ReceiversCommand.self, Route.self, ConfigCommand.self,
            Healthcheck.self,
        ]
    )
}
