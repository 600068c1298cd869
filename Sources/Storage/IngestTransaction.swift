import DeviceDefender
import JSON

/// The writes of one ingest transaction, batch-shaped, as each store carries them out in its own
/// SQL dialect. The ingest layer decides what to write (`RecordBatch` in the Ingest module);
/// a store only writes it: one function is the ingest transaction for both stores, and data
/// flows down into the store, never back up.
///
/// Every method takes many rows at once, so that PostgreSQL answers a batch in a few round
/// trips and SQLite in a few hops to its writer thread. Rows come in the order given; a method
/// that reports per row answers in that order.
public protocol IngestTransaction {
    /// Serialises storing runs of these series (`AuditNotification.seriesKey`) with every other
    /// transaction doing the same, until this one ends: what is read as a series' previous run
    /// stays its previous run until this transaction commits. Called before `insertMessages`.
    /// PostgreSQL takes a transaction-scoped advisory lock per series (replicas and concurrent
    /// batches store in parallel); SQLite has one writer and needs nothing.
    func lockSeries(_ seriesKeys: [String]) async throws
    /// Inserts each message whose MessageId is not stored yet (`inserted`: true for each row
    /// inserted), and finds, for each of `audits`, the runs of its series stored before this
    /// transaction (by start time, then taskId) just before and just after it, with their
    /// checks (`previousRuns` and `nextRuns`, nil when none is stored). All in one call,
    /// because a database can answer them at once.
    ///
    /// A new Notification also records its topic's subscription as confirmed when the topic is
    /// not known yet (SNS delivers only to confirmed subscriptions): the
    /// `SubscriptionEffect.notificationDelivered` of every notification, with its insert.
    func insertMessages(_ messages: [StoredMessage], previousRunsOf audits: [AuditNotification]) async throws -> InsertedMessages
    /// Applies to each topic's subscription what a new confirmation message means for it.
    func applySubscriptionEffects(_ changes: [SubscriptionChange]) async throws
    /// Inserts each audit, with its checks and what changed since its previous run, whose
    /// taskId is not stored yet; true for each row inserted. `changes` has one per audit.
    func insertAudits(_ audits: [NewAudit], changes: [StoredChange]) async throws -> [Bool]
    /// Replaces what changed in stored audits (a late run arrived before them).
    func updateChanges(_ changes: [StoredChange]) async throws
    /// Inserts each Detect event not stored yet (with the message that carried it); true for
    /// each row inserted.
    func insertViolations(_ violations: [StoredViolation]) async throws -> [Bool]
    func insertUnrecognized(_ notifications: [UnrecognizedNotification]) async throws
    /// For each query: whether an alert with its fingerprint was queued for its receiver since
    /// `since` (and not dead-lettered).
    func recentlyQueued(_ queries: [RepeatQuery]) async throws -> [Bool]
    /// Queues deliveries; an id already queued is left as it is.
    func insertDeliveries(_ deliveries: [NewDelivery]) async throws
    /// The silences in effect at some moment from `since` on (not ended, not expired).
    func activeSilences(since: Int64) async throws -> [Silence]

    /// Puts stored Detect events in their groups, making each group due as its event says.
    func queueDetectGroupEvents(_ events: [DetectGroupEvent]) async throws
    /// Up to `limit` groups due at `now` with their events; PostgreSQL locks them until this
    /// transaction ends, so another replica skips them.
    func dueDetectGroups(now: Int64, limit: Int) async throws -> [DueDetectGroup]
    /// For each alarm: the receivers its in-alarm alert went to, and when it began (nil when no
    /// in-alarm event of it is stored).
    func alarms(_ violationIDs: [String], before: Int64) async throws -> [String: (receivers: [String], startedAt: Int64?)]
    /// Remembers which receivers an alarm's in-alarm alert went to.
    func recordAlarmReceivers(_ receivers: [(violationID: String, receiver: String)]) async throws
    /// Forgets ended alarms' receivers.
    func forgetAlarms(_ violationIDs: [String]) async throws
    /// Sent groups: their sent events leave them; a group with events left stays due.
    func finishDetectGroups(_ groups: [SentDetectGroup], at now: Int64) async throws
}

