import DeviceDefender
import Foundation
import GRDB
import ServiceLifecycle

/// The embedded default store: one SQLite file in WAL mode, schema migrated by version.
///
/// `synchronous = FULL` on the writer makes every commit durable across power loss, not only a
/// crash of this process (in WAL mode it fsyncs the log at each commit); the group committer
/// amortises that fsync over concurrent requests. GRDB runs every statement on its own threads,
/// never on the Swift concurrency pool.
public final class SQLiteStore: Store {
    public let path: String
    private let pool: DatabasePool
    private let committer: GroupCommitter
    private let checkpointer: SQLiteCheckpointer
    private let writerExecutor: SQLiteWriterExecutor
    /// GRDB's writer connection, used only on its queue.
    private let writer: WriterConnection
    /// The checks of recently stored audits (writer's queue only).
    private let recentChecks = RecentAuditChecks()

    /// The writer's `Database`, kept to be used on the writer's queue only (GRDB checks).
    private struct WriterConnection: @unchecked Sendable {
        let db: Database
    }
    private let writerStatements = SQLiteWriterStatements()

    /// What the writer connection runs with, read back from SQLite itself.
    public struct WriterSettings: Sendable, Equatable {
        /// `PRAGMA synchronous`: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
        public var synchronous: Int
        /// `PRAGMA journal_mode`, lower case (`wal`).
        public var journalMode: String
        /// `PRAGMA cache_size` (negative: KiB).
        public var cacheSize: Int
        /// `PRAGMA journal_size_limit` in bytes (-1: the WAL is never truncated).
        public var journalSizeLimit: Int
    }

    /// The writer's page cache in KiB: enough for the pages an ingest batch touches now that an
    /// audit is one row (the benchmark's rate was the same with 16 MiB, and the process's peak
    /// memory 12 MiB lower with 4); pages beyond it are read back from the OS cache.
    public static let writerCacheKiB = 4096
    /// The WAL is truncated to this size after a checkpoint, so one large prune does not leave
    /// a file of its size behind.
    public static let journalSizeLimitBytes = 64 * 1024 * 1024

    /// Opens (creating if needed, with its folder) and migrates the database at `path`.
    ///
    /// Throws `.notDurable` when the writer does not run `synchronous = FULL` in WAL mode once
    /// open: the relay then refuses to start rather than acknowledge commits not on disk.
    public convenience init(path: String) throws(StoreError) {
        try self.init(path: path, checkpoints: SQLiteCheckpointer.Limits())
    }

