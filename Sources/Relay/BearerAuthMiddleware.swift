import HTTPTypes
import Hummingbird

/// `Authorization: Bearer <token>` for the /api routes (`api.token`) and `/metrics`
/// (`metrics.token`), compared in constant time.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]
    /// The configuration key the token comes from, named in the 401 answer.
    let key: String

    init(token: String, key: String) {
        self.token = Array(token.utf8)
        self.key = key
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer ",
              ConstantTime.equals(Array(header.dropFirst(7).utf8), token)
        else {
            var response = JSONResponse.problem(status: .unauthorized, code: "unauthorized", detail: "This route requires Authorization: Bearer <\(key)>.")
            response.headers[.wwwAuthenticate] = "Bearer realm=\"defender-relay\""
            return response
        }
        return try await next(request, context)
    }
}
