import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The relay's JSON bodies: `{"error": code, "detail": sentence}` for every refusal, so that an
/// operator reading an SNS delivery log or a curl transcript sees why.
enum JSONResponse {
    private struct Problem: Encodable {
        var error: String
        var detail: String
        var messageId: String?
    }

    private struct Accepted: Encodable {
        var status: String
        var messageId: String?
    }

    static func problem(status: HTTPResponse.Status, code: String, detail: String, messageID: String? = nil) -> Response {
        encode(Problem(error: code, detail: detail, messageId: messageID), status: status)
    }

    static func ingest(_ result: IngestResult) -> Response {
        let status = HTTPResponse.Status(code: result.status)
        if result.isSuccess {
            return encode(Accepted(status: result.code, messageId: result.messageID), status: status)
        }
        return problem(status: status, code: result.code, detail: result.detail ?? result.code, messageID: result.messageID)
    }

    static func encode(_ value: some Encodable, status: HTTPResponse.Status) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
