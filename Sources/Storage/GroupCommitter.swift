import GRDB
import Synchronization

/// The one way onto SQLite's writer connection, in arrival order, for two kinds of work:
///
/// - **Small writes** (`write`): batched into shared transactions (group commit) without ever
///   reporting a write before its transaction committed, and with `synchronous = FULL` that
///   means before the commit reached the disk. While a transaction runs, new writes gather
///   behind it; the moment it commits, the next transaction takes everything gathered (up to
///   `maxBatch`), started from the writer thread itself. A write that fails fails alone.
/// - **Exclusive transactions** (`exclusively`): a caller that holds the writer across several
///   hops (an ingest transaction, which needs to read what it wrote before it decides what to
///   write next), with nobody else's statement in between.
///
/// Two promises beyond batching:
/// - A transaction does not depend on any caller's task: small writes run as a callback on the
///   writer queue, which a cancelled caller cannot interrupt.
/// - The queue is bounded: past `maxQueued` waiting writes, `write` throws
///   `StoreError.overloaded` at once (the SNS endpoint answers 503 and SNS retries) instead of
///   holding ever more requests in memory while the disk catches up.
final class GroupCommitter: Sendable {
    private typealias Outcome = Result<any Sendable, any Error>

    private struct Waiter: Sendable {
        let work: @Sendable (Database) throws -> any Sendable
        let continuation: CheckedContinuation<Outcome, Never>
    }

    private enum Job: Sendable {
        case write(Waiter)
        case exclusive(CheckedContinuation<Void, Never>)
    }

    private struct State {
        var pending: [Job] = []
        var queuedWrites = 0
        /// A batch or an exclusive holder has the writer (or is about to).
        var busy = false
    }

    private let pool: DatabasePool
    private let checkpointer: SQLiteCheckpointer?
    private let maxBatch: Int
    private let maxQueued: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxBatch: the most writes one transaction carries.
    ///   - maxQueued: the most writes that may wait for a transaction; more are refused.
    ///   - checkpointer: asked before each transaction whether the WAL outgrew its limit.
    init(pool: DatabasePool, checkpointer: SQLiteCheckpointer? = nil, maxBatch: Int = 256, maxQueued: Int = 1024) {
        precondition(maxBatch > 0 && maxQueued > 0)
        self.pool = pool
        self.checkpointer = checkpointer
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
    }

    /// How many small writes wait for a transaction right now (for tests and metrics).
    var queued: Int { state.withLock { $0.queuedWrites } }

    /// Runs `work` in a shared transaction and returns once that transaction committed. A
    /// failing `work` leaves nothing behind and fails only its own caller; a failing commit
    /// fails every write of the batch.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let start = state.withLock { state -> Bool? in
                guard state.queuedWrites < maxQueued else { return nil }
                state.pending.append(.write(Waiter(work: { try work($0) }, continuation: continuation)))
                state.queuedWrites += 1
                if state.busy { return false }
                state.busy = true
                return true
            }
            switch start {
            case nil:
                continuation.resume(returning: .failure(StoreError.overloaded("\(maxQueued) writes are already waiting for the disk")))
            case true?:
                startNext()
            case false?:
                break
            }
        }
        // The cast cannot fail: the value is what `work` returned.
        return try outcome.get() as! T
    }

    /// Runs `body` while it alone may use the writer (`SQLiteStore` runs it on the writer's own
    /// queue, `SQLiteWriterExecutor`). Whatever transaction `body` opens, it must end before it
    /// returns.
    func exclusively<T>(_ body: () async throws -> T) async rethrows -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let holdsNow = state.withLock { state -> Bool in
                if state.busy {
                    state.pending.append(.exclusive(continuation))
                    return false
                }
                state.busy = true
                return true
            }
            if holdsNow { continuation.resume() }
        }
        defer { startNext() }
        return try await body()
    }

    /// Hands the writer to whoever is next: an exclusive holder, or the writes gathered so far
    /// as one transaction. Called by the one who had it (`busy` is true).
    private func startNext() {
        enum Next { case idle, exclusive(CheckedContinuation<Void, Never>), batch([Waiter]) }
        let next = state.withLock { state -> Next in
            guard let first = state.pending.first else {
                state.busy = false
                return .idle
            }
            if case .exclusive(let continuation) = first {
                state.pending.removeFirst()
                return .exclusive(continuation)
            }
            var batch: [Waiter] = []
            while batch.count < maxBatch, case .write(let waiter)? = state.pending.first {
                batch.append(waiter)
                state.pending.removeFirst()
            }
            state.queuedWrites -= batch.count
            return .batch(batch)
        }
        switch next {
        case .idle:
            break
        case .exclusive(let continuation):
            continuation.resume()
        case .batch(let batch):
            pool.asyncWriteWithoutTransaction { [self] db in
                checkpointIfTooLong(db)
                let outcomes = Self.commit(batch, in: db)
                for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(returning: outcome) }
                startNext()
            }
        }
    }

    /// Before a transaction starts on the writer: the writer's own checkpoint when the WAL grew
    /// past its limit (background checkpoints fell behind). A failure here is the next
    /// transaction's failure to report, not this one's.
    func checkpointIfTooLong(_ db: Database) {
        guard let checkpointer, checkpointer.writerMustCheckpoint else { return }
        try? checkpointer.checkpointOnWriter(db)
    }

    /// The whole batch in one transaction. A write that throws is not allowed to take the
    /// others down, nor to leave half of itself behind: the transaction is rolled back and the
    /// batch runs again in one transaction with a savepoint per write, where the failing write
    /// rolls back alone. (Writes are pure functions of the database, so running one again is
    /// the same write.) Failures are rare (conflicts are `ON CONFLICT` clauses, not errors), so
    /// the common batch pays for no savepoints, and a failing one costs one more transaction,
    /// not one per write.
    private static func commit(_ batch: [Waiter], in db: Database) -> [Outcome] {
        var values: [any Sendable] = []
        values.reserveCapacity(batch.count)
        do {
            try db.inTransaction {
                for waiter in batch { values.append(try waiter.work(db)) }
                return .commit
            }
            return values.map { .success($0) }
        } catch {
            if values.count == batch.count {
                // Every write ran; the commit itself failed: nothing of the batch is stored.
                return Array(repeating: .failure(error), count: batch.count)
            }
        }
        var outcomes: [Outcome] = []
        do {
            try db.inTransaction {
                outcomes = batch.map { waiter in
                    var value: (any Sendable)?
                    do {
                        try db.inSavepoint {
                            value = try waiter.work(db)
                            return .commit
                        }
                        return .success(value!)
                    } catch {
                        return .failure(error)
                    }
                }
                return .commit
            }
            return outcomes
        } catch {
            return Array(repeating: .failure(error), count: batch.count)
        }
    }
}
