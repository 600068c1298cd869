import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SNS
import Ingest
import Storage
import Logging
import TestSupport
import Testing

/// `defender-relay verify` and `defender-relay subscriptions`, run as the built binary.
@Suite(.timeLimit(.minutes(2)))
struct CommandLineTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../SNSTests/Fixtures/sns-genuine").standardized

    @Test(arguments: [
        ("aws-sdk-java-v2-2026", "test-notification-no-subject.json", "2026-03-06T20:05:00Z"),
        ("aws-sdk-java-v2-2026", "test-notification-signature-v2.json", "2026-03-06T20:05:00Z"),
        ("aws-sdk-java-v2-2026", "test-subscription-confirmation.json", "2026-03-06T20:05:00Z"),
        ("aws-sdk-java-v2-2026", "test-unsubscribe-confirmation.json", "2026-03-06T20:05:00Z"),
        ("aws-php-sns-message-validator-2022", "notification-sv2-subject.json", "2022-07-28T23:00:00Z"),
        ("aws-php-sns-message-validator-2017", "notification-sv1-subject.json", "2017-06-29T20:00:00Z"),
    ])
    func verifyAcceptsMessagesAWSSigned(_ folder: String, _ file: String, _ now: String) async throws {
        let directory = Self.fixtures.appendingPathComponent(folder)
        let pem = try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasSuffix(".pem") }!
        let message = directory.appendingPathComponent(file).path
        let timestamp = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: message))) as! [String: Any]
        let near = String((timestamp["Timestamp"] as! String).prefix(19)) + "Z"
        let result = try await RelayProcess.command(["verify", message, "--cert", directory.appendingPathComponent(pem).path, "--now", near])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.hasPrefix("GENUINE"))
        _ = now
    }

    @Test func verifyRefusesTamperedExpiredAndStaleMessages() async throws {
        let directory = Self.fixtures.appendingPathComponent("aws-sdk-java-v2-2026")
        let pem = directory.appendingPathComponent("SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem").path
        let original = try String(contentsOf: directory.appendingPathComponent("test-notification-signature-v2.json"), encoding: .utf8)
        let tamperedFile = try makeTemporaryDirectory("verify").appendingPathComponent("tampered.json")
        try original.replacingOccurrences(of: "\"Message\" : \"", with: "\"Message\" : \"X").write(to: tamperedFile, atomically: true, encoding: .utf8)
        #expect(original != (try String(contentsOf: tamperedFile, encoding: .utf8)))

        let tampered = try await RelayProcess.command(["verify", tamperedFile.path, "--cert", pem, "--now", "2026-03-06T20:05:00Z"])
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("signature_mismatch"))

        let stale = try await RelayProcess.command(["verify", directory.appendingPathComponent("test-notification-signature-v2.json").path, "--cert", pem])
        #expect(stale.status == 1)
        #expect(stale.output.contains("message_too_old"))

        let weak = Self.fixtures.appendingPathComponent("aws-sdk-ruby-2012")
        let weakResult = try await RelayProcess.command([
            "verify", weak.appendingPathComponent("notification-sv1-subject.json").path,
            "--cert", weak.appendingPathComponent("SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem").path,
            "--now", "2012-04-30T12:00:00Z",
        ])
        #expect(weakResult.status == 1)
        #expect(weakResult.output.contains("2048"))
    }

    @Test func verifyFetchesTheCertificateThroughThePolicy() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("verify-fetch")
        let message = directory.appendingPathComponent("message.json")
        try Data(try TestEnvelope(type: .notification, certificateURL: url).signed().body).write(to: message)
        let config = directory.appendingPathComponent("config.yaml")
        try """
            outbound:
              ca_file: \(fake.pki.caFile)
              connect_to: [\(fake.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
            """.write(to: config, atomically: true, encoding: .utf8)
        let result = try await RelayProcess.command(["verify", message.path, "--config", config.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(fake.requests().count == 1)
    }

    @Test func subscriptionsCanBeListedAndConfirmedByAnOperator() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("subscriptions")
        let yaml = """
            server: {port: 0}
            sns:
              allowed_topics: ["\(RelayHarness.topic)"]
              confirm_subscriptions: manual
            storage: {url: "sqlite://\(directory.path)/relay.sqlite"}
            outbound:
              ca_file: \(fake.pki.caFile)
              connect_to: [\(fake.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
            """
        let relay = try await RelayProcess.serve(configurationYAML: yaml, in: directory)
        defer { relay.process.terminate() }
        let envelope = try TestEnvelope(type: .subscriptionConfirmation, certificateURL: url).signed()
        let status = try await TestClient.withClient(host: "127.0.0.1", port: relay.port) { client in
            try await client.execute(.init("/sns", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(bytes: envelope.body))).head.status
        }
        #expect(status == .ok)

        let config = directory.appendingPathComponent("cli.yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        let pending = try await RelayProcess.command(["subscriptions", "list", "--config", config.path])
        #expect(pending.status == 0)
        #expect(pending.output.contains(RelayHarness.topic))
        #expect(pending.output.contains("pending"))
        #expect(fake.requests().allSatisfy { !$0.path.contains("ConfirmSubscription") })

        let confirm = try await RelayProcess.command(["subscriptions", "confirm", RelayHarness.topic, "--config", config.path])
        #expect(confirm.status == 0, "\(confirm.output)")
        #expect(fake.requests().filter { $0.path.contains("ConfirmSubscription") }.count == 1)

        let listed = try await RelayProcess.command(["subscriptions", "list", "--json", "--config", config.path])
        let rows = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as! [[String: String]]
        #expect(rows.first?["status"] == "confirmed")
        #expect(rows.first?["subscriptionArn"]?.hasPrefix(RelayHarness.topic + ":") == true)

        let again = try await RelayProcess.command(["subscriptions", "confirm", RelayHarness.topic, "--config", config.path])
        #expect(again.status != 0)
        #expect(again.output.contains("not pending"))
    }

    @Test func serveRefusesABadConfigurationNamingTheKey() async throws {
        let directory = try makeTemporaryDirectory("bad-config")
        let config = directory.appendingPathComponent("bad.yaml")
        try "server:\n  prot: 8080\n".write(to: config, atomically: true, encoding: .utf8)
        let result = try await RelayProcess.command(["serve", "--config", config.path])
        #expect(result.status != 0)
        #expect(result.output.contains("server.prot"))
    }
}

