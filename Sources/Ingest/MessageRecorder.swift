import DeviceDefender
import CoreMetrics
import Logging
import Metrics
import ServiceLifecycle
import Storage
import Synchronization

/// Group commit for the SNS endpoint, the same for both stores: messages that arrive while a
/// transaction runs wait for the next one, which takes them all (up to `maxBatch`), so one
/// commit, and with SQLite one fsync, acknowledges many messages, and PostgreSQL answers a
/// batch in a few round trips.
///
/// It runs as a `Service`: transactions run on its own tasks, never on a request's, so a client
/// that hangs up cannot cancel a batch that carries other messages. Its promises:
/// - `record` returns only once the transaction that stored the message committed.
/// - A batch that fails is run again one message per transaction, so that a message the store
///   refuses fails alone.
/// - The queue is bounded: past `maxQueued` waiting messages, `record` throws
///   `StoreError.overloaded` at once (503: SNS retries) instead of holding ever more requests.
/// - On graceful shutdown it finishes what is queued before it stops; when cancelled, what is
///   still queued fails with `StoreError.unavailable` (SNS retries it).
public final class MessageRecorder: Service, Sendable {
    private struct Waiter: Sendable {
        let item: IngestItem
        let continuation: CheckedContinuation<Result<RecordOutcome, StoreError>, Never>
    }

    private struct State {
        var pending: [Waiter] = []
        /// Workers waiting for work.
        var idle: [CheckedContinuation<Bool, Never>] = []
        var stopping = false
    }

    private let store: any IngestStore
    private let routing: AlertRouting
    private let maxBatch: Int
    private let maxQueued: Int
    private let logger: Logger
    private let metrics: IngestMetrics
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxBatch: the most messages one transaction carries.
    ///   - maxQueued: the most messages that may wait for a transaction; more are refused.
    public convenience init(
        store: any IngestStore, planner: AlertPlanner?, maxBatch: Int = 256, maxQueued: Int = 1024, metrics: IngestMetrics = .none, logger: Logger
    ) {
        self.init(store: store, routing: AlertRouting(planner), maxBatch: maxBatch, maxQueued: maxQueued, metrics: metrics, logger: logger)
    }

    /// `routing`: the planner in effect, which a configuration reload replaces.
    public init(
        store: any IngestStore, routing: AlertRouting, maxBatch: Int = 256, maxQueued: Int = 1024, metrics: IngestMetrics = .none, logger: Logger
    ) {
        precondition(maxBatch > 0 && maxQueued > 0)
        self.metrics = metrics
        self.store = store
        self.routing = routing
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
        self.logger = logger
    }

    /// How many messages wait for a transaction right now.
    public var queued: Int { state.withLock { $0.pending.count } }

