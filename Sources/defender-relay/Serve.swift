import ArgumentParser
import Foundation
import Curl
import Hummingbird
import Logging
import Relay
import ServiceLifecycle
import UnixSignals
import Storage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTPS endpoint that SNS delivers to.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try options.load()
        let logger = RelayLogging.bootstrap()
        OpenFileLimit.raise(toFit: configuration.server.maxConnections, logger: logger)
        if configuration.server.listensBeyondLoopback, configuration.metrics.token == nil {
            logger.warning("/metrics is open to anyone who reaches \(configuration.server.host): it names accounts and counts non-compliant resources per check; set metrics.token")
        }
        if configuration.sns.allowedTopics.isEmpty {
            logger.warning("sns.allowed_topics is empty: every SNS message will be refused with 403 until a topic is allowed")
        }
        try await StoreFactory.withStore(url: configuration.storage.url, logger: logger) { store in
            let clients = OutboundClients(configuration.outbound)
            logger.info("outbound requests use proxy: \(clients.alerts.configuration.proxy.describe(environment: ProcessInfo.processInfo.environment))")
            let host = configuration.server.host
            let dependencies = RelayDependencies(store: store, curl: clients.alerts, awsCurl: clients.aws, logger: logger)
            let delivery = buildDeliveryService(configuration: configuration, dependencies: dependencies)
            let app = try buildApplication(configuration: configuration, dependencies: dependencies, delivery: delivery) { port in
                logger.info("defender-relay listening", metadata: ["address": "\(host):\(port)", "sns_path": "\(configuration.server.snsPath)"])
            }
            // SIGTERM/SIGINT: the server stops accepting, then each service winds down; the
            // delivery lanes abort sends still running after the grace. Should anything still
            // hang a few seconds later, the group cancels it.
            var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = .seconds(configuration.server.shutdownGraceSeconds + 5)
            // The grace of alert sends counts from the signal, not from when the HTTP server has
            // drained and the shutdown reaches the delivery service.
            let signals = Task {
                for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    delivery?.shutdownRequested()
                    break
                }
            }
            defer { signals.cancel() }
            do {
                try await ServiceGroup(configuration: group).run()
            } catch {
                clients.alerts.abortTransfers()
                await clients.shutdown()
                throw error
            }
            // Whatever still runs on the transfer threads (nothing, normally) is not waited for.
            clients.alerts.abortTransfers()
            clients.aws.abortTransfers()
            await clients.shutdown()
        }
        logger.info("defender-relay stopped")
    }
}
