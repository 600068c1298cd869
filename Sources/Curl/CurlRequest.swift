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

/// What came back: the status of the final (and only) response, its headers and its body.
public struct CurlResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// Header names lowercased.
    public var headers: [(name: String, value: String)]

    public init(status: Int, body: [UInt8], headers: [(name: String, value: String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.last { $0.name == lowered }?.value
    }
}

/// One mail to send over SMTP (`smtp://` with STARTTLS, or `smtps://`).
public struct CurlMailRequest: Sendable {
    public var url: String
    /// Refuse to send over `smtp://` unless the server accepts STARTTLS.
    public var requireTLS: Bool
    public var username: String?
    public var password: String?
    public var from: String
    public var recipients: [String]
    /// The RFC 5322 message, CRLF line ends.
    public var message: [UInt8]
    public var timeoutSeconds: Int?

    public init(url: String, requireTLS: Bool, username: String?, password: String?, from: String, recipients: [String], message: [UInt8], timeoutSeconds: Int? = nil) {
        self.url = url
        self.requireTLS = requireTLS
        self.username = username
        self.password = password
        self.from = from
        self.recipients = recipients
        self.message = message
        self.timeoutSeconds = timeoutSeconds
    }
}
