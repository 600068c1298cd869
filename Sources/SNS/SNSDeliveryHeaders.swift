/// The `x-amz-sns-*` headers SNS sends with each POST. They are not signed, so they are never
/// trusted for anything; but SNS always sends them equal to the body's fields, so a request
/// whose headers contradict its body was not sent by SNS as it stands and is refused.
public struct SNSDeliveryHeaders: Sendable, Equatable {
    /// `x-amz-sns-message-type`
    public var messageType: String?
    /// `x-amz-sns-topic-arn`
    public var topicARN: String?
    /// `x-amz-sns-message-id`
    public var messageID: String?

    public init(messageType: String? = nil, topicARN: String? = nil, messageID: String? = nil) {
        self.messageType = messageType
        self.topicARN = topicARN
        self.messageID = messageID
    }
}
