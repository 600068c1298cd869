@testable import Storage
import DeviceDefender
import Foundation
import Ingest
import GRDB
import Logging
import Testing

/// A database made by the previous release (schema v1, with data) is brought to the current
/// schema without losing anything; an empty database migrates from nothing.
@Suite(.timeLimit(.minutes(2)))
struct MigrationTests {
    @Test func sqliteMigratesFromTheFirstSchemaKeepingItsData() async throws {
        let path = try makeTemporaryDirectory("migrate").appendingPathComponent("relay.sqlite").path
        let old = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(old, upTo: "v1-sns-messages-and-subscriptions")
        try await old.write { db in
            try db.execute(sql: """
                INSERT INTO sns_messages VALUES ('old-1', 'Notification', 'arn:aws:sns:us-east-1:1:t', NULL, 'hello', '2026-01-01T00:00:00.000Z', '2', 'https://sns.us-east-1.amazonaws.com/x.pem', x'7b7d', 1);
                INSERT INTO subscriptions (topic_arn, status, updated_at) VALUES ('arn:aws:sns:us-east-1:1:t', 'confirmed', 1);
                """)
        }
        try old.close()

        let store = try SQLiteStore(path: path)
        #expect(try await store.appliedMigrations() == ["v1-sns-messages-and-subscriptions", "v2-device-defender-summaries", "v3-alert-outbox", "v4-previous-run-index", "v5-message-in-envelope-only", "v6-checks-in-audit-row", "v7-audit-series-by-region", "v8-outbox-and-retention-indexes", "v9-silences", "v10-detect-groups", "v11-deliveries-by-alert"])
        #expect(try await store.storedMessage(id: "old-1")?.message == "hello")
        #expect(try await store.subscriptions().count == 1)
        try await AuditFixtures.record(AuditFixtures.audit("after-upgrade", start: 5, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store)
        #expect(try await store.audits(AuditQuery()).audits.map(\.taskID) == ["after-upgrade"])
        await store.close()
    }

    @Test func postgresMigratesFromTheFirstSchemaKeepingItsData() async throws {
        let url = try await TestBackend.postgres.makeDatabaseURL()
        let v1 = PostgresSchema.migrations[0]
        try await TestBackend.psql(url, v1.sql + """
            CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL);
            INSERT INTO schema_migrations VALUES ('\(v1.name)', 1);
            INSERT INTO sns_messages VALUES ('old-1', 'Notification', 'arn:aws:sns:us-east-1:1:t', NULL, 'hello', '2026-01-01T00:00:00.000Z', '2', 'https://sns.us-east-1.amazonaws.com/x.pem', '\\\\x7b7d', 1);
            """)
        var logger = Logger(label: "migration-test")
        logger.logLevel = .critical
        try await StoreFactory.withStore(url: url, logger: logger) { store in
            let postgres = try #require(store as? PostgresStore)
            #expect(try await postgres.appliedMigrations() == ["v1-sns-messages-and-subscriptions", "v2-device-defender-summaries", "v3-alert-outbox", "v4-previous-run-index", "v5-message-in-envelope-only", "v6-checks-in-audit-row", "v7-lz4-compression", "v8-audit-series-by-region", "v9-outbox-and-retention-indexes", "v10-silences", "v11-detect-groups", "v12-deliveries-by-alert"])
            #expect(try await store.storedMessage(id: "old-1")?.message == "hello")
            try await AuditFixtures.record(AuditFixtures.audit("after-upgrade", start: 5, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store)
            #expect(try await store.audits(AuditQuery()).audits.map(\.taskID) == ["after-upgrade"])
        }
        // Migrating again (another replica starting) changes nothing.
        let count = try await StoreFactory.withStore(url: url, logger: logger) { store in try await store.messageCount() }
        #expect(count == 2)
        try? await TestBackend.drop(url)
    }

    /// Schema v6 moves each audit's check rows into the audit's own row: what an audit, the
    /// check filter and the latest-check summary show is the same before and after.
    static let auditBeforeV6 = """
        INSERT INTO audit_tasks (task_id, account_id, task_type, task_status, scheduled_audit_name, series_key,
            failed_checks_count, canceled_checks_count, non_compliant_checks_count, compliant_checks_count, total_checks_count,
            task_start_time, received_at, source_message_id, non_compliant_resources, previous_task_id, has_new_findings,
            change_summary, warnings)
        VALUES ('t-1', '123456789012', 'SCHEDULED_AUDIT_TASK', 'COMPLETED', 'daily', 'scheduled:123456789012:daily',
            1, 0, 1, 0, 2, 1000, 1000, 'm-1', 3, NULL, 1, '{}', '[]');
        INSERT INTO sns_messages VALUES ('m-1', 'Notification', 'arn:aws:sns:us-east-1:123456789012:device-defender-audits', NULL, '{}',
            '2026-01-01T00:00:00.000Z', '2', 'https://sns.us-east-1.amazonaws.com/x.pem', '{}', 1000);
        INSERT INTO audit_check_results VALUES ('t-1', 'LOGGING_DISABLED_CHECK', 'COMPLETED_NON_COMPLIANT', 3, 5, NULL, NULL, 'LOW', '123456789012', 1000);
        INSERT INTO audit_check_results VALUES ('t-1', 'CA_CERTIFICATE_EXPIRING_CHECK', 'FAILED', 0, 0, 'no access "here"', 'INSUFFICIENT_PERMISSIONS', 'MEDIUM', '123456789012', 1000);
        """

    static func expectChecksSurvivedV6(_ store: any Store) async throws {
        let audit = try #require(try await store.audit(taskID: "t-1"))
        #expect(audit.checks == [
            AuditCheckResult(checkName: "CA_CERTIFICATE_EXPIRING_CHECK", runStatus: .failed, nonCompliantResourcesCount: 0, totalResourcesCount: 0,
                             message: "no access \"here\"", errorCode: "INSUFFICIENT_PERMISSIONS", severity: .medium),
            AuditCheckResult(checkName: "LOGGING_DISABLED_CHECK", runStatus: .nonCompliant, nonCompliantResourcesCount: 3, totalResourcesCount: 5, severity: .low),
        ])
        #expect(try await store.audits(AuditQuery(checkName: "LOGGING_DISABLED_CHECK")).audits.map(\.taskID) == ["t-1"])
        #expect(try await store.audits(AuditQuery(checkName: "LOGGING_DISABLED")).audits.isEmpty)
        #expect(try await store.latestChecks(trendLength: 3).map(\.checkName) == ["CA_CERTIFICATE_EXPIRING_CHECK", "LOGGING_DISABLED_CHECK"])
        // The next run of the series is compared with the migrated one.
        try await AuditFixtures.record(AuditFixtures.audit("t-2", start: 2_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 7)]), in: store)
        let change = try #require(try await store.audit(taskID: "t-2")).summary.change
        #expect(change.previousTaskID == "t-1")
        #expect(change.worsened.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])
    }

    @Test func sqliteMovesCheckRowsIntoTheirAudits() async throws {
        let path = try makeTemporaryDirectory("migrate-v6").appendingPathComponent("relay.sqlite").path
        let old = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(old, upTo: "v5-message-in-envelope-only")
        try await old.write { db in try db.execute(sql: Self.auditBeforeV6) }
        try old.close()
        let store = try SQLiteStore(path: path)
        try await Self.expectChecksSurvivedV6(store)
        await store.close()
    }

    @Test func postgresMovesCheckRowsIntoTheirAudits() async throws {
        let url = try await TestBackend.postgres.makeDatabaseURL()
        let before = PostgresSchema.migrations.prefix(5)
        try await TestBackend.psql(url, before.map(\.sql).joined(separator: ";\n") + """
            ;
            CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL);
            \(before.map { "INSERT INTO schema_migrations VALUES ('\($0.name)', 1);" }.joined(separator: "\n"))
            \(Self.auditBeforeV6)
            """)
        var logger = Logger(label: "migration-test")
        logger.logLevel = .critical
        try await StoreFactory.withStore(url: url, logger: logger) { store in try await Self.expectChecksSurvivedV6(store) }
        try? await TestBackend.drop(url)
    }
}
