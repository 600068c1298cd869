import DeviceDefender
import Logging
import NIOCore
import PostgresNIO

/// PostgreSQL's driver of the ingest transaction: each call is one statement over the whole
/// batch (`unnest` of one array per column), so a batch of audits costs five round trips
/// (BEGIN, the series' locks, messages with the neighbouring runs, audits, COMMIT) however many
/// messages it carries.
///
/// Rows are written in key order: two replicas storing overlapping batches at once then take
/// their row locks in the same order and wait for each other instead of deadlocking.
struct PostgresIngestTransaction: IngestTransaction {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs one of the transaction's statements, prepared once per connection: PostgreSQL
    /// parses and plans each only once, not for every batch.
    private func run<Statement: PostgresIngestStatement>(_ statement: Statement) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow> {
        try await connection.execute(statement, logger: logger)
    }

    /// The keys the statement returned.
    private func returnedKeys<Statement: PostgresIngestStatement>(_ statement: Statement) async throws -> Set<String> {
        var keys = Set<String>()
        for try await row in try await run(statement) { keys.insert(try row.decode(String.self)) }
        return keys
    }

    private func execute<Statement: PostgresIngestStatement>(_ statement: Statement) async throws {
        for try await _ in try await run(statement) {}
    }

    /// One transaction-scoped advisory lock per series, taken in one order by every
    /// transaction (sorted by the lock's key) so that two batches wait instead of deadlocking.
    /// The statements after it see every run committed before the lock was granted.
    func lockSeries(_ seriesKeys: [String]) async throws {
        guard !seriesKeys.isEmpty else { return }
        let keys = Set(seriesKeys.map(Self.advisoryLockKey)).sorted()
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(PostgresNullableArray.int8(keys))
        try await execute(PostgresIngestStatements.LockSeries(bindings: bindings))
    }

