@testable import Storage
import Foundation
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
        #expect(try await store.appliedMigrations() == ["v1-sns-messages-and-subscriptions", "v2-device-defender-summaries", "v3-alert-outbox", "v4-previous-run-index"])
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
            #expect(try await postgres.appliedMigrations() == ["v1-sns-messages-and-subscriptions", "v2-device-defender-summaries", "v3-alert-outbox", "v4-previous-run-index"])
            #expect(try await store.storedMessage(id: "old-1")?.message == "hello")
            try await AuditFixtures.record(AuditFixtures.audit("after-upgrade", start: 5, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store)
            #expect(try await store.audits(AuditQuery()).audits.map(\.taskID) == ["after-upgrade"])
        }
        // Migrating again (another replica starting) changes nothing.
        let count = try await StoreFactory.withStore(url: url, logger: logger) { store in try await store.messageCount() }
        #expect(count == 2)
        try? await TestBackend.drop(url)
    }
}
