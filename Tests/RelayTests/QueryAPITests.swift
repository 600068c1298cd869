import DeviceDefender
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Relay
import RelayConfig
import SNS
import Storage
import TestSupport
import Testing

/// The query API over a live relay: bearer auth, filters, cursor pagination, details, metrics,
/// and an audit that arrives as a signed SNS notification.
@Suite(.timeLimit(.minutes(2)))
struct QueryAPITests {
    static let token = "test-token-0123456789abcdef"
    static let auth: HTTPFields = [.authorization: "Bearer \(token)"]

    func withRelay(_ body: @Sendable (FakeAWS, RelayHarness, any TestClientProtocol) async throws -> Void) async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) { $0.api.token = Self.token })
        try await harness.run { client in try await body(fake, harness, client) }
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    @Test func everyAPIRouteRequiresTheBearerToken() async throws {
        try await withRelay { _, _, client in
            for path in ["/api/v1/audits", "/api/v1/audits/x", "/api/v1/checks", "/api/v1/violations", "/api/v1/subscriptions"] {
                let missing = try await client.get(path)
                #expect(missing.status == .unauthorized, "\(path) without a token")
                #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(try await client.get(path, headers: [.authorization: "Bearer wrong-token-0123456789abc"]).status == .unauthorized)
                #expect(try await client.get(path, headers: [.authorization: "Basic \(Self.token)"]).status == .unauthorized)
            }
            #expect(try await client.get("/api/v1/audits", headers: Self.auth).status == .ok)
        }
    }

    @Test func anAuditPublishedThroughSNSCanBeQueried() async throws {
        try await withRelay { fake, _, client in
            let url = try fake.publish(.shared)
            let payload = AuditFixtures.audit("e2e-task-1", start: 1_764_000_000_000, checks: [
                ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 4), ("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0),
                ("BRAND_NEW_CHECK", "COMPLETED_NON_COMPLIANT", 1),
            ])
            let envelope = try TestEnvelope(type: .notification, message: payload, subject: "Device Defender audit", certificateURL: url).signed()
            #expect(try await client.postSNS(envelope).status == .ok)

            let detail = try await client.get("/api/v1/audits/e2e-task-1", headers: Self.auth)
            #expect(detail.status == .ok)
            let body = try json(detail)
            let audit = try #require(body["audit"] as? [String: Any])
            #expect(audit["taskId"] as? String == "e2e-task-1")
            #expect(audit["sourceMessageId"] as? String == envelope.messageID)
            #expect(audit["nonCompliantResources"] as? Int == 5)
            let checks = try #require(body["auditDetails"] as? [[String: Any]])
            #expect(checks.map { $0["checkName"] as? String } == ["DEVICE_CERTIFICATE_SHARED_CHECK", "LOGGING_DISABLED_CHECK", "BRAND_NEW_CHECK"])
            #expect(checks[0]["severity"] as? String == "CRITICAL")
            #expect((checks[0]["description"] as? String)?.isEmpty == false)
            #expect(checks[2]["severity"] as? String == "UNKNOWN")
            let change = try #require(audit["change"] as? [String: Any])
            #expect((change["newlyNonCompliant"] as? [[String: Any]])?.count == 2)

            let missing = try await client.get("/api/v1/audits/nope", headers: Self.auth)
            #expect(missing.status == .notFound)
            #expect(missing.code == "not_found")

            let metrics = String(buffer: try await client.get("/metrics").body)
            #expect(metrics.contains(#"defender_audit_noncompliant_resources{check="DEVICE_CERTIFICATE_SHARED_CHECK",account="123456789012",region="us-east-1",severity="CRITICAL"} 4"#))
            #expect(metrics.contains(#"defender_audit_noncompliant_resources{check="BRAND_NEW_CHECK",account="123456789012",region="us-east-1",severity="UNKNOWN"} 1"#))
        }
    }

    @Test func filtersAndPagesThroughTheAPI() async throws {
        try await withRelay { _, harness, client in
            for index in 0..<5 {
                try await AuditFixtures.record(AuditFixtures.audit("p\(index)", start: Int64(1_000_000 + index), status: index == 2 ? "FAILED" : "COMPLETED", checks: [("LOGGING_DISABLED_CHECK", index % 2 == 0 ? "COMPLETED_NON_COMPLIANT" : "COMPLETED_COMPLIANT", index % 2 == 0 ? 1 : 0)]), in: harness.store)
            }
            var seen: [String] = []
            var path = "/api/v1/audits?limit=2"
            while true {
                let body = try json(try await client.get(path, headers: Self.auth))
                seen += (body["audits"] as? [[String: Any]] ?? []).compactMap { $0["taskId"] as? String }
                guard let cursor = body["nextCursor"] as? String else { break }
                path = "/api/v1/audits?limit=2&cursor=\(cursor)"
            }
            #expect(seen == ["p4", "p3", "p2", "p1", "p0"])

            let failed = try json(try await client.get("/api/v1/audits?status=FAILED", headers: Self.auth))
            #expect((failed["audits"] as? [[String: Any]])?.compactMap { $0["taskId"] as? String } == ["p2"])
            let noncompliant = try json(try await client.get("/api/v1/audits?noncompliant=true&check=LOGGING_DISABLED_CHECK&since=1000001&until=1000004", headers: Self.auth))
            #expect((noncompliant["audits"] as? [[String: Any]])?.compactMap { $0["taskId"] as? String } == ["p4", "p2"])

            // check=A%1FB: the separator of stored check names would match across two names.
            for bad in ["status=DONE", "limit=0", "limit=x", "since=yesterday", "cursor=garbage", "noncompliant=maybe", "check=LOGGING_DISABLED_CHECK%1FREVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK"] {
                let response = try await client.get("/api/v1/audits?\(bad)", headers: Self.auth)
                #expect(response.status == .badRequest, "\(bad)")
                #expect(response.code == "invalid_parameter")
            }

            let checks = try json(try await client.get("/api/v1/checks?trend=3", headers: Self.auth))
            let logging = try #require((checks["checks"] as? [[String: Any]])?.first)
            #expect(logging["checkName"] as? String == "LOGGING_DISABLED_CHECK")
            #expect(logging["trend"] as? [Int] == [1, 0, 1])
        }
    }

    @Test func listsViolationsAndSubscriptionsWithoutSecrets() async throws {
        try await withRelay { fake, harness, client in
            let url = try fake.publish(.shared)
            #expect(try await client.postSNS(try TestEnvelope(type: .subscriptionConfirmation, certificateURL: url).signed()).status == .ok)
            let alarm = #"{"violationEventTime":1582745400000,"thingName":"sensor-7","behavior":{"name":"messageSize","metric":"aws:message-byte-size","criteria":{"comparisonOperator":"greater-than","value":{"count":5000}}},"violationEventType":"in-alarm","metricValue":{"count":26},"violationId":"v-9","securityProfileName":"LargeMessageSize"}"#
            #expect(try await client.postSNS(try TestEnvelope(type: .notification, message: alarm, certificateURL: url).signed()).status == .ok)

            let violations = try json(try await client.get("/api/v1/violations?thing=sensor-7&type=in-alarm", headers: Self.auth))
            let first = try #require((violations["violations"] as? [[String: Any]])?.first)
            #expect(first["violationId"] as? String == "v-9")
            #expect(first["criteria"] as? String == "greater-than 5000")
            #expect(first["metricValue"] as? String == "26")
            #expect(try await client.get("/api/v1/violations?type=on-fire", headers: Self.auth).status == .badRequest)

            let subscriptions = try await client.get("/api/v1/subscriptions", headers: Self.auth)
            let text = String(buffer: subscriptions.body)
            #expect(text.contains("\"status\":\"confirmed\""))
            #expect(!text.contains("Token="), "the confirmation token leaked")
            _ = harness
        }
    }
}
