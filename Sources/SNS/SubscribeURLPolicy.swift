/// Decides whether a SubscribeURL may be visited to confirm a subscription: the same host rules
/// as certificate URLs, and it must be an `Action=ConfirmSubscription` request on path `/` for
/// the message's own topic.
public struct SubscribeURLPolicy: Sendable {
    public let allowedHosts: [WholeMatchPattern]

    public init(allowedHosts: [WholeMatchPattern]) {
        self.allowedHosts = allowedHosts
    }

    public func check(_ url: String, topicARN: String) -> AWSURLViolation? {
        let parsed: AWSEndpointURL
        switch AWSEndpointURL.parse(url) {
        case .failure(let violation): return violation
        case .success(let value): parsed = value
        }
        guard allowedHosts.anyMatches(parsed.host) else { return .hostNotAllowed(parsed.host) }
        if let violation = AWSEndpointURL.regionMismatch(url, topicARN: topicARN) { return violation }
        let items = parsed.queryItems
        func single(_ name: String) -> String? {
            let values = items.filter { $0.name == name }
            return values.count == 1 ? values[0].value : nil
        }
        guard parsed.path == "/", single("Action") == "ConfirmSubscription",
              single("TopicArn") == topicARN, let token = single("Token"), !token.isEmpty
        else { return .notAConfirmationRequest }
        return nil
    }
}
