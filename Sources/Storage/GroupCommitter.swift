import GRDB
import Synchronization

/// Batches concurrent writes into shared transactions (group commit) without ever reporting a
/// write before its transaction committed, and with `synchronous = FULL` that means before the
/// commit reached the disk.
///
/// Leader/follower: the first caller to find no leader writes the batch of everything pending
/// (its own work included) in one transaction, answers the followers in it, and hands
/// leadership to the first caller still waiting. Under light load a batch is one write; under
/// load one fsync covers many. No task is spawned: each batch is started by a caller's task
/// and runs on GRDB's writer thread.
///
/// Two promises beyond batching:
/// - A batch does not depend on its leader's task: the transaction is handed to the writer
///   queue as a callback, which a cancelled leader cannot interrupt, so followers never see a
///   failure that is not the database's.
/// - The queue is bounded: past `maxQueued` waiting writes, `write` throws
///   `StoreError.overloaded` at once (the SNS endpoint answers 503 and SNS retries) instead of
///   holding ever more requests in memory while the disk catches up.
final class GroupCommitter: Sendable {
    typealias Work = @Sendable (Database) throws -> any Sendable

    private enum Signal: Sendable {
        case done(Result<any Sendable, any Error>)
        case lead
        case refused
    }

    private struct Waiter: Sendable {
        let id: UInt64
        let work: Work
        let continuation: CheckedContinuation<Signal, Never>
    }

    private struct State {
        var pending: [Waiter] = []
        var leading = false
        var nextID: UInt64 = 0
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

    /// Runs `work` inside a savepoint of a shared transaction and returns once that transaction
    /// committed. A failing `work` rolls back only its own savepoint; a failing commit fails all.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        var myID: UInt64 = 0
        let maxQueued = self.maxQueued
        let signal = await withCheckedContinuation { (continuation: CheckedContinuation<Signal, Never>) in
            let decision = state.withLock { state -> Signal? in
                if state.pending.count >= maxQueued { return .refused }
                state.nextID += 1
                myID = state.nextID
                state.pending.append(Waiter(id: myID, work: { try work($0) }, continuation: continuation))
                if state.leading { return nil }
                state.leading = true
                return .lead
            }
            if let decision { continuation.resume(returning: decision) }
        }
        let result: Result<any Sendable, any Error>
        switch signal {
        case .done(let outcome):
            result = outcome
        case .lead:
            result = await commitBatch(leaderID: myID)
        case .refused:
            throw StoreError.overloaded("\(maxQueued) writes are already waiting for the disk")
        }
        // The cast cannot fail: the value is what `work` returned.
        return try result.get() as! T
    }

    private func commitBatch(leaderID: UInt64) async -> Result<any Sendable, any Error> {
        let batch = state.withLock { state -> [Waiter] in
            let batch = Array(state.pending.prefix(maxBatch))
            state.pending.removeFirst(batch.count)
            return batch
        }
        let results = await Self.commit(batch, on: pool)

        var mine: Result<any Sendable, any Error> = .failure(StoreError.unavailable("group commit lost a result"))
        for (waiter, result) in zip(batch, results) {
            if waiter.id == leaderID {
                mine = result
            } else {
                waiter.continuation.resume(returning: .done(result))
            }
        }
        let next = state.withLock { state -> Waiter? in
            guard let next = state.pending.first else {
                state.leading = false
                return nil
            }
            return next
        }
        next?.continuation.resume(returning: .lead)
        return mine
    }

    /// One transaction for the whole batch, each write in its own savepoint. Handed to GRDB's
    /// writer queue as a callback: cancellation of the calling task cannot reach it.
    private static func commit(_ batch: [Waiter], on pool: DatabasePool) async -> [Result<any Sendable, any Error>] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[Result<any Sendable, any Error>], Never>) in
            pool.asyncWrite({ db in
                batch.map { waiter -> Result<any Sendable, any Error> in
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
            }, completion: { _, outcome in
                switch outcome {
                case .success(let results): continuation.resume(returning: results)
                case .failure(let error): continuation.resume(returning: Array(repeating: .failure(error), count: batch.count))
                }
            })
        }
    }
}