    /// True once it stopped taking messages (shutting down).
    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Stores `item` (and its alerts) and returns once that is committed.
    public func record(_ item: IngestItem) async throws(StoreError) -> RecordOutcome {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<RecordOutcome, StoreError>, Never>) in
            enum Admission { case refused(StoreError), queued(wake: CheckedContinuation<Bool, Never>?) }
            let admission = state.withLock { state -> Admission in
                guard !state.stopping else { return .refused(.unavailable("the relay is stopping")) }
                guard state.pending.count < maxQueued else { return .refused(.overloaded("\(maxQueued) messages are already waiting to be stored")) }
                state.pending.append(Waiter(item: item, continuation: continuation))
                return .queued(wake: state.idle.isEmpty ? nil : state.idle.removeFirst())
            }
            switch admission {
            case .refused(let refusal): continuation.resume(returning: .failure(refusal))
            case .queued(let wake): wake?.resume(returning: true)
            }
        }
        return try result.get()
    }

    public func run() async {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    for _ in 0..<max(1, store.ingestConcurrency) {
                        group.addTask { await self.work() }
                    }
                }
            } onCancel: {
                self.stop(failingQueued: true)
            }
        } onGracefulShutdown: {
            self.stop(failingQueued: false)
        }
        // Whatever is still queued (cancelled mid-batch) fails rather than waits forever.
        stop(failingQueued: true)
    }

    private func stop(failingQueued: Bool) {
        let (waiters, idle) = state.withLock { state -> ([Waiter], [CheckedContinuation<Bool, Never>]) in
            state.stopping = true
            let idle = state.idle
            state.idle = []
            guard failingQueued else { return ([], idle) }
            let waiters = state.pending
            state.pending = []
            return (waiters, idle)
        }
        for worker in idle { worker.resume(returning: false) }
        for waiter in waiters { waiter.continuation.resume(returning: .failure(.unavailable("the relay stopped before the message was stored"))) }
    }

    /// One worker: takes a batch, commits it, answers it; until stopped with nothing queued.
    private func work() async {
        while let batch = await nextBatch() {
            let outcomes = await commit(batch.map(\.item))
            for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(returning: outcome) }
        }
    }

    private func nextBatch() async -> [Waiter]? {
        while true {
            enum Next { case batch([Waiter]), wait, stop }
            let next = state.withLock { state -> Next in
                if !state.pending.isEmpty {
                    let batch = Array(state.pending.prefix(maxBatch))
                    state.pending.removeFirst(batch.count)
                    return .batch(batch)
                }
                return state.stopping ? .stop : .wait
            }
            switch next {
            case .batch(let batch): return batch
            case .stop: return nil
            case .wait:
                // Woken by a new message, or by stopping (then the loop drains what is left).
                _ = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if !state.pending.isEmpty || state.stopping { return true }
                        state.idle.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume(returning: true) }
                }
            }
        }
    }

    /// The batch in one transaction; if that fails, each message in its own, so that one
    /// message the store refuses does not take the others down.
    private func commit(_ items: [IngestItem]) async -> [Result<RecordOutcome, StoreError>] {
        do {
            return try await transaction(items).map { .success($0) }
        } catch {
            // One message may be what the database refused; an unreachable database refuses
            // them all, and storing them one by one would only keep SNS waiting longer.
            if case .unreachable = error { return items.map { _ in .failure(error) } }
            guard items.count > 1 else { return [.failure(error)] }
            logger.warning("a batch of messages could not be stored; storing them one by one", metadata: ["messages": "\(items.count)", "error": "\(error)"])
        }
        var outcomes: [Result<RecordOutcome, StoreError>] = []
        for item in items {
            do {
                outcomes.append(.success(try await transaction([item])[0]))
            } catch {
                outcomes.append(.failure(error))
            }
        }
        return outcomes
    }

    private func transaction(_ items: [IngestItem]) async throws(StoreError) -> [RecordOutcome] {
        let planner = routing.planner
        let started = ContinuousClock.now
        let outcomes = try await store.storeTransaction { transaction in
            try await RecordBatch.record(items, planner: planner, in: transaction)
        }
        metrics.writeDuration.record(duration: ContinuousClock.now - started)
        metrics.batchSize.record(items.count)
        return outcomes
    }
}

extension IngestStore {
    /// `withIngestTransaction`, failing only with a `StoreError`: the store's own as thrown,
    /// anything else as `.unavailable` (the endpoint answers 503 and SNS retries).
    fileprivate func storeTransaction<T: Sendable>(_ body: @escaping @Sendable (any IngestTransaction) async throws -> T) async throws(StoreError) -> T {
        do {
            return try await withIngestTransaction(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unavailable(String(describing: error))
        }
    }

    /// Stores one message at once, in a transaction of its own (the CLI, tests, and anything
    /// else that does not go through a running `MessageRecorder`).
    public func record(_ item: IngestItem, planner: AlertPlanner? = nil) async throws(StoreError) -> RecordOutcome {
        try await storeTransaction { transaction in
            try await RecordBatch.record([item], planner: planner, in: transaction)[0]
        }
    }

    /// Records a message (convenience for callers that hold its parts).
    public func record(_ message: StoredMessage, effect: SubscriptionEffect, payload: DefenderPayload? = nil, planner: AlertPlanner? = nil) async throws(StoreError) -> RecordOutcome {
        try await record(IngestItem(message: message, effect: effect, payload: payload), planner: planner)
    }

    /// Marks a topic's subscription confirmed and queues the alerts that say so, in one
    /// transaction: a crash cannot keep the confirmation and lose its alert.
    public func confirm(topicARN: String, subscriptionARN: String?, alerts entries: [OutboxEntry], at now: Int64) async throws(StoreError) {
        try await storeTransaction { transaction in
            try await transaction.applySubscriptionEffects([SubscriptionChange(topicARN: topicARN, effect: .confirmed(subscriptionARN: subscriptionARN), at: now)])
            try await RecordBatch.queue(entries.map { NewDelivery(entry: $0, at: now) }, in: transaction)
        }
    }

    /// Queues outbox entries on their own (alerts that follow a later step, such as a
    /// confirmed subscription), with the same repeat suppression as alerts queued on ingest.
    public func enqueue(_ entries: [OutboxEntry], at now: Int64) async throws(StoreError) {
        try await storeTransaction { transaction in
            try await RecordBatch.queue(entries.map { NewDelivery(entry: $0, at: now) }, in: transaction)
        }
    }
}
