import Alerts
import DeviceDefender
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import Ingest
import NIOCore
import Relay
import RelayConfig
import SNS
import Storage
import TestSupport
import Testing

/// Silences: a silenced finding is stored and shown but alerts nobody, on both stores, through
/// the API of a live relay and through the CLI; each field a person types is checked.
@Suite(.timeLimit(.minutes(2)))
struct SilenceTests {
    static let hour: Int64 = 3_600_000

    static func silence(_ id: String, check: String = "DEVICE_CERTIFICATE_SHARED_CHECK", account: String? = nil, region: String? = nil, schedule: String? = nil, from: Int64 = 0, hours: Int64 = 1) -> Silence {
        Silence(id: id, checkName: check, accountID: account, region: region, scheduledAuditName: schedule, startsAt: from, endsAt: from + hours * hour, comment: "known", createdAt: from)
    }

    @Test(arguments: [
        ("check", "not a check", "7d", "why", "'not a check' is not a check name such as DEVICE_CERTIFICATE_SHARED_CHECK"),
        ("for", "LOGGING_DISABLED_CHECK", "forever", "why", "'forever' is not a duration such as 2h or 7d, of at most 366d"),
        ("for", "LOGGING_DISABLED_CHECK", "400d", "why", "'400d' is not a duration such as 2h or 7d, of at most 366d"),
        ("comment", "LOGGING_DISABLED_CHECK", "7d", "  ", "say why, in 1 to 500 characters on one line"),
        ("comment", "LOGGING_DISABLED_CHECK", "7d", "a\nb", "say why, in 1 to 500 characters on one line"),
    ])
    func refusesWhatCannotBeASilence(_ field: String, _ check: String, _ duration: String, _ comment: String, _ reason: String) {
        #expect(throws: SilenceRequestError(field: field, reason: reason)) {
            try Silence.requested(check: check, account: nil, region: nil, scheduledAudit: nil, duration: duration, comment: comment, createdBy: nil, id: "s", now: 0)
        }
        #expect(throws: SilenceRequestError(field: "account", reason: "'12345' is not a 12-digit AWS account id")) {
            try Silence.requested(check: "LOGGING_DISABLED_CHECK", account: "12345", region: nil, scheduledAudit: nil, duration: "1h", comment: "c", createdBy: nil, id: "s", now: 0)
        }
    }

    @Test func coversFindingsByCheckAccountRegionAndScheduleWhileActive() throws {
        let old = try Silence.requested(check: "DEVICE_CERT_APPROACHING_EXPIRATION_CHECK", account: nil, region: nil, scheduledAudit: nil, duration: "1h", comment: "c", createdBy: nil, id: "a", now: 0)
        #expect(old.checkName == "DEVICE_CERTIFICATE_EXPIRING_CHECK", "an old alias is stored by its current name")
        let audit = AuditNotification(
            accountID: "123456789012", taskID: "t", taskStatus: .completed, taskType: .scheduled, scheduledAuditName: "daily-prod", failedChecksCount: 0,
            canceledChecksCount: 0, nonCompliantChecksCount: 2, compliantChecksCount: 0, totalChecksCount: 2, taskStartTime: 0,
            checks: [
                AuditCheckResult(checkName: "DEVICE_CERTIFICATE_SHARED_CHECK", runStatus: .nonCompliant, nonCompliantResourcesCount: 1, totalResourcesCount: 9, severity: .critical),
                AuditCheckResult(checkName: "LOGGING_DISABLED_CHECK", runStatus: .nonCompliant, nonCompliantResourcesCount: 1, totalResourcesCount: 1, severity: .low),
            ],
            region: "eu-west-1"
        )
        let cases: [(Silence, Int64, Set<String>)] = [
            (Self.silence("any"), 1000, ["DEVICE_CERTIFICATE_SHARED_CHECK"]),
            (Self.silence("ended"), Self.hour, []),
            (Self.silence("later", from: 10 * Self.hour), 1000, []),
            (Self.silence("account", account: "123456789012", region: "eu-west-1", schedule: "daily-*"), 1000, ["DEVICE_CERTIFICATE_SHARED_CHECK"]),
            (Self.silence("other account", account: "210987654321"), 1000, []),
            (Self.silence("other region", region: "us-east-1"), 1000, []),
            (Self.silence("other schedule", schedule: "weekly-*"), 1000, []),
        ]
        for (silence, now, expected) in cases {
            #expect([silence].silencedChecks(of: audit, at: now) == expected, "\(silence.id)")
        }
        var expired = Self.silence("expired")
        expired.expiredAt = 500
        #expect(![expired].silencedChecks(of: audit, at: 1000).contains("DEVICE_CERTIFICATE_SHARED_CHECK"))

        // The alert leaves the silenced finding out; silencing every finding leaves no alert.
        let builder = AlertBuilder()
        let partly = try #require(builder.audit(audit, change: AuditChange.between(previous: nil, current: audit), topicARN: RelayHarness.topic, silenced: ["DEVICE_CERTIFICATE_SHARED_CHECK"]))
        #expect(partly.findings.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])
        #expect(partly.headline.hasPrefix("LOW: 1 new finding"))
        #expect(partly.summary.hasSuffix("(1 new); 1 silenced"))
        #expect(builder.audit(audit, change: AuditChange.between(previous: nil, current: audit), topicARN: RelayHarness.topic, silenced: ["DEVICE_CERTIFICATE_SHARED_CHECK", "LOGGING_DISABLED_CHECK"]) == nil)
    }

    @Test(arguments: TestBackend.allCases)
    func storesListsExpiresAndBoundsSilences(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, url in
            #expect(try await store.addSilence(Self.silence("s-1", from: 0, hours: 2)))
            #expect(try await store.addSilence(Self.silence("s-2", check: "LOGGING_DISABLED_CHECK", from: 1000, hours: 1)))
            #expect(try await store.silences(includeEnded: false, at: 5000).map(\.id) == ["s-2", "s-1"])
            #expect(try await store.silences(includeEnded: false, at: Self.hour + 1000).map(\.id) == ["s-1"], "s-2 ended")
            #expect(try await store.expireSilence(id: "s-1", at: 6000))
            #expect(try await !store.expireSilence(id: "s-1", at: 7000), "expired already")
            #expect(try await !store.expireSilence(id: "nope", at: 7000))
            #expect(try await store.silences(includeEnded: false, at: 7000).map(\.id) == ["s-2"])
            let all = try await store.silences(includeEnded: true, at: 7000)
            #expect(all.first { $0.id == "s-1" }?.expiredAt == 6000)

            // The ingest transaction sees the ones in effect.
            let active = try await store.withIngestTransaction { try await $0.activeSilences(since: 7000) }
            #expect(active.map(\.id) == ["s-2"])

            // At most Silence.maxActive in effect at once (the others are written in one
            // statement: a thousand transactions would only load the machine).
            let bulk = """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(Silence.maxActive - 1))
                INSERT INTO silences (id, check_name, starts_at, ends_at, comment, created_at) SELECT 'bulk-' || i, 'LOGGING_DISABLED_CHECK', 8000, 3608000, 'bulk', 8000 FROM n
                """
            switch backend {
            case .sqlite:
                let queue = try DatabaseQueue(path: String(url.dropFirst("sqlite://".count)))
                try await queue.write { try $0.execute(sql: bulk) }
                try queue.close()
            case .postgres:
                try await TestBackend.psql(url, bulk)
            }
            #expect(try await store.silences(includeEnded: false, at: 8000).count == Silence.maxActive)
            #expect(try await !store.addSilence(Self.silence("one-too-many", from: 8000, hours: 1)))
        }
    }

    /// The API adds a silence; the audit that follows is stored and shown whole, and its
    /// alert leaves the silenced finding out; expiring the silence brings it back.
    @Test func aSilenceAddedThroughTheAPIKeepsItsFindingOutOfAlertsOnly() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let token = "test-token-0123456789abcdef"
        let auth: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) {
            $0.api.token = token
            var hook = RelayConfiguration.Receiver(name: "hook", kind: .webhook)
            hook.url = "https://hooks.example.com/x"
            $0.receivers = [hook]
            $0.alerts.defaultReceivers = ["hook"]
        })
        try await harness.run { client in
            let url = try fake.publish(.shared)
            #expect(try await client.post("/api/v1/silences", body: Array(#"{"check":"LOGGING_DISABLED_CHECK","for":"1h","comment":"x"}"#.utf8)).status == .unauthorized)
            let refused = try await client.post("/api/v1/silences", headers: auth, body: Array(#"{"check":"LOGGING_DISABLED_CHECK","for":"1h","comment":"x","acount":"123456789012"}"#.utf8))
            #expect(refused.status == .badRequest)
            #expect(refused.detail?.hasPrefix("acount: is not a field of a silence") == true)
            let tooLarge = try await client.post("/api/v1/silences", headers: auth, body: Array(repeating: UInt8(ascii: " "), count: 20_000))
            #expect(tooLarge.status == .contentTooLarge)

            let added = try await client.post("/api/v1/silences", headers: auth, body: Array(#"{"check":"LOGGING_DISABLED_CHECK","account":"123456789012","for":"1h","comment":"logging is off on purpose in this lab","createdBy":"ana"}"#.utf8))
            #expect(added.status == .created)
            let id = try #require((try JSONSerialization.jsonObject(with: Data(added.body.readableBytesView)) as? [String: Any])?["id"] as? String)
            let listed = String(buffer: try await client.get("/api/v1/silences", headers: auth).body)
            #expect(listed.contains(id) && listed.contains("logging is off on purpose"))

            func publish(_ task: String, start: Int64) async throws {
                let payload = AuditFixtures.audit(task, start: start, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1), ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 2)])
                #expect(try await client.postSNS(try TestEnvelope(type: .notification, message: payload, certificateURL: url).signed()).status == .ok)
            }
            try await publish("silenced-1", start: 1_764_000_000_000)
            let audit = String(buffer: try await client.get("/api/v1/audits/silenced-1", headers: auth).body)
            #expect(audit.contains("LOGGING_DISABLED_CHECK"), "stored and shown")
            let first = try #require(try await harness.store.deliveries(state: nil, limit: 10).first { $0.alertID == "audit:silenced-1" })
            let body = String(decoding: first.body, as: UTF8.self)
            #expect(body.contains("DEVICE_CERTIFICATE_SHARED_CHECK"))
            #expect(!body.contains(#""checkName":"LOGGING_DISABLED_CHECK""#), "the silenced finding is not alerted")

            let expired = try await client.executeRequest(uri: "/api/v1/silences/\(id)", method: .delete, headers: auth, body: nil)
            #expect(expired.status == .ok)
            #expect(try await client.executeRequest(uri: "/api/v1/silences/\(id)", method: .delete, headers: auth, body: nil).status == .notFound)
            try await publish("silenced-2", start: 1_764_086_400_000)
            let second = try #require(try await harness.store.deliveries(state: nil, limit: 10).first { $0.alertID == "audit:silenced-2" })
            #expect(String(decoding: second.body, as: UTF8.self).contains(#""checkName":"LOGGING_DISABLED_CHECK""#))
        }
    }

    /// Without api.token (a relay on loopback may run without one), the API lists silences but
    /// does not change them: any local process or browser page could otherwise silence every
    /// check. With a token, a body that is not JSON is refused.
    @Test func changingSilencesThroughTheAPINeedsATokenAndJSON() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let open = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake))
        try await open.run { client in
            let body = Array(#"{"check":"LOGGING_DISABLED_CHECK","for":"1h","comment":"x"}"#.utf8)
            let refused = try await client.post("/api/v1/silences", headers: [.contentType: "application/json"], body: body)
            #expect(refused.status == .forbidden)
            #expect(refused.code == "api_token_required")
            #expect(try await client.executeRequest(uri: "/api/v1/silences/x", method: .delete, headers: [:], body: nil).status == .forbidden)
            #expect(try await client.get("/api/v1/silences").status == .ok)
            #expect(try await open.store.silences(includeEnded: true, at: 0).isEmpty)
        }
        let token = "test-token-0123456789abcdef"
        let guarded = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) { $0.api.token = token })
        try await guarded.run { client in
            let body = Array(#"{"check":"LOGGING_DISABLED_CHECK","for":"1h","comment":"x"}"#.utf8)
            let plain = try await client.post("/api/v1/silences", headers: [.authorization: "Bearer \(token)", .contentType: "text/plain"], body: body)
            #expect(plain.status == .unsupportedMediaType)
            #expect(try await guarded.store.silences(includeEnded: true, at: 0).isEmpty)
        }
    }

    @Test func theCommandLineAddsListsAndExpiresSilences() async throws {
        let directory = try makeTemporaryDirectory("silences-cli")
        let config = directory.appendingPathComponent("relay.yaml")
        try "storage: {url: \"sqlite://\(directory.path)/relay.sqlite\"}\n".write(to: config, atomically: true, encoding: .utf8)
        let added = try await RelayProcess.command(["silences", "add", "--check", "LOGGING_DISABLED_CHECK", "--region", "eu-west-1", "--for", "7d", "--comment", "lab account", "--json", "--config", config.path])
        #expect(added.status == 0, "\(added.output)")
        let id = try #require((try JSONSerialization.jsonObject(with: Data(added.output.utf8)) as? [String: Any])?["id"] as? String)
        let listed = try await RelayProcess.command(["silences", "list", "--config", config.path])
        #expect(listed.status == 0)
        #expect(listed.output.contains(id) && listed.output.contains("LOGGING_DISABLED_CHECK") && listed.output.contains("eu-west-1"))
        let bad = try await RelayProcess.command(["silences", "add", "--check", "LOGGING_DISABLED_CHECK", "--for", "never", "--comment", "x", "--config", config.path])
        #expect(bad.status == 1)
        #expect(bad.output.contains("'never' is not a duration"))
        #expect(try await RelayProcess.command(["silences", "expire", id, "--config", config.path]).status == 0)
        #expect(try await RelayProcess.command(["silences", "expire", id, "--config", config.path]).status == 1)
        #expect(try await RelayProcess.command(["silences", "list", "--config", config.path]).output.contains("No silences in effect."))
    }
}
