/// Decides whether a message's SigningCertURL may be fetched at all: https only, no userinfo,
/// the default port, no query, a host and a path matching the configured patterns
/// (`sns.cert_url_hosts`, `sns.cert_url_paths`). Checked before any outbound connection.
public struct SigningCertificateURLPolicy: Sendable {
    public let allowedHosts: [WholeMatchPattern]
    public let allowedPaths: [WholeMatchPattern]
    /// The verdict for each recent URL: nil, allowed; else why not.
    private let verdicts = BoundedMemo<AWSURLViolation?>(capacity: SigningCertificateURLPolicy.rememberedURLs)

    /// How many URL verdicts are remembered at most (`BoundedMemo`).
    public static let rememberedURLs = 256

    public init(allowedHosts: [WholeMatchPattern], allowedPaths: [WholeMatchPattern]) {
        self.allowedHosts = allowedHosts
        self.allowedPaths = allowedPaths
    }

    /// The defaults: SNS's regional endpoints and its certificate file names (a new policy,
    /// with its own memo, on each use).
    public static var standard: SigningCertificateURLPolicy {
        SigningCertificateURLPolicy(
            allowedHosts: WholeMatchPattern.defaultCertificateHosts.map { try! WholeMatchPattern($0) },
            allowedPaths: WholeMatchPattern.defaultCertificatePaths.map { try! WholeMatchPattern($0) }
        )
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
        guard parsed.query == nil, allowedPaths.anyMatches(parsed.path) else {
            return .pathNotPEM
        }
        return nil
    }
}
