import DeviceDefender
import Foundation
import Ingest
import Storage
import Testing

/// The one ingest transaction, run on both stores with several messages at once: a batch
/// stores what storing its messages one by one would, whatever their order and repeats.
@Suite(.timeLimit(.minutes(2)))
struct RecordBatchContractTests {
    static func item(_ text: String, id: String, receivedAt: Int64 = 1_800_000_000_000) -> IngestItem {
        IngestItem(message: AuditFixtures.message(text, id: id, receivedAt: receivedAt), effect: .notificationDelivered, payload: .classify(text))
    }

    static func record(_ items: [IngestItem], in store: any Store) async throws -> [RecordOutcome] {
        try await store.withIngestTransaction { transaction in try await RecordBatch.record(items, planner: nil, in: transaction) }
    }

    @Test(arguments: TestBackend.allCases)
    func aBatchStoresWhatOneMessageAtATimeWould(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let older = AuditFixtures.audit("run-1", start: 1_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)])
            let newer = AuditFixtures.audit("run-2", start: 2_000, checks: [
                ("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 4), ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 2),
            ])
            // Newest run first, one message twice, one audit under a second MessageId.
            let batch = [Self.item(newer, id: "m-2"), Self.item(older, id: "m-1"), Self.item(newer, id: "m-2"), Self.item(older, id: "m-1b")]
            #expect(try await Self.record(batch, in: store) == [.recorded, .recorded, .duplicate, .recorded])
            #expect(try await store.messageCount() == 3)
            #expect(try await store.audits(AuditQuery()).audits.map(\.taskID) == ["run-2", "run-1"])
            #expect(try #require(try await store.audit(taskID: "run-1")).summary.change.isFirstRun)
            let change = try #require(try await store.audit(taskID: "run-2")).summary.change
            #expect(change.previousTaskID == "run-1")
            #expect(change.worsened.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])
            #expect(change.newlyNonCompliant.map(\.checkName) == ["DEVICE_CERTIFICATE_SHARED_CHECK"])
            #expect(try await store.subscriptions().map(\.status) == [.confirmed])

            // The same batch again (SNS redelivering all of it) changes nothing.
            #expect(try await Self.record(batch, in: store) == [.duplicate, .duplicate, .duplicate, .duplicate])
            #expect(try await store.messageCount() == 3)
            #expect(try #require(try await store.audit(taskID: "run-2")).summary.change == change)

            // A later run in another batch is compared with the newest stored one.
            let latest = AuditFixtures.audit("run-3", start: 3_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0)])
            #expect(try await Self.record([Self.item(latest, id: "m-3")], in: store) == [.recorded])
            let resolved = try #require(try await store.audit(taskID: "run-3")).summary.change
            #expect(resolved.previousTaskID == "run-2")
            #expect(resolved.resolved.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])
        }
    }

    @Test(arguments: TestBackend.allCases)
    func aFailingBatchLeavesNothingBehind(_ backend: TestBackend) async throws {
        struct Refused: Error {}
        try await withTestStore(backend) { store, _ async throws in
            let text = AuditFixtures.audit("t-1", start: 1_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)])
            await #expect(throws: Refused.self) {
                try await store.withIngestTransaction { transaction in
                    _ = try await RecordBatch.record([Self.item(text, id: "m-1")], planner: nil, in: transaction)
                    throw Refused()
                }
            }
            #expect(try await store.messageCount() == 0)
            #expect(try await store.audit(taskID: "t-1") == nil)
            // The same message then stores normally, compared with nothing (the failed batch's
            // audit is not a previous run).
            #expect(try await Self.record([Self.item(text, id: "m-1")], in: store) == [.recorded])
            #expect(try #require(try await store.audit(taskID: "t-1")).summary.change.isFirstRun)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func repeatsAreSuppressedWithinOneBatchToo(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            func delivery(_ alert: String, _ fingerprint: String, at: Int64) -> NewDelivery {
                NewDelivery(entry: OutboxContractTests.entry(alert, fingerprint: fingerprint, repeatInterval: 3600), at: at)
            }
            let deliveries = [
                delivery("a1", "same", at: 0), delivery("a2", "same", at: 1_000), delivery("a3", "other", at: 1_000),
                delivery("a4", "same", at: 3_601_000),
            ]
            try await store.withIngestTransaction { transaction in try await RecordBatch.queue(deliveries, in: transaction) }
            // a1 is still waiting to be sent: its repeats in the batch wait with it, however late.
            #expect(Set(try await store.deliveries(state: nil, limit: 10).map(\.alertID)) == ["a1", "a3"])
        }
    }
}
