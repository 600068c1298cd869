import ArgumentParser
import Foundation
import Curl
import Hummingbird
import Logging
import Relay
import Storage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTPS endpoint that SNS delivers to.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try options.load()
        let logger = RelayLogging.bootstrap()
        if configuration.sns.allowedTopics.isEmpty {
            logger.warning("sns.allowed_topics is empty: every SNS message will be refused with 403 until a topic is allowed")
        }
        try await StoreFactory.withStore(url: configuration.storage.url, logger: logger) { store in
            let curl = CurlClient(configuration: CurlConfiguration(configuration.outbound))
            // Certificate fetches and confirmations get transfer threads of their own.
            var awsConfiguration = CurlConfiguration(configuration.outbound)
            awsConfiguration.threads = SigningCertificateCache.Limits().maxConcurrentFetches + 1
            let awsCurl = CurlClient(configuration: awsConfiguration)
            logger.info("outbound requests use proxy: \(curl.configuration.proxy.describe(environment: ProcessInfo.processInfo.environment))")
            let host = configuration.server.host
            let app = try buildApplication(
                configuration: configuration,
                dependencies: RelayDependencies(store: store, curl: curl, awsCurl: awsCurl, logger: logger)
            ) { port in
                logger.info("defender-relay listening", metadata: ["address": "\(host):\(port)", "sns_path": "\(configuration.server.snsPath)"])
            }
            do {
                try await app.runService()
            } catch {
                await curl.shutdown()
                await awsCurl.shutdown()
                throw error
            }
            await curl.shutdown()
            await awsCurl.shutdown()
        }
        logger.info("defender-relay stopped")
    }
}

extension CurlConfiguration {
    init(_ outbound: RelayConfiguration.Outbound) {
        self.init(
            timeoutSeconds: outbound.timeoutSeconds,
            connectTimeoutSeconds: min(5, outbound.timeoutSeconds),
            caFile: outbound.caFile,
            connectTo: outbound.connectTo,
            proxy: outbound.proxy.map { $0 == "none" ? CurlProxy.none : CurlProxy.url($0) } ?? .fromEnvironment
        )
    }
}
