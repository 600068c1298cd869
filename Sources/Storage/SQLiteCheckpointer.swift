import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the WAL back into the database file on a thread and connection of its own, so that
/// the writer never stops to do it.
///
/// With SQLite's default, the connection that commits past 1,000 WAL pages runs the checkpoint
/// itself, inside that commit: every few hundred messages one request waited for megabytes to
/// be copied and the database file synced. Here the writer's automatic checkpoint is off, the
/// writer's WAL hook reports the WAL's length after each commit, and past `startFrames` this
/// thread runs a PASSIVE checkpoint, which never blocks the writer. The WAL restarts from its
/// beginning once a checkpoint has caught up. Should checkpoints fall behind (a reader holding
/// an old snapshot), the WAL stays bounded: past `limitFrames` the writer checkpoints itself
/// (`RESTART`, waiting for readers), as SQLite would by default.
///
/// Durability is unchanged: commits are synced to the WAL by the writer (`synchronous = FULL`),
/// and a checkpoint syncs the WAL before and the database file after copying.
final class SQLiteCheckpointer: Sendable {
    /// When checkpoints happen, in WAL frames (pages).
    struct Limits: Sendable {
        /// A background checkpoint starts past this: about 4 MiB of 4 KiB pages by default, as
        /// SQLite's own automatic checkpoint. Checkpointing often keeps each one short: waiting
        /// for 16 MiB, or pausing between checkpoints, made commits stall behind the database
        /// file's writeback (p99 at half the peak rate rose from about 10 ms to 50 ms).
        var startFrames: Int32 = 1000
        /// Past this the writer checkpoints before its next transaction: 128 MiB by default.
        var limitFrames: Int32 = 32768
    }

    let limits: Limits

    private struct State {
        var walFrames: Int32 = 0
        var requested = false
        var stopping = false
        var started = false
        var checkpoints = 0
        var writerCheckpoints = 0
    }

    private let path: String
    private let state = Mutex(State())
    private let wake = NSCondition()
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, limits: Limits = Limits()) {
        self.path = path
        self.limits = limits
    }

    /// Installs the WAL hook on the writer connection and starts the thread. Call on the writer.
    func attach(to db: Database) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(message: "the writer connection is closed") }
        // Off first: it would replace the hook installed next.
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        sqlite3_wal_hook(connection, { context, _, _, frames in
            Unmanaged<SQLiteCheckpointer>.fromOpaque(context!).takeUnretainedValue().committed(walFrames: frames)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
        state.withLock { $0.started = true }
        Thread.detachNewThread { [self] in
            Thread.current.name = "sqlite-checkpoint"
            run()
        }
    }

    /// The WAL's length after the last commit, in frames.
    var walFrames: Int32 { state.withLock { $0.walFrames } }

    /// How many background checkpoints ran, and how many the writer ran itself (for tests).
    var checkpointsRun: Int { state.withLock { $0.checkpoints } }
    var writerCheckpoints: Int { state.withLock { $0.writerCheckpoints } }

    /// True when the writer should checkpoint before going on (the WAL passed its limit).
    var writerMustCheckpoint: Bool { walFrames >= limits.limitFrames }

    /// The writer's own checkpoint, past the limit: waits for readers, then restarts the WAL.
    func checkpointOnWriter(_ db: Database) throws {
        guard let connection = db.sqliteConnection else { return }
        var log: Int32 = 0
        var copied: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_RESTART, &log, &copied)
        guard code == SQLITE_OK || code == SQLITE_BUSY else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
        }
        state.withLock { state in
            state.walFrames = code == SQLITE_OK ? 0 : log
            state.writerCheckpoints += 1
        }
    }

    /// Called by SQLite on the writer, inside each commit.
    private func committed(walFrames frames: Int32) {
        let wakeUp = state.withLock { state -> Bool in
            state.walFrames = frames
            guard frames >= limits.startFrames, !state.requested else { return false }
            state.requested = true
            return true
        }
        if wakeUp {
            wake.lock()
            wake.signal()
            wake.unlock()
        }
    }

    /// Stops the thread (before the writer connection closes); calling it again does nothing.
    /// Its checkpoint in progress, if any, finishes first.
    func stop() {
        let running = state.withLock { state -> Bool in
            defer { state.stopping = true }
            return state.started && !state.stopping
        }
        wake.lock()
        wake.signal()
        wake.unlock()
        if running { finished.wait() }
    }

    private func run() {
        defer { finished.signal() }
        var connection: OpaquePointer?
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let connection else {
            sqlite3_close(connection)
            return
        }
        defer { sqlite3_close(connection) }
        sqlite3_busy_timeout(connection, 5000)
        // A checkpoint syncs the WAL before copying and the database file after.
        sqlite3_exec(connection, "PRAGMA synchronous = FULL", nil, nil, nil)
        while true {
            wake.lock()
            while !state.withLock({ $0.requested || $0.stopping }) { wake.wait() }
            wake.unlock()
            if state.withLock({ $0.stopping }) { return }
            var log: Int32 = 0
            var copied: Int32 = 0
            sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
            state.withLock { state in
                state.requested = false
                state.checkpoints += 1
            }
        }
    }
}
