import Alerts
import Testing

struct DeliveryRetryPolicyTests {
    let policy = DeliveryRetryPolicy(baseDelaySeconds: 2, maxDelaySeconds: 600, maxAttempts: 5, maxAgeSeconds: 3600)

    @Test func retriesTransientFailuresWithGrowingJitteredDelays() {
        var previous: Int64 = 0
        for attempts in 0..<4 {
            guard case .retry(let at, _, _) = policy.decide(.refused(status: 503, retryAfterSeconds: nil, detail: ""), attemptsBefore: attempts, createdAt: 0, now: 0, jitter: 1) else {
                Issue.record("503 was not retried")
                return
            }
            #expect(at == Int64(2000 << attempts))
            #expect(at > previous)
            previous = at
        }
        // Jitter keeps the delay within 50%...100% of the backoff.
        #expect(policy.decide(.unreachable("reset"), attemptsBefore: 2, createdAt: 0, now: 0, jitter: 0) == .retry(atMillis: 4000, reason: "reset", status: nil))
    }

    @Test(arguments: [500, 502, 503, 504, 408, 429])
    func treatsServerFaultsTimeoutsAndRateLimitsAsTransient(_ status: Int) {
        guard case .retry = policy.decide(.refused(status: status, retryAfterSeconds: nil, detail: ""), attemptsBefore: 0, createdAt: 0, now: 0, jitter: 0.5) else {
            Issue.record("\(status) was not retried")
            return
        }
    }

    @Test(arguments: [400, 401, 403, 404, 410, 413])
    func treatsOtherClientErrorsAsPermanent(_ status: Int) {
        #expect(policy.decide(.refused(status: status, retryAfterSeconds: nil, detail: "no"), attemptsBefore: 0, createdAt: 0, now: 0, jitter: 0.5)
            == .dead(reason: "permanent: HTTP \(status): no", status: status))
    }

    @Test func honoursRetryAfter() {
        #expect(policy.decide(.refused(status: 429, retryAfterSeconds: 30, detail: ""), attemptsBefore: 0, createdAt: 0, now: 1000, jitter: 0) == .retry(atMillis: 31_000, reason: "HTTP 429", status: 429))
    }

    @Test func givesUpAfterMaxAttemptsOrMaxAge() {
        guard case .dead(let reason, _) = policy.decide(.unreachable("refused"), attemptsBefore: 4, createdAt: 0, now: 0, jitter: 0) else {
            Issue.record("the fifth failure was not dead-lettered")
            return
        }
        #expect(reason.contains("5 attempts"))
        guard case .dead(let aged, _) = policy.decide(.unreachable("refused"), attemptsBefore: 1, createdAt: 0, now: 3_599_000, jitter: 1) else {
            Issue.record("a delivery past max_age was retried")
            return
        }
        #expect(aged.contains("gave up after"))
        #expect(policy.decide(.accepted(status: 204), attemptsBefore: 3, createdAt: 0, now: 0, jitter: 0) == .delivered(status: 204))
        #expect(policy.decide(.invalid("url refused"), attemptsBefore: 0, createdAt: 0, now: 0, jitter: 0) == .dead(reason: "permanent: url refused", status: nil))
    }

    /// The default retries a transient failure for as long as the delivery is younger than two
    /// days, however many attempts that takes: a long outage delays alerts, never drops them.
    @Test func byDefaultOnlyAgeEndsRetries() {
        let standard = DeliveryRetryPolicy(baseDelaySeconds: 0.5, maxDelaySeconds: 1)
        #expect(standard.maxAttempts == nil)
        #expect(standard.maxAgeSeconds == 172_800)
        guard case .retry = standard.decide(.refused(status: 503, retryAfterSeconds: nil, detail: ""), attemptsBefore: 500, createdAt: 0, now: 600_000, jitter: 0.5) else {
            Issue.record("the 501st transient failure ten minutes in was dead-lettered")
            return
        }
        guard case .dead = standard.decide(.refused(status: 503, retryAfterSeconds: nil, detail: ""), attemptsBefore: 500, createdAt: 0, now: 172_800_000, jitter: 0.5) else {
            Issue.record("a delivery two days old was retried")
            return
        }
    }
}
