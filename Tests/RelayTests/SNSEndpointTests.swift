import RelayConfig
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Relay
import SNS
import Storage
import TestSupport
import Testing

/// The SNS endpoint as SNS sees it: a real server on loopback, real HTTPS to a fake AWS with a
/// test CA, a real SQLite file.
@Suite(.timeLimit(.minutes(2)))
struct SNSEndpointTests {
    static let topic = RelayHarness.topic

    func withRelay<T: Sendable>(
        _ adjust: (inout RelayConfiguration) -> Void = { _ in },
        _ body: @Sendable (FakeAWS, RelayHarness, any TestClientProtocol) async throws -> T
    ) async throws -> T {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake, adjust))
        return try await harness.run { client in try await body(fake, harness, client) }
    }

    func notification(_ certificateURL: String, message: String = #"{"taskId":"t-1"}"#, topic: String = topic, timestamp: String? = nil) throws -> TestEnvelope {
        try TestEnvelope(type: .notification, topicARN: topic, message: message, timestamp: timestamp ?? SNSInstant(date: Date()).description, certificateURL: certificateURL).signed()
    }

    @Test func storesAVerifiedNotificationOnceAndFetchesTheCertificateOnce() async throws {
        try await withRelay { fake, harness, client in
            let url = try fake.publish(.shared)
            let envelope = try notification(url, message: #"{"taskId":"first","note":"ünïcode \/ \n"}"#)
            let first = try await client.postSNS(envelope)
            #expect(first.status == .ok)
            #expect(first.code == "recorded")
            let stored = try #require(try await harness.store.storedMessage(id: envelope.messageID))
            #expect(stored.message == envelope.fields["Message"])
            #expect(stored.rawEnvelope == envelope.body)
            #expect(stored.topicARN == Self.topic)

            let again = try await client.postSNS(envelope)
            #expect(again.status == .ok)
            #expect(again.code == "duplicate")
            for index in 0..<5 {
                #expect(try await client.postSNS(try notification(url, message: "n\(index)")).status == .ok)
            }
            #expect(try await harness.store.messageCount() == 6)
            #expect(fake.requests().filter { $0.path.hasSuffix(".pem") }.count == 1)
            #expect(try await harness.store.subscription(topicARN: Self.topic)?.status == .confirmed)
        }
    }

    @Test func concurrentMissesShareOneCertificateFetch() async throws {
        try await withRelay { fake, harness, client in
            let url = try fake.publish(.shared, name: FakeAWS.certificateName())
            let envelopes = try (0..<24).map { try notification(url, message: "burst \($0)") }
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for envelope in envelopes { group.addTask { try await client.postSNS(envelope).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok })
            #expect(fake.requests().filter { $0.path.hasSuffix(".pem") }.count == 1)
            #expect(try await harness.store.messageCount() == 24)
        }
    }

    @Test func confirmsSubscriptionsOfAllowedTopicsByItself() async throws {
        try await withRelay { fake, harness, client in
            var envelope = TestEnvelope(type: .subscriptionConfirmation, certificateURL: try fake.publish(.shared))
            try envelope.sign()
            let response = try await client.postSNS(envelope)
            #expect(response.status == .ok)
            #expect(response.code == "confirmed")
            let confirms = fake.requests().filter { $0.path.contains("Action=ConfirmSubscription") }
            #expect(confirms.count == 1)
            #expect(confirms.first?.host == "sns.us-east-1.amazonaws.com")
            let subscription = try #require(try await harness.store.subscription(topicARN: Self.topic))
            #expect(subscription.status == .confirmed)
            #expect(subscription.subscriptionARN?.hasPrefix(Self.topic + ":") == true)
            #expect(try await harness.store.storedMessage(id: envelope.messageID)?.type == "SubscriptionConfirmation")

            // SNS may deliver the confirmation again: no second visit.
            #expect(try await client.postSNS(envelope).code == "duplicate")
            #expect(fake.requests().filter { $0.path.contains("Action=ConfirmSubscription") }.count == 1)
        }
    }

    @Test func manualModeRecordsThePendingSubscriptionWithoutVisitingIt() async throws {
        try await withRelay({ $0.sns.confirmSubscriptions = .manual }) { fake, harness, client in
            let envelope = try TestEnvelope(type: .subscriptionConfirmation, certificateURL: try fake.publish(.shared)).signed()
            let response = try await client.postSNS(envelope)
            #expect(response.status == .ok)
            #expect(response.code == "pending_confirmation")
            #expect(fake.requests().allSatisfy { !$0.path.contains("ConfirmSubscription") })
            let subscription = try #require(try await harness.store.subscription(topicARN: Self.topic))
            #expect(subscription.status == .pending)
            #expect(subscription.subscribeURL == envelope.fields["SubscribeURL"])
        }
    }

    func confirmation(token: String, certificateURL: String) throws -> TestEnvelope {
        var envelope = TestEnvelope(type: .subscriptionConfirmation, certificateURL: certificateURL)
        envelope.fields["Token"] = token
        envelope.fields["SubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=\(Self.topic)&Token=\(token)"
        return try envelope.signed()
    }

    @Test func aTransientConfirmationFailureAsksSNSToRetryAndTheRetryConfirms() async throws {
        try await withRelay { fake, harness, client in
            let envelope = try confirmation(token: "flaky-\(UUID().uuidString.prefix(8))", certificateURL: try fake.publish(.shared))
            let first = try await client.postSNS(envelope)
            #expect(first.status == .serviceUnavailable)
            #expect(first.code == "subscription_confirm_unavailable")
            #expect(try await harness.store.subscription(topicARN: Self.topic)?.status == .pending)

            let retry = try await client.postSNS(envelope)
            #expect(retry.status == .ok)
            #expect(retry.code == "confirmed")
            #expect(try await harness.store.subscription(topicARN: Self.topic)?.status == .confirmed)
        }
    }

    @Test func aRefusedConfirmationStaysPendingWithTheReason() async throws {
        try await withRelay { fake, harness, client in
            let response = try await client.postSNS(try confirmation(token: "expired", certificateURL: try fake.publish(.shared)))
            #expect(response.status == .ok)
            let subscription = try #require(try await harness.store.subscription(topicARN: Self.topic))
            #expect(subscription.status == .pending)
            #expect(subscription.lastError?.contains("Invalid token") == true)
        }
    }

    @Test func unsubscribeConfirmationMarksTheSubscriptionAndNeverResubscribes() async throws {
        try await withRelay { fake, harness, client in
            let url = try fake.publish(.shared)
            #expect(try await client.postSNS(try TestEnvelope(type: .subscriptionConfirmation, certificateURL: url).signed()).code == "confirmed")
            let response = try await client.postSNS(try TestEnvelope(type: .unsubscribeConfirmation, certificateURL: url).signed())
            #expect(response.status == .ok)
            #expect(try await harness.store.subscription(topicARN: Self.topic)?.status == .unsubscribed)
            #expect(fake.requests().filter { $0.path.contains("ConfirmSubscription") }.count == 1)
        }
    }

    @Test func refusesStaleAndDisallowedMessagesWithoutFetchingOrStoring() async throws {
        try await withRelay { fake, harness, client in
            let url = try fake.publish(.shared)
            let stale = try notification(url, timestamp: SNSInstant(date: Date().addingTimeInterval(-3700)).description)
            let staleResponse = try await client.postSNS(stale)
            #expect(staleResponse.status == .forbidden)
            #expect(staleResponse.code == "message_too_old")

            let future = try notification(url, timestamp: SNSInstant(date: Date().addingTimeInterval(600)).description)
            #expect(try await client.postSNS(future).code == "message_from_future")

            let otherTopic = try notification(url, topic: "arn:aws:sns:us-east-1:999999999999:someone-else")
            let topicResponse = try await client.postSNS(otherTopic)
            #expect(topicResponse.status == .forbidden)
            #expect(topicResponse.code == "topic_not_allowed")

            #expect(try await harness.store.messageCount() == 0)
            #expect(try await harness.store.subscriptions().isEmpty)
            #expect(fake.requests().isEmpty)
        }
    }

    @Test(arguments: [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem.txt",
        "https://sns.us-east-1.amazonaws.com/?x=SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
    ])
    func refusesCertificateURLsOutsideThePolicyWithoutAnyConnection(_ url: String) async throws {
        try await withRelay { fake, harness, client in
            _ = try fake.publish(.shared)
            let response = try await client.postSNS(try notification(url))
            #expect(response.status == .forbidden)
            #expect(response.code == "signing_cert_url_rejected")
            #expect(response.detail?.contains("is not an AWS SNS certificate URL") == true)
            #expect(fake.requests().isEmpty, "the relay connected for \(url)")
            #expect(try await harness.store.messageCount() == 0)
        }
    }

    @Test func refusesForgedSignaturesAndUnusableCertificates() async throws {
        try await withRelay { fake, harness, client in
            let url = try fake.publish(.shared)
            var forged = try notification(url)
            forged.fields["Message"] = #"{"taskId":"forged"}"#
            let forgedResponse = try await client.postSNS(forged)
            #expect(forgedResponse.status == .forbidden)
            #expect(forgedResponse.code == "signature_mismatch")

            let impostor = try TestSigningIdentity(commonName: "sns.amazonaws.com")
            let impostorResponse = try await client.postSNS(try notification(url).signed(with: impostor))
            #expect(impostorResponse.code == "signature_mismatch")

            let wrongName = try TestSigningIdentity(commonName: "evil.example")
            let wrongURL = try fake.publish(wrongName, name: FakeAWS.certificateName())
            let wrongNameResponse = try await client.postSNS(try notification(wrongURL).signed(with: wrongName))
            #expect(wrongNameResponse.status == .forbidden)
            #expect(wrongNameResponse.code == "signing_cert_unusable")

            let missing = try await client.postSNS(try notification("https://sns.us-east-1.amazonaws.com/\(FakeAWS.certificateName())"))
            #expect(missing.status == .forbidden)
            #expect(missing.code == "signing_cert_unusable")

            let hugeURL = try fake.publish(document: String(repeating: "A", count: 100 * 1024), name: FakeAWS.certificateName())
            let huge = try await client.postSNS(try notification(hugeURL))
            #expect(huge.status == .forbidden)
            #expect(huge.code == "signing_cert_unusable")

            #expect(try await harness.store.messageCount() == 0)
        }
    }

    @Test func anUnreachableCertificateHostAsksSNSToRetry() async throws {
        let otherRegion = "arn:aws:sns:ap-south-1:123456789012:device-defender-audits"
        try await withRelay({ $0.sns.allowedTopics.append(otherRegion) }) { fake, harness, client in
            let failing = try await client.postSNS(try notification(try fake.publish(document: "", name: FakeAWS.certificateName(), status: 503)))
            #expect(failing.status == .serviceUnavailable)
            #expect(failing.code == "signing_cert_unavailable")

            // A region the test network does not route: connection refused, also a 503.
            let unreachable = try await client.postSNS(try notification("https://sns.ap-south-1.amazonaws.com/\(FakeAWS.certificateName())", topic: otherRegion))
            #expect(unreachable.status == .serviceUnavailable)
            #expect(try await harness.store.messageCount() == 0)
        }
    }

    @Test func refusesBadInputWithAClear4xx() async throws {
        try await withRelay({ $0.server.maxBodyBytes = 2048 }) { fake, harness, client in
            let url = try fake.publish(.shared)
            let big = try notification(url, message: String(repeating: "x", count: 4096))
            let tooLarge = try await client.postSNS(big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.code == "body_too_large")

            let raw = try await client.post("/sns", headers: [HTTPField.Name("x-amz-sns-rawdelivery")!: "true"], body: Array(#"{"taskId":"t"}"#.utf8))
            #expect(raw.status == .badRequest)
            #expect(raw.code == "raw_delivery_not_supported")
            #expect(raw.detail?.contains("raw message delivery off") == true)

            let bare = try await client.post("/sns", body: Array(#"{"accountId":"123456789012","taskId":"t"}"#.utf8))
            #expect(bare.code == "raw_delivery_not_supported")

            let mismatch = try await client.postSNS(try notification(url), extraHeaders: [:]).status
            #expect(mismatch == .ok)
            var envelope = try notification(url)
            envelope.fields["Type"] = "Notification"
            let lying = try await client.executeRequest(
                uri: "/sns", method: .post,
                headers: [HTTPField.Name("x-amz-sns-message-type")!: "SubscriptionConfirmation"],
                body: .init(bytes: envelope.body)
            )
            #expect(lying.status == .badRequest)
            #expect(lying.code == "message_type_mismatch")

            var missing = try notification(url)
            missing.fields["TopicArn"] = nil
            let missingResponse = try await client.postSNS(missing)
            #expect(missingResponse.status == .badRequest)
            #expect(missingResponse.code == "missing_field")
            #expect(missingResponse.detail?.contains("TopicArn") == true)

            #expect(try await harness.store.messageCount() == 1)
        }
    }

    @Test func basicAuthChallengesFirstAndComparesCredentials() async throws {
        try await withRelay({ $0.server.basicAuth = .init(username: "sns", password: "s3cret-pass") }) { fake, harness, client in
            let envelope = try notification(try fake.publish(.shared))
            let challenge = try await client.postSNS(envelope)
            #expect(challenge.status == .unauthorized)
            #expect(challenge.headers[.wwwAuthenticate]?.hasPrefix("Basic realm=") == true)

            let wrong = try await client.postSNS(envelope, extraHeaders: [.authorization: "Basic " + Data("sns:wrong".utf8).base64EncodedString()])
            #expect(wrong.status == .unauthorized)
            #expect(try await harness.store.messageCount() == 0)

            let right = try await client.postSNS(envelope, extraHeaders: [.authorization: "Basic " + Data("sns:s3cret-pass".utf8).base64EncodedString()])
            #expect(right.status == .ok)
            #expect(try await harness.store.messageCount() == 1)
            #expect(try await client.get("/healthz").status == .ok)
        }
    }

    @Test func aBrokenStoreAnswers503AndNotReady() async throws {
        try await withRelay { fake, harness, client in
            let url = try fake.publish(.shared)
            #expect(try await client.get("/healthz").status == .ok)
            #expect(try await client.get("/readyz").status == .ok)
            #expect(try await client.postSNS(try notification(url)).status == .ok)

            let saboteur = try DatabaseQueue(path: harness.databasePath)
            try await saboteur.write { db in try db.execute(sql: "DROP TABLE sns_messages") }
            try saboteur.close()

            let response = try await client.postSNS(try notification(url))
            #expect(response.status == .serviceUnavailable)
            #expect(response.code == "store_unavailable")
            let ready = try await client.get("/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(try await client.get("/healthz").status == .ok)
        }
    }
}
