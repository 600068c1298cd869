import Foundation
import Hummingbird
import Logging
import NIOCore
import SNS
import Storage

/// `/api/v1/silences`: list, add and expire silences, as `defender-relay silences` does.
/// Behind the same bearer token as the rest of the API. Adding and expiring change what the
/// relay alerts, so they need `api.token` even on loopback, where reads do not: without it,
/// any local process (or a web page in a browser on the host, which may POST text/plain
/// cross-origin without asking) could silence every check. Adding also takes only
/// `application/json`, which a browser cannot send cross-origin without a preflight.
enum SilenceRoutes {
    /// A silence request is a few hundred bytes; anything larger is refused unread.
    static let maxBodyBytes = 16 * 1024

    static func add(to api: RouterGroup<BasicRequestContext>, store: any Store, writable: Bool, logger: Logger) {
        let readOnly = JSONResponse.problem(
            status: .forbidden, code: "api_token_required",
            detail: "Adding and expiring silences through the API needs api.token in the configuration; defender-relay silences works without it."
        )
        api.get("/silences") { request, _ in
            try await APIRoutes.answer(logger: logger) {
                let parameters = APIRoutes.parameters(of: request)
                let all: Bool
                switch parameters["all"] {
                case nil, "false": all = false
                case "true": all = true
                default: throw APIParameterError(parameter: "all", reason: "must be true or false")
                }
                return APIModels.SilenceList(try await store.silences(includeEnded: all, at: RelayClock.now().millisecondsSince1970))
            }
        }
        api.post("/silences") { request, _ -> Response in
            guard writable else { return readOnly }
            guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
                return JSONResponse.problem(status: .unsupportedMediaType, code: "json_required", detail: "A silence request is a JSON object sent as Content-Type: application/json.")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maxBodyBytes)
            } catch is NIOTooManyBytesError {
                return JSONResponse.problem(status: .contentTooLarge, code: "body_too_large", detail: "A silence request is at most \(maxBodyBytes) bytes.")
            }
            let silence: Silence
            do throws(SilenceRequestError) {
                silence = try Self.silence(from: Array(buffer: body))
            } catch {
                return JSONResponse.problem(status: .badRequest, code: "invalid_silence", detail: error.description)
            }
            do {
                guard try await store.addSilence(silence) else {
                    return JSONResponse.problem(status: .conflict, code: "too_many_silences", detail: "\(Silence.maxActive) silences are in effect already; expire some first.")
                }
            } catch {
                return APIRoutes.storeUnavailable(error, logger: logger)
            }
            logger.info("silence added", metadata: ["id": "\(silence.id)", "check": "\(silence.checkName)", "endsAt": "\(silence.endsAt)"])
            return JSONResponse.encode(APIModels.SilenceInfo(silence), status: .created)
        }
        api.delete("/silences/:id") { _, context -> Response in
            guard writable else { return readOnly }
            let id = context.parameters.get("id") ?? ""
            do {
                guard try await store.expireSilence(id: id, at: RelayClock.now().millisecondsSince1970) else {
                    return JSONResponse.problem(status: .notFound, code: "not_found", detail: "No silence '\(id.prefix(64))' is in effect.")
                }
            } catch {
                return APIRoutes.storeUnavailable(error, logger: logger)
            }
            logger.info("silence expired", metadata: ["id": "\(id.prefix(64))"])
            return JSONResponse.encode(["expired": id], status: .ok)
        }
    }

    /// The JSON body `{"check", "for", "comment", "account"?, "region"?, "scheduledAudit"?,
    /// "createdBy"?}`; unknown keys are refused, so a misspelt `acount` cannot widen a silence.
    static func silence(from body: [UInt8]) throws(SilenceRequestError) -> Silence {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw SilenceRequestError(field: "body", reason: "must be a JSON object")
        }
        let known: Set<String> = ["check", "for", "comment", "account", "region", "scheduledAudit", "createdBy"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw SilenceRequestError(field: String(unknown.prefix(64)), reason: "is not a field of a silence (\(known.sorted().joined(separator: ", ")))")
        }
        func text(_ key: String, required: Bool) throws(SilenceRequestError) -> String? {
            guard let value = object[key], !(value is NSNull) else {
                if required { throw SilenceRequestError(field: key, reason: "is required") }
                return nil
            }
            guard let text = value as? String else { throw SilenceRequestError(field: key, reason: "must be a string") }
            return text
        }
        return try Silence.requested(
            check: try text("check", required: true)!, account: try text("account", required: false), region: try text("region", required: false),
            scheduledAudit: try text("scheduledAudit", required: false), duration: try text("for", required: true)!, comment: try text("comment", required: true)!,
            createdBy: try text("createdBy", required: false), id: UUID().uuidString.lowercased(), now: RelayClock.now().millisecondsSince1970
        )
    }
}
