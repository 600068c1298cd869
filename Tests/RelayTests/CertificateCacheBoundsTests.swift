import Alerts
import RelayConfig
import Curl
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
@testable import Relay
import SNS
import TestSupport
import Testing

/// Everything a sender can make the certificate cache spend before a signature is checked is
/// bounded: failures never evict a certificate, are remembered briefly, fetches are limited in
/// number running and waiting, and URLs never seen before are admitted at a bounded rate.
@Suite(.timeLimit(.minutes(2)))
struct CertificateCacheBoundsTests {
    func withCache(_ adjust: (inout SigningCertificateCache.Limits) -> Void = { _ in }, _ body: (FakeAWS, SigningCertificateCache) async throws -> Void) async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        var limits = SigningCertificateCache.Limits()
        limits.newURLsPerMinute = 10_000
        limits.newURLsPerMinuteTotal = 10_000
        adjust(&limits)
        var outbound = RelayConfiguration.Outbound()
        outbound.caFile = fake.pki.caFile
        outbound.connectTo = fake.connectTo
        outbound.timeoutSeconds = 5
        let curl = CurlClient(configuration: CurlConfiguration(outbound))
        let cache = SigningCertificateCache(
            curl: curl, urlPolicy: .standard, acceptedNames: WholeMatchPattern.defaultCertificateNames.map { try! WholeMatchPattern($0) },
            limits: limits, logger: Logger(label: "cache-test")
        )
        do {
            try await body(fake, cache)
        } catch {
            await curl.shutdown()
            throw error
        }
        await curl.shutdown()
    }

    func fetches(_ fake: FakeAWS, _ url: String) -> Int {
        fake.requests().count { url.hasSuffix($0.path) }
    }

    @Test func refusedURLsDoNotEvictTheGoodCertificate() async throws {
        try await withCache { fake, cache in
            let good = try fake.publish(.shared, name: FakeAWS.certificateName())
            #expect(try await cache.certificate(for: good).get().names.contains("sns.amazonaws.com"))
            // More refused URLs than the cache holds certificates (64): AWS answers 404 to each.
            for _ in 0..<120 {
                let missing = "https://sns.us-east-1.amazonaws.com/\(FakeAWS.certificateName())"
                guard case .failure(.rejected) = await cache.certificate(for: missing) else {
                    Issue.record("a missing certificate was not refused")
                    return
                }
            }
            #expect(try await cache.certificate(for: good).get().names.contains("sns.amazonaws.com"))
            #expect(fetches(fake, good) == 1, "the good certificate was evicted and fetched again")
            #expect(cache.counts.certificates == 1)
            #expect(cache.counts.failures == 120)
        }
    }

    @Test func theFailureTableIsBounded() async throws {
        try await withCache({ $0.failureCapacity = 5 }) { _, cache in
            for _ in 0..<12 {
                _ = await cache.certificate(for: "https://sns.us-east-1.amazonaws.com/\(FakeAWS.certificateName())")
                #expect(cache.counts.failures <= 5)
            }
            #expect(cache.counts.failures == 5)
        }
    }

    @Test func failuresAreRememberedBriefly() async throws {
        try await withCache({ $0.unavailableLifetime = .milliseconds(300) }) { fake, cache in
            let missing = try fake.publish(document: "", name: FakeAWS.certificateName(), status: 404)
            _ = await cache.certificate(for: missing)
            _ = await cache.certificate(for: missing)
            #expect(fetches(fake, missing) == 1, "a refused URL was fetched again at once")

            let failing = try fake.publish(document: "", name: FakeAWS.certificateName(), status: 503)
            guard case .failure(.unavailable) = await cache.certificate(for: failing) else {
                Issue.record("a 503 was not 'unavailable'")
                return
            }
            _ = await cache.certificate(for: failing)
            #expect(fetches(fake, failing) == 1, "an unavailable URL was fetched again at once")
            try await Task.sleep(for: .milliseconds(400))
            _ = await cache.certificate(for: failing)
            #expect(fetches(fake, failing) == 2, "an unavailable URL was not tried again after its short lifetime")
        }
    }

    @Test func runningAndWaitingFetchesAreBounded() async throws {
        try await withCache({
            $0.maxConcurrentFetches = 2
            $0.maxQueuedFetches = 3
        }) { fake, cache in
            let urls = try (0..<10).map { _ in try fake.publish(document: TestSigningIdentity.shared.certificatePEM, name: FakeAWS.certificateName(), delaySeconds: 1) }
            let start = ContinuousClock.now
            let outcomes = await withTaskGroup(of: SigningCertificateCache.Outcome.self) { group in
                for url in urls { group.addTask { await cache.certificate(for: url) } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - start
            let busy = outcomes.count { if case .failure(.busy) = $0 { true } else { false } }
            let fetched = outcomes.count { if case .success = $0 { true } else { false } }
            #expect(busy == 5)
            #expect(fetched == 5)
            #expect(fake.requests().count == 5)
            // Five fetches of a second each, two at a time: three rounds.
            #expect(elapsed >= .milliseconds(2900), "fetches ran more than two at a time (\(elapsed))")
        }
    }

    /// One certificate, one entry and one fetch, however its URL is spelled: otherwise each
    /// spelling would be a new URL, a new fetch and a new entry that could evict the real one.
    @Test func spellingsOfOneURLShareOneEntry() async throws {
        try await withCache { fake, cache in
            let url = try fake.publish(.shared, name: FakeAWS.certificateName())
            let path = String(url.dropFirst("https://sns.us-east-1.amazonaws.com".count))
            for spelling in [url, "HTTPS://SNS.US-EAST-1.AMAZONAWS.COM" + path, "https://sns.us-east-1.amazonaws.com:443" + path, "https://Sns.Us-East-1.amazonaws.com" + path] {
                #expect((try? await cache.certificate(for: spelling).get()) != nil, "\(spelling)")
            }
            #expect(fake.requests().count == 1)
            #expect(cache.counts.certificates == 1)
        }
    }

    /// A sender who spends the budget for new URLs cannot keep the relay from fetching again the
    /// certificate that verified genuine messages, nor evict it with other genuine certificates.
    @Test func theCertificateInUseOutlivesBudgetExhaustionAndEviction() async throws {
        try await withCache({
            $0.newURLsPerMinute = 3
            $0.capacity = 2
            $0.lifetime = .milliseconds(500)
        }) { fake, cache in
            let good = try fake.publish(.shared, name: FakeAWS.certificateName())
            #expect((try? await cache.certificate(for: good).get()) != nil)
            cache.confirmGenuine(good)
            // Two other genuine certificates fill the cache; the budget is then spent.
            for _ in 0..<2 { _ = await cache.certificate(for: try fake.publish(.shared, name: FakeAWS.certificateName())) }
            _ = await cache.certificate(for: "https://sns.us-east-1.amazonaws.com/\(FakeAWS.certificateName())")
            guard case .failure(.busy) = await cache.certificate(for: "https://sns.us-east-1.amazonaws.com/\(FakeAWS.certificateName())") else {
                Issue.record("the budget for new URLs was not spent")
                return
            }
            #expect(fetches(fake, good) == 1, "the certificate in use was evicted")
            try await Task.sleep(for: .milliseconds(600))
            #expect((try? await cache.certificate(for: good).get()) != nil)
            #expect(fetches(fake, good) == 2, "the expired certificate in use was not fetched again")
        }
    }

    /// When the certificate expires and AWS cannot be reached, the one we had still serves:
    /// messages keep being verified (validity is judged per message) instead of getting 503s.
    @Test func anExpiredCertificateServesWhileAWSIsUnreachable() async throws {
        try await withCache({ $0.lifetime = .milliseconds(300) }) { fake, cache in
            let name = FakeAWS.certificateName()
            let good = try fake.publish(.shared, name: name)
            #expect((try? await cache.certificate(for: good).get()) != nil)
            _ = try fake.publish(document: TestSigningIdentity.shared.certificatePEM, name: name, status: 503)
            try await Task.sleep(for: .milliseconds(400))
            #expect((try? await cache.certificate(for: good).get()) != nil)
            #expect((try? await cache.certificate(for: good).get()) != nil)
            #expect(fetches(fake, good) == 2, "one failed refresh, then the failure is remembered")
        }
    }

    @Test func newURLsAreAdmittedAtABoundedRatePerHost() async throws {
        try await withCache({ $0.newURLsPerMinute = 3 }) { fake, cache in
            var busy = 0
            for _ in 0..<5 {
                if case .failure(.busy) = await cache.certificate(for: "https://sns.us-east-1.amazonaws.com/\(FakeAWS.certificateName())") { busy += 1 }
            }
            #expect(busy == 2)
            #expect(fake.requests().count == 3)
            // Another host has a budget of its own; a known URL needs none.
            let other = try fake.publish(.shared, name: FakeAWS.certificateName(), host: "sns.eu-west-1.amazonaws.com")
            #expect((try? await cache.certificate(for: other).get()) != nil)
            #expect((try? await cache.certificate(for: other).get()) != nil)
        }
    }
}

/// Certificate fetches and alerts run on clients of their own: eight alert deliveries hanging on
/// a chat service that never answers do not hold up the certificate a new message needs.
@Suite(.timeLimit(.minutes(2)))
struct OutboundIsolationTests {
    @Test func aHangingChatServiceDoesNotDelayVerification() async throws {
        let receivers = (0..<8).map { index in
            DeliveryTests.receiver("stuck-\(index)", .webhook, "https://hooks.example.com/slow/\(index)")
        }
        try await DeliveryTests().withRelay(receivers: receivers, { $0.outbound.timeoutSeconds = 8 }) { setup, _, client in
            #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("stuck-1", checks: DeliveryTests.checks, url: setup.certificateURL)).status == .ok)
            _ = try await eventually("eight deliveries to hang") { setup.chat.requests().count { $0.path.contains("/slow/") } >= 8 ? true : nil }
            let newCertificate = try setup.fake.publish(.shared, name: FakeAWS.certificateName())
            let start = ContinuousClock.now
            let response = try await client.postSNS(try TestEnvelope(type: .notification, certificateURL: newCertificate).signed())
            let elapsed = ContinuousClock.now - start
            #expect(response.status == .ok)
            #expect(elapsed < .seconds(2), "verification waited \(elapsed) for transfer threads held by alerts")
        }
    }
}
