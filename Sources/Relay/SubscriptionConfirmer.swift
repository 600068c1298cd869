import Foundation
import Curl
import SNS

/// Confirms a subscription by visiting its SubscribeURL through `Curl`, after the same host
/// policy as certificate URLs.
public struct SubscriptionConfirmer: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// With the SubscriptionArn from AWS's answer, when it carried one.
        case confirmed(subscriptionARN: String?)
        /// Worth retrying later: AWS unreachable, slow, or answering 5xx.
        case transientFailure(String)
        /// Retrying will not help (the token expired, the URL is refused by policy ...).
        case permanentFailure(String)
    }

    let curl: CurlClient
    let policy: SubscribeURLPolicy

    public init(curl: CurlClient, policy: SubscribeURLPolicy) {
        self.curl = curl
        self.policy = policy
    }

    public func confirm(subscribeURL: String, topicARN: String) async -> Outcome {
        if let violation = policy.check(subscribeURL, topicARN: topicARN) {
            return .permanentFailure(SNSRejection.subscribeURLRejected(url: subscribeURL, reason: violation).detail)
        }
        let response: CurlResponse
        do {
            response = try await curl.perform(CurlRequest(url: subscribeURL, maxResponseBytes: 64 * 1024))
        } catch {
            return .transientFailure("the confirmation request failed: \(error.shortDescription)")
        }
        switch response.status {
        case 200...299:
            return .confirmed(subscriptionARN: Self.subscriptionARN(inConfirmResponse: response.bodyText))
        case 500...599, 429, 408:
            return .transientFailure("AWS answered the confirmation request with HTTP \(response.status)")
        default:
            return .permanentFailure("AWS answered the confirmation request with HTTP \(response.status): \(Self.errorMessage(in: response.bodyText))")
        }
    }

    /// The `<SubscriptionArn>` of a ConfirmSubscriptionResponse.
    static func subscriptionARN(inConfirmResponse xml: String) -> String? {
        element("SubscriptionArn", in: xml).flatMap { $0.hasPrefix("arn:") ? $0 : nil }
    }

    static func errorMessage(in xml: String) -> String {
        String((element("Message", in: xml) ?? element("Code", in: xml) ?? "no error message").prefix(200))
    }

    private static func element(_ name: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"),
              let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[start.upperBound..<end.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
