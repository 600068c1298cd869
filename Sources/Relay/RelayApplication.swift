import Alerts
import RelayConfig
import Curl
import Foundation
import HTTPTypes
import Hummingbird
import Ingest
import Logging
import NIOCore
import SNS
import ServiceLifecycle
import Storage

/// What the application needs from outside: the store, the outbound clients and the clock.
/// The executable builds real ones; tests build the same with test settings.
public struct RelayDependencies: Sendable {
    public var store: any Store
    /// Sends alerts.
    public var curl: CurlClient
    /// Fetches signing certificates and confirms subscriptions, on threads of its own: a flood
    /// of certificate URLs cannot starve alerts of transfer threads, nor a slow chat service
    /// hold up the verification of SNS messages.
    public var awsCurl: CurlClient
    public var certificateLimits: SigningCertificateCache.Limits
    public var clock: @Sendable () -> SNSInstant
    /// The relay's own metrics (one registry per relay).
    public var metrics: RelayMetrics
    public var logger: Logger

    /// `awsCurl` defaults to `curl` (tests that need one client only).
    public init(
        store: any Store, curl: CurlClient, awsCurl: CurlClient? = nil, certificateLimits: SigningCertificateCache.Limits = .init(),
        clock: @escaping @Sendable () -> SNSInstant = RelayClock.now, metrics: RelayMetrics = RelayMetrics(), logger: Logger
    ) {
        self.metrics = metrics
        self.store = store
        self.curl = curl
        self.awsCurl = awsCurl ?? curl
        self.certificateLimits = certificateLimits
        self.clock = clock
        self.logger = logger
    }
}

/// The wall clock, read only at the edge.
public enum RelayClock {
    @Sendable public static func now() -> SNSInstant {
        SNSInstant(date: Date())
    }
}

/// The planner the configuration asks for: nil without receivers. Template files are read here.
public func buildPlanner(configuration: RelayConfiguration) throws -> AlertPlanner? {
    configuration.receivers.isEmpty ? nil : try AlertPlanner(configuration: configuration)
}

/// Builds the pieces of the SNS pipeline from the configuration (shared by `serve` and tests).
/// The recorder must run (it is a `Service`) for messages to be stored.
public func buildIngest(configuration: RelayConfiguration, dependencies: RelayDependencies, routing: AlertRouting? = nil) throws -> SNSIngest {
    let verifier = try configuration.sns.verifier()
    let routing = try routing ?? AlertRouting(buildPlanner(configuration: configuration))
    let names = try configuration.sns.certificateNamePatterns()
    return SNSIngest(
        verifier: verifier,
        certificates: SigningCertificateCache(
            curl: dependencies.awsCurl, urlPolicy: verifier.policy.certificateURLPolicy, acceptedNames: names,
            limits: dependencies.certificateLimits, metrics: dependencies.metrics, logger: dependencies.logger
        ),
        confirmer: SubscriptionConfirmer(curl: dependencies.awsCurl, policy: verifier.policy.subscribeURLPolicy),
        confirmationMode: configuration.sns.confirmSubscriptions,
        store: dependencies.store,
        recorder: MessageRecorder(store: dependencies.store, routing: routing, metrics: dependencies.metrics.ingest, logger: dependencies.logger),
        clock: dependencies.clock,
        logger: dependencies.logger,
        routing: routing
    )
}

/// The outbox workers, when any receiver is configured.
public func buildDeliveryService(configuration: RelayConfiguration, dependencies: RelayDependencies) -> DeliveryService? {
    guard !configuration.receivers.isEmpty else { return nil }
    return DeliveryService(
        store: dependencies.store,
        sender: AlertSender(curl: dependencies.curl, receivers: configuration.receivers, clock: dependencies.clock),
        policy: configuration.alerts.retryPolicy,
        receivers: configuration.receivers,
        leaseSeconds: configuration.alerts.deliveryLeaseSeconds,
        sendTimeoutSeconds: configuration.outbound.timeoutSeconds,
        shutdownGrace: .seconds(configuration.server.shutdownGraceSeconds),
        clock: dependencies.clock,
        metrics: dependencies.metrics,
        logger: dependencies.logger
    )
}

