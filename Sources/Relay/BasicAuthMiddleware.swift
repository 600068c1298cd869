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

    init(credentials: RelayConfiguration.BasicAuth, realm: String = "defender-relay") {
        self.expected = Array("\(credentials.username):\(credentials.password)".utf8)
        self.realm = realm
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 6,
              header.prefix(6).lowercased() == "basic ",
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              ConstantTime.equals(decoded, expected)
        else {
            var response = JSONResponse.problem(status: .unauthorized, code: "unauthorized", detail: "This endpoint requires HTTP Basic credentials.")
            response.headers[.wwwAuthenticate] = "Basic realm=\"\(realm)\", charset=\"UTF-8\""
            return response
        }
        return try await next(request, context)
    }
}
