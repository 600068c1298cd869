/// Decides whether a message's SigningCertURL may be fetched at all: https only, no userinfo,
/// the default port, a path ending in `.pem` with no query, and a host matching one of the
/// configured patterns. Checked before any outbound connection.
public struct SigningCertificateURLPolicy: Sendable {
    public let allowedHosts: [AmazonHostPattern]

    public init(allowedHosts: [AmazonHostPattern]) {
        self.allowedHosts = allowedHosts
    }

    public func check(_ url: String) -> AWSURLViolation? {
        let parsed: AWSEndpointURL
        switch AWSEndpointURL.parse(url) {
        case .failure(let violation): return violation
        case .success(let value): parsed = value
        }
        guard allowedHosts.anyMatches(parsed.host) else { return .hostNotAllowed(parsed.host) }
        guard parsed.query == nil, parsed.path.lowercased().hasSuffix(".pem"), parsed.path.count > 5 else {
            return .pathNotPEM
        }
        return nil
    }
}