    /// A series key as a 64-bit advisory lock key: FNV-1a over the key's UTF-8 bytes behind a
    /// prefix of ours, so other users of advisory locks in the same database are unlikely to
    /// collide. Two keys that do collide only share a lock: still correct, a little less parallel.
    static func advisoryLockKey(_ seriesKey: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "defender-relay/audit-series/\(seriesKey)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// One statement: the messages (with a new notification's topic) and the runs just before
    /// and after each audit, the latter as of the statement's start, so never this batch's own rows.
    func insertMessages(_ messages: [StoredMessage], previousRunsOf audits: [AuditNotification]) async throws -> InsertedMessages {
        guard !messages.isEmpty else { return InsertedMessages(inserted: [], previousRuns: [], nextRuns: []) }
        let rows = messages.sorted { $0.messageID < $1.messageID }
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(PostgresNullableArray.text(rows.map(\.messageID)))
        bindings.append(PostgresNullableArray.text(rows.map(\.type)))
        bindings.append(PostgresNullableArray.text(rows.map(\.topicARN)))
        bindings.append(PostgresNullableArray.text(rows.map(\.subject)))
        bindings.append(PostgresNullableArray.text(rows.map(\.snsTimestamp)))
        bindings.append(PostgresNullableArray.text(rows.map(\.signatureVersion)))
        bindings.append(PostgresNullableArray.text(rows.map(\.signingCertURL)))
        bindings.append(PostgresNullableArray.bytea(rows.map(\.rawEnvelope)))
        bindings.append(PostgresNullableArray.int8(rows.map(\.receivedAt)))
        bindings.append(PostgresNullableArray.text(audits.map(\.seriesKey)))
        bindings.append(PostgresNullableArray.int8(audits.map(\.taskStartTime)))
        bindings.append(PostgresNullableArray.text(audits.map(\.taskID)))
        var inserted = Set<String>()
        var previousRuns = [StoredRun?](repeating: nil, count: audits.count)
        var nextRuns = [StoredRun?](repeating: nil, count: audits.count)
        for try await row in try await run(PostgresIngestStatements.InsertMessages(bindings: bindings)) {
            let (messageID, ordinal, taskID, startTime, checks, isNext) = try row.decode((String?, Int64?, String?, Int64?, String?, Bool?).self)
            if let messageID {
                inserted.insert(messageID)
            } else if let ordinal, let taskID, let startTime, let checks {
                let run = StoredRun(taskID: taskID, taskStartTime: startTime, checks: try StoredChecks.parse(checks, taskID: taskID))
                if isNext == true { nextRuns[Int(ordinal) - 1] = run } else { previousRuns[Int(ordinal) - 1] = run }
            }
        }
        return InsertedMessages(inserted: messages.map { inserted.contains($0.messageID) }, previousRuns: previousRuns, nextRuns: nextRuns)
    }

    func applySubscriptionEffects(_ changes: [SubscriptionChange]) async throws {
        for change in changes {
            try await connection.run(SummarySQL.apply(change.effect, topicARN: change.topicARN, at: change.at), logger: logger)
        }
    }

    func insertAudits(_ audits: [NewAudit], changes: [StoredChange]) async throws -> [Bool] {
        precondition(audits.count == changes.count)
        guard !audits.isEmpty else { return [] }
        let paired = zip(audits, changes).sorted { $0.0.audit.taskID < $1.0.audit.taskID }
        let rows = paired.map(\.0)
        var bindings = PostgresBindings(capacity: 22)
        bindings.append(PostgresNullableArray.text(rows.map(\.audit.taskID)))
        bindings.append(PostgresNullableArray.text(rows.map(\.audit.accountID)))
        bindings.append(PostgresNullableArray.text(rows.map(\.audit.taskType.rawValue)))
        bindings.append(PostgresNullableArray.text(rows.map(\.audit.taskStatus.rawValue)))
        bindings.append(PostgresNullableArray.text(rows.map(\.audit.scheduledAuditName)))
        bindings.append(PostgresNullableArray.text(rows.map(\.audit.seriesKey)))
        bindings.append(PostgresNullableArray.int8(rows.map { Int64($0.audit.failedChecksCount) }))
        bindings.append(PostgresNullableArray.int8(rows.map { Int64($0.audit.canceledChecksCount) }))
        bindings.append(PostgresNullableArray.int8(rows.map { Int64($0.audit.nonCompliantChecksCount) }))
        bindings.append(PostgresNullableArray.int8(rows.map { Int64($0.audit.compliantChecksCount) }))
        bindings.append(PostgresNullableArray.int8(rows.map { Int64($0.audit.totalChecksCount) }))
        bindings.append(PostgresNullableArray.int8(rows.map(\.audit.taskStartTime)))
        bindings.append(PostgresNullableArray.int8(rows.map(\.receivedAt)))
        bindings.append(PostgresNullableArray.text(rows.map(\.messageID)))
        bindings.append(PostgresNullableArray.int8(rows.map { Int64($0.audit.nonCompliantResources) }))
        bindings.append(PostgresNullableArray.text(rows.map(\.warningsJSON)))
        bindings.append(PostgresNullableArray.text(rows.map(\.checksJSON)))
        bindings.append(PostgresNullableArray.text(rows.map(\.checkNames)))
        bindings.append(PostgresNullableArray.text(paired.map(\.1.change.previousTaskID)))
        bindings.append(PostgresNullableArray.int8(paired.map { $0.1.change.hasNewFindings ? 1 : 0 }))
        bindings.append(PostgresNullableArray.text(paired.map(\.1.changeJSON)))
        bindings.append(PostgresNullableArray.text(rows.map { $0.audit.region ?? "" }))
        let inserted = try await returnedKeys(PostgresIngestStatements.InsertAudits(bindings: bindings))
        return audits.map { inserted.contains($0.audit.taskID) }
    }

    func updateChanges(_ changes: [StoredChange]) async throws {
        for change in changes { try await connection.run(SummarySQL.updateChange(change), logger: logger) }
    }

    func insertViolations(_ violations: [StoredViolation]) async throws -> [Bool] {
        guard !violations.isEmpty else { return [] }
        let rows = violations.sorted { $0.messageID < $1.messageID }
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(PostgresNullableArray.text(rows.map(\.messageID)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.violationID)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.thingName)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.securityProfileName)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.eventType.rawValue)))
        bindings.append(PostgresNullableArray.int8(rows.map(\.violation.eventTime)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.behaviorName)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.metric)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.criteria)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.metricValue)))
        bindings.append(PostgresNullableArray.text(rows.map(\.violation.verificationState)))
        bindings.append(PostgresNullableArray.int8(rows.map(\.receivedAt)))
        let inserted = try await returnedKeys(PostgresIngestStatements.InsertViolations(bindings: bindings))
        return violations.map { inserted.contains($0.messageID) }
    }

    func insertUnrecognized(_ notifications: [UnrecognizedNotification]) async throws {
        guard !notifications.isEmpty else { return }
        let rows = notifications.sorted { $0.message.messageID < $1.message.messageID }
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(PostgresNullableArray.text(rows.map(\.message.messageID)))
        bindings.append(PostgresNullableArray.text(rows.map(\.message.topicARN)))
        bindings.append(PostgresNullableArray.text(rows.map(\.message.subject)))
        bindings.append(PostgresNullableArray.text(rows.map(\.message.message)))
        bindings.append(PostgresNullableArray.text(rows.map(\.reason)))
        bindings.append(PostgresNullableArray.int8(rows.map(\.message.receivedAt)))
        try await execute(PostgresIngestStatements.InsertUnrecognized(bindings: bindings))
    }

    func recentlyQueued(_ queries: [RepeatQuery]) async throws -> [Bool] {
        guard !queries.isEmpty else { return [] }
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(PostgresNullableArray.text(queries.map(\.receiver)))
        bindings.append(PostgresNullableArray.text(queries.map(\.fingerprint)))
        bindings.append(PostgresNullableArray.int8(queries.map(\.since)))
        var found = [Bool](repeating: false, count: queries.count)
        let rows = try await run(PostgresIngestStatements.RecentlyQueued(bindings: bindings))
        for try await row in rows { found[Int(try row.decode(Int64.self)) - 1] = true }
        return found
    }

    func activeSilences(since: Int64) async throws -> [Silence] {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(since)
        var silences: [Silence] = []
        for try await row in try await run(PostgresIngestStatements.ActiveSilences(bindings: bindings)) {
            let (id, check, account, region, schedule, starts, ends, comment, createdBy, createdAt, expiredAt) =
                try row.decode((String, String, String?, String?, String?, Int64, Int64, String, String?, Int64, Int64?).self)
            silences.append(Silence(
                id: id, checkName: check, accountID: account, region: region, scheduledAuditName: schedule, startsAt: starts, endsAt: ends,
                comment: comment, createdBy: createdBy, createdAt: createdAt, expiredAt: expiredAt
            ))
        }
        return silences
    }

    func insertDeliveries(_ deliveries: [NewDelivery]) async throws {
        guard !deliveries.isEmpty else { return }
        let rows = deliveries.sorted { $0.entry.id < $1.entry.id }
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(PostgresNullableArray.text(rows.map(\.entry.id)))
        bindings.append(PostgresNullableArray.text(rows.map(\.entry.receiver)))
        bindings.append(PostgresNullableArray.text(rows.map(\.entry.alertID)))
        bindings.append(PostgresNullableArray.text(rows.map(\.entry.kind)))
        bindings.append(PostgresNullableArray.bytea(rows.map(\.entry.body)))
        bindings.append(PostgresNullableArray.text(rows.map(\.entry.fingerprint)))
        bindings.append(PostgresNullableArray.int8(rows.map(\.at)))
        try await execute(PostgresIngestStatements.InsertDeliveries(bindings: bindings))
    }

    // Detect groups: a few statements per batch (rows in `IN` lists and multi-row inserts),
    // not prepared: they run once per batch with Detect events, off the audits' hot path.

    private func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await connection.rows(statement, logger: logger)
    }

    private func run(_ statement: SQLStatement) async throws {
        try await connection.run(statement, logger: logger)
    }

    func queueDetectGroupEvents(_ events: [DetectGroupEvent]) async throws {
        for statement in DetectGroupSQL.queueStatements(events) { try await run(statement) }
    }

    func dueDetectGroups(now: Int64, limit: Int) async throws -> [DueDetectGroup] {
        var groups: [DueDetectGroup] = []
        for row in try await rows(DetectGroupSQL.dueGroups(now: now, limit: limit, postgres: true)) {
            let key = try row.text("group_key")
            groups.append(DueDetectGroup(groupKey: key, topicARN: try row.text("topic_arn"), events: try await rows(DetectGroupSQL.groupEvents(key)).map(SummarySQL.violation(from:))))
        }
        return groups
    }

    func alarms(_ violationIDs: [String], before: Int64) async throws -> [String: (receivers: [String], startedAt: Int64?)] {
        try await DetectGroupSQL.alarms(violationIDs, before: before) { try await rows($0) }
    }

    func recordAlarmReceivers(_ receivers: [(violationID: String, receiver: String)]) async throws {
        for statement in DetectGroupSQL.recordStatements(receivers) { try await run(statement) }
    }

    func forgetAlarms(_ violationIDs: [String]) async throws {
        for statement in DetectGroupSQL.forgetStatements(violationIDs) { try await run(statement) }
    }

    func finishDetectGroups(_ groups: [SentDetectGroup], at now: Int64) async throws {
        for group in groups {
            for statement in DetectGroupSQL.finishGroup(group, at: now) { try await run(statement) }
        }
    }
}

