import ArgumentParser
import Foundation
import Curl
import Hummingbird
import Logging
import Relay
import RelayConfig
import ServiceLifecycle
import UnixSignals
import Storage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTPS endpoint that SNS delivers to.",
        discussion: "SIGTERM or SIGINT: drain within server.shutdown_grace_seconds and exit 0. SIGHUP: read the configuration file again and put its accounts, receivers, routes and alert settings in effect (a file with problems changes nothing; the log says why)."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let (configuration, warnings) = try options.loadChecked()
        let logger = RelayLogging.bootstrap(configuration.log)
        OpenFileLimit.raise(toFit: configuration.server.maxConnections, logger: logger)
        for warning in warnings {
            logger.warning("configuration: \(warning)")
        }
        // One ServiceGroup runs every long-running part. They start together (what needs the
        // schema waits for the store) and stop in reverse order: the reloader, the HTTP server
        // (stops accepting, drains requests), delivery, retention, group commit (stores what
        // requests in flight handed it), the outbound clients, the store.
        let store = try StoreService(url: configuration.storage.url, logger: logger)
        let clients = OutboundClients(configuration.outbound)
        logger.info("outbound requests use proxy: \(clients.alerts.configuration.proxy.describe(environment: ProcessInfo.processInfo.environment))")
        let dependencies = RelayDependencies(store: store.store, curl: clients.alerts, awsCurl: clients.aws, logger: logger)
        let relay = try RelayComponents(configuration: configuration, dependencies: dependencies)
        let host = configuration.server.host
        let app = relay.application { port in
            logger.info("defender-relay listening", metadata: ["address": "\(host):\(port)", "sns_path": "\(configuration.server.snsPath)", "version": "\(RelayVersion.current)"])
        }
        let reloader = ConfigurationReloader(path: options.path, running: configuration, relay: relay, logger: logger)
        var group = ServiceGroupConfiguration(
            services: [
                .init(service: store), .init(service: clients),
                .init(service: AfterStoreReady(relay.ingest.recorder, store: store)),
                .init(service: AfterStoreReady(relay.retention, store: store)),
                .init(service: AfterStoreReady(relay.scheduleWatch, store: store)),
                .init(service: AfterStoreReady(relay.detectGroups, store: store)),
                .init(service: AfterStoreReady(relay.delivery, store: store)),
                .init(service: AfterStoreReady(app, store: store)),
                .init(service: reloader),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
        )
        // Sends still running after the grace are aborted by the delivery service; should
        // anything still hang a few seconds later, the group cancels it.
        group.maximumGracefulShutdownDuration = Duration.seconds(configuration.server.shutdownGraceSeconds + 5)
        // The grace of alert sends counts from the signal, not from when the HTTP server has
        // drained and the shutdown reaches the delivery service.
        let signals = Task {
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                relay.delivery.shutdownRequested()
                break
            }
        }
        defer { signals.cancel() }
        try await ServiceGroup(configuration: group).run()
        logger.info("defender-relay stopped")
    }
}

/// SIGHUP: reads the configuration file again; when it has no problem, its receivers, routes
/// and alert settings replace the running ones. Everything else (server, sns, storage, api,
/// metrics, outbound, log) needs a restart, and the log says so when it changed.
struct ConfigurationReloader: Service {
    let path: String?
    let running: RelayConfiguration
    let relay: RelayComponents
    let logger: Logger

    func run() async {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let running = running
        await cancelWhenGracefulShutdown {
            var current = running
            for await _ in hangups {
                guard let path else {
                    logger.warning("SIGHUP ignored: the relay runs without a configuration file")
                    continue
                }
                current = reload(path, running: current)
            }
        }
    }

    /// Returns the configuration in effect afterwards.
    private func reload(_ path: String, running: RelayConfiguration) -> RelayConfiguration {
        let report: ConfigurationCheck
        do {
            report = try RelayConfiguration.check(path: path, environment: ProcessInfo.processInfo.environment)
        } catch {
            logger.error("configuration not reloaded; the running configuration stays", metadata: ["error": "\(error)"])
            return running
        }
        guard let next = report.configuration else {
            for error in report.errors {
                logger.error("configuration not reloaded; the running configuration stays", metadata: ["error": "\(error)"])
            }
            return running
        }
        // Only receivers, routes and alerts are taken from the new file; every other section
        // stays as it started, for the new delivery lanes too (their grace, their claim sizes).
        var effective = running
        effective.receivers = next.receivers
        effective.routes = next.routes
        effective.alerts = next.alerts
        effective.accounts = next.accounts
        do {
            try relay.reload(effective)
        } catch {
            logger.error("configuration not reloaded; the running configuration stays", metadata: ["error": "\(error)"])
            return running
        }
        for warning in report.warnings {
            logger.warning("configuration: \(warning)")
        }
        let needRestart = running.sectionsNeedingRestart(comparedWith: next)
        if !needRestart.isEmpty {
            logger.warning("configuration reloaded, but these sections changed and take effect only after a restart", metadata: ["sections": "\(needRestart.joined(separator: ","))"])
        }
        logger.info("configuration reloaded", metadata: ["receivers": "\(next.receivers.count)", "routes": "\(next.routes.count)"])
        return effective
    }
}
