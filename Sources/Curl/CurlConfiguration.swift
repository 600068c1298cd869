import Foundation

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
    /// Which proxy transfers go through.
    public var proxy: CurlProxy

    public init(
        timeoutSeconds: Int = 10,
        connectTimeoutSeconds: Int = 5,
        caFile: String? = nil,
        connectTo: [String] = [],
        threads: Int = 8,
        userAgent: String = "defender-relay",
        proxy: CurlProxy = .fromEnvironment
    ) {
        self.proxy = proxy
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.caFile = caFile
        self.connectTo = connectTo
        self.threads = threads
        self.userAgent = userAgent
    }
}

/// The proxy outbound transfers use (`outbound.proxy`).
public enum CurlProxy: Sendable, Equatable {
    /// What libcurl reads from the environment (`https_proxy`, `ALL_PROXY`, `NO_PROXY`, ...).
    case fromEnvironment
    /// No proxy, whatever the environment says.
    case none
    /// This proxy URL.
    case url(String)

    /// One line for the start-up log: which proxy is used, credentials left out.
    public func describe(environment: [String: String]) -> String {
        switch self {
        case .none:
            return "none (outbound.proxy: none)"
        case .url(let url):
            return "\(Self.withoutCredentials(url)) (outbound.proxy)"
        case .fromEnvironment:
            // libcurl's order for https URLs: https_proxy, HTTPS_PROXY, then all_proxy, ALL_PROXY.
            for name in ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
                if let value = environment[name], !value.isEmpty {
                    let exceptions = environment["no_proxy"] ?? environment["NO_PROXY"]
                    return "\(Self.withoutCredentials(value)) (from \(name)\(exceptions.map { ", except \($0)" } ?? ""); set outbound.proxy: none to ignore it)"
                }
            }
            return "none (no proxy variable in the environment)"
        }
    }

    /// `url` with any user information replaced by `***`: everything before the last `@` of
    /// the authority (a password may hold `@`; the scheme may be missing, as libcurl allows).
    static func withoutCredentials(_ url: String) -> String {
        let schemeEnd = url.range(of: "://")?.upperBound ?? url.startIndex
        let rest = url[schemeEnd...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd]) + "***" + String(url[at...])
    }
}