/// A statement of the ingest transaction, prepared once per connection.
protocol PostgresIngestStatement: PostgresPreparedStatement where Row == PostgresRow {
    var bindings: PostgresBindings { get }
}

extension PostgresIngestStatement {
    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// The ingest transaction's SQL for PostgreSQL: one statement per step over the whole batch.
enum PostgresIngestStatements {
    struct InsertMessages: PostgresIngestStatement {
        static let sql = """
            WITH inserted AS (
                INSERT INTO sns_messages (message_id, type, topic_arn, subject, sns_timestamp, signature_version,
                    signing_cert_url, raw_envelope, received_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::int8[])
                ON CONFLICT (message_id) DO NOTHING
                RETURNING message_id, type, topic_arn, received_at
            ), known_topics AS (
                INSERT INTO subscriptions (topic_arn, status, updated_at, confirmed_at)
                SELECT DISTINCT ON (topic_arn) topic_arn, 'confirmed', received_at, received_at
                FROM inserted WHERE type = 'Notification' ORDER BY topic_arn, received_at
                ON CONFLICT (topic_arn) DO NOTHING
            ), previous AS (
                SELECT u.ord, p.task_id, p.task_start_time, p.checks
                FROM unnest($10::text[], $11::int8[], $12::text[]) WITH ORDINALITY AS u(series_key, start_time, task_id, ord)
                CROSS JOIN LATERAL (
                    SELECT a.task_id, a.task_start_time, a.checks FROM audit_tasks a
                    WHERE a.series_key = u.series_key AND (a.task_start_time, a.task_id) < (u.start_time, u.task_id)
                    ORDER BY a.task_start_time DESC, a.task_id DESC LIMIT 1
                ) p
            ), following AS (
                SELECT u.ord, n.task_id, n.task_start_time, n.checks
                FROM unnest($10::text[], $11::int8[], $12::text[]) WITH ORDINALITY AS u(series_key, start_time, task_id, ord)
                CROSS JOIN LATERAL (
                    SELECT a.task_id, a.task_start_time, a.checks FROM audit_tasks a
                    WHERE a.series_key = u.series_key AND (a.task_start_time, a.task_id) > (u.start_time, u.task_id)
                    ORDER BY a.task_start_time, a.task_id LIMIT 1
                ) n
            )
            SELECT message_id, NULL::int8 AS ord, NULL::text AS task_id, NULL::int8 AS task_start_time, NULL::text AS checks,
                NULL::bool AS is_next FROM inserted
            UNION ALL
            SELECT NULL, ord, task_id, task_start_time, checks, false FROM previous
            UNION ALL
            SELECT NULL, ord, task_id, task_start_time, checks, true FROM following
            """
        let bindings: PostgresBindings
    }

