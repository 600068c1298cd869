import DeviceDefender
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// The store for several replicas behind a load balancer: one PostgreSQL database. Every
/// deduplication rests on database constraints (`ON CONFLICT DO NOTHING` on MessageId, taskId,
/// the Detect event), never on a replica's memory, so two replicas receiving the same message
/// store it once.
///
/// The connection pool must run for the store's lifetime: run `run()` (it is a `Service`) and
/// call `migrate()` once it runs; `StoreFactory.withStore` does both.
public final class PostgresStore: Store, Service {
    public let location: PostgresLocation
    /// Whose clock leases are kept by.
    public enum LeaseClock: Sendable {
        /// The server's (`clock_timestamp()`): replicas with clocks that disagree still agree
        /// on when a lease runs out.
        case database
        /// The caller's `now` (tests that step time by hand).
        case caller
    }
    public let leaseClock: LeaseClock
    private let pool: PostgresPool
    private let logger: Logger

    public init(location: PostgresLocation, logger: Logger, leaseClock: LeaseClock = .database) {
        self.location = location
        self.leaseClock = leaseClock
        self.logger = logger
        let tls: PostgresClient.Configuration.TLS = switch location.tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls
        )
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 20
        // Connections kept open for ingest, so that a message does not wait for a connection
        // to be set up (TLS, authentication) within its bounded wait.
        configuration.options.minimumConnections = 2
        let probe = Self.probeTLS(location.tls).map { tls in
            PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.username, password: location.password,
                database: location.database, tls: tls
            )
        }
        pool = PostgresPool(clientConfiguration: configuration, probeConfiguration: probe, timeouts: PostgresPool.Timeouts(), logger: logger)
    }

    /// The probe's TLS, as the pool's; nil (no probe) in the unlikely case that a default
    /// client context cannot be made where TLS is required.
    private static func probeTLS(_ mode: PostgresLocation.TLSMode) -> PostgresConnection.Configuration.TLS? {
        if mode == .disable { return .disable }
        guard let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) else { return mode == .require ? nil : .disable }
        return mode == .require ? .require(context) : .prefer(context)
    }

    /// Runs the connection pool until cancelled.
    public func run() async {
        await pool.run()
    }

    /// How many times the connection pool was replaced after an outage.
    public var poolReplacements: Int { pool.replacements }

    /// Brings the schema to the current version, once across replicas (advisory lock).
    public func migrate() async throws(StoreError) {
        let logger = self.logger
        do {
            // Start-up is not answering SNS: it may wait for the server longer.
            try await pool.withTransaction(wait: .seconds(30), limit: .seconds(3_600)) { connection in
                // A migration may rewrite a large table: no statement bound while it runs.
                try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
                try await connection.query("SET LOCAL lock_timeout = 0", logger: logger)
                try await connection.query("SELECT pg_advisory_xact_lock(7406173411)", logger: logger)
                try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger)
                var applied = Set<String>()
                for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger).decode(String.self) {
                    applied.insert(name)
                }
                for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
                    for statement in migration.sql.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                        guard migration.optional else {
                            try await connection.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                            continue
                        }
                        // A savepoint, so that a statement the server refuses leaves the
                        // migration's transaction usable.
                        try await connection.query("SAVEPOINT optional_step", logger: logger)
                        do {
                            try await connection.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                            try await connection.query("RELEASE SAVEPOINT optional_step", logger: logger)
                        } catch {
                            try await connection.query("ROLLBACK TO SAVEPOINT optional_step", logger: logger)
                            logger.warning("postgresql schema improvement skipped", metadata: [
                                "migration": "\(migration.name)", "error": "\(PostgresStore.describe(error))",
                            ])
                        }
                    }
                    try await connection.query("INSERT INTO schema_migrations (name, applied_at) VALUES (\(migration.name), (extract(epoch from now()) * 1000)::bigint)", logger: logger)
                }
            }
        } catch {
            throw .migrationFailed("\(location): \(String(reflecting: error))")
        }
        await warnUnlessCommitsAreSynced()
    }

    /// With `synchronous_commit = off` the server acknowledges a commit before its WAL record
    /// is flushed: a server crash can lose messages the relay already answered 200 for.
    /// The relay still runs (the setting is the operator's), but says so at start.
    private func warnUnlessCommitsAreSynced() async {
        do {
            let value = try await rows(SQLStatement("SELECT current_setting('synchronous_commit') AS value")).first?.optionalText("value")
            if value == "off" {
                logger.warning("postgresql synchronous_commit is off: a server crash can lose messages already answered 200", metadata: ["database": "\(location)"])
            } else {
                logger.info("postgresql store open", metadata: ["database": "\(location)", "synchronous_commit": "\(value ?? "unknown")"])
            }
        } catch {
            logger.warning("postgresql synchronous_commit could not be read", metadata: ["error": "\(error)"])
        }
    }

    /// The migrations applied, oldest first.
    /// In the order they are defined (`v10` after `v9`), names this release does not know last.
    public func appliedMigrations() async throws(StoreError) -> [String] {
        let names = try await rows(SQLStatement("SELECT name FROM schema_migrations ORDER BY name")).map { row throws(StoreError) in try row.text("name") }
        let order = Dictionary(PostgresSchema.migrations.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        return names.sorted { (order[$0] ?? Int.max, $0) < (order[$1] ?? Int.max, $1) }
    }

    /// A server commits transactions of several connections at once: a second batch in flight
    /// keeps it busy while the first waits for its round trips and its commit. More did not
    /// store more per second on the benchmark machine (docs/PERFORMANCE.md).
    public var ingestConcurrency: Int { 2 }

    public func withIngestTransaction<T: Sendable>(_ body: @escaping @Sendable (any IngestTransaction) async throws -> T) async throws -> T {
        let logger = self.logger
        do {
            return try await pool.withTransaction { connection in
                try await body(PostgresIngestTransaction(connection: connection, logger: logger))
            }
        } catch let error where PostgresPool.isConnectionFailure(error) || PostgresStore.failsAnyBatch(error) {
            throw StoreError.unreachable(PostgresStore.describe(error))
        } catch let error as PostgresTransactionError {
            // The body's own error, rolled back: as it was thrown (a database error as a StoreError).
            if let closureError = error.closureError, error.rollbackError == nil {
                if closureError is PSQLError { throw StoreError.unavailable(PostgresStore.describe(closureError)) }
                throw closureError
            }
            throw StoreError.unavailable(PostgresStore.describe(error))
        } catch let error as PSQLError {
            throw StoreError.unavailable(PostgresStore.describe(error))
        }
    }

    public func claimDeliveries(owner: String, receiver: String, now: Int64, leaseUntil: Int64, limit: Int) async throws(StoreError) -> [Delivery] {
        try await transaction { connection in
            try await connection.rows(SummarySQL.claimDeliveries(owner: owner, receiver: receiver, now: now, leaseUntil: leaseUntil, limit: limit, skipLocked: true, databaseClock: self.leaseClock == .database), logger: self.logger)
                .map(SummarySQL.delivery(from:)).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    @discardableResult
    public func releaseDeliveries(owner: String?, receiver: String?, at now: Int64) async throws(StoreError) -> Int {
        try await transaction { try await $0.changedRows(SummarySQL.releaseDeliveries(owner: owner, receiver: receiver, at: now), logger: self.logger) }
    }

    public func renewLease(id: String, owner: String, until: Int64, at now: Int64) async throws(StoreError) -> Bool {
        try await transaction { try await $0.changedRows(SummarySQL.renewLease(id: id, owner: owner, until: until, at: now, databaseClock: self.leaseClock == .database), logger: self.logger) } == 1
    }

    /// Several replicas share one database.
    public var isShared: Bool { true }

    public func completeDelivery(id: String, owner: String, outcome: DeliveryOutcome, at now: Int64) async throws(StoreError) {
        try await transaction { try await $0.run(SummarySQL.completeDelivery(id: id, owner: owner, outcome: outcome, at: now), logger: self.logger) }
    }

    public func deliveries(state: Delivery.State?, limit: Int) async throws(StoreError) -> [Delivery] {
        try await rows(SummarySQL.deliveries(state: state, limit: limit)).map(SummarySQL.delivery(from:))
    }

    public func queuedDeliveriesByReceiver() async throws(StoreError) -> [String: Int] {
        try SummarySQL.queuedByReceiver(from: try await rows(SummarySQL.queuedByReceiver))
    }

    public func deliveryCensus() async throws(StoreError) -> DeliveryCensus {
        try SummarySQL.census(from: try await rows(SummarySQL.deliveryCounts))
    }

    public func retryDeadDeliveries(id: String?, at now: Int64) async throws(StoreError) -> Int {
        try await transaction { try await $0.changedRows(SummarySQL.retryDead(id: id, at: now), logger: self.logger) }
    }

    public func storedMessage(id: String) async throws(StoreError) -> StoredMessage? {
        try await rows(SQLStatement("SELECT * FROM sns_messages WHERE message_id = ?", [.text(id)])).first.map(SummarySQL.message(from:))
    }

    public func messageCount() async throws(StoreError) -> Int {
        try await rows(SQLStatement("SELECT count(*) AS n FROM sns_messages")).first?.int("n") ?? 0
    }

    public func storedMessageIDs() async throws(StoreError) -> Set<String> {
        Set(try await rows(SQLStatement("SELECT message_id FROM sns_messages")).map { row throws(StoreError) in try row.text("message_id") })
    }

    /// The count and the insert run under a transaction-scoped advisory lock, so that replicas
    /// adding silences at once cannot pass the limit together.
    public func addSilence(_ silence: Silence) async throws(StoreError) -> Bool {
        try await transaction { connection in
            try await connection.run(SQLStatement("SELECT pg_advisory_xact_lock(?)", [.integer(PostgresIngestTransaction.advisoryLockKey("silences"))]), logger: self.logger)
            guard (try await connection.rows(SilenceSQL.activeCount(at: silence.createdAt), logger: self.logger).first?.int("n") ?? 0) < SilenceSQL.maxActive else { return false }
            try await connection.run(SilenceSQL.insert(silence), logger: self.logger)
            return true
        }
    }

    public func silences(includeEnded: Bool, at now: Int64) async throws(StoreError) -> [Silence] {
        try await rows(SilenceSQL.list(includeEnded: includeEnded, at: now)).map(SilenceSQL.silence(from:))
    }

    public func expireSilence(id: String, at now: Int64) async throws(StoreError) -> Bool {
        try await transaction { try await $0.changedRows(SilenceSQL.expire(id: id, at: now), logger: self.logger) } > 0
    }

    public func latestScheduledAudits(accountID: String?, region: String?, limit: Int) async throws(StoreError) -> [AuditArrival] {
        try await rows(ArrivalSQL.latestScheduled(accountID: accountID, region: region, limit: limit)).map(ArrivalSQL.arrival(from:))
    }

    public func isAlertQueued(alertID: String) async throws(StoreError) -> Bool {
        !(try await rows(ArrivalSQL.alertQueued(alertID))).isEmpty
    }

    public func nextDetectGroupDue() async throws(StoreError) -> Int64? {
        try await rows(DetectGroupSQL.nextDue).first?.optionalInt64("due")
    }

    public func subscriptions() async throws(StoreError) -> [Subscription] {
        try await rows(SQLStatement("SELECT * FROM subscriptions ORDER BY topic_arn")).map(SummarySQL.subscription(from:))
    }

    public func subscription(topicARN: String) async throws(StoreError) -> Subscription? {
        try await rows(SQLStatement("SELECT * FROM subscriptions WHERE topic_arn = ?", [.text(topicARN)])).first.map(SummarySQL.subscription(from:))
    }

    public func markConfirmed(topicARN: String, subscriptionARN: String?, at: Int64) async throws(StoreError) {
        try await transaction { try await $0.run(SummarySQL.markConfirmed(topicARN: topicARN, subscriptionARN: subscriptionARN, at: at), logger: self.logger) }
    }

    public func markConfirmationFailed(topicARN: String, reason: String, at: Int64) async throws(StoreError) {
        try await transaction { try await $0.run(SummarySQL.markConfirmationFailed(topicARN: topicARN, reason: reason, at: at), logger: self.logger) }
    }

    public func audits(_ query: AuditQuery) async throws(StoreError) -> AuditPage {
        try SummarySQL.page(from: try await rows(SummarySQL.audits(query, dialect: .postgres)), limit: query.limit)
    }

    public func audit(taskID: String) async throws(StoreError) -> StoredAudit? {
        guard let row = try await rows(SummarySQL.audit(taskID: taskID)).first else { return nil }
        return try SummarySQL.audit(from: row)
    }

    public func latestChecks(trendLength: Int) async throws(StoreError) -> [CheckStatus] {
        try SummarySQL.latestChecks(from: try await rows(SummarySQL.recentRunsOfEverySeries(runs: trendLength, dialect: .postgres)), trendLength: trendLength)
    }

    public func violations(_ query: ViolationQuery) async throws(StoreError) -> [StoredViolation] {
        try await rows(SummarySQL.violations(query)).map(SummarySQL.violation(from:))
    }

    public func unrecognizedNotifications(limit: Int) async throws(StoreError) -> [(messageID: String, subject: String?, reason: String)] {
        try await rows(SummarySQL.unrecognized(limit: limit)).map { row throws(StoreError) in (try row.text("message_id"), try row.optionalText("subject"), try row.text("reason")) }
    }

    public func prune(_ plan: RetentionPlan) async throws(StoreError) -> Int {
        var deleted = 0
        let logger = self.logger
        for statement in SummarySQL.prune(plan, dialect: .postgres) {
            // One small transaction per batch: few row locks, each held for milliseconds.
            while true {
                let batch = try await transaction { connection in try await connection.changedRows(statement, logger: logger) }
                deleted += batch
                // The rest waits for the next pass when the relay is stopping.
                if batch < plan.batchSize || Task.isCancelled || Task.isShuttingDownGracefully { break }
            }
        }
        return deleted
    }

    public func checkReady() async throws(StoreError) {
        _ = try await rows(SQLStatement("SELECT 1 AS ok FROM audit_tasks LIMIT 1"))
        _ = try await rows(SQLStatement("SELECT 1 AS ok FROM sns_messages LIMIT 1"))
    }

    /// The pool stops with the task that runs `run()`.
    public func close() async {}

    // MARK: -

    func rows(_ statement: SQLStatement) async throws(StoreError) -> [SQLRow] {
        do {
            let logger = self.logger
            return try await pool.withConnection { connection in try await connection.rows(statement, logger: logger) }
        } catch where PostgresPool.isConnectionFailure(error) {
            throw .unreachable(PostgresStore.describe(error))
        } catch {
            throw .unavailable(PostgresStore.describe(error))
        }
    }

    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.withTransaction(body)
        } catch let error as StoreError {
            throw error
        } catch where PostgresPool.isConnectionFailure(error) {
            throw .unreachable(PostgresStore.describe(error))
        } catch {
            throw .unavailable(PostgresStore.describe(error))
        }
    }

    /// A server error no message caused, that storing the batch's messages one by one would
    /// only meet again, each time: a statement or lock timeout, the server shutting down or
    /// out of connections.
    static func failsAnyBatch(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError].contains { $0.map(failsAnyBatch) ?? false }
        }
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return ["57014", "55P03", "57P01", "57P02", "57P03", "53300"].contains(state)
    }

    /// PSQLError hides the server's message from `description`; operators need it.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            let server = error.serverInfo?[.message] ?? ""
            return "PostgreSQL \(error.code): \(server)".trimmingCharacters(in: .whitespaces)
        }
        return String(describing: error)
    }
}

