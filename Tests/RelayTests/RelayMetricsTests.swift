import Alerts
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Relay
import RelayConfig
import SNS
import TestSupport
import Testing

/// `/metrics` after a scripted sequence of SNS requests, scraped from the real server: exact
/// counter values, and Prometheus' own `promtool check metrics` accepts the text.
@Suite(.timeLimit(.minutes(2)))
struct RelayMetricsTests {
    static let topic = RelayHarness.topic

    func notification(_ certificateURL: String, message: String, topic: String = topic) throws -> TestEnvelope {
        try TestEnvelope(type: .notification, topicARN: topic, message: message, timestamp: SNSInstant(date: Date()).description, certificateURL: certificateURL).signed()
    }

    @Test func countsEachOutcomeExactly() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake))
        let text = try await harness.run { client in
            let url = try fake.publish(.shared)
            // 3 accepted (one after another: 3 transactions), 1 duplicate, 2 forged, 1 from
            // another topic, 1 malformed body, 1 too large.
            let first = try notification(url, message: #"{"n":1}"#)
            #expect(try await client.postSNS(first).status == .ok)
            #expect(try await client.postSNS(try notification(url, message: #"{"n":2}"#)).status == .ok)
            #expect(try await client.postSNS(try notification(url, message: #"{"n":3}"#)).status == .ok)
            #expect(try await client.postSNS(first).code == "duplicate")
            for index in 0..<2 {
                var forged = try notification(url, message: #"{"n":9}"#)
                forged.fields["Message"] = #"{"forged":\#(index)}"#
                #expect(try await client.postSNS(forged).code == "signature_mismatch")
            }
            #expect(try await client.postSNS(try notification(url, message: "x", topic: "arn:aws:sns:us-east-1:999999999999:other")).code == "topic_not_allowed")
            let malformed = try await client.post("/sns", headers: [.contentType: "text/plain"], body: Array("{not json".utf8))
            #expect(malformed.status == .badRequest)
            let large = try await client.post("/sns", headers: [.contentType: "text/plain"], body: Array(repeating: UInt8(ascii: "a"), count: 600_000))
            #expect(large.status == .contentTooLarge)
            // Paths nobody routes share one label value: a scanner cannot mint series.
            for path in ["/nope", "/wp-admin/\(UUID().uuidString)", "/api/v2/x"] {
                #expect(try await client.get(path).status == .notFound)
            }
            let response = try await client.get("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            return String(buffer: response.body)
        }
        let samples = Self.samples(text)
        func value(_ series: String) -> Double? { samples[series] }

        #expect(value(#"defender_relay_build_info{version="\#(RelayVersion.current)"}"#) == 1)
        #expect(value(#"defender_relay_sns_messages_total{type="Notification",outcome="accepted"}"#) == 3)
        #expect(value(#"defender_relay_sns_messages_total{type="Notification",outcome="duplicate"}"#) == 1)
        #expect(value(#"defender_relay_sns_messages_total{type="Notification",outcome="refused"}"#) == 3)
        #expect(value(#"defender_relay_sns_messages_total{type="unparsed",outcome="refused"}"#) == 2)
        #expect(value(#"defender_relay_sns_refusals_total{reason="signature_mismatch"}"#) == 2)
        #expect(value(#"defender_relay_sns_refusals_total{reason="topic_not_allowed"}"#) == 1)
        #expect(value(#"defender_relay_sns_refusals_total{reason="malformed_json"}"#) == 1)
        #expect(value(#"defender_relay_sns_refusals_total{reason="body_too_large"}"#) == 1)
        // The topic check needs no certificate; the others share one fetch.
        #expect(value(#"defender_relay_certificate_fetches_total{outcome="ok"}"#) == 1)
        #expect(value("defender_relay_certificate_cache_misses_total") == 1)
        #expect(value("defender_relay_certificate_cache_hits_total") == 5)
        // Accepted and duplicate messages go through group commit: 4 transactions of 1 message.
        #expect(value("defender_relay_ingest_batch_size_count") == 4)
        #expect(value("defender_relay_ingest_batch_size_sum") == 4)
        #expect(value("defender_relay_store_write_duration_seconds_count") == 4)
        #expect(value(#"defender_relay_http_request_duration_seconds_count{route="/sns",status_class="2xx"}"#) == 4)
        #expect(value(#"defender_relay_http_request_duration_seconds_count{route="/sns",status_class="4xx"}"#) == 5)
        #expect(value(#"defender_relay_http_request_duration_seconds_count{route="unmatched",status_class="4xx"}"#) == 3)
        #expect(!text.contains("wp-admin") && !text.contains("NotFound"))
        #expect(value("defender_relay_outbox_oldest_pending_age_seconds") == 0)
        #expect(value(#"defender_relay_deliveries{state="dead"}"#) == 0)

        try Self.promtoolAccepts(text)
    }

    /// Each delivery attempt by receiver and outcome, and the latency of those delivered.
    @Test func countsDeliveriesByReceiverAndOutcome() async throws {
        let receivers = [
            DeliveryTests.receiver("good", .webhook, "https://hooks.example.com/ok/metrics"),
            DeliveryTests.receiver("refusing", .webhook, "https://hooks.example.com/status/400/metrics"),
        ]
        try await DeliveryTests().withRelay(receivers: receivers) { setup, harness, client in
            #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("metrics-1", checks: DeliveryTests.checks, url: setup.certificateURL)).status == .ok)
            #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("metrics-2", start: 1_764_000_100_000, checks: DeliveryTests.checks, url: setup.certificateURL)).status == .ok)
            let text = try await eventually("both alerts to be delivered and dead-lettered") { () -> String? in
                let text = String(buffer: try await client.get("/metrics", headers: [.authorization: "Bearer delivery-test-token-0123456789"]).body)
                let samples = Self.samples(text)
                guard samples[#"defender_relay_delivery_attempts_total{receiver="good",outcome="delivered"}"#] == 2,
                      samples[#"defender_relay_delivery_attempts_total{receiver="refusing",outcome="dead"}"#] == 2 else { return nil }
                return text
            }
            let samples = Self.samples(text)
            #expect(samples[#"defender_relay_delivery_latency_seconds_count{receiver="good"}"#] == 2)
            #expect(samples[#"defender_relay_delivery_latency_seconds_count{receiver="refusing"}"#] == nil, "no latency for what was not delivered")
            #expect(samples[#"defender_relay_deliveries{state="dead"}"#] == 2)
            #expect(samples[#"defender_relay_deliveries_queued{receiver="good",configured="true"}"#] == 0)
            try Self.promtoolAccepts(text)
            _ = harness
        }
    }

    /// SNS's first, credential-less request is a protocol step, not a refusal; wrong
    /// credentials are (someone guessing).
    @Test func wrongBasicAuthCredentialsAreCountedTheChallengeIsNot() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) {
            $0.server.basicAuth = .init(username: "sns", password: "correct-horse")
        })
        try await harness.run { client in
            #expect(try await client.post("/sns", headers: [.contentType: "text/plain"], body: Array("{}".utf8)).status == .unauthorized)
            for guess in ["sns:wrong", "admin:admin"] {
                let header = "Basic " + Data(guess.utf8).base64EncodedString()
                #expect(try await client.post("/sns", headers: [.authorization: header], body: Array("{}".utf8)).status == .unauthorized)
            }
            let samples = Self.samples(String(buffer: try await client.get("/metrics").body))
            #expect(samples[#"defender_relay_sns_refusals_total{reason="bad_credentials"}"#] == 2)
            #expect(samples[#"defender_relay_sns_messages_total{type="unparsed",outcome="refused"}"#] == 2)
        }
    }

    /// With the store unreadable, a scrape still answers 200 with the relay's own metrics (the
    /// series that describe the outage) and says so in `defender_relay_store_up`.
    @Test func aStoreOutageKeepsTheRelaysOwnMetrics() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake))
        try await harness.run { client in
            let url = try fake.publish(.shared)
            #expect(try await client.postSNS(try notification(url, message: #"{"n":1}"#)).status == .ok)
            let before = Self.samples(String(buffer: try await client.get("/metrics").body))
            #expect(before["defender_relay_store_up"] == 1)
            #expect(before[#"defender_relay_deliveries{state="dead"}"#] == 0)

            let saboteur = try DatabaseQueue(path: harness.databasePath)
            try await saboteur.write { db in try db.execute(sql: "DROP TABLE deliveries") }
            try saboteur.close()
            let response = try await client.get("/metrics")
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            let during = Self.samples(text)
            #expect(during["defender_relay_store_up"] == 0)
            #expect(during[#"defender_relay_sns_messages_total{type="Notification",outcome="accepted"}"#] == 1)
            #expect(during[#"defender_relay_deliveries{state="dead"}"#] == nil)
            #expect(!text.contains("no such table"))
            try Self.promtoolAccepts(text)
        }
    }

    /// `series → value` for every sample line.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// Prometheus' own linter (Debian's `prometheus` package, installed by the test command).
    static func promtoolAccepts(_ text: String) throws {
        let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(promtool, "promtool is missing: scripts/install-dependencies.sh --test installs Debian's prometheus package")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "promtool check metrics: \(said)")
    }
}
