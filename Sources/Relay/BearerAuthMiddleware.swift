import HTTPTypes
import Hummingbird

/// `Authorization: Bearer <api.token>` for the /api routes, compared in constant time.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    init(token: String) {
        self.token = Array(token.utf8)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer ",
              ConstantTime.equals(Array(header.dropFirst(7).utf8), token)
        else {
            var response = JSONResponse.problem(status: .unauthorized, code: "unauthorized", detail: "The /api routes require Authorization: Bearer <api.token>.")
            response.headers[.wwwAuthenticate] = "Bearer realm=\"defender-relay\""
            return response
        }
        return try await next(request, context)
    }
}