/// A store that runs ingest transactions.
public protocol IngestStore: Sendable {
    /// Runs `body` in one transaction and commits it: when this returns, everything `body`
    /// wrote is durable (SQLite: synced to disk; PostgreSQL: committed by the server). When
    /// `body` throws, nothing it wrote is kept. A failure of the database is thrown as a
    /// `StoreError`; an error of `body`'s own as it was thrown. `body` escapes: a store may stop
    /// waiting for a transaction whose database stopped answering (PostgreSQL) and answer
    /// `StoreError.unreachable` while it winds down.
    func withIngestTransaction<T: Sendable>(_ body: @escaping @Sendable (any IngestTransaction) async throws -> T) async throws -> T
    /// How many ingest transactions may usefully run at once: SQLite has one writer, a
    /// PostgreSQL server commits several transactions in parallel.
    var ingestConcurrency: Int { get }
}

/// What `insertMessages` found: which messages were new, and the stored runs before and after
/// each audit.
public struct InsertedMessages: Sendable {
    public var inserted: [Bool]
    public var previousRuns: [StoredRun?]
    public var nextRuns: [StoredRun?]

    public init(inserted: [Bool], previousRuns: [StoredRun?], nextRuns: [StoredRun?]) {
        self.inserted = inserted
        self.previousRuns = previousRuns
        self.nextRuns = nextRuns
    }
}

/// An audit to insert, with the message that carried it.
public struct NewAudit: Sendable {
    public let audit: AuditNotification
    public let messageID: String
    public let receivedAt: Int64
    /// The audit's consistency warnings (`AuditNotification.consistencyWarnings`, worked out
    /// once: the endpoint logs them too).
    public let warnings: [String]
    /// The warnings, checks and check names as stored, written before the transaction so that
    /// the writer does not spend its time on them.
    public let warningsJSON: String
    public let checksJSON: String
    public let checkNames: String
    /// The checks as stored: sorted by name, one per name.
    public let storedChecks: [AuditCheckResult]

    public init(audit: AuditNotification, messageID: String, receivedAt: Int64) {
        self.audit = audit
        self.messageID = messageID
        self.receivedAt = receivedAt
        warnings = audit.consistencyWarnings
        var writer = JSONWriter(capacity: 32)
        writer.strings(warnings)
        warningsJSON = writer.text
        let checks = StoredChecks.unique(audit.checks)
        storedChecks = checks
        checksJSON = StoredChecks.json(checks)
        checkNames = StoredChecks.names(checks)
    }
}

/// A notification whose Message is no Device Defender payload, kept with the reason.
public struct UnrecognizedNotification: Sendable {
    public var message: StoredMessage
    public var reason: String

    public init(message: StoredMessage, reason: String) {
        self.message = message
        self.reason = reason
    }
}

/// What a new message does to the subscription of its topic.
public struct SubscriptionChange: Sendable {
    public var topicARN: String
    public var effect: SubscriptionEffect
    public var at: Int64

    public init(topicARN: String, effect: SubscriptionEffect, at: Int64) {
        self.topicARN = topicARN
        self.effect = effect
        self.at = at
    }
}

/// A stored run of an audit series, as far as comparing runs needs it.
public struct StoredRun: Sendable, Equatable {
    public var taskID: String
    public var taskStartTime: Int64
    public var checks: [AuditCheckResult]

    public init(taskID: String, taskStartTime: Int64, checks: [AuditCheckResult]) {
        self.taskID = taskID
        self.taskStartTime = taskStartTime
        self.checks = checks
    }
}

/// What changed in an audit since its previous run, as stored with it.
public struct StoredChange: Sendable {
    public let taskID: String
    public let change: AuditChange
    /// `change` as stored (JSON), written before it reaches the writer.
    public let changeJSON: String

    public init(taskID: String, change: AuditChange) {
        self.taskID = taskID
        self.change = change
        changeJSON = change.jsonText
    }
}

/// An outbox entry to queue, and when it was queued.
public struct NewDelivery: Sendable {
    public var entry: OutboxEntry
    /// Milliseconds since the Unix epoch: `created_at` and the first `next_attempt_at`.
    public var at: Int64

    public init(entry: OutboxEntry, at: Int64) {
        self.entry = entry
        self.at = at
    }
}

/// "Was this alert queued for this receiver recently?" (repeat suppression).
public struct RepeatQuery: Sendable, Hashable {
    public var receiver: String
    public var fingerprint: String
    /// Milliseconds since the Unix epoch.
    public var since: Int64

    public init(receiver: String, fingerprint: String, since: Int64) {
        self.receiver = receiver
        self.fingerprint = fingerprint
        self.since = since
    }
}