    /// With the WAL lengths that start a background checkpoint and make the writer checkpoint
    /// itself (tests use small ones).
    init(path: String, checkpoints: SQLiteCheckpointer.Limits) throws(StoreError) {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // An ingest transaction holds the writer across several hops (GroupCommitter.exclusively);
        // GRDB would otherwise refuse a transaction left open at the end of one hop.
        configuration.allowsUnsafeTransactions = true
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw .unavailable("cannot open \(path): \(error)")
        }
        // GRDB switches the writer to `synchronous = NORMAL` when it enables WAL, after
        // `prepareDatabase` has run: the writer's settings are set here, once the pool is open,
        // and read back.
        let settings: WriterSettings
        do {
            settings = try pool.barrierWriteWithoutTransaction { db in
                try db.execute(sql: """
                    PRAGMA synchronous = FULL;
                    PRAGMA cache_size = -\(SQLiteStore.writerCacheKiB);
                    PRAGMA journal_size_limit = \(SQLiteStore.journalSizeLimitBytes);
                    PRAGMA temp_store = MEMORY;
                    """)
                return try SQLiteStore.writerSettings(db)
            }
        } catch {
            throw .unavailable("cannot configure \(path): \(error)")
        }
        guard settings.synchronous == 2, settings.journalMode == "wal" else {
            throw .notDurable("\(path): the writer runs journal_mode=\(settings.journalMode) synchronous=\(settings.synchronous); WAL with synchronous=2 (FULL) is required")
        }
        do {
            try SQLiteSchema.migrator.migrate(pool)
        } catch {
            throw .migrationFailed("\(path): \(error)")
        }
        let checkpointer = SQLiteCheckpointer(path: path, limits: checkpoints)
        do {
            try pool.barrierWriteWithoutTransaction { db in try checkpointer.attach(to: db) }
        } catch {
            throw .unavailable("cannot configure checkpoints of \(path): \(error)")
        }
        self.checkpointer = checkpointer
        committer = GroupCommitter(pool: pool, checkpointer: checkpointer)
        writerExecutor = SQLiteWriterExecutor(pool: pool)
        do {
            writer = try pool.barrierWriteWithoutTransaction { db in WriterConnection(db: db) }
        } catch {
            checkpointer.stop()
            throw .unavailable("cannot open the writer of \(path): \(error)")
        }
    }

    /// The settings in effect on the writer connection, as SQLite reports them now.
    public func writerSettings() async throws(StoreError) -> WriterSettings {
        try await write { writer in try SQLiteStore.writerSettings(writer.db) }
    }

    private static func writerSettings(_ db: Database) throws -> WriterSettings {
        WriterSettings(
            synchronous: try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
            journalMode: (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "").lowercased(),
            cacheSize: try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? 0,
            journalSizeLimit: try Int.fetchOne(db, sql: "PRAGMA journal_size_limit") ?? -1
        )
    }

    /// The migrations applied to this database, oldest first.
    public func appliedMigrations() async throws(StoreError) -> [String] {
        try await read { db in try SQLiteSchema.migrator.appliedMigrations(db) }
    }

    public var ingestConcurrency: Int { 1 }

    /// Holds the writer from `BEGIN` to `COMMIT` and runs `body` on the writer's own queue;
    /// small writes (delivery outcomes, claims) wait and are then committed together. Returns
    /// once the commit is on disk.
    public func withIngestTransaction<T: Sendable>(_ body: @escaping @Sendable (any IngestTransaction) async throws -> T) async throws -> T {
        do {
            return try await committer.exclusively {
                try await withTaskExecutorPreference(writerExecutor) {
                    try await Self.runTransaction(committer: committer, statements: writerStatements, writer: writer, recentChecks: recentChecks, body)
                }
            }
        } catch let error as DatabaseError {
            throw StoreError.unavailable(String(describing: error))
        }
    }

    /// The transaction itself, on the writer's queue (this nonisolated async function runs on
    /// the task's preferred executor).
    private static func runTransaction<T: Sendable>(
        committer: GroupCommitter, statements: SQLiteWriterStatements, writer: WriterConnection, recentChecks: RecentAuditChecks,
        _ body: @Sendable (any IngestTransaction) async throws -> T
    ) async throws -> T {
        committer.checkpointIfTooLong(writer.db)
        let transaction = SQLiteIngestTransaction(db: writer.db, statements: statements, recentChecks: recentChecks)
        try transaction.begin()
        do {
            let result = try await body(transaction)
            try transaction.commit()
            return result
        } catch {
            transaction.rollback()
            throw error
        }
    }

    public func claimDeliveries(owner: String, receiver: String, now: Int64, leaseUntil: Int64, limit: Int) async throws(StoreError) -> [Delivery] {
        // A read first: polling an empty outbox must not queue writes behind the SNS ingest.
        let due = try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT 1 FROM deliveries WHERE receiver = ? AND ((state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until < ?)) LIMIT 1",
                arguments: [receiver, now, now]
            ) != nil
        }
        guard due else { return [] }
        return try await write { db in
            try db.rows(SummarySQL.claimDeliveries(owner: owner, receiver: receiver, now: now, leaseUntil: leaseUntil, limit: limit, skipLocked: false))
                .map(SummarySQL.delivery(from:)).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    @discardableResult
    public func releaseDeliveries(owner: String?, receiver: String?, at now: Int64) async throws(StoreError) -> Int {
        try await write { db in
            try db.run(SummarySQL.releaseDeliveries(owner: owner, receiver: receiver, at: now))
            return db.changesCount
        }
    }

    public func renewLease(id: String, owner: String, until: Int64, at now: Int64) async throws(StoreError) -> Bool {
        try await write { db in
            try db.run(SummarySQL.renewLease(id: id, owner: owner, until: until, at: now))
            return db.changesCount == 1
        }
    }

    /// One relay process per SQLite file.
    public var isShared: Bool { false }

    public func completeDelivery(id: String, owner: String, outcome: DeliveryOutcome, at now: Int64) async throws(StoreError) {
        try await write { db in try db.run(SummarySQL.completeDelivery(id: id, owner: owner, outcome: outcome, at: now)) }
    }

    public func deliveries(state: Delivery.State?, limit: Int) async throws(StoreError) -> [Delivery] {
        try await read { db in try db.rows(SummarySQL.deliveries(state: state, limit: limit)).map(SummarySQL.delivery(from:)) }
    }

    public func queuedDeliveriesByReceiver() async throws(StoreError) -> [String: Int] {
        try await read { db in try SummarySQL.queuedByReceiver(from: try db.rows(SummarySQL.queuedByReceiver)) }
    }

    public func deliveryCensus() async throws(StoreError) -> DeliveryCensus {
        try await read { db in try SummarySQL.census(from: try db.rows(SummarySQL.deliveryCounts)) }
    }

    public func retryDeadDeliveries(id: String?, at now: Int64) async throws(StoreError) -> Int {
        try await write { db in
            try db.run(SummarySQL.retryDead(id: id, at: now))
            return db.changesCount
        }
    }

    public func storedMessage(id: String) async throws(StoreError) -> StoredMessage? {
        try await read { db in
            try db.rows(SQLStatement("SELECT * FROM sns_messages WHERE message_id = ?", [.text(id)])).first.map(SummarySQL.message(from:))
        }
    }

    public func messageCount() async throws(StoreError) -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sns_messages") ?? 0 }
    }

    public func storedMessageIDs() async throws(StoreError) -> Set<String> {
        try await read { db in Set(try String.fetchAll(db, sql: "SELECT message_id FROM sns_messages")) }
    }

    public func addSilence(_ silence: Silence) async throws(StoreError) -> Bool {
        try await write { db in
            guard (try db.rows(SilenceSQL.activeCount(at: silence.createdAt)).first?.int("n") ?? 0) < SilenceSQL.maxActive else { return false }
            try db.run(SilenceSQL.insert(silence))
            return true
        }
    }

    public func silences(includeEnded: Bool, at now: Int64) async throws(StoreError) -> [Silence] {
        try await read { db in try db.rows(SilenceSQL.list(includeEnded: includeEnded, at: now)).map(SilenceSQL.silence(from:)) }
    }

    public func expireSilence(id: String, at now: Int64) async throws(StoreError) -> Bool {
        try await write { db in
            try db.run(SilenceSQL.expire(id: id, at: now))
            return db.changesCount > 0
        }
    }

    public func latestScheduledAudits(accountID: String?, region: String?, limit: Int) async throws(StoreError) -> [AuditArrival] {
        try await read { db in try db.rows(ArrivalSQL.latestScheduled(accountID: accountID, region: region, limit: limit)).map(ArrivalSQL.arrival(from:)) }
    }

    public func isAlertQueued(alertID: String) async throws(StoreError) -> Bool {
        try await read { db in !(try db.rows(ArrivalSQL.alertQueued(alertID))).isEmpty }
    }

    public func nextDetectGroupDue() async throws(StoreError) -> Int64? {
        try await read { db in try db.rows(DetectGroupSQL.nextDue).first?.optionalInt64("due") }
    }

    public func subscriptions() async throws(StoreError) -> [Subscription] {
        try await read { db in try db.rows(SQLStatement("SELECT * FROM subscriptions ORDER BY topic_arn")).map(SummarySQL.subscription(from:)) }
    }

    public func subscription(topicARN: String) async throws(StoreError) -> Subscription? {
        try await read { db in
            try db.rows(SQLStatement("SELECT * FROM subscriptions WHERE topic_arn = ?", [.text(topicARN)])).first.map(SummarySQL.subscription(from:))
        }
    }

    public func markConfirmed(topicARN: String, subscriptionARN: String?, at: Int64) async throws(StoreError) {
        try await write { db in try db.run(SummarySQL.markConfirmed(topicARN: topicARN, subscriptionARN: subscriptionARN, at: at)) }
    }

    public func markConfirmationFailed(topicARN: String, reason: String, at: Int64) async throws(StoreError) {
        try await write { db in try db.run(SummarySQL.markConfirmationFailed(topicARN: topicARN, reason: reason, at: at)) }
    }

    public func audits(_ query: AuditQuery) async throws(StoreError) -> AuditPage {
        try await read { db in try SummarySQL.page(from: try db.rows(SummarySQL.audits(query, dialect: .sqlite)), limit: query.limit) }
    }

    public func audit(taskID: String) async throws(StoreError) -> StoredAudit? {
        try await read { db in
            guard let row = try db.rows(SummarySQL.audit(taskID: taskID)).first else { return nil }
            return try SummarySQL.audit(from: row)
        }
    }

    public func latestChecks(trendLength: Int) async throws(StoreError) -> [CheckStatus] {
        try await read { db in try SummarySQL.latestChecks(from: try db.rows(SummarySQL.recentRunsOfEverySeries(runs: trendLength, dialect: .sqlite)), trendLength: trendLength) }
    }

    public func violations(_ query: ViolationQuery) async throws(StoreError) -> [StoredViolation] {
        try await read { db in try db.rows(SummarySQL.violations(query)).map(SummarySQL.violation(from:)) }
    }

    public func unrecognizedNotifications(limit: Int) async throws(StoreError) -> [(messageID: String, subject: String?, reason: String)] {
        let rows = try await read { db in try db.rows(SummarySQL.unrecognized(limit: limit)) }
        return try rows.map { row throws(StoreError) in (try row.text("message_id"), try row.optionalText("subject"), try row.text("reason")) }
    }

    public func prune(_ plan: RetentionPlan) async throws(StoreError) -> Int {
        var deleted = 0
        for statement in SummarySQL.prune(plan, dialect: .sqlite) {
            // One small transaction per batch: ingest's transactions take the writer in between.
            while true {
                let batch = try await write { db in
                    try db.run(statement)
                    return db.changesCount
                }
                deleted += batch
                // The rest waits for the next pass when the relay is stopping.
                if batch < plan.batchSize || Task.isCancelled || Task.isShuttingDownGracefully { break }
            }
        }
        return deleted
    }

    public func checkReady() async throws(StoreError) {
        try await read { db in
            _ = try Row.fetchOne(db, sql: "SELECT 1 FROM sns_messages LIMIT 1")
            _ = try Row.fetchOne(db, sql: "SELECT 1 FROM audit_tasks LIMIT 1")
        }
    }

    public func close() async {
        checkpointer.stop()
        let statements = writerStatements
        try? await pool.barrierWriteWithoutTransaction { _ in statements.finalizeAll() }
        try? pool.close()
    }

    /// The WAL's length after the last commit, in pages, and how many checkpoints ran in the
    /// background and on the writer (for tests).
    var walState: (frames: Int32, background: Int, writer: Int) {
        (checkpointer.walFrames, checkpointer.checkpointsRun, checkpointer.writerCheckpoints)
    }

    // MARK: -

    private func write<T: Sendable>(_ work: @escaping @Sendable (SQLiteWriter) throws -> T) async throws(StoreError) -> T {
        let statements = writerStatements
        do {
            return try await committer.write { db in try work(SQLiteWriter(db: db, statements: statements)) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unavailable(String(describing: error))
        }
    }

    private func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(work)
        } catch {
            throw .unavailable(String(describing: error))
        }
    }
}

