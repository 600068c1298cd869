import HTTPTypes
import Hummingbird
import Logging

/// Every request: its duration in `defender_relay_http_request_duration_seconds` (by the matched
/// route pattern, never the raw path, so an attacker cannot mint label values) and one access-log
/// line (method, path without its query, status, duration, and the MessageId of an accepted SNS
/// message). Never a body, a header or a query string: those can hold secrets.
struct RequestObserver<Context: RequestContext>: RouterMiddleware {
    let metrics: RelayMetrics
    let logger: Logger

    /// The SNS route tells which message it handled through this response header; it is taken
    /// off the response here, before it leaves.
    static var messageIDField: HTTPField.Name { HTTPField.Name("x-relay-message-id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            var response = try await next(request, context)
            // Only a message that was accepted (so verified) is named: a forger could otherwise
            // plant lines carrying someone else's MessageId.
            let messageID = (200..<300).contains(response.status.code) ? response.headers[Self.messageIDField] : nil
            response.headers[Self.messageIDField] = nil
            observe(request, route: context.endpointPath, status: response.status.code, started: started, messageID: messageID)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            observe(request, route: context.endpointPath, status: status, started: started, messageID: nil)
            throw error
        }
    }

    private func observe(_ request: Request, route: String?, status: Int, started: ContinuousClock.Instant, messageID: String?) {
        let elapsed = ContinuousClock.now - started
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        // Hummingbird names the route of an unmatched request "NotFound".
        let pattern = route.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.recordRequest(route: pattern, status: status, nanoseconds: nanoseconds)
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue.prefix(16))",
            "path": "\(request.uri.path.prefix(256))",
            "status": "\(status)",
            "duration_ms": "\(Double(nanoseconds / 1000) / 1000)",
        ]
        if let messageID { metadata["message_id"] = "\(messageID)" }
        // Probes and scrapes come every few seconds: answered, they are logged at debug only.
        let routine = (200..<300).contains(status) && ["/healthz", "/readyz", "/metrics"].contains(pattern)
        logger.log(level: routine ? .debug : .info, "request", metadata: metadata)
    }
}
