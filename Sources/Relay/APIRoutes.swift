import DeviceDefender
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SNS
import Storage

/// The query API (`/api/v1`: read-only but for silences) and `/metrics`.
enum APIRoutes {
    static func add(to router: Router<BasicRequestContext>, store: any Store, token: String?, metricsToken: String?, receivers: @escaping @Sendable () -> [String] = { [] }, metrics relayMetrics: RelayMetrics, logger: Logger) {
        let api = router.group("/api/v1")
        if let token {
            api.add(middleware: BearerAuthMiddleware(token: token, key: "api.token"))
        }
        let answer: @Sendable (() async throws -> any Encodable) async throws -> Response = { body in
            try await APIRoutes.answer(logger: logger, body)
        }
        api.get("/audits") { request, _ in
            try await answer {
                let query = try APIQueryParameters.auditQuery(parameters(of: request))
                return APIModels.AuditList(try await store.audits(query))
            }
        }
        api.get("/audits/:taskId") { _, context in
            let taskID = context.parameters.get("taskId") ?? ""
            return try await answer {
                guard let audit = try await store.audit(taskID: taskID) else {
                    throw APIFailure.notFound("No audit with taskId '\(taskID.prefix(64))' is stored.")
                }
                return APIModels.AuditDetail(audit)
            }
        }
        api.get("/checks") { request, _ in
            try await answer {
                APIModels.CheckList(try await store.latestChecks(trendLength: try APIQueryParameters.trendLength(parameters(of: request))))
            }
        }
        api.get("/violations") { request, _ in
            try await answer {
                APIModels.ViolationList(try await store.violations(try APIQueryParameters.violationQuery(parameters(of: request))))
            }
        }
        api.get("/deliveries") { request, _ in
            try await answer {
                let parameters = parameters(of: request)
                var state: Delivery.State?
                if let text = parameters["state"] {
                    guard let parsed = Delivery.State(rawValue: text) else {
                        throw APIParameterError(parameter: "state", reason: "must be pending, sending, delivered or dead")
                    }
                    state = parsed
                }
                return APIModels.DeliveryList(try await store.deliveries(state: state, limit: try APIQueryParameters.limit(parameters, default: 100)))
            }
        }
        api.get("/subscriptions") { _, _ in
            try await answer { APIModels.SubscriptionList(try await store.subscriptions()) }
        }
        SilenceRoutes.add(to: api, store: store, writable: token != nil, logger: logger)
        let metrics = router.group("/metrics")
        if let metricsToken {
            metrics.add(middleware: BearerAuthMiddleware(token: metricsToken, key: "metrics.token"))
        }
        metrics.get { _, _ in
            // The relay's own counters are always there: during a store outage they are the
            // series that describe it. The gauges read from the store follow when it answers;
            // defender_relay_store_up says whether it did.
            var text = relayMetrics.render()
            do {
                let census = try await store.deliveryCensus()
                let stored = AuditMetrics.render(try await store.latestChecks(trendLength: 1))
                    + AuditMetrics.render(deliveries: census.counts)
                    + AuditMetrics.render(oldestPendingQueuedAt: census.oldestCreatedAt[.pending], now: RelayClock.now().millisecondsSince1970)
                    + AuditMetrics.render(queued: try await store.queuedDeliveriesByReceiver(), configured: Set(receivers()))
                text += AuditMetrics.render(storeUp: true) + stored
            } catch {
                logger.warning("store read failed; /metrics has the relay's own metrics only", metadata: ["error": "\(error)"])
                text += AuditMetrics.render(storeUp: false)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text))
            )
        }
    }

    /// A fixed sentence for the caller; the store's own text (hosts, drivers' messages) is logged.
    static func storeUnavailable(_ error: any Error, logger: Logger) -> Response {
        logger.warning("store read failed", metadata: ["error": "\(error)"])
        return JSONResponse.problem(status: .serviceUnavailable, code: "store_unavailable", detail: "The store cannot be read just now; the reason is in the relay's log.")
    }

    enum APIFailure: Error {
        case notFound(String)
    }

    /// Maps what a handler throws to the JSON error bodies: 400 for bad parameters, 404, 503
    /// when the store fails.
    static func answer(logger: Logger, _ body: () async throws -> any Encodable) async throws -> Response {
        do {
            return JSONResponse.encode(try await body(), status: .ok)
        } catch let error as APIParameterError {
            return JSONResponse.problem(status: .badRequest, code: "invalid_parameter", detail: error.detail)
        } catch APIFailure.notFound(let detail) {
            return JSONResponse.problem(status: .notFound, code: "not_found", detail: detail)
        } catch let error as StoreError {
            return storeUnavailable(error, logger: logger)
        }
    }

    static func parameters(of request: Request) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in request.uri.queryParameters {
            result[String(key)] = String(value)
        }
        return result
    }
}
