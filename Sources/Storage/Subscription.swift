/// What the relay knows of its subscription to one topic.
public struct Subscription: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        /// A SubscriptionConfirmation arrived and is not confirmed yet (manual mode, or the
        /// confirmation request failed).
        case pending
        case confirmed
        /// An UnsubscribeConfirmation arrived; the relay never re-subscribes by itself.
        case unsubscribed
    }

    public var topicARN: String
    public var status: Status
    /// Known once confirmed through the relay (from the ConfirmSubscription answer).
    public var subscriptionARN: String?
    /// The URL that confirms the pending subscription; it embeds the confirmation token.
    public var subscribeURL: String?
    /// Why the last confirmation attempt failed, for the operator.
    public var lastError: String?
    /// Milliseconds since the Unix epoch.
    public var updatedAt: Int64
    public var confirmedAt: Int64?

    public init(
        topicARN: String, status: Status, subscriptionARN: String? = nil, subscribeURL: String? = nil,
        lastError: String? = nil, updatedAt: Int64, confirmedAt: Int64? = nil
    ) {
        self.topicARN = topicARN
        self.status = status
        self.subscriptionARN = subscriptionARN
        self.subscribeURL = subscribeURL
        self.lastError = lastError
        self.updatedAt = updatedAt
        self.confirmedAt = confirmedAt
    }
}

/// How recording a message changes the subscription of its topic, applied in the same
/// transaction as the message itself and only when the message is new.
public enum SubscriptionEffect: Sendable, Equatable {
    /// A SubscriptionConfirmation: the subscription is pending until confirmed.
    case confirmationRequested(subscribeURL: String)
    /// An UnsubscribeConfirmation.
    case unsubscribed
    /// A Notification: SNS only delivers to confirmed subscriptions, so a topic first seen
    /// through a notification is recorded as confirmed.
    case notificationDelivered
    /// The SubscribeURL was visited and AWS confirmed (with its SubscriptionArn when it gave one).
    case confirmed(subscriptionARN: String?)

    /// What the outbox planner hears about the change; nil for notifications (their payload speaks).
    public var recordedEvent: RecordedEvent? {
        switch self {
        case .confirmationRequested: .subscription(status: "pending")
        case .unsubscribed: .subscription(status: "unsubscribed")
        case .notificationDelivered: nil
        case .confirmed: .subscription(status: "confirmed")
        }
    }
}
