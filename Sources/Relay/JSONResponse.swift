import Foundation
import HTTPTypes
import Hummingbird
import JSON
import NIOCore

/// The relay's JSON bodies: `{"error": code, "detail": sentence}` for every refusal, so that an
/// operator reading an SNS delivery log or a curl transcript sees why. The SNS endpoint's own
/// answers are written by hand (sorted keys, as `JSONEncoder` would): one is written per
/// message, where an encoder costs more than the rest of the answer.
enum JSONResponse {
    static func problem(status: HTTPResponse.Status, code: String, detail: String, messageID: String? = nil) -> Response {
        var writer = JSONWriter(capacity: 128 + detail.utf8.count)
        writer.raw("{")
        writer.key("detail")
        writer.string(detail)
        writer.key("error")
        writer.string(code)
        if let messageID {
            writer.key("messageId")
            writer.string(messageID)
        }
        writer.raw("}")
        return response(writer.bytes, status: status)
    }

    static func ingest(_ result: IngestResult) -> Response {
        let status = HTTPResponse.Status(code: result.status)
        guard result.isSuccess else {
            return problem(status: status, code: result.code, detail: result.detail ?? result.code, messageID: result.messageID)
        }
        var writer = JSONWriter(capacity: 96)
        writer.raw("{")
        if let messageID = result.messageID {
            writer.key("messageId")
            writer.string(messageID)
        }
        writer.key("status")
        writer.string(result.code)
        writer.raw("}")
        return response(writer.bytes, status: status)
    }

    /// `{"status": value}`, for the probes.
    static func status(_ value: String, status: HTTPResponse.Status = .ok) -> Response {
        var writer = JSONWriter(capacity: 32)
        writer.raw("{")
        writer.key("status")
        writer.string(value)
        writer.raw("}")
        return response(writer.bytes, status: status)
    }

    static func encode(_ value: some Encodable, status: HTTPResponse.Status) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return response(Array(data), status: status)
    }

    private static func response(_ bytes: [UInt8], status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
