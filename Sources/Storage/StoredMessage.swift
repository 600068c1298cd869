/// A verified SNS message as the store keeps it: the signed fields, plus the envelope exactly as
/// it was posted so that it can be verified again later (`defender-relay verify`).
public struct StoredMessage: Sendable, Equatable {
    public var messageID: String
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    public var type: String
    public var topicARN: String
    public var subject: String?
    public var message: String
    /// The Timestamp string as SNS sent it.
    public var snsTimestamp: String
    public var signatureVersion: String
    public var signingCertURL: String
    public var rawEnvelope: [UInt8]
    /// When the relay accepted it, in milliseconds since the Unix epoch.
    public var receivedAt: Int64

    public init(
        messageID: String, type: String, topicARN: String, subject: String?, message: String, snsTimestamp: String,
        signatureVersion: String, signingCertURL: String, rawEnvelope: [UInt8], receivedAt: Int64
    ) {
        self.messageID = messageID
        self.type = type
        self.topicARN = topicARN
        self.subject = subject
        self.message = message
        self.snsTimestamp = snsTimestamp
        self.signatureVersion = signatureVersion
        self.signingCertURL = signingCertURL
        self.rawEnvelope = rawEnvelope
        self.receivedAt = receivedAt
    }
}

/// Whether `Store.record` stored the message or had it already (SNS delivers at least once).
public enum RecordOutcome: Sendable, Equatable {
    case recorded
    case duplicate
}
