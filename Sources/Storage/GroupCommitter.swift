import GRDB
import Synchronization

/// Batches concurrent writes into shared transactions (group commit) without ever reporting a
/// write before its transaction committed.
///
/// Leader/follower: the first caller to find no leader writes the batch of everything pending
/// (its own work included) in one transaction, answers the followers in it, and hands
/// leadership to the first caller still waiting. Under light load a batch is one write; under
/// load one fsync covers many. No task is spawned: each batch runs on a caller's task, and
/// GRDB runs the transaction on its own writer thread.
final class GroupCommitter: Sendable {
    typealias Work = @Sendable (Database) throws -> any Sendable

    private enum Signal: Sendable {
        case done(Result<any Sendable, any Error>)
        case lead
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
    private let state = Mutex(State())

    init(pool: DatabasePool, maxBatch: Int = 256) {
        self.pool = pool
        self.maxBatch = maxBatch
    }

    /// Runs `work` inside a savepoint of a shared transaction and returns once that transaction
    /// committed. A failing `work` rolls back only its own savepoint; a failing commit fails all.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        var myID: UInt64 = 0
        let signal = await withCheckedContinuation { (continuation: CheckedContinuation<Signal, Never>) in
            let lead = state.withLock { state -> Bool in
                state.nextID += 1
                myID = state.nextID
                state.pending.append(Waiter(id: myID, work: { try work($0) }, continuation: continuation))
                if state.leading { return false }
                state.leading = true
                return true
            }
            if lead { continuation.resume(returning: .lead) }
        }
        let result: Result<any Sendable, any Error>
        switch signal {
        case .done(let outcome):
            result = outcome
        case .lead:
            result = await commitBatch(leaderID: myID)
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
        let results: [Result<any Sendable, any Error>]
        do {
            results = try await pool.write { db in
                batch.map { waiter in
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
            }
        } catch {
            results = Array(repeating: .failure(error), count: batch.count)
        }

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
}