    struct LockSeries: PostgresIngestStatement {
        // Array order is the order the locks are taken in (a function scan of unnest).
        static let sql = "SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k"
        let bindings: PostgresBindings
    }

    struct InsertAudits: PostgresIngestStatement {
        static let sql = """
            INSERT INTO audit_tasks (task_id, account_id, task_type, task_status, scheduled_audit_name, series_key,
                failed_checks_count, canceled_checks_count, non_compliant_checks_count, compliant_checks_count,
                total_checks_count, task_start_time, received_at, source_message_id, non_compliant_resources,
                previous_task_id, has_new_findings, change_summary, warnings, checks, check_names, region)
            SELECT u.task_id, u.account_id, u.task_type, u.task_status, u.scheduled_audit_name, u.series_key,
                u.failed, u.canceled, u.non_compliant, u.compliant, u.total, u.start_time, u.received_at, u.message_id,
                u.resources, u.previous_task_id, u.has_new_findings, u.change_summary, u.warnings, u.checks, u.check_names, u.region
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[], $9::int8[],
                $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::text[], $15::int8[], $16::text[], $17::text[], $18::text[],
                $19::text[], $20::int8[], $21::text[], $22::text[])
                AS u(task_id, account_id, task_type, task_status, scheduled_audit_name, series_key, failed, canceled, non_compliant,
                    compliant, total, start_time, received_at, message_id, resources, warnings, checks, check_names,
                    previous_task_id, has_new_findings, change_summary, region)
            ON CONFLICT (task_id) DO NOTHING
            RETURNING task_id
            """
        let bindings: PostgresBindings
    }

