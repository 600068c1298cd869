import GRDB

/// The SQLite schema, one migration per version. Migrations are append-only: a released
/// migration is never edited, a change is a new one.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-sns-messages-and-subscriptions") { db in
            try db.execute(sql: """
                CREATE TABLE sns_messages (
                    message_id TEXT PRIMARY KEY NOT NULL,
                    type TEXT NOT NULL,
                    topic_arn TEXT NOT NULL,
                    subject TEXT,
                    message TEXT NOT NULL,
                    sns_timestamp TEXT NOT NULL,
                    signature_version TEXT NOT NULL,
                    signing_cert_url TEXT NOT NULL,
                    raw_envelope BLOB NOT NULL,
                    received_at INTEGER NOT NULL
                );
                CREATE INDEX sns_messages_by_topic_and_time ON sns_messages (topic_arn, received_at);
                CREATE INDEX sns_messages_by_time ON sns_messages (received_at);
                CREATE TABLE subscriptions (
                    topic_arn TEXT PRIMARY KEY NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
                    subscription_arn TEXT,
                    subscribe_url TEXT,
                    last_error TEXT,
                    updated_at INTEGER NOT NULL,
                    confirmed_at INTEGER
                );
                """)
        }
        migrator.registerMigration("v2-device-defender-summaries") { db in
            try db.execute(sql: """
                CREATE TABLE audit_tasks (
                    task_id TEXT PRIMARY KEY NOT NULL,
                    account_id TEXT NOT NULL,
                    task_type TEXT NOT NULL,
                    task_status TEXT NOT NULL,
                    scheduled_audit_name TEXT,
                    series_key TEXT NOT NULL,
                    failed_checks_count INTEGER NOT NULL,
                    canceled_checks_count INTEGER NOT NULL,
                    non_compliant_checks_count INTEGER NOT NULL,
                    compliant_checks_count INTEGER NOT NULL,
                    total_checks_count INTEGER NOT NULL,
                    task_start_time INTEGER NOT NULL,
                    received_at INTEGER NOT NULL,
                    source_message_id TEXT NOT NULL,
                    non_compliant_resources INTEGER NOT NULL,
                    previous_task_id TEXT,
                    has_new_findings INTEGER NOT NULL,
                    change_summary TEXT NOT NULL,
                    warnings TEXT NOT NULL
                );
                CREATE INDEX audit_tasks_newest ON audit_tasks (task_start_time DESC, task_id DESC);
                CREATE INDEX audit_tasks_by_series ON audit_tasks (series_key, task_start_time);
                CREATE TABLE audit_check_results (
                    task_id TEXT NOT NULL REFERENCES audit_tasks (task_id) ON DELETE CASCADE,
                    check_name TEXT NOT NULL,
                    check_run_status TEXT NOT NULL,
                    non_compliant_resources_count INTEGER NOT NULL,
                    total_resources_count INTEGER NOT NULL,
                    message TEXT,
                    error_code TEXT,
                    severity TEXT NOT NULL,
                    account_id TEXT NOT NULL,
                    task_start_time INTEGER NOT NULL,
                    PRIMARY KEY (task_id, check_name)
                );
                CREATE INDEX audit_check_results_by_check ON audit_check_results (check_name, account_id, task_start_time);
                CREATE TABLE detect_violations (
                    message_id TEXT PRIMARY KEY NOT NULL,
                    violation_id TEXT NOT NULL,
                    thing_name TEXT NOT NULL,
                    security_profile_name TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    event_time INTEGER NOT NULL,
                    behavior_name TEXT NOT NULL,
                    metric TEXT,
                    criteria TEXT,
                    metric_value TEXT,
                    verification_state TEXT,
                    received_at INTEGER NOT NULL,
                    UNIQUE (violation_id, event_type, event_time)
                );
                CREATE INDEX detect_violations_newest ON detect_violations (event_time DESC);
                CREATE TABLE unrecognized_notifications (
                    message_id TEXT PRIMARY KEY NOT NULL,
                    topic_arn TEXT NOT NULL,
                    subject TEXT,
                    message TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    received_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3-alert-outbox") { db in
            try db.execute(sql: """
                CREATE TABLE deliveries (
                    id TEXT PRIMARY KEY NOT NULL,
                    receiver TEXT NOT NULL,
                    alert_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    body BLOB NOT NULL,
                    fingerprint TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead')),
                    attempts INTEGER NOT NULL,
                    next_attempt_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    last_error TEXT,
                    last_status INTEGER,
                    lease_owner TEXT,
                    lease_until INTEGER,
                    delivered_at INTEGER
                );
                CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
                CREATE INDEX deliveries_repeats ON deliveries (receiver, fingerprint, created_at);
                """)
        }
        // The previous run of a series is found by one index seek, not by sorting the whole series.
        migrator.registerMigration("v4-previous-run-index") { db in
            try db.execute(sql: """
                CREATE INDEX audit_tasks_by_series_run ON audit_tasks (series_key, task_start_time, task_id);
                DROP INDEX IF EXISTS audit_tasks_by_series;
                """)
        }
        // The Message is kept only inside the raw envelope (storing it twice doubled what each
        // message writes); older rows keep their copy. No query reads messages by topic.
        migrator.registerMigration("v5-message-in-envelope-only") { db in
            try db.execute(sql: """
                CREATE TABLE sns_messages_v5 (
                    message_id TEXT PRIMARY KEY NOT NULL,
                    type TEXT NOT NULL,
                    topic_arn TEXT NOT NULL,
                    subject TEXT,
                    message TEXT,
                    sns_timestamp TEXT NOT NULL,
                    signature_version TEXT NOT NULL,
                    signing_cert_url TEXT NOT NULL,
                    raw_envelope BLOB NOT NULL,
                    received_at INTEGER NOT NULL
                );
                INSERT INTO sns_messages_v5 SELECT message_id, type, topic_arn, subject, message, sns_timestamp,
                    signature_version, signing_cert_url, raw_envelope, received_at FROM sns_messages ORDER BY rowid;
                DROP TABLE sns_messages;
                ALTER TABLE sns_messages_v5 RENAME TO sns_messages;
                CREATE INDEX sns_messages_by_time ON sns_messages (received_at);
                """)
        }
        // An audit's checks are stored in its own row (StoredChecks): one row per audit instead
        // of one per check and two more B-trees. Existing check rows move into their audits.
        migrator.registerMigration("v6-checks-in-audit-row") { db in
            try db.execute(sql: """
                ALTER TABLE audit_tasks ADD COLUMN checks TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE audit_tasks ADD COLUMN check_names TEXT NOT NULL DEFAULT '';
                UPDATE audit_tasks SET
                    checks = coalesce((
                        SELECT json_group_array(json(c.document)) FROM (
                            SELECT json_object('checkName', check_name, 'checkRunStatus', check_run_status,
                                'nonCompliantResourcesCount', non_compliant_resources_count, 'totalResourcesCount', total_resources_count,
                                'message', message, 'errorCode', error_code, 'severity', severity) AS document
                            FROM audit_check_results WHERE task_id = audit_tasks.task_id ORDER BY check_name
                        ) c
                    ), '[]'),
                    check_names = coalesce((
                        SELECT char(31) || group_concat(n.check_name, char(31)) || char(31) FROM (
                            SELECT check_name FROM audit_check_results WHERE task_id = audit_tasks.task_id ORDER BY check_name
                        ) n
                    ), '');
                DROP TABLE audit_check_results;
                """)
        }
        // Audit series are per region (the same scheduled audit in two regions is two series);
        // the region comes from the topic of the message that carried each audit. A row whose
        // message was pruned takes the region of its series when the series' other rows name
        // exactly one; otherwise its region stays unknown (''), a series of its own.
        migrator.registerMigration("v7-audit-series-by-region") { db in
            try db.execute(sql: """
                ALTER TABLE audit_tasks ADD COLUMN region TEXT NOT NULL DEFAULT '';
                UPDATE audit_tasks SET region = coalesce((
                    SELECT substr(r.rest, 1, instr(r.rest, ':') - 1) FROM (
                        SELECT substr(m.topic_arn, instr(m.topic_arn, ':sns:') + 5) AS rest FROM sns_messages m
                        WHERE m.message_id = audit_tasks.source_message_id AND instr(m.topic_arn, ':sns:') > 0
                    ) r
                ), '');
                UPDATE audit_tasks SET region = coalesce((
                    SELECT CASE WHEN count(DISTINCT b.region) = 1 THEN max(b.region) END FROM audit_tasks b
                    WHERE b.series_key = audit_tasks.series_key AND b.region <> ''
                ), '') WHERE region = '';
                UPDATE audit_tasks SET series_key = \(SchemaSQL.seriesKeyExpression);
                """)
        }
        // Every list, count and prune reads through an index: the outbox by state and age
        // (listing, metrics, retention), a receiver's lane in queued order (claims), and
        // unrecognized notifications by age (listing, retention).
        migrator.registerMigration("v8-outbox-and-retention-indexes") { db in
            try db.execute(sql: """
                CREATE INDEX deliveries_by_state ON deliveries (state, created_at, id);
                CREATE INDEX deliveries_newest ON deliveries (created_at, id);
                CREATE INDEX deliveries_lane ON deliveries (receiver, state, created_at, id);
                CREATE INDEX unrecognized_notifications_by_time ON unrecognized_notifications (received_at);
                """)
        }
        // Silences: findings of a check that alert nobody until they end (shared by replicas).
        migrator.registerMigration("v9-silences") { db in
            try db.execute(sql: """
                CREATE TABLE silences (
                    id TEXT PRIMARY KEY NOT NULL,
                    check_name TEXT NOT NULL,
                    account_id TEXT,
                    region TEXT,
                    scheduled_audit_name TEXT,
                    starts_at INTEGER NOT NULL,
                    ends_at INTEGER NOT NULL,
                    comment TEXT NOT NULL,
                    created_by TEXT,
                    created_at INTEGER NOT NULL,
                    expired_at INTEGER
                );
                CREATE INDEX silences_by_end ON silences (ends_at);
                """)
        }
        // Detect events wait in their group (alerts.detect) until it is due; a clearing goes to
        // the receivers its alarm went to.
        migrator.registerMigration("v10-detect-groups") { db in
            try db.execute(sql: """
                CREATE TABLE detect_groups (
                    group_key TEXT PRIMARY KEY NOT NULL,
                    topic_arn TEXT NOT NULL,
                    due_at INTEGER,
                    last_flushed_at INTEGER
                );
                CREATE INDEX detect_groups_due ON detect_groups (due_at);
                CREATE TABLE detect_group_events (
                    message_id TEXT PRIMARY KEY NOT NULL,
                    group_key TEXT NOT NULL
                );
                CREATE INDEX detect_group_events_by_group ON detect_group_events (group_key);
                CREATE TABLE detect_alarm_receivers (
                    violation_id TEXT NOT NULL,
                    receiver TEXT NOT NULL,
                    PRIMARY KEY (violation_id, receiver)
                );
                """)
        }
        // The watch on overdue audits asks whether an alert was queued, by its id.
        migrator.registerMigration("v11-deliveries-by-alert") { db in
            try db.execute(sql: "CREATE INDEX deliveries_by_alert ON deliveries (alert_id);")
        }
        return migrator
    }
}
