import DeviceDefender

/// An alert rendered for one receiver, written to the outbox in the same transaction as the
/// message that caused it, and sent later by the delivery workers.
public struct OutboxEntry: Sendable, Equatable {
    /// `<alert id>#<receiver>`: the same event never queues twice for a receiver.
    public var id: String
    public var receiver: String
    public var alertID: String
    /// `audit`, `detect`, `subscription`, `unrecognized`.
    public var kind: String
    /// What the receiver gets (JSON for chat and webhooks; a JSON mail document for email).
    public var body: [UInt8]
    /// Equal for alerts that say the same thing (repeat suppression).
    public var fingerprint: String
    /// When set, not queued if the same fingerprint was queued for this receiver within it.
    public var repeatIntervalSeconds: Int64?

    public init(id: String, receiver: String, alertID: String, kind: String, body: [UInt8], fingerprint: String, repeatIntervalSeconds: Int64?) {
        self.id = id
        self.receiver = receiver
        self.alertID = alertID
        self.kind = kind
        self.body = body
        self.fingerprint = fingerprint
        self.repeatIntervalSeconds = repeatIntervalSeconds
    }
}

/// What a recorded message turned into, for the alert planner.
public enum RecordedEvent: Sendable {
    case audit(AuditNotification, AuditChange)
    case detect(DetectViolation)
    case unrecognized(reason: String)
    /// `pending` (SubscriptionConfirmation) or `unsubscribed`.
    case subscription(status: String)
}

/// A delivery as the workers and operators see it.
public struct Delivery: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case pending, sending, delivered, dead
    }

    public var id: String
    public var receiver: String
    public var alertID: String
    public var kind: String
    public var body: [UInt8]
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var createdAt: Int64
    public var updatedAt: Int64
    public var lastError: String?
    public var lastStatus: Int?
    public var deliveredAt: Int64?

    /// A delivery that is sent at once, outside the outbox (`receivers test`).
    public static func unqueued(id: String, receiver: String, alertID: String, kind: String, body: [UInt8], at now: Int64) -> Delivery {
        Delivery(
            id: id, receiver: receiver, alertID: alertID, kind: kind, body: body, state: .sending, attempts: 0, nextAttemptAt: now,
            createdAt: now, updatedAt: now, lastError: nil, lastStatus: nil, deliveredAt: nil
        )
    }
}

/// How one attempt ended.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(status: Int)
    case retry(at: Int64, error: String, status: Int?)
    case dead(error: String, status: Int?)
}
