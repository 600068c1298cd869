import Alerts
import RelayConfig
import DeviceDefender
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
@testable import Relay
import SNS
import Storage
import TestSupport
import Testing

/// Alerts leaving the relay for real: local HTTPS servers play the chat services, aiosmtpd the
/// mail server; the relay runs on loopback and sends through libcurl.
@Suite(.timeLimit(.minutes(3)))
struct DeliveryTests {
    struct Setup: Sendable {
        let fake: FakeAWS
        let chat: FakeChat
        let certificateURL: String
    }

    static func receiver(_ name: String, _ kind: RelayConfiguration.Receiver.Kind, _ url: String, _ adjust: (inout RelayConfiguration.Receiver) -> Void = { _ in }) -> RelayConfiguration.Receiver {
        var receiver = RelayConfiguration.Receiver(name: name, kind: kind)
        receiver.url = url
        adjust(&receiver)
        return receiver
    }

    func withRelay(
        receivers: [RelayConfiguration.Receiver], routes: [AlertRoute]? = nil, smtp: [String] = [],
        _ adjust: (inout RelayConfiguration) -> Void = { _ in },
        beforeStart: (SQLiteStore) async throws -> Void = { _ in },
        _ body: @Sendable (Setup, RelayHarness, any TestClientProtocol) async throws -> Void
    ) async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let chat = try await FakeChat.start(pki: fake.pki)
        defer { chat.stop() }
        let url = try fake.publish(.shared)
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) { configuration in
            configuration.outbound.connectTo = chat.connectTo + smtp + fake.connectTo
            configuration.receivers = receivers
            configuration.routes = routes ?? [AlertRoute(match: .init(), receivers: receivers.map(\.name))]
            configuration.alerts.retryBaseSeconds = 0.1
            configuration.api.token = "delivery-test-token-0123456789"
            adjust(&configuration)
        })
        try await beforeStart(harness.store)
        try await harness.run { client in try await body(Setup(fake: fake, chat: chat, certificateURL: url), harness, client) }
    }

    static func auditEnvelope(_ taskID: String, start: Int64 = 1_764_000_000_000, checks: [(String, String, Int)], url: String) throws -> TestEnvelope {
        try TestEnvelope(type: .notification, message: AuditFixtures.audit(taskID, start: start, checks: checks), certificateURL: url).signed()
    }

    static let checks = [("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 3), ("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0)]

    @Test func everyServiceGetsExactlyWhatItsRendererProduced() async throws {
        let receivers = [
            Self.receiver("slack", .slack, "https://hooks.slack.com/services/T000/B000/slacksecret"),
            Self.receiver("teams", .teams, "https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teamssecret"),
            Self.receiver("discord", .discord, "https://discord.com/api/webhooks/123/discordsecret"),
            Self.receiver("chat", .googlechat, "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=chatsecret"),
            Self.receiver("hook", .webhook, "https://hooks.example.com/defender") {
                $0.headers = ["X-Team": "iot"]
                $0.hmacSecret = "shared-secret"
            },
        ]
        try await withRelay(receivers: receivers) { setup, harness, client in
            let envelope = try Self.auditEnvelope("deliver-1", checks: Self.checks, url: setup.certificateURL)
            #expect(try await client.postSNS(envelope).status == .ok)
            let requests = try await eventually("five deliveries") { () -> [FakeChat.Request]? in
                let requests = setup.chat.requests()
                return requests.count >= 5 ? requests : nil
            }
            #expect(requests.count == 5)

            // What the relay built from the stored audit, rendered here by the same pure code.
            var audit = try AuditNotification.decode(envelope.fields["Message"]!)
            audit.region = try #require(TopicARN(RelayHarness.topic)).region
            let alert = AlertBuilder().audit(audit, change: AuditChange.between(previous: nil, current: audit), topicARN: RelayHarness.topic)
            func body(_ host: String) -> [UInt8]? { requests.first { $0.host.hasPrefix(host) }?.bytes }
            #expect(body("hooks.slack.com") == SlackMessage.render(alert))
            #expect(body("prod-00.westus.logic.azure.com") == TeamsMessage.render(alert))
            #expect(body("discord.com") == DiscordMessage.render(alert))
            #expect(body("chat.googleapis.com") == GoogleChatMessage.render(alert))
            #expect(body("hooks.example.com") == WebhookDocument.render(alert))
            #expect(requests.first { $0.host.hasPrefix("prod-00") }?.path == "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teamssecret")

            let hook = try #require(requests.first { $0.host.hasPrefix("hooks.example.com") })
            #expect(hook.headers["x-team"] == "iot")
            #expect(hook.headers["idempotency-key"] == "audit:deliver-1#hook")
            #expect(hook.headers["content-type"] == "application/json; charset=utf-8")
            let timestamp = try #require(hook.headers["x-defender-relay-timestamp"])
            #expect(hook.headers["x-defender-relay-signature"] == "sha256=" + AlertSender.signature(secret: "shared-secret", timestamp: timestamp, body: hook.bytes))

            let delivered = try await eventually("all five recorded as delivered") { () -> [Delivery]? in
                let rows = try await harness.store.deliveries(state: .delivered, limit: 10)
                return rows.count == 5 ? rows : nil
            }
            #expect(delivered.allSatisfy { $0.attempts == 1 && $0.lastStatus == 200 })
            // SNS re-delivering the message queues nothing new.
            #expect(try await client.postSNS(envelope).code == "duplicate")
            #expect(try await harness.store.deliveries(state: nil, limit: 20).count == 5)
        }
    }

    @Test func retriesTransientFailuresHonoursRetryAfterAndDeadLettersTheRest() async throws {
        let receivers = [
            Self.receiver("flaky", .webhook, "https://hooks.example.com/flaky/2/x"),
            Self.receiver("busy", .webhook, "https://hooks.example.com/retry-after/1/x"),
            Self.receiver("refusing", .webhook, "https://hooks.example.com/status/400/x"),
            Self.receiver("broken", .webhook, "https://hooks.example.com/status/503/x"),
            Self.receiver("hanging-up", .webhook, "https://hooks.example.com/close/x"),
            Self.receiver("too-slow", .webhook, "https://hooks.example.com/slow/x"),
        ]
        try await withRelay(receivers: receivers, {
            $0.alerts.maxAttempts = 3
            $0.outbound.timeoutSeconds = 1
        }) { setup, harness, client in
            #expect(try await client.postSNS(try Self.auditEnvelope("retry-1", checks: Self.checks, url: setup.certificateURL)).status == .ok)
            let settled = try await eventually(timeout: .seconds(30), "every delivery to settle") { () -> [String: Delivery]? in
                let rows = try await harness.store.deliveries(state: nil, limit: 10)
                let done = rows.filter { $0.state == .delivered || $0.state == .dead }
                return done.count == 6 ? Dictionary(uniqueKeysWithValues: rows.map { ($0.receiver, $0) }) : nil
            }
            #expect(settled["flaky"]?.state == .delivered)
            #expect(settled["flaky"]?.attempts == 3)
            #expect(settled["busy"]?.state == .delivered)
            #expect(settled["busy"]?.attempts == 2)
            let busy = setup.chat.requests(to: "/retry-after/")
            #expect(busy.count == 2)
            #expect(busy[1].time - busy[0].time >= 0.95, "Retry-After: 1 was not honoured")
            #expect(settled["refusing"]?.state == .dead)
            #expect(settled["refusing"]?.attempts == 1, "a 400 is permanent")
            #expect(settled["refusing"]?.lastStatus == 400)
            #expect(settled["broken"]?.state == .dead)
            #expect(settled["broken"]?.attempts == 3)
            #expect(settled["broken"]?.lastError?.contains("gave up after 3 attempts") == true)
            #expect(settled["hanging-up"]?.state == .dead)
            #expect(settled["hanging-up"]?.attempts == 3)
            #expect(settled["too-slow"]?.state == .dead)
            #expect(settled["too-slow"]?.lastError?.contains("timeout") == true)

            let dead = try await client.get("/api/v1/deliveries?state=dead", headers: [.authorization: "Bearer delivery-test-token-0123456789"])
            let listed = try JSONSerialization.jsonObject(with: Data(dead.body.readableBytesView)) as? [String: Any]
            #expect((listed?["deliveries"] as? [[String: Any]])?.count == 4)

            let metrics = String(buffer: try await client.get("/metrics").body)
            #expect(metrics.contains(#"defender_relay_deliveries{state="dead"} 4"#))
            #expect(!metrics.contains(#"state="delivered""#), "delivered ones are history, not counted at every scrape")

            // An operator re-queues one dead delivery: it is attempted again.
            let before = setup.chat.requests(to: "/status/400/").count
            #expect(try await harness.store.retryDeadDeliveries(id: "audit:retry-1#refusing", at: SNSInstant(date: Date()).millisecondsSince1970) == 1)
            _ = try await eventually("the retried delivery to be attempted") { setup.chat.requests(to: "/status/400/").count > before ? true : nil }
        }
    }

    @Test func rendersAWebhookTemplateAndAlertsOnSubscriptionChanges() async throws {
        let template = try makeTemporaryDirectory("template").appendingPathComponent("webhook.json.mustache")
        try #"{"text": "{{{title}}}", "severity": "{{severity}}", "checks": [{{#findings}}"{{checkName}}"{{^last}}{{/last}},{{/findings}}""]}"#
            .write(to: template, atomically: true, encoding: .utf8)
        let receivers = [
            Self.receiver("templated", .webhook, "https://hooks.example.com/templated") { $0.template = template.path },
            Self.receiver("ops", .webhook, "https://hooks.example.com/ops"),
        ]
        let routes = [
            AlertRoute(match: .init(kinds: [.audit]), receivers: ["templated"]),
            AlertRoute(match: .init(kinds: [.subscription]), receivers: ["ops"]),
        ]
        try await withRelay(receivers: receivers, routes: routes) { setup, _, client in
            #expect(try await client.postSNS(try Self.auditEnvelope("tpl-1", checks: Self.checks, url: setup.certificateURL)).status == .ok)
            #expect(try await client.postSNS(try TestEnvelope(type: .subscriptionConfirmation, certificateURL: setup.certificateURL).signed()).code == "confirmed")
            #expect(try await client.postSNS(try TestEnvelope(type: .unsubscribeConfirmation, certificateURL: setup.certificateURL).signed()).status == .ok)
            let templated = try await eventually("the templated webhook") { setup.chat.requests(to: "/templated").first }
            let json = try #require(templated.json)
            #expect(json["text"] as? String == "Device Defender audit: daily: 1 non-compliant check")
            #expect(json["severity"] as? String == "CRITICAL")
            #expect((json["checks"] as? [String])?.first == "DEVICE_CERTIFICATE_SHARED_CHECK")
            #expect(templated.headers["content-type"] == "application/json; charset=utf-8")

            let statuses = try await eventually("three subscription alerts") { () -> [String]? in
                let bodies = setup.chat.requests(to: "/ops").compactMap { $0.json }
                return bodies.count >= 3 ? bodies.compactMap { ($0["attributes"] as? [String: Any])?["eventType"] as? String } : nil
            }
            #expect(Set(statuses) == ["pending", "confirmed", "unsubscribed"])
        }
    }

    @Test func spacesSendsToAReceiverWithinItsRate() async throws {
        let receivers = [Self.receiver("slack", .slack, "https://hooks.slack.com/services/T/B/rate") { $0.ratePerSecond = 2 }]
        try await withRelay(receivers: receivers) { setup, _, client in
            for index in 0..<4 {
                #expect(try await client.postSNS(try Self.auditEnvelope("rate-\(index)", start: Int64(1_000 + index), checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", index + 1)], url: setup.certificateURL)).status == .ok)
            }
            let requests = try await eventually("four messages") { () -> [FakeChat.Request]? in
                let requests = setup.chat.requests()
                return requests.count == 4 ? requests : nil
            }
            // Sends start 0.5 s apart. The first arrives late by the connection's set-up (TLS,
            // more on a busy machine), so the rate is judged on the warm connection: the second
            // to the fourth take 1 s, less the jitter of a busy machine (without a limit: ~0).
            let times = requests.map(\.time).sorted()
            #expect(times[3] - times[1] >= 0.7, "messages 2 to 4 arrived within \(times[3] - times[1]) s at 2 per second")
            for index in 1..<times.count {
                #expect(times[index] - times[index - 1] >= 0.2, "sends \(index - 1) and \(index) were \(times[index] - times[index - 1]) s apart")
            }
            // libcurl kept the TLS connection alive: one client port for all four.
            #expect(Set(requests.map(\.client_port)).count == 1)
        }
    }

    /// A webhook without a rate limit gets its deliveries in parallel, never more at once than
    /// its `concurrency`, over that many kept-alive connections at most.
    @Test func sendsToAnUnlimitedWebhookInParallelWithinItsConcurrency() async throws {
        let receivers = [Self.receiver("hook", .webhook, "https://hooks.example.com/pause/300/parallel") {
            $0.ratePerSecond = 0
            $0.concurrency = 3
        }]
        try await withRelay(receivers: receivers) { setup, _, client in
            for index in 0..<9 {
                #expect(try await client.postSNS(try Self.auditEnvelope("parallel-\(index)", start: Int64(1_000 + index), checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", index + 1)], url: setup.certificateURL)).status == .ok)
            }
            let requests = try await eventually("nine deliveries") { () -> [FakeChat.Request]? in
                let requests = setup.chat.requests(to: "/pause/")
                return requests.count == 9 ? requests : nil
            }
            // Each request holds its connection for 0.3 s: count those under way when each arrived.
            let times = requests.map(\.time).sorted()
            let overlap = times.map { start in times.filter { $0 <= start && $0 + 0.3 > start }.count }.max() ?? 0
            #expect(overlap >= 2, "deliveries were sent one at a time")
            #expect(overlap <= 3, "\(overlap) deliveries were under way at once, concurrency is 3")
            #expect(Set(requests.map(\.client_port)).count <= 3)
            #expect(Set(requests.map { $0.headers["idempotency-key"] ?? "" }).count == 9)
        }
    }

    /// A lane's claim holds no more deliveries than its receiver can be sent within half the
    /// lease, at its rate and with its senders each taking up to the outbound timeout: a claim
    /// sent after its lease ran out would be sent again by another replica.
    @Test func claimsNoMoreThanTheReceiverSendsWithinItsLease() {
        // 60 s at one a second, but one sender whose sends may each take 10 s: 6.
        #expect(DeliveryService.claimLimit(rate: 1, concurrency: 1, leaseSeconds: 120, sendTimeoutSeconds: 10) == 6)
        #expect(DeliveryService.claimLimit(rate: 0, concurrency: 4, leaseSeconds: 120, sendTimeoutSeconds: 10) == 24)
        #expect(DeliveryService.claimLimit(rate: 0, concurrency: 64, leaseSeconds: 120, sendTimeoutSeconds: 1) == 256)
        #expect(DeliveryService.claimLimit(rate: 10, concurrency: 50, leaseSeconds: 120, sendTimeoutSeconds: 1) == 256)
        #expect(DeliveryService.claimLimit(rate: 1, concurrency: 4, leaseSeconds: 4, sendTimeoutSeconds: 1) == 2)
        #expect(DeliveryService.claimLimit(rate: 0.01, concurrency: 4, leaseSeconds: 120, sendTimeoutSeconds: 1) == 1)
        #expect(DeliveryService.claimLimit(rate: 0, concurrency: 1, leaseSeconds: 10, sendTimeoutSeconds: 300) == 1)
    }

    @Test func repeatIntervalSilencesTheSameUnchangedFinding() async throws {
        let receivers = [Self.receiver("slack", .slack, "https://hooks.slack.com/services/T/B/repeat")]
        let routes = [AlertRoute(match: .init(kinds: [.audit], nonCompliant: true), receivers: ["slack"], repeatIntervalSeconds: 3600)]
        try await withRelay(receivers: receivers, routes: routes) { setup, harness, client in
            let finding = [("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 3)]
            #expect(try await client.postSNS(try Self.auditEnvelope("daily-1", start: 1_000, checks: finding, url: setup.certificateURL)).status == .ok)
            #expect(try await client.postSNS(try Self.auditEnvelope("daily-2", start: 2_000, checks: finding, url: setup.certificateURL)).status == .ok)
            #expect(try await client.postSNS(try Self.auditEnvelope("daily-3", start: 3_000, checks: [("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 9)], url: setup.certificateURL)).status == .ok)
            _ = try await eventually("two messages") { setup.chat.requests().count >= 2 ? true : nil }
            try await Task.sleep(for: .milliseconds(500))
            #expect(setup.chat.requests().count == 2)
            #expect(try await harness.store.deliveries(state: nil, limit: 10).map(\.alertID).sorted() == ["audit:daily-1", "audit:daily-3"])
        }
    }

    @Test func sendsMailOverImplicitTLS() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let smtps = try await FakeSMTP.start(tls: fake.pki, implicitTLS: true)
        defer { smtps.stop() }
        var receiver = RelayConfiguration.Receiver(name: "smtps-mail", kind: .email)
        receiver.smtpURL = "smtps://smtp.example.com:\(smtps.port)"
        receiver.username = "relay"
        receiver.password = "smtp-secret"
        receiver.from = "defender-relay@example.com"
        receiver.to = ["iot-security@example.com"]
        let url = try fake.publish(.shared)
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) { configuration in
            configuration.outbound.connectTo = ["smtp.example.com:\(smtps.port):127.0.0.1:\(smtps.port)"] + fake.connectTo
            configuration.receivers = [receiver]
            configuration.routes = [AlertRoute(match: .init(), receivers: ["smtps-mail"])]
        })
        try await harness.run { client in
            #expect(try await client.postSNS(try Self.auditEnvelope("smtps-1", checks: Self.checks, url: url)).status == .ok)
            let mails = try await eventually("a mail over smtps") { smtps.mails().isEmpty ? nil : smtps.mails() }
            #expect(mails[0].tls)
            #expect(mails[0].rcpt_tos == ["iot-security@example.com"])
        }
    }

    @Test func sendsMailOverSTARTTLSWithAuthAndNeverInPlaintext() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let secure = try await FakeSMTP.start(tls: fake.pki)
        defer { secure.stop() }
        let plain = try await FakeSMTP.start(tls: nil)
        defer { plain.stop() }
        func mail(_ name: String, port: Int) -> RelayConfiguration.Receiver {
            var receiver = RelayConfiguration.Receiver(name: name, kind: .email)
            receiver.smtpURL = "smtp://smtp.example.com:\(port)"
            receiver.username = "relay"
            receiver.password = "smtp-secret"
            receiver.from = "defender-relay@example.com"
            receiver.to = ["iot-security@example.com", "oncall@example.com"]
            return receiver
        }
        let textTemplate = try makeTemporaryDirectory("mail-template").appendingPathComponent("text.mustache")
        try "Audit {{id}}: {{summary}}\n{{#findings}}* {{checkName}} ({{change}})\n{{/findings}}".write(to: textTemplate, atomically: true, encoding: .utf8)
        var templated = mail("secure-mail", port: secure.port)
        templated.subjectTemplate = "[{{severity}}] {{title}}\nBcc: injected@example.com"
        templated.textTemplate = textTemplate.path
        let receivers = [templated, mail("plain-mail", port: plain.port)]
        let url = try fake.publish(.shared)
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) { configuration in
            configuration.outbound.connectTo = ["smtp.example.com:\(secure.port):127.0.0.1:\(secure.port)", "smtp.example.com:\(plain.port):127.0.0.1:\(plain.port)"] + fake.connectTo
            configuration.receivers = receivers
            configuration.routes = [AlertRoute(match: .init(), receivers: ["secure-mail", "plain-mail"])]
            configuration.alerts.retryBaseSeconds = 0.1
            configuration.alerts.maxAttempts = 2
        })
        try await harness.run { client in
            #expect(try await client.postSNS(try Self.auditEnvelope("mail-1", checks: Self.checks, url: url)).status == .ok)
            let mails = try await eventually("a mail") { secure.mails().isEmpty ? nil : secure.mails() }
            #expect(mails.count == 1)
            #expect(mails[0].tls)
            #expect(mails[0].mail_from == "defender-relay@example.com")
            #expect(mails[0].rcpt_tos == ["iot-security@example.com", "oncall@example.com"])
            #expect(mails[0].content.contains("Subject: =?UTF-8?B?"))
            #expect(mails[0].content.contains("Content-Type: text/plain; charset=utf-8"))
            #expect(mails[0].content.contains("Content-Type: text/html; charset=utf-8"))
            let subjectWord = try #require(mails[0].content.components(separatedBy: "\r\n").first { $0.hasPrefix("Subject: ") })
            let encoded = subjectWord.dropFirst("Subject: =?UTF-8?B?".count).dropLast(2)
            let subject = String(decoding: Data(base64Encoded: String(encoded)) ?? Data(), as: UTF8.self)
            #expect(subject.hasPrefix("[CRITICAL] Device Defender audit: daily"))
            #expect(!mails[0].content.contains("\r\nBcc:"), "a template injected a header")
            #expect(mails[0].rcpt_tos.count == 2)
            let textPart = mails[0].content.components(separatedBy: "\r\n\r\n")[2].components(separatedBy: "\r\n--")[0]
            let text = String(decoding: Data(base64Encoded: textPart.replacingOccurrences(of: "\r\n", with: "")) ?? Data(), as: UTF8.self)
            #expect(text.hasPrefix("Audit audit:mail-1: "))
            #expect(text.contains("* DEVICE_CERTIFICATE_SHARED_CHECK (new)"))

            let refused = try await eventually("the plaintext-only server's delivery to be dead-lettered") { () -> Delivery? in
                try await harness.store.deliveries(state: .dead, limit: 5).first
            }
            #expect(refused.receiver == "plain-mail")
            #expect(plain.mails().isEmpty, "a mail went out without TLS")
        }
    }
}