/// Deletes what the retention settings no longer keep; never a delivered alert younger than the
/// longest route `repeat_interval`, which repeats are judged by.
func buildRetention(configuration: RelayConfiguration, dependencies: RelayDependencies) -> RetentionService {
    RetentionService(
        store: dependencies.store, storage: configuration.storage,
        longestRepeatIntervalSeconds: configuration.routes.compactMap(\.repeatIntervalSeconds).max(), clock: dependencies.clock, logger: dependencies.logger
    )
}

/// Everything `serve` runs, built from one configuration: the HTTP application and the
/// long-running parts beside it. Receivers, routes and alert settings can be replaced while it
/// runs (`reload`); the rest needs a restart.
public struct RelayComponents: Sendable {
    public let ingest: SNSIngest
    public let routing: AlertRouting
    public let delivery: AlertDelivery
    public let retention: RetentionService
    public let scheduleWatch: AuditScheduleWatch
    public let detectGroups: DetectGroupSender
    let configuration: RelayConfiguration
    let dependencies: RelayDependencies

    public init(configuration: RelayConfiguration, dependencies: RelayDependencies) throws {
        routing = AlertRouting(try buildPlanner(configuration: configuration))
        ingest = try buildIngest(configuration: configuration, dependencies: dependencies, routing: routing)
        delivery = AlertDelivery(buildDeliveryService(configuration: configuration, dependencies: dependencies), logger: dependencies.logger)
        retention = buildRetention(configuration: configuration, dependencies: dependencies)
        scheduleWatch = AuditScheduleWatch(store: dependencies.store, routing: routing, clock: dependencies.clock, logger: dependencies.logger)
        detectGroups = DetectGroupSender(store: dependencies.store, routing: routing, clock: dependencies.clock, logger: dependencies.logger)
        self.configuration = configuration
        self.dependencies = dependencies
    }

    /// Puts `next`'s receivers, routes and alert settings in effect: planning switches at once,
    /// the delivery lanes after the old ones wound down. Fails (changing nothing) when the
    /// planner cannot be built, e.g. a template that does not parse.
    public func reload(_ next: RelayConfiguration) throws {
        let planner = try buildPlanner(configuration: next)
        routing.replace(with: planner)
        delivery.replace(with: buildDeliveryService(configuration: next, dependencies: dependencies))
    }

    /// The HTTP server alone (its neighbours run beside it in the caller's `ServiceGroup`).
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let delivery = delivery
        let router = buildRouter(
            configuration: configuration, ingest: ingest, store: dependencies.store, metrics: dependencies.metrics,
            receivers: { delivery.receivers }, logger: dependencies.logger
        )
        return httpApplication(router: router, configuration: configuration, services: [], logger: dependencies.logger, onServerRunning: onServerRunning)
    }
}