extension PostgresConnection {
    func query(_ statement: SQLStatement, logger: Logger) async throws -> PostgresRowSequence {
        var bindings = PostgresBindings(capacity: statement.arguments.count)
        for argument in statement.arguments {
            switch argument {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        return try await query(PostgresQuery(unsafeSQL: statement.numberedSQL, binds: bindings), logger: logger)
    }

    func run(_ statement: SQLStatement, logger: Logger) async throws {
        for try await _ in try await query(statement, logger: logger) {}
    }

    /// How many rows an UPDATE or DELETE changed (what SQLite's changesCount tells).
    func changedRows(_ statement: SQLStatement, logger: Logger) async throws -> Int {
        var counting = statement
        counting.sql = "WITH changed AS (\(statement.sql) RETURNING 1) SELECT count(*) AS n FROM changed"
        return try await rows(counting, logger: logger).first?.int("n") ?? 0
    }

    /// True when an `INSERT ... ON CONFLICT DO NOTHING` inserted its row.
    func returnsRow(_ statement: SQLStatement, logger: Logger) async throws -> Bool {
        var returning = statement
        returning.sql += " RETURNING 1 AS inserted"
        return !(try await rows(returning, logger: logger)).isEmpty
    }

    func rows(_ statement: SQLStatement, logger: Logger) async throws -> [SQLRow] {
        var result: [SQLRow] = []
        for try await row in try await query(statement, logger: logger) {
            var columns: [String: SQLValue] = [:]
            for cell in row {
                guard let bytes = cell.bytes else {
                    columns[cell.columnName] = .null
                    continue
                }
                switch cell.dataType {
                case .int2, .int4, .int8:
                    columns[cell.columnName] = .integer(try cell.decode(Int64.self))
                case .numeric, .float8, .float4:
                    columns[cell.columnName] = .integer(Int64(try cell.decode(Double.self)))
                case .bytea:
                    columns[cell.columnName] = .blob(Array(buffer: bytes))
                default:
                    columns[cell.columnName] = .text(try cell.decode(String.self))
                }
            }
            result.append(SQLRow(columns: columns))
        }
        return result
    }
}
