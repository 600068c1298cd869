/// The PostgreSQL schema, one migration per version, the same tables and meaning as SQLite's.
/// Migrations are append-only and run under an advisory lock, so replicas starting together
/// migrate once.
enum PostgresSchema {
    /// One version's statements (separated by `;`).
    struct Migration: Sendable {
        let name: String
        let sql: String
        /// An improvement the schema works without (a server feature that may be missing): a
        /// statement that fails is skipped with a warning, and the version counts as applied.
        var optional = false

        init(_ name: String, _ sql: String, optional: Bool = false) {
            self.name = name
            self.sql = sql
            self.optional = optional
        }
    }

    static let migrations: [Migration] = [
        Migration("v1-sns-messages-and-subscriptions", """
            CREATE TABLE sns_messages (
                message_id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                topic_arn TEXT NOT NULL,
                subject TEXT,
                message TEXT NOT NULL,
                sns_timestamp TEXT NOT NULL,
                signature_version TEXT NOT NULL,
                signing_cert_url TEXT NOT NULL,
                raw_envelope BYTEA NOT NULL,
                received_at BIGINT NOT NULL
            );
            CREATE INDEX sns_messages_by_topic_and_time ON sns_messages (topic_arn, received_at);
            CREATE INDEX sns_messages_by_time ON sns_messages (received_at);
            CREATE TABLE subscriptions (
                topic_arn TEXT PRIMARY KEY,
                status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
                subscription_arn TEXT,
                subscribe_url TEXT,
                last_error TEXT,
                updated_at BIGINT NOT NULL,
                confirmed_at BIGINT
            );
            """),
        Migration("v2-device-defender-summaries", """
            CREATE TABLE audit_tasks (
                task_id TEXT PRIMARY KEY,
                account_id TEXT NOT NULL,
                task_type TEXT NOT NULL,
                task_status TEXT NOT NULL,
                scheduled_audit_name TEXT,
                series_key TEXT NOT NULL,
                failed_checks_count BIGINT NOT NULL,
                canceled_checks_count BIGINT NOT NULL,
                non_compliant_checks_count BIGINT NOT NULL,
                compliant_checks_count BIGINT NOT NULL,
                total_checks_count BIGINT NOT NULL,
                task_start_time BIGINT NOT NULL,
                received_at BIGINT NOT NULL,
                source_message_id TEXT NOT NULL,
                non_compliant_resources BIGINT NOT NULL,
                previous_task_id TEXT,
                has_new_findings BIGINT NOT NULL,
                change_summary TEXT NOT NULL,
                warnings TEXT NOT NULL
            );
            CREATE INDEX audit_tasks_newest ON audit_tasks (task_start_time DESC, task_id DESC);
            CREATE INDEX audit_tasks_by_series ON audit_tasks (series_key, task_start_time);
            CREATE TABLE audit_check_results (
                task_id TEXT NOT NULL REFERENCES audit_tasks (task_id) ON DELETE CASCADE,
                check_name TEXT NOT NULL,
                check_run_status TEXT NOT NULL,
                non_compliant_resources_count BIGINT NOT NULL,
                total_resources_count BIGINT NOT NULL,
                message TEXT,
                error_code TEXT,
                severity TEXT NOT NULL,
                account_id TEXT NOT NULL,
                task_start_time BIGINT NOT NULL,
                PRIMARY KEY (task_id, check_name)
            );
            CREATE INDEX audit_check_results_by_check ON audit_check_results (check_name, account_id, task_start_time);
            CREATE TABLE detect_violations (
                message_id TEXT PRIMARY KEY,
                violation_id TEXT NOT NULL,
                thing_name TEXT NOT NULL,
                security_profile_name TEXT NOT NULL,
                event_type TEXT NOT NULL,
                event_time BIGINT NOT NULL,
                behavior_name TEXT NOT NULL,
                metric TEXT,
                criteria TEXT,
                metric_value TEXT,
                verification_state TEXT,
                received_at BIGINT NOT NULL,
                UNIQUE (violation_id, event_type, event_time)
            );
            CREATE INDEX detect_violations_newest ON detect_violations (event_time DESC);
            CREATE TABLE unrecognized_notifications (
                message_id TEXT PRIMARY KEY,
                topic_arn TEXT NOT NULL,
                subject TEXT,
                message TEXT NOT NULL,
                reason TEXT NOT NULL,
                received_at BIGINT NOT NULL
            );
            """),
        Migration("v3-alert-outbox", """
            CREATE TABLE deliveries (
                id TEXT PRIMARY KEY,
                receiver TEXT NOT NULL,
                alert_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                body BYTEA NOT NULL,
                fingerprint TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead')),
                attempts BIGINT NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                last_error TEXT,
                last_status BIGINT,
                lease_owner TEXT,
                lease_until BIGINT,
                delivered_at BIGINT
            );
            CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
            CREATE INDEX deliveries_repeats ON deliveries (receiver, fingerprint, created_at);
            """),
        // The previous run of a series is found by one index seek, not by sorting the whole series.
        Migration("v4-previous-run-index", """
            CREATE INDEX audit_tasks_by_series_run ON audit_tasks (series_key, task_start_time, task_id);
            DROP INDEX IF EXISTS audit_tasks_by_series;
            """),
        // The Message is kept only inside the raw envelope; older rows keep their copy. No query
        // reads messages by topic.
        Migration("v5-message-in-envelope-only", """
            ALTER TABLE sns_messages ALTER COLUMN message DROP NOT NULL;
            DROP INDEX IF EXISTS sns_messages_by_topic_and_time;
            """),
        // An audit's checks are stored in its own row (StoredChecks); existing check rows move
        // into their audits.
        Migration("v6-checks-in-audit-row", """
            ALTER TABLE audit_tasks ADD COLUMN checks TEXT NOT NULL DEFAULT '[]';
            ALTER TABLE audit_tasks ADD COLUMN check_names TEXT NOT NULL DEFAULT '';
            UPDATE audit_tasks a SET checks = c.checks, check_names = c.check_names
            FROM (
                SELECT task_id,
                    json_agg(json_build_object('checkName', check_name, 'checkRunStatus', check_run_status,
                        'nonCompliantResourcesCount', non_compliant_resources_count, 'totalResourcesCount', total_resources_count,
                        'message', message, 'errorCode', error_code, 'severity', severity) ORDER BY check_name)::text AS checks,
                    chr(31) || string_agg(check_name, chr(31) ORDER BY check_name) || chr(31) AS check_names
                FROM audit_check_results GROUP BY task_id
            ) c
            WHERE a.task_id = c.task_id;
            DROP TABLE audit_check_results;
            """),
        // The envelope and the documents stored with an audit are compressed with LZ4 when
        // PostgreSQL moves them out of line (rows over 2 KB): pglz cost more than the insert.
        // PostgreSQL 14+ built with LZ4 (the Debian, Ubuntu and RDS builds are); elsewhere the
        // default compression stays.
        Migration("v7-lz4-compression", """
            ALTER TABLE sns_messages ALTER COLUMN raw_envelope SET COMPRESSION lz4;
            ALTER TABLE audit_tasks ALTER COLUMN checks SET COMPRESSION lz4;
            ALTER TABLE audit_tasks ALTER COLUMN change_summary SET COMPRESSION lz4
            """, optional: true),
        // Audit series are per region; see SQLiteSchema's v7 for the rules.
        Migration("v8-audit-series-by-region", """
            ALTER TABLE audit_tasks ADD COLUMN region TEXT NOT NULL DEFAULT '';
            UPDATE audit_tasks a SET region = split_part(m.topic_arn, ':', 4)
            FROM sns_messages m WHERE m.message_id = a.source_message_id;
            UPDATE audit_tasks a SET region = coalesce((
                SELECT CASE WHEN count(DISTINCT b.region) = 1 THEN max(b.region) END FROM audit_tasks b
                WHERE b.series_key = a.series_key AND b.region <> ''
            ), '') WHERE a.region = '';
            UPDATE audit_tasks SET series_key = \(SchemaSQL.seriesKeyExpression);
            """),
        // See SQLiteSchema's v8.
        Migration("v9-outbox-and-retention-indexes", """
            CREATE INDEX deliveries_by_state ON deliveries (state, created_at, id);
            CREATE INDEX deliveries_newest ON deliveries (created_at, id);
            CREATE INDEX deliveries_lane ON deliveries (receiver, state, created_at, id);
            CREATE INDEX unrecognized_notifications_by_time ON unrecognized_notifications (received_at);
            """),
        // See SQLiteSchema's v9.
        Migration("v10-silences", """
            CREATE TABLE silences (
                id TEXT PRIMARY KEY,
                check_name TEXT NOT NULL,
                account_id TEXT,
                region TEXT,
                scheduled_audit_name TEXT,
                starts_at BIGINT NOT NULL,
                ends_at BIGINT NOT NULL,
                comment TEXT NOT NULL,
                created_by TEXT,
                created_at BIGINT NOT NULL,
                expired_at BIGINT
            );
            CREATE INDEX silences_by_end ON silences (ends_at);
            """),
        // See SQLiteSchema's v10.
        Migration("v11-detect-groups", """
            CREATE TABLE detect_groups (
                group_key TEXT PRIMARY KEY,
                topic_arn TEXT NOT NULL,
                due_at BIGINT,
                last_flushed_at BIGINT
            );
            CREATE INDEX detect_groups_due ON detect_groups (due_at);
            CREATE TABLE detect_group_events (
                message_id TEXT PRIMARY KEY,
                group_key TEXT NOT NULL
            );
            CREATE INDEX detect_group_events_by_group ON detect_group_events (group_key);
            CREATE TABLE detect_alarm_receivers (
                violation_id TEXT NOT NULL,
                receiver TEXT NOT NULL,
                PRIMARY KEY (violation_id, receiver)
            );
            """),
        // See SQLiteSchema's v11.
        Migration("v12-deliveries-by-alert", """
            CREATE INDEX deliveries_by_alert ON deliveries (alert_id);
            """),
    ]
}
