import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Relay
import SNS
import Storage
import TestSupport
import Testing

/// Several replicas behind a load balancer on one PostgreSQL database: SNS may deliver the same
/// message to both (at-least-once delivery, retries after a timeout); each audit is stored once.
@Suite(.timeLimit(.minutes(3)))
struct ReplicaTests {
    @Test func twoRelaysOnOnePostgresStoreEachAuditOnce() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let url = try fake.publish(.shared)
        let database = try await TestBackend.postgres.makeDatabaseURL()
        let directory = try makeTemporaryDirectory("replicas")
        let yaml = """
            server: {port: 0}
            sns:
              allowed_topics: ["\(RelayHarness.topic)"]
            storage: {url: "\(database)"}
            outbound:
              ca_file: \(fake.pki.caFile)
              connect_to: [\(fake.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
            """
        // Both start at once: the migration runs once under the advisory lock.
        async let startFirst = RelayProcess.serve(configurationYAML: yaml, in: directory)
        async let startSecond = RelayProcess.serve(configurationYAML: yaml, in: directory)
        let (first, second) = try await (startFirst, startSecond)
        defer {
            first.process.terminate()
            second.process.terminate()
        }

        let audits = 40
        let envelopes = try (0..<audits).map { index in
            try TestEnvelope(
                type: .notification,
                message: AuditFixtures.audit("replica-\(index)", start: Int64(1_000 + index), checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]),
                certificateURL: url
            ).signed()
        }
        // Every message to both replicas, concurrently; plus the first ten re-published under a
        // new MessageId (same taskId) to the second replica.
        let republished = try envelopes.prefix(10).map { original -> TestEnvelope in
            var copy = original
            copy.fields["MessageId"] = UUID().uuidString.lowercased()
            return try copy.signed()
        }
        let statuses = try await withThrowingTaskGroup(of: [HTTPResponse.Status].self) { group in
            for (relay, batch) in [(first, envelopes), (second, envelopes), (second, republished)] {
                group.addTask {
                    try await TestClient.withClient(host: "127.0.0.1", port: relay.port) { client in
                        var statuses: [HTTPResponse.Status] = []
                        for envelope in batch {
                            let response = try await client.execute(.init("/sns", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(bytes: envelope.body)))
                            statuses.append(response.head.status)
                        }
                        return statuses
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(statuses.count == 2 * audits + 10)
        #expect(statuses.allSatisfy { $0 == .ok })

        var logger = Logger(label: "replica-test")
        logger.logLevel = .critical
        let (messages, stored) = try await StoreFactory.withStore(url: database, logger: logger) { store in
            (try await store.messageCount(), try await store.audits(AuditQuery(limit: 500)).audits)
        }
        #expect(messages == audits + 10)
        #expect(stored.count == audits)
        #expect(Set(stored.map(\.taskID)).count == audits)
        try? await TestBackend.drop(database)
    }
}
