import DeviceDefender
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
        self.payload = payload
        if case .audit(let audit)? = payload {
            self.audit = NewAudit(audit: audit, messageID: message.messageID, receivedAt: message.receivedAt)
        } else {
            self.audit = nil
        }
    }
}
