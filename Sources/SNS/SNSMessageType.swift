/// The three kinds of message SNS posts to an HTTP(S) subscriber; each signs a different set of fields.
public enum SNSMessageType: String, Sendable, CaseIterable {
    case notification = "Notification"
    case subscriptionConfirmation = "SubscriptionConfirmation"
    case unsubscribeConfirmation = "UnsubscribeConfirmation"
}
