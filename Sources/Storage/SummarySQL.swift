import DeviceDefender
import Foundation
import JSON

/// The SQL both stores share, so that SQLite and PostgreSQL store and answer the same way:
/// statements built from domain values, and domain values built from rows.
enum SummarySQL {
    // MARK: - Messages and subscriptions

    static func apply(_ effect: SubscriptionEffect, topicARN: String, at now: Int64) -> SQLStatement {
        switch effect {
        case .confirmationRequested(let subscribeURL):
            SQLStatement(
                """
                INSERT INTO subscriptions (topic_arn, status, subscribe_url, last_error, updated_at)
                VALUES (?, 'pending', ?, NULL, ?)
                ON CONFLICT (topic_arn) DO UPDATE SET status = 'pending', subscribe_url = excluded.subscribe_url,
                    last_error = NULL, updated_at = excluded.updated_at
                """,
                [.text(topicARN), .text(subscribeURL), .integer(now)]
            )
        case .confirmed(let subscriptionARN):
            markConfirmed(topicARN: topicARN, subscriptionARN: subscriptionARN, at: now)
        case .unsubscribed:
            SQLStatement(
                """
                INSERT INTO subscriptions (topic_arn, status, updated_at) VALUES (?, 'unsubscribed', ?)
                ON CONFLICT (topic_arn) DO UPDATE SET status = 'unsubscribed', subscribe_url = NULL,
                    updated_at = excluded.updated_at
                """,
                [.text(topicARN), .integer(now)]
            )
        case .notificationDelivered:
            SQLStatement(
                """
                INSERT INTO subscriptions (topic_arn, status, updated_at, confirmed_at) VALUES (?, 'confirmed', ?, ?)
                ON CONFLICT (topic_arn) DO NOTHING
                """,
                [.text(topicARN), .integer(now), .integer(now)]
            )
        }
    }

