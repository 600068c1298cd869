import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SNS
import Storage
import TestSupport
import Testing

/// The outbox across crashes and replicas: a relay killed with SIGKILL while its alerts cannot be
/// delivered sends every one after it restarts; two replicas on one PostgreSQL send each once.
@Suite(.timeLimit(.minutes(3)))
struct DeliveryDurabilityTests {
    static func yaml(database: String, fake: FakeAWS, chat: FakeChat) -> String {
        """
        server: {port: 0}
        sns:
          allowed_topics: ["\(RelayHarness.topic)"]
        storage: {url: "\(database)"}
        outbound:
          ca_file: \(fake.pki.caFile)
          connect_to: [\((chat.connectTo + fake.connectTo).map { "\"\($0)\"" }.joined(separator: ", "))]
        receivers:
          - name: audit-webhook
            type: webhook
            url: https://hooks.example.com/defender
            rate_per_second: 50
        routes:
          - match: {kind: audit}
            receivers: [audit-webhook]
        alerts:
          retry_base_seconds: 0.2
          retry_max_delay_seconds: 1
          max_attempts: 100
          delivery_lease_seconds: 5
        """
    }

    static func post(_ envelopes: [TestEnvelope], to port: Int) async throws -> [HTTPResponse.Status] {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            var statuses: [HTTPResponse.Status] = []
            for envelope in envelopes {
                statuses.append(try await client.execute(.init("/sns", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(bytes: envelope.body))).head.status)
            }
            return statuses
        }
    }

    static func alertIDs(_ requests: [FakeChat.Request]) -> Set<String> {
        Set(requests.compactMap { $0.json?["id"] as? String })
    }

    @Test func everyAlertArrivesAfterAKillNineWithDeliveriesPending() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let chat = try await FakeChat.start(pki: fake.pki)
        defer { chat.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("outbox-crash")
        let yaml = Self.yaml(database: "sqlite://\(directory.path)/relay.sqlite", fake: fake, chat: chat)
        try chat.setDown(true)

        let relay = try await RelayProcess.serve(configurationYAML: yaml, in: directory)
        let envelopes = try (0..<10).map { index in
            try TestEnvelope(type: .notification, message: AuditFixtures.audit("crash-\(index)", start: Int64(1_000 + index), checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), certificateURL: url).signed()
        }
        #expect(try await Self.post(envelopes, to: relay.port).allSatisfy { $0 == .ok })
        // The receiver refused (503) the first alert: its lane is paused, every alert is pending
        // in the outbox (queued in the transaction that answered 200), one of them mid-retry.
        _ = try await eventually("the first alert to be refused") { Self.alertIDs(chat.requests()).isEmpty ? nil : true }
        relay.process.killHard()
        _ = await relay.process.waitForExit()

        let upAt = Date().timeIntervalSince1970
        try chat.setDown(false)
        let restarted = try await RelayProcess.serve(configurationYAML: yaml, in: directory)
        defer { restarted.process.terminate() }
        let delivered = try await eventually(timeout: .seconds(40), "every alert to arrive after the restart") { () -> Set<String>? in
            let ids = Self.alertIDs(chat.requests().filter { $0.time >= upAt })
            return ids.count == 10 ? ids : nil
        }
        #expect(delivered == Set((0..<10).map { "audit:crash-\($0)" }))
    }

    @Test func twoReplicasOnOnePostgresSendEachAlertOnce() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let chat = try await FakeChat.start(pki: fake.pki)
        defer { chat.stop() }
        let url = try fake.publish(.shared)
        let database = try await TestBackend.postgres.makeDatabaseURL()
        let directory = try makeTemporaryDirectory("outbox-replicas")
        let yaml = Self.yaml(database: database, fake: fake, chat: chat)
        async let startFirst = RelayProcess.serve(configurationYAML: yaml, in: directory)
        async let startSecond = RelayProcess.serve(configurationYAML: yaml, in: directory)
        let (first, second) = try await (startFirst, startSecond)
        defer {
            first.process.terminate()
            second.process.terminate()
        }
        let envelopes = try (0..<30).map { index in
            try TestEnvelope(type: .notification, message: AuditFixtures.audit("replica-alert-\(index)", start: Int64(5_000 + index), checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), certificateURL: url).signed()
        }
        // The load balancer spreads the messages; SNS's retry sends some to the other replica too.
        async let toFirst = Self.post(Array(envelopes[0..<20]), to: first.port)
        async let toSecond = Self.post(Array(envelopes[10..<30]), to: second.port)
        let statuses = try await toFirst + toSecond
        #expect(statuses.allSatisfy { $0 == .ok })
        _ = try await eventually(timeout: .seconds(30), "thirty alerts") { Self.alertIDs(chat.requests()).count == 30 ? true : nil }
        try await Task.sleep(for: .seconds(1))
        let requests = chat.requests()
        #expect(requests.count == 30, "\(requests.count - 30) alerts were sent twice")
        try? await TestBackend.drop(database)
    }
}
