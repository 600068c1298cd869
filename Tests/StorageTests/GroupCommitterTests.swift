import Foundation
import GRDB
@testable import Storage
import Synchronization
import Testing

/// The group committer's own promises, seen without a server: a bounded queue, a batch that
/// does not fail because a waiting caller was cancelled, and a failing write that fails alone.
@Suite(.timeLimit(.minutes(1)))
struct GroupCommitterTests {
    @Test func refusesWritesPastItsQueueBoundAndCommitsTheRest() async throws {
        let (pool, gate) = try Self.poolWithTable()
        defer { gate.open() }  // a failing expectation must not leave the writer held
        let committer = GroupCommitter(pool: pool, maxBatch: 256, maxQueued: 4)
        try await withThrowingTaskGroup(of: Result<Int, any Error>.self) { group in
            // The first write holds the writer until the gate opens; four more queue behind it.
            group.addTask { .success(try await committer.write { db in gate.wait(); try Self.insert(0, db); return 0 }) }
            try await Self.waitUntil { committer.queued == 0 && gate.isHeld }
            for value in 1...4 {
                group.addTask { .success(try await committer.write { db in try Self.insert(value, db); return value }) }
            }
            try await Self.waitUntil { committer.queued == 4 }
            // The queue is full: the next write is refused at once, not held in memory. (Raced
            // against a timer that opens the gate, so a write that queues fails the test
            // instead of waiting forever.)
            let refusedAtOnce = await withTaskGroup(of: Bool?.self) { race in
                race.addTask {
                    do {
                        try await committer.write { db in try Self.insert(99, db) }
                        return false
                    } catch {
                        return error is StoreError
                    }
                }
                race.addTask {
                    try? await Task.sleep(for: .seconds(3))
                    return nil
                }
                let first = await race.next()!
                gate.open()
                return first
            }
            #expect(refusedAtOnce == true)
            var committed: [Int] = []
            for try await result in group { committed.append(try result.get()) }
            #expect(committed.sorted() == [0, 1, 2, 3, 4])
        }
        let stored = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT value FROM t ORDER BY value") }
        #expect(stored == [0, 1, 2, 3, 4])
    }

    @Test func aCancelledCallerDoesNotFailTheBatch() async throws {
        let (pool, gate) = try Self.poolWithTable()
        defer { gate.open() }
        let committer = GroupCommitter(pool: pool)
        let blocker = Task { try await committer.write { db in gate.wait(); try Self.insert(0, db) } }
        try await Self.waitUntil { gate.isHeld }
        // Three writes queue for the next batch; the first one's caller is then cancelled.
        let cancelled = Task { try await committer.write { db in try Self.insert(1, db) } }
        try await Self.waitUntil { committer.queued == 1 }
        let followers = (2...3).map { value in Task { try await committer.write { db in try Self.insert(value, db) } } }
        try await Self.waitUntil { committer.queued == 3 }
        cancelled.cancel()
        gate.open()
        try await blocker.value
        for follower in followers { try await follower.value }
        // The cancelled caller's write was committed too: cancellation cannot reach the batch.
        try await cancelled.value
        let stored = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT value FROM t ORDER BY value") }
        #expect(stored == [0, 1, 2, 3])
    }

    @Test func aFailingWriteFailsAloneAndLeavesNothingBehind() async throws {
        let (pool, gate) = try Self.poolWithTable()
        defer { gate.open() }
        let committer = GroupCommitter(pool: pool)
        struct Refused: Error {}
        // Hold the writer so that the next writes share one batch.
        let blocker = Task { try await committer.write { db in gate.wait(); try Self.insert(0, db) } }
        try await Self.waitUntil { gate.isHeld }
        let good = (1...3).map { value in Task { try await committer.write { db in try Self.insert(value, db) } } }
        try await Self.waitUntil { committer.queued == 3 }
        // Inserts a row, then throws: the row must not survive.
        let bad = Task { try await committer.write { db in try Self.insert(50, db); throw Refused() } }
        try await Self.waitUntil { committer.queued == 4 }
        gate.open()
        try await blocker.value
        for task in good { try await task.value }
        await #expect(throws: Refused.self) { try await bad.value }
        let stored = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT value FROM t ORDER BY value") }
        #expect(stored == [0, 1, 2, 3])
    }

    /// An ingest transaction holds the writer across several hops: small writes that arrive
    /// meanwhile wait for it, and are then committed together.
    @Test func writesWaitWhileATransactionHoldsTheWriter() async throws {
        let (pool, gate) = try Self.poolWithTable()
        defer { gate.open() }
        let committer = GroupCommitter(pool: pool)
        let writers = try await committer.exclusively { () async throws -> [Task<Void, any Error>] in
            try await pool.writeWithoutTransaction { db in try Self.insert(1, db) }
            let writers = (2...3).map { value in Task { try await committer.write { db in try Self.insert(value, db) } } }
            try await Self.waitUntil { committer.queued == 2 }
            // Queued, not run: the holder still has the writer to itself.
            #expect(try await pool.read { db in try Int.fetchAll(db, sql: "SELECT value FROM t ORDER BY value") } == [1])
            try await pool.writeWithoutTransaction { db in try Self.insert(4, db) }
            return writers
        }
        for writer in writers { try await writer.value }
        #expect(committer.queued == 0)
        #expect(try await pool.read { db in try Int.fetchAll(db, sql: "SELECT value FROM t ORDER BY value") } == [1, 2, 3, 4])
    }

    private static func poolWithTable() throws -> (DatabasePool, Gate) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("committer-\(UUID().uuidString).sqlite").path
        let pool = try DatabasePool(path: path)
        try pool.write { db in try db.execute(sql: "CREATE TABLE t (value INTEGER PRIMARY KEY)") }
        return (pool, Gate())
    }

    private static func insert(_ value: Int, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO t (value) VALUES (?)", arguments: [value])
    }

    private static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(40)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Holds GRDB's writer thread (never a Swift concurrency thread) until the test opens it.
private final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let held = Mutex(false)

    var isHeld: Bool { held.withLock { $0 } }

    /// At most 30 s, so that a failing test ends instead of holding the writer forever.
    func wait() {
        held.withLock { $0 = true }
        _ = semaphore.wait(timeout: .now() + 30)
    }

    func open() { semaphore.signal() }
}
