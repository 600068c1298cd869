/// One outbound request. Every field has a safe default: https only, no redirects, a timeout
/// and a cap on the response size.
public struct CurlRequest: Sendable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
    }

    public var method: Method
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// Whole-transfer limit; nil uses the client's default.
    public var timeoutSeconds: Int?
    /// A response body larger than this aborts the transfer with `CurlError.responseTooLarge`.
    public var maxResponseBytes: Int
    /// Protocols libcurl may use, in `CURLOPT_PROTOCOLS_STR` syntax. Redirects are never followed.
    public var allowedProtocols: String

    public init(
        method: Method = .get,
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        timeoutSeconds: Int? = nil,
        maxResponseBytes: Int = 1 << 20,
        allowedProtocols: String = "https"
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutSeconds = timeoutSeconds
        self.maxResponseBytes = maxResponseBytes
        self.allowedProtocols = allowedProtocols
    }
}

/// What came back: the status of the final (and only) response, and its body.
public struct CurlResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