    static func markConfirmed(topicARN: String, subscriptionARN: String?, at: Int64) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO subscriptions (topic_arn, status, subscription_arn, updated_at, confirmed_at)
            VALUES (?, 'confirmed', ?, ?, ?)
            ON CONFLICT (topic_arn) DO UPDATE SET status = 'confirmed',
                subscription_arn = coalesce(excluded.subscription_arn, subscriptions.subscription_arn),
                subscribe_url = NULL, last_error = NULL, updated_at = excluded.updated_at,
                confirmed_at = excluded.confirmed_at
            """,
            [.text(topicARN), SQLValue(subscriptionARN), .integer(at), .integer(at)]
        )
    }

    static func markConfirmationFailed(topicARN: String, reason: String, at: Int64) -> SQLStatement {
        SQLStatement(
            "UPDATE subscriptions SET last_error = ?, updated_at = ? WHERE topic_arn = ? AND status = 'pending'",
            [.text(reason), .integer(at), .text(topicARN)]
        )
    }

    static func subscription(from row: SQLRow) throws(StoreError) -> Subscription {
        let statusText = try row.text("status")
        guard let status = Subscription.Status(rawValue: statusText) else {
            throw .schemaMismatch("subscriptions.status holds '\(statusText.prefix(40))'")
        }
        return Subscription(
            topicARN: try row.text("topic_arn"),
            status: status,
            subscriptionARN: try row.optionalText("subscription_arn"),
            subscribeURL: try row.optionalText("subscribe_url"),
            lastError: try row.optionalText("last_error"),
            updatedAt: try row.int64("updated_at"),
            confirmedAt: try row.optionalInt64("confirmed_at")
        )
    }

    /// A stored message. Rows written since schema v5 keep the Message only inside the raw
    /// envelope (it is most of the envelope, and storing it twice doubled what each message
    /// writes); older rows have it in the `message` column.
    static func message(from row: SQLRow) throws(StoreError) -> StoredMessage {
        let envelope = try row.blob("raw_envelope")
        let message: String
        if let stored = try row.optionalText("message") {
            message = stored
        } else if case .object(let fields)? = try? JSONValue.parse(envelope), case .string(let text)? = fields["Message"] {
            message = text
        } else {
            throw .schemaMismatch("sns_messages row \(try row.text("message_id").prefix(100)) has neither a message nor an envelope carrying one")
        }
        return StoredMessage(
            messageID: try row.text("message_id"), type: try row.text("type"), topicARN: try row.text("topic_arn"), subject: try row.optionalText("subject"),
            message: message, snsTimestamp: try row.text("sns_timestamp"), signatureVersion: try row.text("signature_version"),
            signingCertURL: try row.text("signing_cert_url"), rawEnvelope: envelope, receivedAt: try row.int64("received_at")
        )
    }

    // MARK: - Audits

    /// The run of the same series just before an audit: `series_key`, `task_start_time`,
    /// `task_id` bound in that order; one index seek (`audit_tasks_by_series_run`).
    static let previousRunSQL = """
        SELECT task_id, task_start_time FROM audit_tasks
        WHERE series_key = ? AND (task_start_time, task_id) < (?, ?)
        ORDER BY task_start_time DESC, task_id DESC LIMIT 1
        """

    /// The run of the same series just after an audit (one that arrived before it): bound as
    /// `previousRunSQL` is; one index seek.
    static let nextRunSQL = """
        SELECT task_id, task_start_time FROM audit_tasks
        WHERE series_key = ? AND (task_start_time, task_id) > (?, ?)
        ORDER BY task_start_time, task_id LIMIT 1
        """

    /// Replaces a stored audit's change (the arrival of a late run before it).
    static func updateChange(_ change: StoredChange) -> SQLStatement {
        SQLStatement(
            "UPDATE audit_tasks SET previous_task_id = ?, has_new_findings = ?, change_summary = ? WHERE task_id = ?",
            [SQLValue(change.change.previousTaskID), .integer(change.change.hasNewFindings ? 1 : 0), .text(change.changeJSON), .text(change.taskID)]
        )
    }

    /// An audit with its checks, from its `audit_tasks` row.
    static func audit(from row: SQLRow) throws(StoreError) -> StoredAudit {
        let summary = try auditSummary(from: row)
        return StoredAudit(summary: summary, checks: try StoredChecks.parse(try row.text("checks"), taskID: summary.taskID))
    }

    static func auditSummary(from row: SQLRow) throws(StoreError) -> StoredAuditSummary {
        let changeText = try row.text("change_summary")
        let warningsText = try row.text("warnings")
        // '{}' is the placeholder audit rows were inserted with before schema v6 (replaced by
        // the change in the same transaction): read as no change. Anything else must decode.
        let change: AuditChange
        if changeText == "{}" {
            change = AuditChange()
        } else {
            guard let decoded = decode(AuditChange.self, changeText) else {
                throw .schemaMismatch("audit_tasks.change_summary of \(try row.text("task_id").prefix(100)) is not a stored change")
            }
            change = decoded
        }
        guard let warnings = decode([String].self, warningsText) else {
            throw .schemaMismatch("audit_tasks.warnings of \(try row.text("task_id").prefix(100)) is not a list of strings")
        }
        return StoredAuditSummary(
            taskID: try row.text("task_id"), accountID: try row.text("account_id"), taskType: try row.text("task_type"),
            taskStatus: try row.text("task_status"), scheduledAuditName: try row.optionalText("scheduled_audit_name"),
            failedChecksCount: try row.int("failed_checks_count"), canceledChecksCount: try row.int("canceled_checks_count"),
            nonCompliantChecksCount: try row.int("non_compliant_checks_count"), compliantChecksCount: try row.int("compliant_checks_count"),
            totalChecksCount: try row.int("total_checks_count"), taskStartTime: try row.int64("task_start_time"),
            receivedAt: try row.int64("received_at"), sourceMessageID: try row.text("source_message_id"),
            nonCompliantResources: try row.int("non_compliant_resources"),
            change: change,
            warnings: warnings,
            region: try row.text("region")
        )
    }

    /// Where the two databases spell the same thing differently.
    enum Dialect { case sqlite, postgres }

    static func audits(_ query: AuditQuery, dialect: Dialect) -> SQLStatement {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let status = query.taskStatus { conditions.append("task_status = ?"); arguments.append(.text(status)) }
        if let account = query.accountID { conditions.append("account_id = ?"); arguments.append(.text(account)) }
        if let region = query.region { conditions.append("region = ?"); arguments.append(.text(region)) }
        if let name = query.scheduledAuditName { conditions.append("scheduled_audit_name = ?"); arguments.append(.text(name)) }
        if let since = query.since { conditions.append("task_start_time >= ?"); arguments.append(.integer(since)) }
        if let until = query.until { conditions.append("task_start_time <= ?"); arguments.append(.integer(until)) }
        if query.nonCompliantOnly { conditions.append("non_compliant_checks_count > 0") }
        if let check = query.checkName {
            // `\u{1F}NAME\u{1F}` in the names the audit's checks carry (StoredChecks.names).
            conditions.append(dialect == .sqlite ? "instr(check_names, ?) > 0" : "strpos(check_names, ?) > 0")
            arguments.append(.text(StoredChecks.nameSeparator + check + StoredChecks.nameSeparator))
        }
        if let after = query.after {
            conditions.append("(task_start_time < ? OR (task_start_time = ? AND task_id < ?))")
            arguments += [.integer(after.taskStartTime), .integer(after.taskStartTime), .text(after.taskID)]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        // One row more than asked tells whether another page follows.
        arguments.append(.integer(Int64(query.limit + 1)))
        return SQLStatement("SELECT * FROM audit_tasks \(filter) ORDER BY task_start_time DESC, task_id DESC LIMIT ?", arguments)
    }

    static func page(from rows: [SQLRow], limit: Int) throws(StoreError) -> AuditPage {
        var audits: [StoredAuditSummary] = []
        for row in rows.prefix(limit) { audits.append(try auditSummary(from: row)) }
        let next = rows.count > limit ? audits.last.map { AuditCursor(taskStartTime: $0.taskStartTime, taskID: $0.taskID) } : nil
        return AuditPage(audits: Array(audits), nextCursor: next)
    }

    static func audit(taskID: String) -> SQLStatement {
        SQLStatement("SELECT * FROM audit_tasks WHERE task_id = ?", [.text(taskID)])
    }

    /// The latest `runs` (at least 20) audits of every series, for the latest result of each check
    /// (`latestChecks`). The series are found by a loose index scan of
    /// `audit_tasks_by_series_run` (one seek per series) and each series' runs by one more, so
    /// what a scrape costs grows with the number of series, never with the stored history.
    static func recentRunsOfEverySeries(runs: Int, dialect: Dialect) -> SQLStatement {
        // At least the last 20 runs: a check is found in the newest run that ran it, even when
        // the latest runs were on-demand subsets or failed without details.
        let runs = max(runs, 20)
        let series = """
            WITH RECURSIVE series(k) AS (
                SELECT (SELECT series_key FROM audit_tasks ORDER BY series_key LIMIT 1)
                UNION ALL
                SELECT (SELECT series_key FROM audit_tasks WHERE series_key > series.k ORDER BY series_key LIMIT 1)
                FROM series WHERE series.k IS NOT NULL
            )
            """
        let columns = "a.task_id, a.account_id, a.region, a.task_start_time, a.checks"
        let runsOfSeries = "SELECT %@ FROM audit_tasks WHERE series_key = series.k ORDER BY task_start_time DESC, task_id DESC LIMIT ?"
        let sql = switch dialect {
        case .sqlite:
            series + "SELECT \(columns) FROM series JOIN audit_tasks a ON a.rowid IN (\(runsOfSeries.replacingOccurrences(of: "%@", with: "rowid")))"
        case .postgres:
            series + "SELECT \(columns) FROM series CROSS JOIN LATERAL (\(runsOfSeries.replacingOccurrences(of: "%@", with: "*"))) a"
        }
        return SQLStatement(sql, [.integer(Int64(max(1, runs)))])
    }

    /// The latest result of each check per account and region, with its last `trendLength`
    /// non-compliant counts (oldest first), from `recentRunsOfEverySeries`.
    static func latestChecks(from rows: [SQLRow], trendLength: Int) throws(StoreError) -> [CheckStatus] {
        struct Key: Hashable {
            let checkName: String
            let accountID: String
            let region: String
        }
        struct Run {
            let taskID: String
            let accountID: String
            let region: String
            let startTime: Int64
            let checks: String
        }
        var runs: [Run] = []
        runs.reserveCapacity(rows.count)
        for row in rows {
            runs.append(Run(
                taskID: try row.text("task_id"), accountID: try row.text("account_id"), region: try row.text("region"),
                startTime: try row.int64("task_start_time"), checks: try row.text("checks")
            ))
        }
        // Newest first across series: an account's on-demand and scheduled audits both count.
        runs.sort { ($0.startTime, $0.taskID) > ($1.startTime, $1.taskID) }
        var statuses: [Key: CheckStatus] = [:]
        let trendLength = max(1, trendLength)
        for run in runs {
            for check in try StoredChecks.parse(run.checks, taskID: run.taskID) {
                let key = Key(checkName: check.checkName, accountID: run.accountID, region: run.region)
                if var status = statuses[key] {
                    if status.trend.count < trendLength {
                        status.trend.insert(check.nonCompliantResourcesCount, at: 0)
                        statuses[key] = status
                    }
                } else {
                    statuses[key] = CheckStatus(
                        checkName: check.checkName, accountID: run.accountID, severity: check.severity, latestTaskID: run.taskID,
                        latestTaskStartTime: run.startTime, runStatus: check.runStatus.rawValue,
                        nonCompliantResourcesCount: check.nonCompliantResourcesCount, totalResourcesCount: check.totalResourcesCount,
                        trend: [check.nonCompliantResourcesCount], region: run.region
                    )
                }
            }
        }
        return statuses.values.sorted { ($0.checkName, $0.accountID, $0.region) < ($1.checkName, $1.accountID, $1.region) }
    }

    // MARK: - Detect and the rest

    static func insertViolation(_ violation: DetectViolation, messageID: String, receivedAt: Int64) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO detect_violations (message_id, violation_id, thing_name, security_profile_name, event_type, event_time,
                behavior_name, metric, criteria, metric_value, verification_state, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """,
            [
                .text(messageID), .text(violation.violationID), .text(violation.thingName), .text(violation.securityProfileName),
                .text(violation.eventType.rawValue), .integer(violation.eventTime), .text(violation.behaviorName),
                SQLValue(violation.metric), SQLValue(violation.criteria), SQLValue(violation.metricValue),
                SQLValue(violation.verificationState), .integer(receivedAt),
            ]
        )
    }

    static func violations(_ query: ViolationQuery) -> SQLStatement {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let thing = query.thingName { conditions.append("thing_name = ?"); arguments.append(.text(thing)) }
        if let profile = query.securityProfileName { conditions.append("security_profile_name = ?"); arguments.append(.text(profile)) }
        if let type = query.eventType { conditions.append("event_type = ?"); arguments.append(.text(type)) }
        if let since = query.since { conditions.append("event_time >= ?"); arguments.append(.integer(since)) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(.integer(Int64(query.limit)))
        return SQLStatement("SELECT * FROM detect_violations \(filter) ORDER BY event_time DESC, message_id LIMIT ?", arguments)
    }

    static func violation(from row: SQLRow) throws(StoreError) -> StoredViolation {
        let eventTypeText = try row.text("event_type")
        guard let eventType = DetectViolation.EventType(rawValue: eventTypeText) else {
            throw .schemaMismatch("detect_violations.event_type holds '\(eventTypeText.prefix(40))'")
        }
        return StoredViolation(
            messageID: try row.text("message_id"),
            violation: DetectViolation(
                violationID: try row.text("violation_id"), thingName: try row.text("thing_name"), securityProfileName: try row.text("security_profile_name"),
                eventType: eventType, eventTime: try row.int64("event_time"),
                behaviorName: try row.text("behavior_name"), metric: try row.optionalText("metric"), criteria: try row.optionalText("criteria"),
                metricValue: try row.optionalText("metric_value"), verificationState: try row.optionalText("verification_state")
            ),
            receivedAt: try row.int64("received_at")
        )
    }

    static func insertUnrecognized(_ message: StoredMessage, reason: String) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO unrecognized_notifications (message_id, topic_arn, subject, message, reason, received_at)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """,
            [.text(message.messageID), .text(message.topicARN), SQLValue(message.subject), .text(message.message), .text(reason), .integer(message.receivedAt)]
        )
    }

    static func unrecognized(limit: Int) -> SQLStatement {
        SQLStatement("SELECT message_id, subject, reason FROM unrecognized_notifications ORDER BY received_at DESC LIMIT ?", [.integer(Int64(limit))])
    }

    /// One statement per kind of row the plan deletes, each deleting at most `batchSize` rows
    /// found through an index: run each until it deletes nothing, one transaction per run.
    static func prune(_ plan: RetentionPlan, dialect: Dialect) -> [SQLStatement] {
        let row = dialect == .sqlite ? "rowid" : "ctid"
        func batch(_ table: String, _ condition: String, _ arguments: [SQLValue]) -> SQLStatement {
            SQLStatement(
                "DELETE FROM \(table) WHERE \(row) IN (SELECT \(row) FROM \(table) WHERE \(condition) LIMIT ?)",
                arguments + [.integer(Int64(plan.batchSize))]
            )
        }
        var statements = [
            batch("sns_messages", "received_at < ?", [.integer(plan.messagesBefore)]),
            batch("unrecognized_notifications", "received_at < ?", [.integer(plan.messagesBefore)]),
        ]
        if let before = plan.summariesBefore {
            statements += [
                batch("audit_tasks", "task_start_time < ?", [.integer(before)]),
                batch("detect_violations", "event_time < ?", [.integer(before)]),
            ]
        }
        if let before = plan.deliveredBefore {
            statements.append(batch("deliveries", "state = 'delivered' AND created_at < ?", [.integer(before)]))
        }
        if let before = plan.deadBefore {
            // Counted from the last attempt: a letter that died after days of retries is kept
            // its whole retention.
            statements.append(batch("deliveries", "state = 'dead' AND updated_at < ?", [.integer(before)]))
        }
        return statements
    }

    // MARK: - Outbox

    /// True when this receiver was sent an alert with this fingerprint since `since`.
    /// `repeat_interval` counts from the last delivered alert with the same fingerprint; one
    /// still waiting to be sent (a receiver's outage) holds back its repeats too, so an outage
    /// does not pile up copies. A dead-lettered one holds back nothing.
    static func recentlyQueued(_ query: RepeatQuery) -> SQLStatement {
        SQLStatement(
            """
            SELECT 1 AS found FROM deliveries WHERE receiver = ? AND fingerprint = ?
            AND (state IN ('pending', 'sending') OR (state = 'delivered' AND delivered_at >= ?)) LIMIT 1
            """,
            [.text(query.receiver), .text(query.fingerprint), .integer(query.since)]
        )
    }

    static func insertDelivery(_ entry: OutboxEntry, at now: Int64) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO deliveries (id, receiver, alert_id, kind, body, fingerprint, state, attempts, next_attempt_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)
            ON CONFLICT (id) DO NOTHING
            """,
            [.text(entry.id), .text(entry.receiver), .text(entry.alertID), .text(entry.kind), .blob(entry.body), .text(entry.fingerprint), .integer(now), .integer(now), .integer(now)]
        )
    }

    /// Takes up to `limit` due deliveries for `owner` until `leaseUntil`; a lease that ran out
    /// (its replica died mid-send) makes the delivery due again. PostgreSQL skips rows another
    /// replica is claiming at the same moment.
    /// One receiver's due deliveries, oldest queued first.
    ///
    /// With `databaseClock`, leases are set and compared in the database server's time
    /// (PostgreSQL's `clock_timestamp()`), not the caller's: replicas whose clocks disagree
    /// then agree on when a lease runs out. `leaseUntil - now` is the lease's length.
    static func claimDeliveries(owner: String, receiver: String, now: Int64, leaseUntil: Int64, limit: Int, skipLocked: Bool, databaseClock: Bool = false) -> SQLStatement {
        let leaseNow = databaseClock ? databaseNow : "?"
        var arguments: [SQLValue] = [.text(owner)]
        arguments += databaseClock ? [.integer(leaseUntil - now)] : [.integer(leaseUntil)]
        arguments += [.integer(now), .text(receiver), .integer(now)]
        if !databaseClock { arguments.append(.integer(now)) }
        arguments.append(.integer(Int64(limit)))
        return SQLStatement(
            """
            UPDATE deliveries SET state = 'sending', lease_owner = ?, lease_until = \(databaseClock ? "\(databaseNow) + ?" : "?"), updated_at = ?
            WHERE id IN (
                SELECT id FROM deliveries
                WHERE receiver = ? AND ((state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until < \(leaseNow)))
                ORDER BY created_at, id LIMIT ?\(skipLocked ? " FOR UPDATE SKIP LOCKED" : "")
            )
            RETURNING *
            """,
            arguments
        )
    }

    /// PostgreSQL's time now, in milliseconds since the Unix epoch.
    static let databaseNow = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

    /// Extends `owner`'s lease on a delivery it still holds; no row changes once another
    /// replica has claimed it.
    static func renewLease(id: String, owner: String, until: Int64, at now: Int64, databaseClock: Bool = false) -> SQLStatement {
        SQLStatement(
            "UPDATE deliveries SET lease_until = \(databaseClock ? "\(databaseNow) + ?" : "?"), updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'sending'",
            [.integer(databaseClock ? until - now : until), .integer(now), .text(id), .text(owner)]
        )
    }

    /// Puts claimed deliveries back, unsent and with their attempts unchanged: those of `owner`
    /// (for one receiver, or all), or every claimed one when `owner` is nil.
    static func releaseDeliveries(owner: String?, receiver: String?, at now: Int64) -> SQLStatement {
        var sql = "UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE state = 'sending'"
        var arguments: [SQLValue] = [.integer(now)]
        if let owner {
            sql += " AND lease_owner = ?"
            arguments.append(.text(owner))
        }
        if let receiver {
            sql += " AND receiver = ?"
            arguments.append(.text(receiver))
        }
        return SQLStatement(sql, arguments)
    }

    static func completeDelivery(id: String, owner: String, outcome: DeliveryOutcome, at now: Int64) -> SQLStatement {
        let lease = "lease_owner = NULL, lease_until = NULL, attempts = attempts + 1, updated_at = ?"
        switch outcome {
        case .delivered(let status):
            return SQLStatement(
                "UPDATE deliveries SET state = 'delivered', delivered_at = ?, last_status = ?, last_error = NULL, \(lease) WHERE id = ? AND lease_owner = ?",
                [.integer(now), .integer(Int64(status)), .integer(now), .text(id), .text(owner)]
            )
        case .retry(let at, let error, let status):
            return SQLStatement(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, last_error = ?, last_status = ?, \(lease) WHERE id = ? AND lease_owner = ?",
                [.integer(at), .text(error), status.map { .integer(Int64($0)) } ?? .null, .integer(now), .text(id), .text(owner)]
            )
        case .dead(let error, let status):
            return SQLStatement(
                "UPDATE deliveries SET state = 'dead', last_error = ?, last_status = ?, \(lease) WHERE id = ? AND lease_owner = ?",
                [.text(error), status.map { .integer(Int64($0)) } ?? .null, .integer(now), .text(id), .text(owner)]
            )
        }
    }

    static func deliveries(state: Delivery.State?, limit: Int) -> SQLStatement {
        if let state {
            return SQLStatement("SELECT * FROM deliveries WHERE state = ? ORDER BY created_at DESC, id DESC LIMIT ?", [.text(state.rawValue), .integer(Int64(limit))])
        }
        return SQLStatement("SELECT * FROM deliveries ORDER BY created_at DESC, id DESC LIMIT ?", [.integer(Int64(limit))])
    }

    /// Dead deliveries (one, or all) go back to the queue with a fresh attempt budget.
    static func retryDead(id: String?, at now: Int64) -> SQLStatement {
        var statement = SQLStatement(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, created_at = ?, updated_at = ?, last_error = NULL WHERE state = 'dead'",
            [.integer(now), .integer(now), .integer(now)]
        )
        if let id {
            statement.sql += " AND id = ?"
            statement.arguments.append(.text(id))
        }
        return statement
    }

    /// The deliveries still to send or to look at, by state: counted through
    /// `deliveries_by_state` over those states only, so what a scrape costs follows the size of
    /// the queue, not of the delivered history.
    static let deliveryCounts = SQLStatement(
        "SELECT state, count(*) AS n, min(created_at) AS oldest FROM deliveries WHERE state IN ('pending', 'sending', 'dead') GROUP BY state"
    )

    /// Deliveries still to send, per receiver.
    static let queuedByReceiver = SQLStatement("SELECT receiver, count(*) AS n FROM deliveries WHERE state IN ('pending', 'sending') GROUP BY receiver")

    static func queuedByReceiver(from rows: [SQLRow]) throws(StoreError) -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.text("receiver")] = try row.int("n") }
        return counts
    }

    static func census(from rows: [SQLRow]) throws(StoreError) -> DeliveryCensus {
        var census = DeliveryCensus(counts: [:], oldestCreatedAt: [:])
        for row in rows {
            let state = try deliveryState(row)
            census.counts[state] = try row.int("n")
            census.oldestCreatedAt[state] = try row.optionalInt64("oldest")
        }
        return census
    }

    static func delivery(from row: SQLRow) throws(StoreError) -> Delivery {
        Delivery(
            id: try row.text("id"), receiver: try row.text("receiver"), alertID: try row.text("alert_id"), kind: try row.text("kind"),
            body: try row.blob("body"), state: try deliveryState(row), attempts: try row.int("attempts"),
            nextAttemptAt: try row.int64("next_attempt_at"), createdAt: try row.int64("created_at"), updatedAt: try row.int64("updated_at"),
            lastError: try row.optionalText("last_error"), lastStatus: try row.optionalInt64("last_status").map { Int($0) },
            deliveredAt: try row.optionalInt64("delivered_at")
        )
    }

    private static func deliveryState(_ row: SQLRow) throws(StoreError) -> Delivery.State {
        let text = try row.text("state")
        guard let state = Delivery.State(rawValue: text) else { throw .schemaMismatch("deliveries.state holds '\(text.prefix(40))'") }
        return state
    }

    // MARK: -

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
