import DeviceDefender
import GRDB

/// SQLite's driver of the ingest transaction: one row per statement through the writer's
/// prepared statements, run directly on the writer's queue. `SQLiteStore` runs the whole
/// transaction there (`SQLiteWriterExecutor`) while it holds the writer
/// (`GroupCommitter.exclusively`), so these async methods never suspend: each is plain
/// synchronous SQLite work on the writer thread.
final class SQLiteIngestTransaction: IngestTransaction, @unchecked Sendable {
    // @unchecked: created, used and dropped inside one transaction on the writer's queue.

    private let db: Database
    private let statements: SQLiteWriterStatements
    private let recentChecks: RecentAuditChecks
    /// Audits this transaction remembered in `recentChecks`, forgotten if it rolls back.
    private var remembered: [String] = []

    /// Must be created on the writer's queue; GRDB checks it (`changesCount` asserts the queue).
    init(db: Database, statements: SQLiteWriterStatements, recentChecks: RecentAuditChecks) {
        _ = db.changesCount
        self.db = db
        self.statements = statements
        self.recentChecks = recentChecks
    }

    func begin() throws {
        try statements.prepared("BEGIN IMMEDIATE", in: db).executeOnce()
    }

    /// With `synchronous = FULL` this returns once the commit is on disk.
    func commit() throws {
        try statements.prepared("COMMIT", in: db).executeOnce()
    }

    /// Undoes everything (when the body failed).
    func rollback() {
        recentChecks.forget(remembered)
        if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
    }

    /// Runs `work` on the writer connection. The method runs on the writer's queue already;
    /// GRDB checks that it does (`changesCount` asserts the queue), so that a body that strayed
    /// to another executor stops rather than share the connection.
    private func onWriter<T>(_ work: (Database, SQLiteWriterStatements) throws -> T) throws -> T {
        _ = db.changesCount
        return try work(db, statements)
    }

    // MARK: - IngestTransaction

    /// One writer: transactions are serial already.
    func lockSeries(_ seriesKeys: [String]) async throws {}

    func insertMessages(_ messages: [StoredMessage], previousRunsOf audits: [AuditNotification]) async throws -> InsertedMessages {
        // The neighbouring runs first: as stored before this transaction.
        let previousRuns = try self.storedRuns(of: audits, sql: SummarySQL.previousRunSQL)
        let nextRuns = try self.storedRuns(of: audits, sql: SummarySQL.nextRunSQL)
        let inserted = try onWriter { db, statements in
            let insert = try statements.prepared("""
                INSERT INTO sns_messages (message_id, type, topic_arn, subject, sns_timestamp,
                    signature_version, signing_cert_url, raw_envelope, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (message_id) DO NOTHING
                """, in: db)
            var notifiedTopics: [String: Int64] = [:]
            let inserted = try messages.map { message in
                defer { insert.reset() }
                try insert.bind(1, message.messageID)
                try insert.bind(2, message.type)
                try insert.bind(3, message.topicARN)
                try insert.bind(4, message.subject)
                try insert.bind(5, message.snsTimestamp)
                try insert.bind(6, message.signatureVersion)
                try insert.bind(7, message.signingCertURL)
                try insert.bind(8, message.rawEnvelope)
                try insert.bind(9, message.receivedAt)
                try insert.execute()
                guard insert.changes == 1 else { return false }
                if message.type == "Notification", notifiedTopics[message.topicARN] == nil { notifiedTopics[message.topicARN] = message.receivedAt }
                return true
            }
            for (topic, at) in notifiedTopics.sorted(by: { $0.key < $1.key }) {
                try statements.run(SummarySQL.apply(.notificationDelivered, topicARN: topic, at: at), in: db)
            }
            return inserted
        }
        return InsertedMessages(inserted: inserted, previousRuns: previousRuns, nextRuns: nextRuns)
    }

    func applySubscriptionEffects(_ changes: [SubscriptionChange]) async throws {
        try onWriter { db, statements in
            for change in changes {
                let statement = SummarySQL.apply(change.effect, topicARN: change.topicARN, at: change.at)
                try statements.run(statement, in: db)
            }
        }
    }

    func insertAudits(_ audits: [NewAudit], changes: [StoredChange]) async throws -> [Bool] {
        precondition(audits.count == changes.count)
        return try onWriter { db, statements in
            let insert = try statements.prepared("""
                INSERT INTO audit_tasks (task_id, account_id, task_type, task_status, scheduled_audit_name, series_key,
                    failed_checks_count, canceled_checks_count, non_compliant_checks_count, compliant_checks_count,
                    total_checks_count, task_start_time, received_at, source_message_id, non_compliant_resources,
                    previous_task_id, has_new_findings, change_summary, warnings, checks, check_names, region)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (task_id) DO NOTHING
                """, in: db)
            return try zip(audits, changes).map { row, change in
                defer { insert.reset() }
                let audit = row.audit
                try insert.bind(1, audit.taskID)
                try insert.bind(2, audit.accountID)
                try insert.bind(3, audit.taskType.rawValue)
                try insert.bind(4, audit.taskStatus.rawValue)
                try insert.bind(5, audit.scheduledAuditName)
                try insert.bind(6, audit.seriesKey)
                try insert.bind(7, audit.failedChecksCount)
                try insert.bind(8, audit.canceledChecksCount)
                try insert.bind(9, audit.nonCompliantChecksCount)
                try insert.bind(10, audit.compliantChecksCount)
                try insert.bind(11, audit.totalChecksCount)
                try insert.bind(12, audit.taskStartTime)
                try insert.bind(13, row.receivedAt)
                try insert.bind(14, row.messageID)
                try insert.bind(15, audit.nonCompliantResources)
                try insert.bind(16, change.change.previousTaskID)
                try insert.bind(17, change.change.hasNewFindings ? 1 : 0)
                try insert.bind(18, change.changeJSON)
                try insert.bind(19, row.warningsJSON)
                try insert.bind(20, row.checksJSON)
                try insert.bind(21, row.checkNames)
                try insert.bind(22, audit.region ?? "")
                try insert.execute()
                guard insert.changes == 1 else { return false }
                recentChecks.remember(audit.taskID, row.storedChecks)
                remembered.append(audit.taskID)
                return true
            }
        }
    }

