/// The rule an outbound URL broke. Outbound URLs taken from messages (certificate, subscription
/// confirmation) are an SSRF vector, so each rule is checked before any connection is made.
public enum AWSURLViolation: Error, Sendable, Equatable {
    case notHTTPS
    case malformed
    case hasUserinfo
    case hasPort
    case hostNotAllowed(String)
    case pathNotPEM
    case notAConfirmationRequest
    case hasFragment
    /// An SNS endpoint of another region than the topic's: SNS names the certificate and the
    /// confirmation URL on the topic's own regional endpoint.
    case otherRegion(host: String, topicRegion: String)

    public var sentence: String {
        switch self {
        case .notHTTPS: "only https is allowed"
        case .malformed: "it is not a plain absolute URL (unexpected characters or encoding)"
        case .hasUserinfo: "it carries user information before the host"
        case .hasPort: "it names a port other than the default"
        case .hostNotAllowed(let host): "host '\(host.prefix(120))' is not an allowed host"
        case .pathNotPEM: "its path is not an SNS certificate file (sns.cert_url_paths) or it has a query"
        case .notAConfirmationRequest: "it is not an Action=ConfirmSubscription request on path /"
        case .hasFragment: "it carries a fragment"
        case .otherRegion(let host, let region): "host '\(host.prefix(120))' is not the SNS endpoint of the topic's region (\(region.prefix(32)))"
        }
    }

    /// Whether the rule broken is the host list (`sns.cert_url_hosts`), not the URL's shape.
    public var isHostRule: Bool {
        if case .hostNotAllowed = self { return true }
        return false
    }
}
