import DeviceDefender
import Foundation

/// The SQL both stores share, so that SQLite and PostgreSQL store and answer the same way:
/// statements built from domain values, and domain values built from rows.
enum SummarySQL {
    // MARK: - Messages and subscriptions

    static func insertMessage(_ message: StoredMessage) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO sns_messages (message_id, type, topic_arn, subject, message, sns_timestamp,
                signature_version, signing_cert_url, raw_envelope, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (message_id) DO NOTHING
            """,
            [
                .text(message.messageID), .text(message.type), .text(message.topicARN), SQLValue(message.subject), .text(message.message),
                .text(message.snsTimestamp), .text(message.signatureVersion), .text(message.signingCertURL),
                .blob(message.rawEnvelope), .integer(message.receivedAt),
            ]
        )
    }

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

    static func subscription(from row: SQLRow) -> Subscription {
        Subscription(
            topicARN: row.text("topic_arn"),
            status: Subscription.Status(rawValue: row.text("status")) ?? .pending,
            subscriptionARN: row.optionalText("subscription_arn"),
            subscribeURL: row.optionalText("subscribe_url"),
            lastError: row.optionalText("last_error"),
            updatedAt: row.int64("updated_at"),
            confirmedAt: row["confirmed_at"].int64
        )
    }

    static func message(from row: SQLRow) -> StoredMessage {
        var envelope: [UInt8] = []
        if case .blob(let bytes) = row["raw_envelope"] { envelope = bytes }
        return StoredMessage(
            messageID: row.text("message_id"), type: row.text("type"), topicARN: row.text("topic_arn"), subject: row.optionalText("subject"),
            message: row.text("message"), snsTimestamp: row.text("sns_timestamp"), signatureVersion: row.text("signature_version"),
            signingCertURL: row.text("signing_cert_url"), rawEnvelope: envelope, receivedAt: row.int64("received_at")
        )
    }

    // MARK: - Audits

    /// Inserts the audit's summary row (its change is filled in once the previous run is known).
    static func insertAudit(_ audit: AuditNotification, messageID: String, receivedAt: Int64) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO audit_tasks (task_id, account_id, task_type, task_status, scheduled_audit_name, series_key,
                failed_checks_count, canceled_checks_count, non_compliant_checks_count, compliant_checks_count,
                total_checks_count, task_start_time, received_at, source_message_id, non_compliant_resources,
                previous_task_id, has_new_findings, change_summary, warnings)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, '{}', ?)
            ON CONFLICT (task_id) DO NOTHING
            """,
            [
                .text(audit.taskID), .text(audit.accountID), .text(audit.taskType.rawValue), .text(audit.taskStatus.rawValue),
                SQLValue(audit.scheduledAuditName), .text(audit.seriesKey), SQLValue(audit.failedChecksCount),
                SQLValue(audit.canceledChecksCount), SQLValue(audit.nonCompliantChecksCount), SQLValue(audit.compliantChecksCount),
                SQLValue(audit.totalChecksCount), .integer(audit.taskStartTime), .integer(receivedAt), .text(messageID),
                SQLValue(audit.checks.filter(\.isNonCompliant).reduce(0) { $0 + $1.nonCompliantResourcesCount }),
                .text(json(audit.consistencyWarnings)),
            ]
        )
    }

    /// The checks of `audit`, `checksPerStatement` rows per statement: a few statements to
    /// prepare and run instead of one per check, and far below the bind limits of both
    /// databases (SQLite 32,766 parameters, PostgreSQL 65,535) however many checks a message
    /// carries. A 256 KiB SNS message holds at most a few thousand.
    static func insertChecks(of audit: AuditNotification) -> [SQLStatement] {
        stride(from: 0, to: audit.checks.count, by: checksPerStatement).map { start in
            let checks = audit.checks[start..<min(start + checksPerStatement, audit.checks.count)]
            var arguments: [SQLValue] = []
            arguments.reserveCapacity(checks.count * 10)
            for check in checks {
                arguments += [
                    .text(audit.taskID), .text(check.checkName), .text(check.runStatus.rawValue), SQLValue(check.nonCompliantResourcesCount),
                    SQLValue(check.totalResourcesCount), SQLValue(check.message), SQLValue(check.errorCode), .text(check.severity.rawValue),
                    .text(audit.accountID), .integer(audit.taskStartTime),
                ]
            }
            return SQLStatement(
                """
                INSERT INTO audit_check_results (task_id, check_name, check_run_status, non_compliant_resources_count,
                    total_resources_count, message, error_code, severity, account_id, task_start_time)
                VALUES \(Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: checks.count).joined(separator: ", "))
                ON CONFLICT (task_id, check_name) DO NOTHING
                """,
                arguments
            )
        }
    }

    /// Rows per check insert: the documented checks fit in one statement.
    static let checksPerStatement = 100

    /// The run of the same audit just before `audit`.
    static func previousAudit(of audit: AuditNotification) -> SQLStatement {
        SQLStatement(
            """
            SELECT task_id FROM audit_tasks
            WHERE series_key = ? AND (task_start_time, task_id) < (?, ?)
            ORDER BY task_start_time DESC, task_id DESC LIMIT 1
            """,
            [.text(audit.seriesKey), .integer(audit.taskStartTime), .text(audit.taskID)]
        )
    }

    static func checks(ofTask taskID: String) -> SQLStatement {
        SQLStatement("SELECT * FROM audit_check_results WHERE task_id = ? ORDER BY check_name", [.text(taskID)])
    }

    static func storeChange(_ change: AuditChange, taskID: String) -> SQLStatement {
        SQLStatement(
            "UPDATE audit_tasks SET previous_task_id = ?, has_new_findings = ?, change_summary = ? WHERE task_id = ?",
            [SQLValue(change.previousTaskID), .integer(change.hasNewFindings ? 1 : 0), .text(json(change)), .text(taskID)]
        )
    }

    /// Rebuilds the previous run from its rows, as far as the comparison needs it.
    static func previousNotification(taskID: String, checkRows: [SQLRow]) -> AuditNotification {
        AuditNotification(
            accountID: "", taskID: taskID, taskStatus: .completed, taskType: .scheduled, scheduledAuditName: nil,
            failedChecksCount: 0, canceledChecksCount: 0, nonCompliantChecksCount: 0, compliantChecksCount: 0, totalChecksCount: 0,
            taskStartTime: 0, checks: checkRows.map(check(from:))
        )
    }

    static func check(from row: SQLRow) -> AuditCheckResult {
        AuditCheckResult(
            checkName: row.text("check_name"),
            runStatus: AuditCheckResult.RunStatus(rawValue: row.text("check_run_status")) ?? .failed,
            nonCompliantResourcesCount: row.int("non_compliant_resources_count"),
            totalResourcesCount: row.int("total_resources_count"),
            message: row.optionalText("message"),
            errorCode: row.optionalText("error_code"),
            severity: Severity(rawValue: row.text("severity")) ?? .unknown
        )
    }

    static func auditSummary(from row: SQLRow) -> StoredAuditSummary {
        StoredAuditSummary(
            taskID: row.text("task_id"), accountID: row.text("account_id"), taskType: row.text("task_type"),
            taskStatus: row.text("task_status"), scheduledAuditName: row.optionalText("scheduled_audit_name"),
            failedChecksCount: row.int("failed_checks_count"), canceledChecksCount: row.int("canceled_checks_count"),
            nonCompliantChecksCount: row.int("non_compliant_checks_count"), compliantChecksCount: row.int("compliant_checks_count"),
            totalChecksCount: row.int("total_checks_count"), taskStartTime: row.int64("task_start_time"),
            receivedAt: row.int64("received_at"), sourceMessageID: row.text("source_message_id"),
            nonCompliantResources: row.int("non_compliant_resources"),
            change: decode(AuditChange.self, row.text("change_summary"))
                ?? AuditChange(),
            warnings: decode([String].self, row.text("warnings")) ?? []
        )
    }

    static func audits(_ query: AuditQuery) -> SQLStatement {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let status = query.taskStatus { conditions.append("task_status = ?"); arguments.append(.text(status)) }
        if let account = query.accountID { conditions.append("account_id = ?"); arguments.append(.text(account)) }
        if let name = query.scheduledAuditName { conditions.append("scheduled_audit_name = ?"); arguments.append(.text(name)) }
        if let since = query.since { conditions.append("task_start_time >= ?"); arguments.append(.integer(since)) }
        if let until = query.until { conditions.append("task_start_time <= ?"); arguments.append(.integer(until)) }
        if query.nonCompliantOnly { conditions.append("non_compliant_checks_count > 0") }
        if let check = query.checkName {
            conditions.append("task_id IN (SELECT task_id FROM audit_check_results WHERE check_name = ?)")
            arguments.append(.text(check))
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

    static func page(from rows: [SQLRow], limit: Int) -> AuditPage {
        let audits = rows.prefix(limit).map(auditSummary(from:))
        let next = rows.count > limit ? audits.last.map { AuditCursor(taskStartTime: $0.taskStartTime, taskID: $0.taskID) } : nil
        return AuditPage(audits: Array(audits), nextCursor: next)
    }

    static func audit(taskID: String) -> SQLStatement {
        SQLStatement("SELECT * FROM audit_tasks WHERE task_id = ?", [.text(taskID)])
    }

    /// The last `trendLength` results of each check per account, newest first (window
    /// functions: SQLite 3.25+ and PostgreSQL both have them).
    static func checkHistory(trendLength: Int) -> SQLStatement {
        SQLStatement(
            """
            SELECT check_name, account_id, severity, task_id, task_start_time, check_run_status,
                non_compliant_resources_count, total_resources_count
            FROM (
                SELECT *, ROW_NUMBER() OVER (
                    PARTITION BY check_name, account_id ORDER BY task_start_time DESC, task_id DESC
                ) AS position
                FROM audit_check_results
            ) ranked
            WHERE position <= ?
            ORDER BY check_name, account_id, task_start_time DESC, task_id DESC
            """,
            [.integer(Int64(max(1, trendLength)))]
        )
    }

    static func latestChecks(from rows: [SQLRow], trendLength: Int) -> [CheckStatus] {
        var result: [CheckStatus] = []
        var current: (key: String, status: CheckStatus)?
        for row in rows {
            let key = row.text("check_name") + "\u{0}" + row.text("account_id")
            if current?.key != key {
                if let done = current { result.append(done.status) }
                current = (key, CheckStatus(
                    checkName: row.text("check_name"), accountID: row.text("account_id"),
                    severity: Severity(rawValue: row.text("severity")) ?? .unknown, latestTaskID: row.text("task_id"),
                    latestTaskStartTime: row.int64("task_start_time"), runStatus: row.text("check_run_status"),
                    nonCompliantResourcesCount: row.int("non_compliant_resources_count"),
                    totalResourcesCount: row.int("total_resources_count"), trend: []
                ))
            }
            if current!.status.trend.count < trendLength {
                current!.status.trend.insert(row.int("non_compliant_resources_count"), at: 0)
            }
        }
        if let done = current { result.append(done.status) }
        return result
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

    static func violation(from row: SQLRow) -> StoredViolation {
        StoredViolation(
            messageID: row.text("message_id"),
            violation: DetectViolation(
                violationID: row.text("violation_id"), thingName: row.text("thing_name"), securityProfileName: row.text("security_profile_name"),
                eventType: DetectViolation.EventType(rawValue: row.text("event_type")) ?? .inAlarm, eventTime: row.int64("event_time"),
                behaviorName: row.text("behavior_name"), metric: row.optionalText("metric"), criteria: row.optionalText("criteria"),
                metricValue: row.optionalText("metric_value"), verificationState: row.optionalText("verification_state")
            ),
            receivedAt: row.int64("received_at")
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

    static func prune(messagesBefore: Int64, summariesBefore: Int64?) -> [SQLStatement] {
        var statements = [
            SQLStatement("DELETE FROM sns_messages WHERE received_at < ?", [.integer(messagesBefore)]),
            SQLStatement("DELETE FROM unrecognized_notifications WHERE received_at < ?", [.integer(messagesBefore)]),
        ]
        if let summariesBefore {
            statements += [
                SQLStatement("DELETE FROM audit_check_results WHERE task_start_time < ?", [.integer(summariesBefore)]),
                SQLStatement("DELETE FROM audit_tasks WHERE task_start_time < ?", [.integer(summariesBefore)]),
                SQLStatement("DELETE FROM detect_violations WHERE event_time < ?", [.integer(summariesBefore)]),
            ]
        }
        return statements
    }

    // MARK: - Outbox

    /// True when this receiver was sent an alert with this fingerprint since `since`.
    static func recentlyQueued(_ entry: OutboxEntry, since: Int64) -> SQLStatement {
        SQLStatement(
            "SELECT 1 AS found FROM deliveries WHERE receiver = ? AND fingerprint = ? AND created_at >= ? AND state <> 'dead' LIMIT 1",
            [.text(entry.receiver), .text(entry.fingerprint), .integer(since)]
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
    static func claimDeliveries(owner: String, now: Int64, leaseUntil: Int64, limit: Int, skipLocked: Bool) -> SQLStatement {
        SQLStatement(
            """
            UPDATE deliveries SET state = 'sending', lease_owner = ?, lease_until = ?, updated_at = ?
            WHERE id IN (
                SELECT id FROM deliveries
                WHERE (state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until < ?)
                ORDER BY next_attempt_at, created_at LIMIT ?\(skipLocked ? " FOR UPDATE SKIP LOCKED" : "")
            )
            RETURNING *
            """,
            [.text(owner), .integer(leaseUntil), .integer(now), .integer(now), .integer(now), .integer(Int64(limit))]
        )
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
            return SQLStatement("SELECT * FROM deliveries WHERE state = ? ORDER BY created_at DESC, id LIMIT ?", [.text(state.rawValue), .integer(Int64(limit))])
        }
        return SQLStatement("SELECT * FROM deliveries ORDER BY created_at DESC, id LIMIT ?", [.integer(Int64(limit))])
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

    static let deliveryCounts = SQLStatement("SELECT state, count(*) AS n FROM deliveries GROUP BY state")

    static func counts(from rows: [SQLRow]) -> [Delivery.State: Int] {
        var counts: [Delivery.State: Int] = [:]
        for row in rows {
            if let state = Delivery.State(rawValue: row.text("state")) { counts[state] = row.int("n") }
        }
        return counts
    }

    static func delivery(from row: SQLRow) -> Delivery {
        var body: [UInt8] = []
        if case .blob(let bytes) = row["body"] { body = bytes }
        return Delivery(
            id: row.text("id"), receiver: row.text("receiver"), alertID: row.text("alert_id"), kind: row.text("kind"), body: body,
            state: Delivery.State(rawValue: row.text("state")) ?? .pending, attempts: row.int("attempts"),
            nextAttemptAt: row.int64("next_attempt_at"), createdAt: row.int64("created_at"), updatedAt: row.int64("updated_at"),
            lastError: row.optionalText("last_error"), lastStatus: row["last_status"].int64.map { Int($0) },
            deliveredAt: row["delivered_at"].int64
        )
    }

    // MARK: -

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
