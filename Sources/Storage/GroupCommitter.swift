import GRDB
import Synchronization

/// Batches concurrent writes into shared transactions (group commit) without ever reporting a
/// write before its transaction committed, and with `synchronous = FULL` that means before the
/// commit reached the disk.
///
/// Writes wait in a queue; while a transaction runs on GRDB's writer thread, new writes gather
/// behind it, and the moment it commits the next transaction takes everything gathered (up to
/// `maxBatch`), started from the writer thread itself. A write that fails fails alone (see
/// `commit(_:in:)`). So the writer never waits for a Swift
/// task to be scheduled between two commits, one fsync covers every write that arrived during
/// the previous one, and under light load a transaction is one write.
///
/// Two promises beyond batching:
/// - A transaction does not depend on any caller's task: it runs as a callback on the writer
///   queue, which a cancelled caller cannot interrupt, so no write fails for a reason that is
///   not the database's.
/// - The queue is bounded: past `maxQueued` waiting writes, `write` throws
///   `StoreError.overloaded` at once (the SNS endpoint answers 503 and SNS retries) instead of
///   holding ever more requests in memory while the disk catches up.
final class GroupCommitter: Sendable {
    private typealias Outcome = Result<any Sendable, any Error>

    private struct Waiter: Sendable {
        let work: @Sendable (Database) throws -> any Sendable
        let continuation: CheckedContinuation<Outcome, Never>
    }

    private struct State {
        var pending: [Waiter] = []
        /// A transaction is running (or about to start) on the writer.
        var committing = false
    }

    private let pool: DatabasePool
    private let maxBatch: Int
    private let maxQueued: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxBatch: the most writes one transaction carries.
    ///   - maxQueued: the most writes that may wait for a transaction; more are refused.
    init(pool: DatabasePool, maxBatch: Int = 256, maxQueued: Int = 1024) {
        precondition(maxBatch > 0 && maxQueued > 0)
        self.pool = pool
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
    }

    /// How many writes wait for a transaction right now (for tests and metrics).
    var queued: Int { state.withLock { $0.pending.count } }

    /// Runs `work` in a shared transaction and returns once that transaction committed. A
    /// failing `work` leaves nothing behind and fails only its own caller; a failing commit
    /// fails every write of the batch.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let start = state.withLock { state -> Bool? in
                guard state.pending.count < maxQueued else { return nil }
                state.pending.append(Waiter(work: { try work($0) }, continuation: continuation))
                if state.committing { return false }
                state.committing = true
                return true
            }
            switch start {
            case nil:
                continuation.resume(returning: .failure(StoreError.overloaded("\(maxQueued) writes are already waiting for the disk")))
            case true?:
                commitNextBatch()
            case false?:
                break
            }
        }
        // The cast cannot fail: the value is what `work` returned.
        return try outcome.get() as! T
    }

    /// Takes what is pending and commits it on the writer queue; when that commit is done, the
    /// completion (on the writer thread) answers the batch and starts the next one, if any.
    private func commitNextBatch() {
        let batch = state.withLock { state -> [Waiter] in
            let batch = Array(state.pending.prefix(maxBatch))
            state.pending.removeFirst(batch.count)
            return batch
        }
        pool.asyncWriteWithoutTransaction { [self] db in
            let outcomes = Self.commit(batch, in: db)
            for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(returning: outcome) }
            let more = state.withLock { state -> Bool in
                if state.pending.isEmpty { state.committing = false }
                return state.committing
            }
            if more { commitNextBatch() }
        }
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