    func updateChanges(_ changes: [StoredChange]) async throws {
        try onWriter { db, statements in
            for change in changes { try statements.run(SummarySQL.updateChange(change), in: db) }
        }
    }

    /// For each audit, the stored run `sql` finds (`previousRunSQL` or `nextRunSQL`).
    private func storedRuns(of audits: [AuditNotification], sql: String) throws -> [StoredRun?] {
        guard !audits.isEmpty else { return [] }
        return try onWriter { db, statements in
            let previous = try statements.prepared(sql, in: db)
            return try audits.map { audit -> StoredRun? in
                defer { previous.reset() }
                try previous.bind(1, audit.seriesKey)
                try previous.bind(2, audit.taskStartTime)
                try previous.bind(3, audit.taskID)
                guard let (taskID, startTime) = try previous.rows({ ($0.text(0), $0.int64(1)) }).first else { return nil }
                if let checks = recentChecks[taskID] { return StoredRun(taskID: taskID, taskStartTime: startTime, checks: checks) }
                let stored = try statements.prepared("SELECT checks FROM audit_tasks WHERE task_id = ?", in: db)
                defer { stored.reset() }
                try stored.bind(1, taskID)
                guard let text = try stored.rows({ $0.text(0) }).first else { return nil }
                let checks = try StoredChecks.parse(text, taskID: taskID)
                recentChecks.remember(taskID, checks)
                return StoredRun(taskID: taskID, taskStartTime: startTime, checks: checks)
            }
        }
    }

    func insertViolations(_ violations: [StoredViolation]) async throws -> [Bool] {
        try onWriter { db, statements in
            try violations.map { row in
                try statements.run(SummarySQL.insertViolation(row.violation, messageID: row.messageID, receivedAt: row.receivedAt), in: db)
                return db.changesCount == 1
            }
        }
    }

    func insertUnrecognized(_ notifications: [UnrecognizedNotification]) async throws {
        try onWriter { db, statements in
            for notification in notifications {
                try statements.run(SummarySQL.insertUnrecognized(notification.message, reason: notification.reason), in: db)
            }
        }
    }

    func recentlyQueued(_ queries: [RepeatQuery]) async throws -> [Bool] {
        try onWriter { db, statements in
            try queries.map { query in
                !(try statements.rows(SummarySQL.recentlyQueued(query), in: db)).isEmpty
            }
        }
    }

    func activeSilences(since: Int64) async throws -> [Silence] {
        try onWriter { db, statements in
            try statements.rows(SilenceSQL.list(includeEnded: false, at: since), in: db).map(SilenceSQL.silence(from:))
        }
    }

    func insertDeliveries(_ deliveries: [NewDelivery]) async throws {
        try onWriter { db, statements in
            for delivery in deliveries { try statements.run(SummarySQL.insertDelivery(delivery.entry, at: delivery.at), in: db) }
        }
    }

    func queueDetectGroupEvents(_ events: [DetectGroupEvent]) async throws {
        try onWriter { db, statements in
            for statement in DetectGroupSQL.queueStatements(events) { try statements.run(statement, in: db) }
        }
    }

    func dueDetectGroups(now: Int64, limit: Int) async throws -> [DueDetectGroup] {
        try onWriter { db, statements in
            try statements.rows(DetectGroupSQL.dueGroups(now: now, limit: limit, postgres: false), in: db).map { row in
                let key = try row.text("group_key")
                return DueDetectGroup(
                    groupKey: key, topicARN: try row.text("topic_arn"),
                    events: try statements.rows(DetectGroupSQL.groupEvents(key), in: db).map(SummarySQL.violation(from:))
                )
            }
        }
    }

    func alarms(_ violationIDs: [String], before: Int64) async throws -> [String: (receivers: [String], startedAt: Int64?)] {
        let db = db
        let statements = statements
        return try await DetectGroupSQL.alarms(violationIDs, before: before) { statement in try statements.rows(statement, in: db) }
    }

    func recordAlarmReceivers(_ receivers: [(violationID: String, receiver: String)]) async throws {
        try onWriter { db, statements in
            for statement in DetectGroupSQL.recordStatements(receivers) { try statements.run(statement, in: db) }
        }
    }

    func forgetAlarms(_ violationIDs: [String]) async throws {
        try onWriter { db, statements in
            for statement in DetectGroupSQL.forgetStatements(violationIDs) { try statements.run(statement, in: db) }
        }
    }

    func finishDetectGroups(_ groups: [SentDetectGroup], at now: Int64) async throws {
        try onWriter { db, statements in
            for group in groups {
                for statement in DetectGroupSQL.finishGroup(group, at: now) { try statements.run(statement, in: db) }
            }
        }
    }
}

extension SQLitePreparedStatement {
    /// For statements without arguments or rows (`BEGIN`, `COMMIT`).
    func executeOnce() throws {
        defer { reset() }
        try execute()
    }
}
