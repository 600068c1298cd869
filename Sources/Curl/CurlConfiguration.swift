/// How the outbound client connects (`outbound.*` in the configuration).
public struct CurlConfiguration: Sendable {
    /// Default whole-transfer timeout for requests that set none.
    public var timeoutSeconds: Int
    /// Connection establishment limit (DNS, TCP and TLS), never above `timeoutSeconds`.
    public var connectTimeoutSeconds: Int
    /// A PEM bundle used instead of the system trust store (`CURLOPT_CAINFO`).
    public var caFile: String?
    /// `HOST:PORT:CONNECT_HOST:CONNECT_PORT` entries (`CURLOPT_CONNECT_TO`): the Host header and
    /// the TLS name check keep the real hostname, only the address connected to changes.
    public var connectTo: [String]
    /// Threads that run blocking transfers, so that neither the event loops nor the Swift
    /// concurrency pool ever wait on the network.
    public var threads: Int
    /// Sent as User-Agent.
    public var userAgent: String

    public init(
        timeoutSeconds: Int = 10,
        connectTimeoutSeconds: Int = 5,
        caFile: String? = nil,
        connectTo: [String] = [],
        threads: Int = 8,
        userAgent: String = "defender-relay"
    ) {
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.caFile = caFile
        self.connectTo = connectTo
        self.threads = threads
        self.userAgent = userAgent
    }
}
