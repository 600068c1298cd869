import Foundation
import GRDB
@testable import Storage
import DeviceDefender
import Testing

/// Every audit stored looks up the previous run of its series inside the write transaction.
/// That must be one index seek, whatever the length of the series: a plan that sorts the
/// series (a temporary B-tree) makes every write slower as the history grows.
@Suite struct PreviousRunQueryTests {
    @Test func findsThePreviousRunWithOneIndexSeek() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path)
        await store.close()
        let audit = AuditNotification(
            accountID: "123456789012", taskID: "a1", taskStatus: .completed, taskType: .scheduled, scheduledAuditName: "daily",
            failedChecksCount: 0, canceledChecksCount: 0, nonCompliantChecksCount: 0, compliantChecksCount: 0, totalChecksCount: 0,
            taskStartTime: 1_700_000_000_000, checks: []
        )
        let plan = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SummarySQL.previousRunSQL, arguments: [audit.seriesKey, audit.taskStartTime, audit.taskID])
                .map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("audit_tasks_by_series_run") }, "\(plan)")
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
    }
}
