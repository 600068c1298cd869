/// An SNS envelope as it was posted, with every value kept exactly as received (after JSON
/// unescaping): the signature covers these strings, so nothing here is ever re-rendered.
public struct SNSMessage: Sendable, Equatable {
    public var type: SNSMessageType
    public var messageID: String
    public var topicARN: String
    /// Present only when the publisher set one; when absent it is also absent from the string to sign.
    public var subject: String?
    public var message: String
    /// The Timestamp string as SNS sent it (2, 3 or 7 fractional digits occur); signed verbatim.
    public var timestamp: String
    /// The instant `timestamp` denotes, used only for the replay guard.
    public var sentAt: SNSInstant
    public var signatureVersion: String
    public var signature: String
    public var signingCertURL: String
    /// SubscriptionConfirmation and UnsubscribeConfirmation only.
    public var subscribeURL: String?
    /// SubscriptionConfirmation and UnsubscribeConfirmation only.
    public var token: String?
    /// Notification only; not signed, so never trusted for anything.
    public var unsubscribeURL: String?
    /// Not signed; kept only so that it can be stored with the message.
    public var hasMessageAttributes: Bool

    public init(
        type: SNSMessageType, messageID: String, topicARN: String, subject: String? = nil, message: String,
        timestamp: String, sentAt: SNSInstant, signatureVersion: String, signature: String, signingCertURL: String,
        subscribeURL: String? = nil, token: String? = nil, unsubscribeURL: String? = nil, hasMessageAttributes: Bool = false
    ) {
        self.type = type
        self.messageID = messageID
        self.topicARN = topicARN
        self.subject = subject
        self.message = message
        self.timestamp = timestamp
        self.sentAt = sentAt
        self.signatureVersion = signatureVersion
        self.signature = signature
        self.signingCertURL = signingCertURL
        self.subscribeURL = subscribeURL
        self.token = token
        self.unsubscribeURL = unsubscribeURL
        self.hasMessageAttributes = hasMessageAttributes
    }
}
