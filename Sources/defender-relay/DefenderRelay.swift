import ArgumentParser

@main
struct DefenderRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "defender-relay",
        abstract: "Receives AWS IoT Device Defender results from Amazon SNS, verifies and stores them.",
        subcommands: [Serve.self, Verify.self, Subscriptions.self, Audits.self, Checks.self, Deliveries.self, Route.self]
    )
}
