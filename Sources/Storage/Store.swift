import DeviceDefender

/// Where verified messages, what they carried, and subscription state live. Every write is durable (committed)
/// when the call returns: the SNS endpoint answers 200 only after its ingest transaction committed.
///
/// Messages, payloads, changes and the alerts that follow are written by one function over
/// `IngestStore.withIngestTransaction` (`RecordBatch` in the Ingest module).
public protocol Store: IngestStore {
    /// Claims `receiver`'s due deliveries for `owner` (a worker of one replica) until
    /// `leaseUntil`, oldest queued first.
    func claimDeliveries(owner: String, receiver: String, now: Int64, leaseUntil: Int64, limit: Int) async throws(StoreError) -> [Delivery]
    /// Extends `owner`'s lease on delivery `id` to `until`, right before it is sent; false
    /// when `owner` no longer holds it (its lease ran out and another replica claimed it), and
    /// the delivery must not be sent. This keeps a slow batch from being sent twice.
    func renewLease(id: String, owner: String, until: Int64, at now: Int64) async throws(StoreError) -> Bool
    /// Puts claimed deliveries back unsent, their attempts unchanged: `owner`'s (for
    /// `receiver`, or all of them), or every claimed delivery when `owner` is nil (only for a
    /// store no other process uses). Returns how many.
    @discardableResult
    func releaseDeliveries(owner: String?, receiver: String?, at now: Int64) async throws(StoreError) -> Int
    /// Whether other processes may use this store at the same time (PostgreSQL). When not
    /// (SQLite), every lease found at start was left by a process that is gone.
    var isShared: Bool { get }
    /// Records how an attempt ended; only the lease holder can.
    func completeDelivery(id: String, owner: String, outcome: DeliveryOutcome, at now: Int64) async throws(StoreError)
    /// Newest first.
    func deliveries(state: Delivery.State?, limit: Int) async throws(StoreError) -> [Delivery]
    /// How many deliveries are still to send (pending or being sent), per receiver.
    func queuedDeliveriesByReceiver() async throws(StoreError) -> [String: Int]
    /// How many deliveries are pending, being sent, or dead, and when the oldest of each was
    /// queued (for metrics; delivered ones are history, not counted).
    func deliveryCensus() async throws(StoreError) -> DeliveryCensus
    /// Puts dead deliveries (one by id, or all) back in the queue; returns how many.
    func retryDeadDeliveries(id: String?, at now: Int64) async throws(StoreError) -> Int

    /// Audits newest first (by taskStartTime, then taskId), one page at a time.
    func audits(_ query: AuditQuery) async throws(StoreError) -> AuditPage
    func audit(taskID: String) async throws(StoreError) -> StoredAudit?
    /// The latest result per check and account, with the last `trendLength` counts.
    func latestChecks(trendLength: Int) async throws(StoreError) -> [CheckStatus]
    /// Detect violation events, newest first.
    func violations(_ query: ViolationQuery) async throws(StoreError) -> [StoredViolation]
    /// Payloads that were neither audits nor Detect events: (messageID, reason).
    func unrecognizedNotifications(limit: Int) async throws(StoreError) -> [(messageID: String, subject: String?, reason: String)]

    /// Deletes what `plan` no longer keeps, `plan.batchSize` rows per transaction. Returns
    /// the number of rows deleted.
    func prune(_ plan: RetentionPlan) async throws(StoreError) -> Int

    func storedMessage(id: String) async throws(StoreError) -> StoredMessage?
    func messageCount() async throws(StoreError) -> Int
    /// Every MessageId stored, for reconciliation tools and tests.
    func storedMessageIDs() async throws(StoreError) -> Set<String>

    func subscriptions() async throws(StoreError) -> [Subscription]
    func subscription(topicARN: String) async throws(StoreError) -> Subscription?
    /// Marks the topic's subscription confirmed (creating its record when there is none).
    func markConfirmed(topicARN: String, subscriptionARN: String?, at: Int64) async throws(StoreError)
    /// Keeps the subscription pending and remembers why confirming it failed.
    func markConfirmationFailed(topicARN: String, reason: String, at: Int64) async throws(StoreError)

    /// Stores a silence; false (and nothing stored) when `SilenceSQL.maxActive` silences are
    /// in effect already.
    func addSilence(_ silence: Silence) async throws(StoreError) -> Bool
    /// Silences in effect at `now` or starting later, newest first; with `includeEnded`,
    /// every silence kept.
    func silences(includeEnded: Bool, at now: Int64) async throws(StoreError) -> [Silence]
    /// Ends a silence at `now`; false when no silence by that id is in effect.
    func expireSilence(id: String, at now: Int64) async throws(StoreError) -> Bool

    /// Scheduled audit runs (in one account and region when given), newest first by start time.
    func latestScheduledAudits(accountID: String?, region: String?, limit: Int) async throws(StoreError) -> [AuditArrival]
    /// Whether any delivery of the alert `alertID` is in the outbox (in any state).
    func isAlertQueued(alertID: String) async throws(StoreError) -> Bool

    /// When the next Detect group is due (nil when none waits).
    func nextDetectGroupDue() async throws(StoreError) -> Int64?

    /// Throws when the store cannot serve reads and writes (for `/readyz`).
    func checkReady() async throws(StoreError)
    func close() async
}

/// The outbox at one moment: what `/metrics` reports of it.
public struct DeliveryCensus: Sendable, Equatable {
    public var counts: [Delivery.State: Int]
    /// Per state, `created_at` (ms) of its oldest delivery.
    public var oldestCreatedAt: [Delivery.State: Int64]

    public init(counts: [Delivery.State: Int], oldestCreatedAt: [Delivery.State: Int64]) {
        self.counts = counts
        self.oldestCreatedAt = oldestCreatedAt
    }
}

extension Store {
    public func deliveryCounts() async throws(StoreError) -> [Delivery.State: Int] {
        try await deliveryCensus().counts
    }
}
