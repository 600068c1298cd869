import RelayConfig
import Curl
import ServiceLifecycle

extension CurlConfiguration {
    /// The outbound client's settings from `outbound.*`.
    public init(_ outbound: RelayConfiguration.Outbound) {
        self.init(
            timeoutSeconds: outbound.timeoutSeconds,
            connectTimeoutSeconds: min(5, outbound.timeoutSeconds),
            caFile: outbound.caFile,
            connectTo: outbound.connectTo,
            proxy: outbound.proxy.map { $0 == "none" ? CurlProxy.none : CurlProxy.url($0) } ?? .fromEnvironment
        )
    }
}

/// The relay's two outbound clients, each on transfer threads of its own: one sends alerts, the
/// other fetches signing certificates and confirms subscriptions. A flood of certificate URLs
/// cannot take the threads alerts need, and a chat service that hangs cannot hold up the
/// verification of SNS messages.
public struct OutboundClients: Service {
    public let alerts: CurlClient
    public let aws: CurlClient

    public init(_ outbound: RelayConfiguration.Outbound, certificateLimits: SigningCertificateCache.Limits = .init()) {
        alerts = CurlClient(configuration: CurlConfiguration(outbound))
        var aws = CurlConfiguration(outbound)
        // One thread per concurrent certificate fetch, and one for a confirmation.
        aws.threads = certificateLimits.maxConcurrentFetches + 1
        self.aws = CurlClient(configuration: aws)
    }

    /// As a service: the clients live until everything that sends through them has stopped
    /// (services stop in reverse order), then transfers still running are aborted.
    public func run() async {
        try? await gracefulShutdown()
        alerts.abortTransfers()
        aws.abortTransfers()
        await shutdown()
    }

    public func shutdown() async {
        await alerts.shutdown()
        await aws.shutdown()
    }
}