/// The routes: `POST {sns_path}`, `GET /healthz`, `GET /readyz`, the `/api/v1` query API and
/// `/metrics`. `receivers`: the receivers whose lanes run now (for `/metrics`).
public func buildRouter(
    configuration: RelayConfiguration, ingest: SNSIngest, store: any Store, metrics: RelayMetrics = RelayMetrics(),
    receivers: @escaping @Sendable () -> [String]? = { nil }, logger: Logger
) -> Router<BasicRequestContext> {
    let configuredReceivers = configuration.receivers.map(\.name)
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestObserver(metrics: metrics, logger: logger))
    router.get("/healthz") { _, _ in
        JSONResponse.status("ok")
    }
    router.get("/readyz") { _, _ in
        do {
            try await store.checkReady()
            return JSONResponse.status("ready")
        } catch {
            // The error's text (hosts, drivers' messages) goes to the log, not to the caller.
            logger.warning("readiness check failed", metadata: ["error": "\(error)"])
            return JSONResponse.problem(status: .serviceUnavailable, code: "store_unavailable", detail: "The store cannot be reached; the reason is in the relay's log.")
        }
    }

    APIRoutes.add(
        to: router, store: store, token: configuration.api.token, metricsToken: configuration.metrics.token,
        receivers: { receivers() ?? configuredReceivers }, metrics: metrics, logger: logger
    )

    let sns = router.group(RouterPath(configuration.server.snsPath))
    if let credentials = configuration.server.basicAuth {
        sns.add(middleware: BasicAuthMiddleware(credentials: credentials, metrics: metrics))
    }
    let maxBody = configuration.server.maxBodyBytes
    let messageTypeHeader = HTTPField.Name("x-amz-sns-message-type")!
    let topicHeader = HTTPField.Name("x-amz-sns-topic-arn")!
    let messageIDHeader = HTTPField.Name("x-amz-sns-message-id")!
    let rawDeliveryHeader = HTTPField.Name("x-amz-sns-rawdelivery")!
    sns.post { request, _ -> Response in
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBody {
            return tooLarge(maxBody, metrics: metrics)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBody)
        } catch is NIOTooManyBytesError {
            return tooLarge(maxBody, metrics: metrics)
        }
        let result = await ingest.handle(
            body: Array(buffer: body),
            headers: SNSDeliveryHeaders(
                messageType: request.headers[messageTypeHeader], topicARN: request.headers[topicHeader], messageID: request.headers[messageIDHeader]
            ),
            rawDelivery: request.headers[rawDeliveryHeader]?.lowercased() == "true"
        )
        metrics.recordSNS(result)
        var response = JSONResponse.ingest(result)
        // For the access log line: which message this was (an id SNS sent, once parsed).
        if let id = result.messageID, id.utf8.count <= 128, id.utf8.allSatisfy({ $0 == 0x2D || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) {
            response.headers[RequestObserver<BasicRequestContext>.messageIDField] = id
        }
        return response
    }
    return router
}

/// 413, counted as a refusal like every other answer of the SNS endpoint.
private func tooLarge(_ limit: Int, metrics: RelayMetrics) -> Response {
    metrics.recordSNS(IngestResult(status: 413, code: "body_too_large"))
    return JSONResponse.problem(status: .contentTooLarge, code: "body_too_large", detail: "The body is larger than server.max_body_bytes (\(limit) bytes).")
}

/// The whole HTTP application with its neighbours as its own services, ready to run as one
/// `Service` (tests; `serve` runs the same parts in one `ServiceGroup` of its own).
/// `delivery`: the outbox workers (built from the configuration when nil).
public func buildApplication(
    configuration: RelayConfiguration,
    dependencies: RelayDependencies,
    delivery: DeliveryService? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let routing = AlertRouting(try buildPlanner(configuration: configuration))
    let ingest = try buildIngest(configuration: configuration, dependencies: dependencies, routing: routing)
    let router = buildRouter(configuration: configuration, ingest: ingest, store: dependencies.store, metrics: dependencies.metrics, logger: dependencies.logger)
    // Services stop after the server, in reverse order: the recorder stores what requests
    // still in flight hand it before it stops.
    let services: [any Service] = [
        ingest.recorder,
        buildRetention(configuration: configuration, dependencies: dependencies),
        AuditScheduleWatch(store: dependencies.store, routing: routing, clock: dependencies.clock, logger: dependencies.logger),
        DetectGroupSender(store: dependencies.store, routing: routing, clock: dependencies.clock, logger: dependencies.logger),
    ] + ((delivery ?? buildDeliveryService(configuration: configuration, dependencies: dependencies)).map { [$0] } ?? [])
    return httpApplication(router: router, configuration: configuration, services: services, logger: dependencies.logger, onServerRunning: onServerRunning)
}

private func httpApplication(
    router: Router<BasicRequestContext>, configuration: RelayConfiguration, services: [any Service], logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void
) -> some ApplicationProtocol {
    let census = ConnectionGuard.Census(limit: configuration.server.maxConnections)
    let requestTimeout = TimeAmount.seconds(Int64(configuration.server.requestTimeoutSeconds))
    return Application(
        router: router,
        // A connection that sends nothing for a minute is closed; the guard bounds how many
        // connections there are and how long one request may take to arrive.
        server: .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionGuard(census: census, requestTimeout: requestTimeout)],
            idleTimeout: .seconds(60)
        )),
        configuration: .init(
            address: .hostname(configuration.server.host, port: configuration.server.port),
            serverName: "defender-relay"
        ),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
}
