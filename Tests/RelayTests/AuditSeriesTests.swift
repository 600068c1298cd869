@testable import Storage
import DeviceDefender
import Foundation
import GRDB
import Ingest
import Logging
import Testing

/// What "the previous run" of an audit is: per account, region and schedule; whatever order
/// runs arrive in; however many replicas store them at once.
@Suite(.timeLimit(.minutes(3)))
struct AuditSeriesTests {
    static let logging = [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]

    static func checks(_ count: Int) -> [(String, String, Int)] {
        [("DEVICE_CERTIFICATE_SHARED_CHECK", count > 0 ? "COMPLETED_NON_COMPLIANT" : "COMPLETED_COMPLIANT", count)]
    }

    @Test(arguments: TestBackend.allCases)
    func theSameScheduleInTwoRegionsIsTwoSeries(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            try await AuditFixtures.record(AuditFixtures.audit("us-1", start: 1_000, checks: Self.checks(2)), in: store, region: "us-east-1")
            try await AuditFixtures.record(AuditFixtures.audit("eu-1", start: 1_500, checks: Self.checks(0)), in: store, region: "eu-west-1")
            try await AuditFixtures.record(AuditFixtures.audit("us-2", start: 2_000, checks: Self.checks(2)), in: store, region: "us-east-1")
            try await AuditFixtures.record(AuditFixtures.audit("eu-2", start: 2_500, checks: Self.checks(0)), in: store, region: "eu-west-1")

            let us2 = try #require(try await store.audit(taskID: "us-2")).summary
            #expect(us2.region == "us-east-1")
            #expect(us2.change.previousTaskID == "us-1")
            #expect(us2.change.newlyNonCompliant.isEmpty, "the same finding as in us-east-1's previous run is not new")
            #expect(us2.change.unchanged.map(\.checkName) == ["DEVICE_CERTIFICATE_SHARED_CHECK"])
            let eu2 = try #require(try await store.audit(taskID: "eu-2")).summary
            #expect(eu2.change.previousTaskID == "eu-1")
            #expect(eu2.change.resolved.isEmpty, "eu-west-1 never had the finding: nothing resolved")

            #expect(try await store.audits(AuditQuery(region: "eu-west-1")).audits.map(\.taskID) == ["eu-2", "eu-1"])
            let latest = try await store.latestChecks(trendLength: 5)
            #expect(latest.map { "\($0.region):\($0.nonCompliantResourcesCount):\($0.trend)" } == ["eu-west-1:0:[0, 0]", "us-east-1:2:[2, 2]"])
        }
    }

    @Test(arguments: TestBackend.allCases)
    func aLateRunBecomesThePreviousRunOfTheRunAfterIt(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            try await AuditFixtures.record(AuditFixtures.audit("day-1", start: 1_000, checks: Self.checks(1)), in: store)
            try await AuditFixtures.record(AuditFixtures.audit("day-3", start: 3_000, checks: Self.checks(5)), in: store)
            #expect(try #require(try await store.audit(taskID: "day-3")).summary.change.worsened.map(\.checkName) == ["DEVICE_CERTIFICATE_SHARED_CHECK"])

            // day-2 arrives last (SNS retried it for a while).
            try await AuditFixtures.record(AuditFixtures.audit("day-2", start: 2_000, checks: Self.checks(5)), in: store)
            let day2 = try #require(try await store.audit(taskID: "day-2")).summary.change
            #expect(day2.previousTaskID == "day-1")
            #expect(day2.worsened.map(\.checkName) == ["DEVICE_CERTIFICATE_SHARED_CHECK"])
            let day3 = try #require(try await store.audit(taskID: "day-3")).summary.change
            #expect(day3.previousTaskID == "day-2")
            #expect(day3.worsened.isEmpty)
            #expect(day3.unchanged.map(\.checkName) == ["DEVICE_CERTIFICATE_SHARED_CHECK"])
            #expect(!day3.hasNewFindings)
        }
    }

    /// Two replicas store forty runs of one series at once, in shuffled order, eight at a time
    /// each: every run ends up compared with the run that really came before it.
    @Test func replicasStoringOneSeriesAtOnceCompareEachRunWithItsTruePredecessor() async throws {
        let url = try await TestBackend.postgres.makeDatabaseURL()
        var logger = Logger(label: "series-test")
        logger.logLevel = .critical
        let runs = (0..<40).map { index in
            (id: String(format: "run-%02d", index), start: Int64(1_000 + index * 10), count: index % 3)
        }
        try await StoreFactory.withStore(url: url, logger: logger) { first in
            try await StoreFactory.withStore(url: url, logger: logger) { second in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (lane, chunk) in runs.shuffled().chunked(into: 5).enumerated() {
                        let store = lane.isMultiple(of: 2) ? first : second
                        group.addTask {
                            for run in chunk {
                                // A batch that waited longer than lock_timeout (2 s) for the
                                // series is refused whole, and the relay answers 503: SNS then
                                // delivers the message again. So does this test, when the whole
                                // suite loads both cores.
                                for attempt in 1...5 {
                                    do {
                                        try await AuditFixtures.record(AuditFixtures.audit(run.id, start: run.start, checks: Self.checks(run.count)), in: store)
                                        break
                                    } catch let error as StoreError where attempt < 5 && "\(error)".contains("lock timeout") {
                                        continue
                                    }
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            for (index, run) in runs.enumerated() {
                let change = try #require(try await first.audit(taskID: run.id)).summary.change
                #expect(change.previousTaskID == (index == 0 ? nil : runs[index - 1].id), "\(run.id)")
                let before = index == 0 ? 0 : runs[index - 1].count
                #expect(change.newlyNonCompliant.count == (before == 0 && run.count > 0 ? 1 : 0), "\(run.id)")
            }
        }
        try? await TestBackend.drop(url)
    }

    // MARK: - Migration

    /// Audits stored before regions were: two series, one whose rows name one region (the row
    /// whose message was pruned takes it) and one whose rows name two (the row without a
    /// message stays unknown).
    static let auditsBeforeRegions = """
        INSERT INTO sns_messages VALUES ('m-a', 'Notification', 'arn:aws:sns:eu-west-1:123456789012:audits', NULL, NULL,
            '2026-01-01T00:00:00.000Z', '2', 'https://sns.eu-west-1.amazonaws.com/x.pem', '{}', 1000);
        INSERT INTO sns_messages VALUES ('m-c', 'Notification', 'arn:aws:sns:us-east-1:123456789012:audits', NULL, NULL,
            '2026-01-01T00:00:00.000Z', '2', 'https://sns.us-east-1.amazonaws.com/x.pem', '{}', 1000);
        INSERT INTO sns_messages VALUES ('m-d', 'Notification', 'arn:aws-cn:sns:cn-north-1:123456789012:audits', NULL, NULL,
            '2026-01-01T00:00:00.000Z', '2', 'https://sns.cn-north-1.amazonaws.com.cn/x.pem', '{}', 2000);
        INSERT INTO audit_tasks (task_id, account_id, task_type, task_status, scheduled_audit_name, series_key, failed_checks_count,
            canceled_checks_count, non_compliant_checks_count, compliant_checks_count, total_checks_count, task_start_time, received_at,
            source_message_id, non_compliant_resources, previous_task_id, has_new_findings, change_summary, warnings, checks, check_names)
        VALUES
            ('a-1', '123456789012', 'SCHEDULED_AUDIT_TASK', 'COMPLETED', 'daily', 'scheduled:123456789012:daily', 0, 0, 1, 0, 1, 1000, 1000,
             'm-a', 4, NULL, 1, '{}', '[]', '[{"checkName":"LOGGING_DISABLED_CHECK","checkRunStatus":"COMPLETED_NON_COMPLIANT","nonCompliantResourcesCount":4,"totalResourcesCount":4,"severity":"LOW"}]', ''),
            ('a-2', '123456789012', 'SCHEDULED_AUDIT_TASK', 'COMPLETED', 'daily', 'scheduled:123456789012:daily', 0, 0, 1, 0, 1, 2000, 2000,
             'm-pruned', 4, 'a-1', 0, '{}', '[]', '[{"checkName":"LOGGING_DISABLED_CHECK","checkRunStatus":"COMPLETED_NON_COMPLIANT","nonCompliantResourcesCount":4,"totalResourcesCount":4,"severity":"LOW"}]', ''),
            ('b-1', '123456789012', 'ON_DEMAND_AUDIT_TASK', 'COMPLETED', NULL, 'ON_DEMAND_AUDIT_TASK:123456789012', 0, 0, 0, 0, 0, 1000, 1000,
             'm-c', 0, NULL, 0, '{}', '[]', '[]', ''),
            ('b-2', '123456789012', 'ON_DEMAND_AUDIT_TASK', 'COMPLETED', NULL, 'ON_DEMAND_AUDIT_TASK:123456789012', 0, 0, 0, 0, 0, 2000, 2000,
             'm-d', 0, NULL, 0, '{}', '[]', '[]', ''),
            ('b-3', '123456789012', 'ON_DEMAND_AUDIT_TASK', 'COMPLETED', NULL, 'ON_DEMAND_AUDIT_TASK:123456789012', 0, 0, 0, 0, 0, 3000, 3000,
             'm-pruned-too', 0, NULL, 0, '{}', '[]', '[]', '');
        """

    static func expectRegionsMigrated(_ store: any Store) async throws {
        let regions = try await store.audits(AuditQuery(limit: 10)).audits.map { "\($0.taskID)=\($0.region)" }.sorted()
        #expect(regions == ["a-1=eu-west-1", "a-2=eu-west-1", "b-1=us-east-1", "b-2=cn-north-1", "b-3="])
        // The next eu-west-1 run of the schedule is compared with the migrated a-2.
        try await AuditFixtures.record(
            AuditFixtures.audit("a-3", start: 3_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 4)]), in: store, region: "eu-west-1"
        )
        let change = try #require(try await store.audit(taskID: "a-3")).summary.change
        #expect(change.previousTaskID == "a-2")
        #expect(!change.hasNewFindings)
    }

    /// The series keys the migration wrote in SQL are the ones `AuditNotification.seriesKey` writes.
    static func expectSeriesKeysAsSwiftWritesThem(_ rows: [(taskID: String, key: String)]) {
        let expected: [String: String] = [
            "a-1": AuditNotification.seriesKey(accountID: "123456789012", region: "eu-west-1", scheduledAuditName: "daily", taskType: "SCHEDULED_AUDIT_TASK"),
            "b-2": AuditNotification.seriesKey(accountID: "123456789012", region: "cn-north-1", scheduledAuditName: nil, taskType: "ON_DEMAND_AUDIT_TASK"),
            "b-3": AuditNotification.seriesKey(accountID: "123456789012", region: "", scheduledAuditName: nil, taskType: "ON_DEMAND_AUDIT_TASK"),
        ]
        for row in rows where expected[row.taskID] != nil {
            #expect(row.key == expected[row.taskID], "\(row.taskID)")
        }
        #expect(Set(rows.map(\.taskID)).isSuperset(of: expected.keys))
    }

    @Test func sqliteMigrationGivesStoredAuditsTheirRegion() async throws {
        let path = try makeTemporaryDirectory("migrate-v7").appendingPathComponent("relay.sqlite").path
        let old = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(old, upTo: "v6-checks-in-audit-row")
        try await old.write { db in try db.execute(sql: Self.auditsBeforeRegions) }
        try old.close()
        let store = try SQLiteStore(path: path)
        let keys = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT task_id, series_key FROM audit_tasks").map { (taskID: $0["task_id"] as String, key: $0["series_key"] as String) }
        }
        Self.expectSeriesKeysAsSwiftWritesThem(keys)
        try await Self.expectRegionsMigrated(store)
        await store.close()
    }

    @Test func postgresMigrationGivesStoredAuditsTheirRegion() async throws {
        let url = try await TestBackend.postgres.makeDatabaseURL()
        let before = PostgresSchema.migrations.prefix { $0.name != "v8-audit-series-by-region" }
        try await TestBackend.psql(url, before.map(\.sql).joined(separator: ";\n") + """
            ;
            CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL);
            \(before.map { "INSERT INTO schema_migrations VALUES ('\($0.name)', 1);" }.joined(separator: "\n"))
            \(Self.auditsBeforeRegions)
            """)
        var logger = Logger(label: "migration-test")
        logger.logLevel = .critical
        try await StoreFactory.withStore(url: url, logger: logger) { store in
            let rows = try await (store as! PostgresStore).rows(SQLStatement("SELECT task_id, series_key FROM audit_tasks"))
            Self.expectSeriesKeysAsSwiftWritesThem(try rows.map { (taskID: try $0.text("task_id"), key: try $0.text("series_key")) })
            try await Self.expectRegionsMigrated(store)
        }
        try? await TestBackend.drop(url)
    }
}

extension Array {
    func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
