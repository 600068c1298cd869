import DeviceDefender
import SNS
import Storage

/// A verified SNS message, ready to store: the message, what it means for its topic's
/// subscription, and what its payload decoded to. Everything about it that needs no database
/// is worked out before it joins a transaction.
public struct IngestItem: Sendable {
    public let message: StoredMessage
    public let effect: SubscriptionEffect
    /// Nil for confirmations (they carry no Device Defender payload).
    public let payload: DefenderPayload?
    /// The audit's row as stored, when the payload is an audit: written here, on the request's
    /// task, so that the transaction (one at a time, on the writer) does not spend its time on it.
    public let audit: NewAudit?

    public init(message: StoredMessage, effect: SubscriptionEffect, payload: DefenderPayload? = nil) {
        self.message = message
        self.effect = effect
        if case .audit(var audit)? = payload {
            // The audit ran in the region of the topic that carried it (the payload does not say).
            audit.region = TopicARN(message.topicARN)?.region
            self.payload = .audit(audit)
            self.audit = NewAudit(audit: audit, messageID: message.messageID, receivedAt: message.receivedAt)
        } else {
            self.payload = payload
            self.audit = nil
        }
    }
}
