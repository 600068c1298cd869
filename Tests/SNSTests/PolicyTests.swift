import SNS
import Testing

struct AllowedTopicsTests {
    @Test func matchesExactARNsAndGlobs() {
        let topics = AllowedTopics(["arn:aws:sns:us-east-1:123456789012:audits", "arn:aws:sns:*:210987654321:defender-*"])
        #expect(topics.allows("arn:aws:sns:us-east-1:123456789012:audits"))
        #expect(!topics.allows("arn:aws:sns:us-east-1:123456789012:audits-2"))
        #expect(!topics.allows("arn:aws:sns:us-east-1:123456789012:audit"))
        #expect(topics.allows("arn:aws:sns:eu-west-1:210987654321:defender-prod"))
        #expect(!topics.allows("arn:aws:sns:eu-west-1:999999999999:defender-prod"))
        #expect(!topics.allows("arn:aws:sns:eu-west-1:210987654321:other"))
    }

    @Test func emptyListAllowsNothing() {
        #expect(!AllowedTopics([]).allows("arn:aws:sns:us-east-1:123456789012:audits"))
        #expect(!AllowedTopics(["*"]).allows("arn:aws:sns:us-east-1:123456789012:audits"))
        #expect(AllowedTopics.anyTopic.allows("arn:aws:sns:us-east-1:123456789012:audits"))
    }
}

struct MessageFreshnessPolicyTests {
    let now = SNSInstant(iso8601: "2026-11-26T12:00:00Z")!
    let policy = MessageFreshnessPolicy(maxAgeSeconds: 3600)

    @Test func acceptsMessagesInsideTheWindow() {
        #expect(policy.check(sentAt: now.adding(seconds: -3600), now: now) == nil)
        #expect(policy.check(sentAt: now.adding(seconds: 300), now: now) == nil)
    }

    @Test func refusesStaleAndFutureMessages() {
        #expect(policy.check(sentAt: now.adding(seconds: -3601), now: now) == .messageTooOld(ageSeconds: 3601, limitSeconds: 3600))
        #expect(policy.check(sentAt: now.adding(seconds: 301), now: now) == .messageFromFuture(aheadSeconds: 301))
    }
}

struct SNSInstantTests {
    @Test func parsesAndRendersUTC() {
        #expect(SNSInstant(iso8601: "1970-01-01T00:00:00Z")?.millisecondsSince1970 == 0)
        #expect(SNSInstant(iso8601: "2024-02-29T23:59:59.999Z")?.description == "2024-02-29T23:59:59.999Z")
        #expect(SNSInstant(iso8601: "2026-03-06T20:02:25.0380000Z")?.description == "2026-03-06T20:02:25.038Z")
        #expect(SNSInstant(iso8601: "2023-02-29T00:00:00Z") == nil)
        #expect(SNSInstant(iso8601: "2026-03-06T20:02:25+01:00") == nil)
        #expect(SNSInstant(iso8601: "2026-03-06T20:02:25.Z") == nil)
        #expect(SNSInstant(iso8601: "2026-03-06T20:02:25.123456789Z")?.description == "2026-03-06T20:02:25.123Z")
        // Found by the fuzzer: a fraction worth 2^63 or more trapped on overflow, before any
        // signature was checked (scripts/fuzz/crashes/timestamp-fraction-overflow-minimal.json).
        #expect(SNSInstant(iso8601: "2024-01-01T00:00:00.10000000000000000000Z") == nil)
        #expect(SNSInstant(iso8601: "2024-01-01T00:00:00.9999999999999999999Z") == nil)
        #expect(SNSInstant(iso8601: "2024-01-01T00:00:00.1234567890Z") == nil)
    }
}
