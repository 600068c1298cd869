import RelayConfig
import Foundation
import HTTPTypes
import Hummingbird

/// HTTP Basic authentication for the SNS endpoint (`server.basic_auth`).
///
/// SNS first posts without credentials and sends them only after a `401` carrying
/// `WWW-Authenticate: Basic realm="..."`, so the challenge is part of the protocol, not an error.
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let expected: [UInt8]
    let realm: String
    /// Counts wrong credentials as refusals (`bad_credentials`); the challenge SNS gets before
    /// it sends its credentials is part of the protocol and not counted.
    let metrics: RelayMetrics?

    init(credentials: RelayConfiguration.BasicAuth, realm: String = "defender-relay", metrics: RelayMetrics? = nil) {
        self.expected = Array("\(credentials.username):\(credentials.password)".utf8)
        self.realm = realm
        self.metrics = metrics
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return challenge()
        }
        guard header.count > 6,
              header.prefix(6).lowercased() == "basic ",
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              ConstantTime.equals(decoded, expected)
        else {
            metrics?.recordSNS(IngestResult(status: 401, code: "bad_credentials"))
            return challenge()
        }
        return try await next(request, context)
    }

    private func challenge() -> Response {
        var response = JSONResponse.problem(status: .unauthorized, code: "unauthorized", detail: "This endpoint requires HTTP Basic credentials.")
        response.headers[.wwwAuthenticate] = "Basic realm=\"\(realm)\", charset=\"UTF-8\""
        return response
    }
}