/// Operators' commands over stored audits, and how `serve` stops.
@Suite(.timeLimit(.minutes(2)))
struct OperatorCommandTests {
    @Test(arguments: TestBackend.allCases)
    func auditsAndChecksPrintWhatIsStored(_ backend: TestBackend) async throws {
        let url = try await backend.makeDatabaseURL()
        let config = try makeTemporaryDirectory("audits-cli").appendingPathComponent("config.yaml")
        try "storage: {url: \"\(url)\"}\n".write(to: config, atomically: true, encoding: .utf8)
        try await withTestStoreURL(url) { store in
            try await AuditFixtures.record(AuditFixtures.audit("cli-1", start: 1_764_000_000_000, checks: [("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 2)]), in: store)
            try await AuditFixtures.record(AuditFixtures.audit("cli-2", start: 1_764_086_400_000, checks: [("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 5), ("LOGGING_DISABLED_CHECK", "FAILED", 0)]), in: store)
        }

        let list = try await RelayProcess.command(["audits", "list", "--config", config.path])
        #expect(list.status == 0, "\(list.output)")
        let lines = list.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("TASK") == true)
        #expect(lines.dropFirst().first?.hasPrefix("cli-2") == true)
        #expect(list.output.contains("1 worse"))

        let show = try await RelayProcess.command(["audits", "show", "cli-2", "--config", config.path])
        #expect(show.status == 0, "\(show.output)")
        #expect(show.output.contains("CRITICAL  DEVICE_CERTIFICATE_SHARED_CHECK"))
        #expect(show.output.contains("WORSE (was 2)"))

        let json = try await RelayProcess.command(["audits", "show", "cli-2", "--json", "--config", config.path])
        let detail = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((detail?["audit"] as? [String: Any])?["taskId"] as? String == "cli-2")

        let checks = try await RelayProcess.command(["checks", "--trend", "5", "--config", config.path])
        #expect(checks.status == 0)
        #expect(checks.output.contains("DEVICE_CERTIFICATE_SHARED_CHECK"))
        #expect(checks.output.contains("2 5"))

        let missing = try await RelayProcess.command(["audits", "show", "nope", "--config", config.path])
        #expect(missing.status != 0)
        #expect(missing.output.contains("No audit with taskId nope"))
        try? await TestBackend.drop(url)
    }

    @Test func serveStopsPromptlyOnSIGTERM() async throws {
        let directory = try makeTemporaryDirectory("sigterm")
        let relay = try await RelayProcess.serve(configurationYAML: "server: {port: 0}\nstorage: {url: \"sqlite://\(directory.path)/r.sqlite\"}\n", in: directory)
        relay.process.terminate()
        let status = await relay.process.waitForExit(timeout: .seconds(10))
        #expect(status == 0, "\(relay.output)")
        #expect(relay.output.contains("defender-relay stopped"))
    }
}

func withTestStoreURL<T: Sendable>(_ url: String, _ body: (any Store) async throws -> T) async throws -> T {
    var logger = Logger(label: "cli-test")
    logger.logLevel = .critical
    return try await StoreFactory.withStore(url: url, logger: logger, body)
}

/// `route test` and `deliveries`, as an operator runs them.
@Suite(.timeLimit(.minutes(2)))
struct AlertCommandTests {
    static let config = """
        storage: {url: "sqlite://%DB%"}
        receivers:
          - {name: secops-slack, type: slack, url: "https://hooks.slack.com/services/T1/B1/secret"}
          - {name: detect-hook, type: webhook, url: "https://hooks.example.com/detect"}
        routes:
          - match: {kind: audit, min_severity: high}
            receivers: [secops-slack]
          - match: {kind: detect}
            receivers: [detect-hook]
            mute: [{days: [sat, sun]}]
        """

    func write(_ text: String, _ name: String, in directory: URL) throws -> String {
        let file = directory.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func routeTestShowsReceiversAndRenderingsWithoutSending() async throws {
        let directory = try makeTemporaryDirectory("route-test")
        let config = try write(Self.config.replacingOccurrences(of: "%DB%", with: directory.appendingPathComponent("r.sqlite").path), "config.yaml", in: directory)
        let envelope = try write(TestEnvelope(type: .notification, message: AuditFixtures.audit("rt-1", start: 1, checks: [("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "COMPLETED_NON_COMPLIANT", 2)])).signed().bodyText, "message.json", in: directory)
        let audit = try await RelayProcess.command(["route", "test", envelope, "--config", config])
        #expect(audit.status == 0, "\(audit.output)")
        #expect(audit.output.contains("audit alert, CRITICAL"))
        #expect(audit.output.contains("→ secops-slack via routes[0]"))
        #expect(audit.output.contains("\"blocks\""))
        #expect(!audit.output.contains("detect-hook"))

        let detect = try write(#"{"violationEventTime":1582745400000,"thingName":"t","behavior":{"name":"b"},"violationEventType":"in-alarm","violationId":"v","securityProfileName":"p"}"#, "detect.json", in: directory)
        let saturday = try await RelayProcess.command(["route", "test", detect, "--now", "2026-11-21T12:00:00Z", "--config", config])
        #expect(saturday.output.contains("→ detect-hook via routes[1] (MUTED now"))
        let lowAudit = try write(AuditFixtures.audit("rt-2", start: 1, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), "low.json", in: directory)
        let none = try await RelayProcess.command(["route", "test", lowAudit, "--config", config])
        #expect(none.output.contains("No receiver"))
    }

    @Test func deliveriesCanBeListedAndDeadOnesRetried() async throws {
        let directory = try makeTemporaryDirectory("deliveries-cli")
        let database = directory.appendingPathComponent("r.sqlite").path
        let config = try write(Self.config.replacingOccurrences(of: "%DB%", with: database), "config.yaml", in: directory)
        try await withTestStoreURL("sqlite://" + database) { store in
            try await store.enqueue([OutboxEntry(id: "audit:x#secops-slack", receiver: "secops-slack", alertID: "audit:x", kind: "audit", body: [], fingerprint: "f", repeatIntervalSeconds: nil)], at: 1)
            let claimed = try await store.claimDeliveries(owner: "o", receiver: "secops-slack", now: 1, leaseUntil: 100, limit: 1)
            try await store.completeDelivery(id: claimed[0].id, owner: "o", outcome: .dead(error: "permanent: HTTP 404", status: 404), at: 2)
        }
        let listed = try await RelayProcess.command(["deliveries", "list", "--state", "dead", "--config", config])
        #expect(listed.status == 0)
        #expect(listed.output.contains("audit:x#secops-slack"))
        #expect(listed.output.contains("permanent: HTTP 404"))
        let retried = try await RelayProcess.command(["deliveries", "retry", "audit:x#secops-slack", "--config", config])
        #expect(retried.status == 0, "\(retried.output)")
        #expect(retried.output.contains("Queued 1 delivery again."))
        let again = try await RelayProcess.command(["deliveries", "retry", "--all", "--config", config])
        #expect(again.status != 0)
        #expect(again.output.contains("No dead deliveries"))
    }
}

/// `route test --expect` (CI's check of routing rules) and `receivers test` (a test alert
/// through the real sender), run as the built binary.
@Suite(.timeLimit(.minutes(3)))
struct RoutingToolTests {
    @Test func routeTestVerifiesReceiversAndComparesWithTheStoredRun() async throws {
        let directory = try makeTemporaryDirectory("route-expect")
        let database = directory.appendingPathComponent("r.sqlite").path
        let config = try AlertCommandTests().write("""
            storage: {url: "sqlite://\(database)"}
            receivers:
              - {name: pager, type: webhook, url: "https://hooks.example.com/pager"}
              - {name: chat, type: webhook, url: "https://hooks.example.com/chat"}
            routes:
              - {match: {kind: audit, changed_only: true}, receivers: [pager], continue: true}
              - {match: {kind: audit, noncompliant: true}, receivers: [chat]}
            """, "config.yaml", in: directory)
        let run = { (id: String, start: Int64) in AuditFixtures.audit(id, start: start, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]) }
        let second = try AlertCommandTests().write(run("second", 2_000), "second.json", in: directory)

        // No store yet: a first run, the finding is new: both receivers.
        let first = try await RelayProcess.command(["route", "test", second, "--expect", "chat,pager", "--config", config])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("OK: the receivers are chat,pager"))
        let wrong = try await RelayProcess.command(["route", "test", second, "--expect", "chat", "--config", config])
        #expect(wrong.status == 1)
        #expect(wrong.output.contains("MISMATCH: expected chat, got chat,pager"))

        // With the previous run stored, the finding is known: only the chat hears it.
        try await withTestStoreURL("sqlite://" + database) { store in
            _ = try await AuditFixtures.record(run("first", 1_000), in: store)
        }
        let compared = try await RelayProcess.command(["route", "test", second, "--expect", "chat", "--config", config])
        #expect(compared.status == 0, "\(compared.output)")
        #expect(compared.output.contains("Compared with the stored run first."))
        let firstRun = try await RelayProcess.command(["route", "test", second, "--no-store", "--expect", "chat,pager", "--config", config])
        #expect(firstRun.status == 0, "--no-store treats it as a first run: \(firstRun.output)")
    }

    @Test func receiversTestSendsAMarkedAlertAndReportsTheOutcome() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let chat = try await FakeChat.start(pki: fake.pki)
        defer { chat.stop() }
        let directory = try makeTemporaryDirectory("receivers-test")
        let config = try AlertCommandTests().write("""
            outbound:
              ca_file: "\(fake.pki.caFile)"
              connect_to: [\(chat.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
            receivers:
              - {name: slack, type: slack, url: "https://hooks.slack.com/services/T1/B1/secret"}
              - {name: gone, type: webhook, url: "https://hooks.example.com/status/404/x"}
              - {name: pager, type: pagerduty, routing_key: R0UT1NGKEY0123456789abcdefABCDEF}
            routes:
              - {match: {}, receivers: [slack, gone, pager]}
            """, "config.yaml", in: directory)
        let slack = try await RelayProcess.command(["receivers", "test", "slack", "--config", config])
        #expect(slack.status == 0, "\(slack.output)")
        #expect(slack.output.contains("delivered: HTTP 200"))
        let sent = try #require(chat.requests(to: "/services/T1/B1/secret").first?.json)
        #expect((sent["text"] as? String)?.hasPrefix("TEST: defender-relay test alert for receiver slack") == true)

        let gone = try await RelayProcess.command(["receivers", "test", "gone", "--config", config])
        #expect(gone.status == 1)
        #expect(gone.output.contains("refused: HTTP 404"))

        let pager = try await RelayProcess.command(["receivers", "test", "pager", "--config", config])
        #expect(pager.status == 0, "\(pager.output)")
        #expect(pager.output.components(separatedBy: "delivered: HTTP 202").count == 3, "a trigger and its resolve")
        #expect(chat.requests(to: "/v2/enqueue").compactMap { $0.json?["event_action"] as? String } == ["trigger", "resolve"])

        let unknown = try await RelayProcess.command(["receivers", "test", "nobody", "--config", config])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("No receiver is named 'nobody'"))
    }
}