/// PagerDuty's Events API v2 against a local HTTPS server that checks events as PagerDuty does:
/// a trigger per new finding, a resolve once the check is compliant again, the routing key
/// added at send time and never stored.
@Suite(.timeLimit(.minutes(3)))
struct PagerDutyDeliveryTests {
    @Test func triggersPerNewFindingAndResolvesWhenCompliantAgain() async throws {
        let routingKey = "R0UT1NGKEY0123456789abcdefABCDEF"
        let pager = DeliveryTests.receiver("pager", .pagerduty, "https://events.pagerduty.com/v2/enqueue") { $0.routingKey = routingKey }
        try await DeliveryTests().withRelay(receivers: [pager]) { setup, harness, client in
            let first = try DeliveryTests.auditEnvelope("pd-1", start: 1_764_000_000_000, checks: [
                ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 3), ("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1),
                ("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "COMPLETED_COMPLIANT", 0),
            ], url: setup.certificateURL)
            #expect(try await client.postSNS(first).status == .ok)
            let triggers = try await eventually("two triggers") { () -> [FakeChat.Request]? in
                let requests = setup.chat.requests(to: "/v2/enqueue")
                return requests.count >= 2 ? requests : nil
            }
            let events = triggers.compactMap(\.json)
            #expect(events.allSatisfy { $0["routing_key"] as? String == routingKey && $0["event_action"] as? String == "trigger" })
            let shared = try #require(events.first { ($0["dedup_key"] as? String)?.hasSuffix("DEVICE_CERTIFICATE_SHARED_CHECK") == true })
            #expect(shared["dedup_key"] as? String == "123456789012:us-east-1:DEVICE_CERTIFICATE_SHARED_CHECK")
            let payload = try #require(shared["payload"] as? [String: Any])
            #expect(payload["severity"] as? String == "critical")
            #expect((payload["summary"] as? String)?.hasPrefix("CRITICAL: Device certificate shared — new, 3 of ") == true)
            #expect(((payload["custom_details"] as? [String: Any])?["remediation"] as? String)?.isEmpty == false)
            let logging = try #require(events.first { ($0["dedup_key"] as? String)?.hasSuffix("LOGGING_DISABLED_CHECK") == true })
            #expect((logging["payload"] as? [String: Any])?["severity"] as? String == "info")

            // The next run: the shared certificates are fixed, logging stays off (known: no event).
            let second = try DeliveryTests.auditEnvelope("pd-2", start: 1_764_086_400_000, checks: [
                ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_COMPLIANT", 0), ("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1),
                ("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "COMPLETED_COMPLIANT", 0),
            ], url: setup.certificateURL)
            #expect(try await client.postSNS(second).status == .ok)
            let all = try await eventually("the resolve and the open finding's trigger") { () -> [FakeChat.Request]? in
                let requests = setup.chat.requests(to: "/v2/enqueue")
                return requests.count >= 4 ? requests : nil
            }
            // The open finding triggers again (PagerDuty folds it into its open incident).
            let again = all.dropFirst(2).compactMap(\.json)
            #expect(again.contains { $0["event_action"] as? String == "trigger" && ($0["dedup_key"] as? String)?.hasSuffix("LOGGING_DISABLED_CHECK") == true })
            let resolve = try #require(again.first { $0["event_action"] as? String == "resolve" })
            #expect(resolve["event_action"] as? String == "resolve")
            #expect(resolve["dedup_key"] as? String == "123456789012:us-east-1:DEVICE_CERTIFICATE_SHARED_CHECK")
            #expect(resolve["routing_key"] as? String == routingKey)

            let delivered = try await eventually("four delivered with PagerDuty's 202") { () -> [Delivery]? in
                let rows = try await harness.store.deliveries(state: .delivered, limit: 10)
                return rows.count == 4 ? rows : nil
            }
            #expect(delivered.allSatisfy { $0.lastStatus == 202 })
            #expect(delivered.allSatisfy { !String(decoding: $0.body, as: UTF8.self).contains(routingKey) }, "the routing key is never stored")
        }
    }
}
