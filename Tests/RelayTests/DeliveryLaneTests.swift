import Alerts
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import NIOCore
@testable import Relay
import RelayConfig
import SNS
import Storage
import Synchronization
import TestSupport
import Testing

/// Each receiver drains on its own lane: a receiver that hangs, throttles or is down delays
/// only itself, its deliveries go out in the order they were queued, an outage shorter than
/// `alerts.max_age_seconds` ends with everything delivered, and a restart does not wait out
/// the lease its own crash left.
@Suite(.timeLimit(.minutes(2)))
struct DeliveryLaneTests {
    let checks = DeliveryTests.checks

    @Test func aHangingReceiverDelaysOnlyItself() async throws {
        let receivers = [
            DeliveryTests.receiver("stuck", .webhook, "https://hooks.example.com/slow/x"),
            DeliveryTests.receiver("slack", .slack, "https://hooks.slack.com/services/T/B/lanes") { $0.ratePerSecond = 0 },
        ]
        try await DeliveryTests().withRelay(receivers: receivers, { $0.outbound.timeoutSeconds = 8 }) { setup, _, client in
            #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("lane-1", checks: checks, url: setup.certificateURL)).status == .ok)
            _ = try await eventually("the first alert to reach Slack and hang on the webhook") {
                setup.chat.requests(to: "/services/").count == 1 && setup.chat.requests(to: "/slow/").count == 1 ? true : nil
            }
            let start = Date().timeIntervalSince1970
            #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("lane-2", start: 1_764_100_000_000, checks: checks, url: setup.certificateURL)).status == .ok)
            let second = try await eventually(timeout: .seconds(15), "the second alert to reach Slack") { setup.chat.requests(to: "/services/").dropFirst().first }
            #expect(second.time - start < 3, "Slack waited \(second.time - start) s behind a hanging webhook")
        }
    }

    @Test func retryAfterPausesTheReceiverNotJustOneDelivery() async throws {
        let receivers = [DeliveryTests.receiver("throttled", .webhook, "https://hooks.example.com/retry-after/3/x") { $0.concurrency = 1 }]
        try await DeliveryTests().withRelay(receivers: receivers, { $0.alerts.retryBaseSeconds = 0.1 }) { setup, harness, client in
            for index in 0..<3 {
                #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("throttle-\(index)", start: 1_764_000_000_000 + Int64(index) * 86_400_000, checks: checks, url: setup.certificateURL)).status == .ok)
            }
            let delivered = try await eventually(timeout: .seconds(20), "three deliveries") { () -> [Delivery]? in
                let rows = try await harness.store.deliveries(state: .delivered, limit: 10)
                return rows.count == 3 ? rows : nil
            }
            let requests = setup.chat.requests(to: "/retry-after/")
            #expect(requests.count == 4, "one 429, then three deliveries: \(requests.count) requests")
            let first = try #require(requests.first)
            let tooSoon = requests.dropFirst().filter { $0.time - first.time < 2.9 }
            #expect(tooSoon.isEmpty, "\(tooSoon.count) requests within Retry-After: 3")
            #expect(delivered.map(\.attempts).sorted() == [1, 1, 2], "a pause spent other deliveries' attempts")
        }
    }

    @Test func aLongOutageDelaysAlertsButNeverDropsThemAndKeepsTheirOrder() async throws {
        let receivers = [DeliveryTests.receiver("ops", .webhook, "https://hooks.example.com/outage") { $0.concurrency = 1 }]
        try await DeliveryTests().withRelay(receivers: receivers, {
            $0.alerts.retryBaseSeconds = 0.1
            $0.alerts.retryMaxDelaySeconds = 1
        }) { setup, harness, client in
            try setup.chat.setDown(true)
            for index in 0..<3 {
                #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("outage-\(index)", start: 1_764_000_000_000 + Int64(index) * 86_400_000, checks: checks, url: setup.certificateURL)).status == .ok)
            }
            // Far more failed attempts than the twelve that used to dead-letter an alert.
            _ = try await eventually(timeout: .seconds(40), "twenty failed attempts") { setup.chat.requests(to: "/outage").count >= 20 ? true : nil }
            #expect(try await harness.store.deliveries(state: .dead, limit: 10).isEmpty)
            let up = Date().timeIntervalSince1970
            try setup.chat.setDown(false)
            _ = try await eventually(timeout: .seconds(20), "every alert delivered") { () -> Bool? in
                try await harness.store.deliveries(state: .delivered, limit: 10).count == 3 ? true : nil
            }
            let order = setup.chat.requests(to: "/outage").filter { $0.time >= up }.compactMap { request -> String? in
                request.json?["id"] as? String
            }
            #expect(order.suffix(3) == ["audit:outage-0", "audit:outage-1", "audit:outage-2"], "delivered out of queued order: \(order)")
        }
    }

