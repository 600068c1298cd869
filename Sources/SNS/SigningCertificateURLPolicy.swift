/// Decides whether a message's SigningCertURL may be fetched at all: https only, no userinfo,
/// the default port, a path ending in `.pem` with no query, and a host matching one of the
/// configured patterns. Checked before any outbound connection.
public struct SigningCertificateURLPolicy: Sendable {
    public let allowedHosts: [AmazonHostPattern]
    /// The verdict for each recent URL: nil, allowed; else why not.
    private let verdicts = BoundedMemo<AWSURLViolation?>(capacity: SigningCertificateURLPolicy.rememberedURLs)

    /// How many URL verdicts are remembered at most (`BoundedMemo`).
    public static let rememberedURLs = 256

    public init(allowedHosts: [AmazonHostPattern]) {
        self.allowedHosts = allowedHosts
    }

    /// How many verdicts are remembered now (for tests).
    public var rememberedCount: Int { verdicts.count }

    /// Nil when `url` may be fetched. Verdicts for recent URLs are remembered: the policy is
    /// fixed, and every message names its certificate URL.
    public func check(_ url: String) -> AWSURLViolation? {
        verdicts.answer(for: url) { judge(url) }
    }

    private func judge(_ url: String) -> AWSURLViolation? {
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
