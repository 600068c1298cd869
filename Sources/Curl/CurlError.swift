/// Why a transfer produced no usable response. All of these are transport faults: the caller
/// decides whether they are transient (they usually are).
public enum CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libcurl's error code and message (e.g. 7 "Failed to connect", 60 "SSL certificate problem").
    case transport(code: Int, message: String)
    case timedOut(seconds: Int)
    case responseTooLarge(limit: Int)
    /// The client was shut down or could not set the request up.
    case unavailable(String)

    public var description: String {
        switch self {
        case .transport(let code, let message): "curl error \(code): \(message)"
        case .timedOut(let seconds): "timed out after \(seconds) s"
        case .responseTooLarge(let limit): "response larger than \(limit) bytes"
        case .unavailable(let reason): "outbound client unavailable: \(reason)"
        }
    }

    /// Short and free of URLs, for logs and metric labels.
    public var shortDescription: String {
        switch self {
        case .transport(let code, _): "curl_\(code)"
        case .timedOut: "timeout"
        case .responseTooLarge: "too_large"
        case .unavailable: "unavailable"
        }
    }
}
