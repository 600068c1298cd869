import Foundation
import GRDB
@testable import Storage
import Testing

/// What a scrape of /metrics, a list in the API and a retention batch cost must not grow with
/// the stored history: each of their queries reads through an index (SQLite's plan says
/// `SEARCH` or `SCAN ... USING ... INDEX`), never a whole table.
@Suite struct QueryPlanTests {
    static func plan(_ statement: SQLStatement) async throws -> [String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).sqlite").path
        let store = try SQLiteStore(path: path)
        await store.close()
        return try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement.sql, arguments: StatementArguments(statement.arguments.map(\.databaseValue)))
                .map { $0["detail"] as String }
        }
    }

    /// A step that reads a whole table: `SCAN t` without an index.
    static func fullScans(_ plan: [String]) -> [String] {
        plan.filter { $0.hasPrefix("SCAN ") && !$0.contains("INDEX") && !$0.contains("CONSTANT ROW") && !$0.hasPrefix("SCAN series") && !$0.hasPrefix("SCAN u") }
    }

    /// Lists answer a page of the newest rows: they must read them in index order, never sort
    /// the table. Grouping the queued deliveries and sorting one receiver's due deliveries
    /// sort only those rows (the queue, not the history); so do the due Detect groups and the
    /// silences in effect (at most 1000).
    static let sortsOnlyWhatItSelected: Set<String> = ["deliveries queued per receiver", "claim a lane", "detect: due groups", "silences in effect"]

    static let statements: [(String, SQLStatement)] = [
        ("metrics: checks", SummarySQL.recentRunsOfEverySeries(runs: 1, dialect: .sqlite)),
        ("metrics: deliveries", SummarySQL.deliveryCounts),
        ("deliveries queued per receiver", SummarySQL.queuedByReceiver),
        ("list deliveries", SummarySQL.deliveries(state: nil, limit: 50)),
        ("list dead deliveries", SummarySQL.deliveries(state: .dead, limit: 50)),
        ("list unrecognized", SummarySQL.unrecognized(limit: 50)),
        ("claim a lane", SummarySQL.claimDeliveries(owner: "o", receiver: "slack", now: 1, leaseUntil: 2, limit: 10, skipLocked: false)),
        // Run every few seconds by the overdue watch and the Detect group sender.
        ("overdue: alert queued", ArrivalSQL.alertQueued("overdue:x:r-1")),
        ("overdue: latest runs", ArrivalSQL.latestScheduled(accountID: "123456789012", region: "eu-west-1", limit: 1000)),
        ("detect: next due group", DetectGroupSQL.nextDue),
        ("detect: due groups", DetectGroupSQL.dueGroups(now: 1, limit: 20, postgres: false)),
        ("repeats", SummarySQL.recentlyQueued(RepeatQuery(receiver: "slack", fingerprint: "f", since: 1))),
        ("silences in effect", SilenceSQL.list(includeEnded: false, at: 1)),
    ] + SummarySQL.prune(RetentionPlan(messagesBefore: 1, summariesBefore: 1, deliveredBefore: 1, deadBefore: 1), dialect: .sqlite).map { ("prune", $0) }

    @Test(arguments: statements.indices)
    func readsThroughAnIndex(_ index: Int) async throws {
        let (name, statement) = Self.statements[index]
        let plan = try await Self.plan(statement)
        #expect(Self.fullScans(plan).isEmpty, "\(name): \(plan)")
        if !Self.sortsOnlyWhatItSelected.contains(name) {
            #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(name) sorts rows: \(plan)")
        }
    }
}
