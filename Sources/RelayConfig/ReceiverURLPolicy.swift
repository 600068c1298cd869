import SNS

/// Every outbound alert URL is checked before any connection: https only, no userinfo, no
/// port but the default, and a host the receiver's type allows.
public struct ReceiverURLPolicy: Sendable {
    public let allowedHosts: [WholeMatchPattern]

    public init(allowedHosts: [WholeMatchPattern]) {
        self.allowedHosts = allowedHosts
    }

    public func check(_ url: String) -> AWSURLViolation? {
        switch AWSEndpointURL.parse(url) {
        case .failure(let violation):
            return violation
        case .success(let parsed):
            return allowedHosts.contains { $0.matches(parsed.host) } ? nil : .hostNotAllowed(parsed.host)
        }
    }
}