    /// One SQLite file has one relay process: a lease found at start was left by a crash, and
    /// its delivery goes out at once instead of after `delivery_lease_seconds`.
    @Test func aRestartDoesNotWaitOutItsOwnLease() async throws {
        let receivers = [DeliveryTests.receiver("ops", .webhook, "https://hooks.example.com/after-crash")]
        try await DeliveryTests().withRelay(receivers: receivers, { $0.alerts.deliveryLeaseSeconds = 3600 }, beforeStart: { store in
            try await store.enqueue([OutboxEntry(id: "audit:crashed#ops", receiver: "ops", alertID: "audit:crashed", kind: "audit", body: Array("{}".utf8), fingerprint: "f", repeatIntervalSeconds: nil)], at: 1)
            let now = SNSInstant(date: Date()).millisecondsSince1970
            // The relay that claimed it died mid-send.
            #expect(try await store.claimDeliveries(owner: "dead-relay", receiver: "ops", now: now, leaseUntil: now + 3_600_000, limit: 1).count == 1)
        }) { setup, _, _ in
            _ = try await eventually(timeout: .seconds(10), "the crashed relay's delivery to be sent") { setup.chat.requests(to: "/after-crash").first }
        }
    }

    /// On graceful shutdown a lane finishes the send under way and puts what it claimed and did
    /// not send back in the queue, instead of leaving it leased until the lease runs out.
    @Test func aGracefulShutdownPutsClaimedDeliveriesBack() async throws {
        let receivers = [DeliveryTests.receiver("stuck", .webhook, "https://hooks.example.com/slow/shutdown") { $0.concurrency = 1 }]
        let database = Mutex<String?>(nil)
        try await DeliveryTests().withRelay(receivers: receivers, { $0.outbound.timeoutSeconds = 2 }) { setup, harness, client in
            database.withLock { $0 = harness.databasePath }
            for index in 0..<3 {
                #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("shutdown-\(index)", start: 1_764_000_000_000 + Int64(index) * 86_400_000, checks: checks, url: setup.certificateURL)).status == .ok)
            }
            _ = try await eventually("a send to hang") { setup.chat.requests(to: "/slow/").isEmpty ? nil : true }
            _ = try await eventually("more than one delivery to be claimed") { () -> Bool? in
                try await harness.store.deliveries(state: .sending, limit: 10).count > 1 ? true : nil
            }
        }
        // The relay has shut down: nothing is left leased, nothing was dead-lettered, and only
        // the delivery at the head of the lane (the one that hung, perhaps retried) spent
        // attempts.
        let path = try #require(database.withLock { $0 })
        let store = try SQLiteStore(path: path)
        let rows = try await store.deliveries(state: nil, limit: 10)
        await store.close()
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0.state == .pending }, "\(rows.map(\.state))")
        #expect(rows.filter { $0.attempts > 0 }.count <= 1, "\(rows.map(\.attempts))")
    }

    /// SIGTERM while a send hangs: the relay waits `server.shutdown_grace_seconds` for it, then
    /// aborts it, puts the delivery back (attempts untouched) and exits 0, long before the
    /// outbound timeout (30 s) would have ended the send.
    @Test func sigtermExitsWithinTheGraceAndQueuesTheHangingSendAgain() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let chat = try await FakeChat.start(pki: fake.pki)
        defer { chat.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("shutdown-grace")
        let database = "sqlite://\(directory.path)/relay.sqlite"
        let relay = try await RelayProcess.serve(configurationYAML: """
            server: {port: 0, shutdown_grace_seconds: 2}
            sns:
              allowed_topics: ["\(RelayHarness.topic)"]
            storage: {url: "\(database)"}
            outbound:
              timeout_seconds: 30
              ca_file: \(fake.pki.caFile)
              connect_to: [\(Set(fake.connectTo + chat.connectTo).map { "\"\($0)\"" }.joined(separator: ", "))]
            receivers:
              - {name: stuck, type: webhook, url: "https://hooks.example.com/slow/grace"}
            routes:
              - {match: {}, receivers: [stuck]}
            """, in: directory)
        defer { relay.process.terminate() }
        let envelope = try DeliveryTests.auditEnvelope("grace-1", checks: checks, url: url)
        let status = try await TestClient.withClient(host: "127.0.0.1", port: relay.port) { client in
            try await client.execute(.init("/sns", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(bytes: envelope.body))).head.status
        }
        #expect(status == .ok)
        _ = try await eventually("the send to hang") { chat.requests(to: "/slow/").isEmpty ? nil : true }

        let asked = ContinuousClock.now
        relay.process.terminate()
        let exit = await relay.process.waitForExit(timeout: .seconds(15))
        let took = ContinuousClock.now - asked
        print("shutdown: SIGTERM with a send hanging, grace 2 s: exited \(exit.map(String.init) ?? "-") after \(took)")
        #expect(exit == 0, "\(relay.output.suffix(2_000))")
        #expect(took < .seconds(6), "stopped \(took) after SIGTERM with a 2 s grace")
        #expect(relay.output.contains("aborted"))
        try await withTestStoreURL(database) { store in
            let rows = try await store.deliveries(state: nil, limit: 10)
            #expect(rows.map(\.state) == [.pending])
            #expect(rows.first?.attempts == 0, "an aborted send is not an attempt")
        }
    }

    /// A relay whose configuration lacks a receiver leaves that receiver's deliveries alone
    /// (they used to be claimed and dead-lettered) and says so at start.
    @Test func deliveriesForAReceiverThisRelayDoesNotKnowWaitAndAreReported() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let chat = try await FakeChat.start(pki: fake.pki)
        defer { chat.stop() }
        let directory = try makeTemporaryDirectory("unknown-receiver")
        let database = "sqlite://\(directory.path)/relay.sqlite"
        try await withTestStoreURL(database) { store in
            try await store.enqueue([OutboxEntry(id: "audit:old#retired", receiver: "retired", alertID: "audit:old", kind: "audit", body: Array("{}".utf8), fingerprint: "f", repeatIntervalSeconds: nil)], at: 1)
        }
        let relay = try await RelayProcess.serve(configurationYAML: """
            server: {port: 0}
            storage: {url: "\(database)"}
            outbound:
              ca_file: \(fake.pki.caFile)
              connect_to: [\(chat.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
            receivers:
              - {name: ops, type: webhook, url: "https://hooks.example.com/ops"}
            """, in: directory)
        _ = try await eventually("the unknown receiver to be reported") {
            relay.output.contains("does not name") && relay.output.contains("retired") ? true : nil
        }
        let metrics = try await TestClient.withClient(host: "127.0.0.1", port: relay.port) { client in
            try await client.execute(.init("/metrics", method: .get))
        }
        let text = metrics.body.map { String(buffer: $0) } ?? ""
        #expect(text.contains(#"defender_relay_deliveries_queued{receiver="retired",configured="false"} 1"#), "\(text)")
        #expect(text.contains(#"defender_relay_deliveries_queued{receiver="ops",configured="true"} 0"#))
        try await Task.sleep(for: .seconds(1))
        relay.process.terminate()
        _ = await relay.process.waitForExit()
        try await withTestStoreURL(database) { store in
            let rows = try await store.deliveries(state: nil, limit: 10)
            #expect(rows.map(\.state) == [.pending])
            #expect(rows.first?.attempts == 0)
        }
        #expect(chat.requests().isEmpty)
    }
}