    struct InsertViolations: PostgresIngestStatement {
        static let sql = """
            INSERT INTO detect_violations (message_id, violation_id, thing_name, security_profile_name, event_type, event_time,
                behavior_name, metric, criteria, metric_value, verification_state, received_at)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::text[],
                $9::text[], $10::text[], $11::text[], $12::int8[])
            ON CONFLICT DO NOTHING
            RETURNING message_id
            """
        let bindings: PostgresBindings
    }

    struct InsertUnrecognized: PostgresIngestStatement {
        static let sql = """
            INSERT INTO unrecognized_notifications (message_id, topic_arn, subject, message, reason, received_at)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[])
            ON CONFLICT DO NOTHING
            """
        let bindings: PostgresBindings
    }

    struct RecentlyQueued: PostgresIngestStatement {
        static let sql = """
            SELECT u.ord FROM unnest($1::text[], $2::text[], $3::int8[]) WITH ORDINALITY AS u(receiver, fingerprint, since, ord)
            WHERE EXISTS (
                SELECT 1 FROM deliveries d
                WHERE d.receiver = u.receiver AND d.fingerprint = u.fingerprint
                AND (d.state IN ('pending', 'sending') OR (d.state = 'delivered' AND d.delivered_at >= u.since))
            )
            """
        let bindings: PostgresBindings
    }

    struct ActiveSilences: PostgresIngestStatement {
        static let sql = """
            SELECT id, check_name, account_id, region, scheduled_audit_name, starts_at, ends_at, comment, created_by, created_at, expired_at
            FROM silences WHERE ends_at > $1 AND expired_at IS NULL ORDER BY created_at DESC, id
            """
        let bindings: PostgresBindings
    }

    struct InsertDeliveries: PostgresIngestStatement {
        static let sql = """
            INSERT INTO deliveries (id, receiver, alert_id, kind, body, fingerprint, state, attempts, next_attempt_at, created_at, updated_at)
            SELECT u.id, u.receiver, u.alert_id, u.kind, u.body, u.fingerprint, 'pending', 0, u.at, u.at, u.at
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::int8[])
                AS u(id, receiver, alert_id, kind, body, fingerprint, at)
            ON CONFLICT (id) DO NOTHING
            """
        let bindings: PostgresBindings
    }
}
