import DeviceDefender
import Foundation
@testable import Storage
import Testing

/// The WAL is copied back into the database by a background checkpoint, and stays bounded
/// when that falls behind: the writer then checkpoints itself.
@Suite(.timeLimit(.minutes(1)))
struct SQLiteCheckpointTests {
    static func store(start: Int32, limit: Int32) throws -> SQLiteStore {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString).sqlite").path
        return try SQLiteStore(path: path, checkpoints: .init(startFrames: start, limitFrames: limit))
    }

    /// `count` messages of about 3 KiB each (about one WAL page each), in one transaction.
    static func write(_ count: Int, to store: SQLiteStore, from first: Int) async throws {
        _ = try await store.withIngestTransaction { transaction in
            let messages = (first..<(first + count)).map { index in
                StoredMessage(
                    messageID: "m-\(index)", type: "Notification", topicARN: "arn:aws:sns:us-east-1:123456789012:t", subject: nil,
                    message: "", snsTimestamp: "2026-12-02T00:00:00.000Z", signatureVersion: "2",
                    signingCertURL: "https://sns.us-east-1.amazonaws.com/x.pem", rawEnvelope: Array(repeating: 0x41, count: 3000), receivedAt: 1
                )
            }
            return try await transaction.insertMessages(messages, previousRunsOf: []).inserted
        }
    }

    @Test func aBackgroundCheckpointLetsTheWALStartOver() async throws {
        let store = try Self.store(start: 64, limit: 1_000_000)
        // Writes until the WAL passed 64 pages, a background checkpoint ran, and a later
        // transaction found the WAL copied and wrote it again from its start.
        var next = 0
        var longest: Int32 = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while longest < 64 || store.walState.background == 0 || store.walState.frames >= 64 {
            guard ContinuousClock.now < deadline else {
                Issue.record("the WAL never started over: \(store.walState), longest \(longest)")
                break
            }
            try await Self.write(longest < 64 ? 10 : 1, to: store, from: next)
            next += longest < 64 ? 10 : 1
            longest = max(longest, store.walState.frames)
            if longest >= 64 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(store.walState.writer == 0, "the writer had to checkpoint itself")
        #expect(try await store.messageCount() == next)
        await store.close()
    }

    @Test func theWriterCheckpointsWhenTheWALPassesItsLimit() async throws {
        // No background checkpoint at all: only the writer's own keeps the WAL bounded.
        let store = try Self.store(start: 1_000_000, limit: 100)
        var next = 0
        var longest: Int32 = 0
        for _ in 0..<30 {
            try await Self.write(10, to: store, from: next)
            next += 10
            longest = max(longest, store.walState.frames)
        }
        #expect(store.walState.writer >= 1)
        #expect(store.walState.background == 0)
        // A transaction may take the WAL past the limit; the next one starts it over.
        #expect(longest < 100 + 40, "the WAL reached \(longest) pages")
        #expect(try await store.messageCount() == next)
        await store.close()
    }

    @Test func recentChecksAreBounded() {
        let recent = RecentAuditChecks()
        let check = AuditCheckResult(checkName: "LOGGING_DISABLED_CHECK", runStatus: .compliant, nonCompliantResourcesCount: 0, totalResourcesCount: 1, severity: .low)
        for index in 0..<(RecentAuditChecks.capacity * 3) {
            recent.remember("t-\(index)", [check])
            #expect(recent.count <= RecentAuditChecks.capacity)
        }
        let last = RecentAuditChecks.capacity * 3 - 1
        #expect(recent["t-\(last)"] == [check])
        #expect(recent["t-0"] == nil)
        recent.forget(["t-\(last)"])
        #expect(recent["t-\(last)"] == nil)
    }
}