/// The writer connection inside a write: statements run through the writer's own prepared
/// statements (`SQLiteWriterStatements`).
struct SQLiteWriter {
    let db: Database
    let statements: SQLiteWriterStatements

    func run(_ statement: SQLStatement) throws { try statements.run(statement, in: db) }
    func rows(_ statement: SQLStatement) throws -> [SQLRow] { try statements.rows(statement, in: db) }
    /// Rows changed by the last statement.
    var changesCount: Int { db.changesCount }
}

extension Database {
    /// Reads on a reader connection (writes go through `SQLiteWriter`). Statements are compiled
    /// once per connection and reused: SummarySQL builds a bounded set of SQL texts.

    func rows(_ statement: SQLStatement) throws -> [SQLRow] {
        try Row.fetchAll(cachedStatement(sql: statement.sql), arguments: StatementArguments(statement.arguments.map(\.databaseValue))).map { row in
            var columns: [String: SQLValue] = [:]
            for (name, value) in row {
                switch value.storage {
                case .null: columns[name] = .null
                case .int64(let number): columns[name] = .integer(number)
                case .double(let number): columns[name] = .integer(Int64(number))
                case .string(let text): columns[name] = .text(text)
                case .blob(let data): columns[name] = .blob([UInt8](data))
                }
            }
            return SQLRow(columns: columns)
        }
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let value): value.databaseValue
        case .text(let value): value.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }
}
