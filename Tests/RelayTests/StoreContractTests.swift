import DeviceDefender
import Foundation
import Ingest
import Storage
import Testing

/// The same expectations for both stores: SQLite (embedded) and PostgreSQL (several replicas).
@Suite(.timeLimit(.minutes(2)))
struct StoreContractTests {
    @Test(arguments: TestBackend.allCases)
    func storesEachMessageAndEachAuditOnce(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let payload = AuditFixtures.audit("task-1", start: 1_000, checks: [("DEVICE_CERT_APPROACHING_EXPIRATION_CHECK", "COMPLETED_NON_COMPLIANT", 3), ("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0)])
            #expect(try await AuditFixtures.record(payload, in: store, id: "m-1") == .recorded)
            #expect(try await AuditFixtures.record(payload, in: store, id: "m-1") == .duplicate)
            // The same audit under another MessageId (SNS re-publish): one audit.
            #expect(try await AuditFixtures.record(payload, in: store, id: "m-2") == .recorded)
            #expect(try await store.messageCount() == 2)
            let page = try await store.audits(AuditQuery())
            #expect(page.audits.map(\.taskID) == ["task-1"])
            #expect(page.audits[0].sourceMessageID == "m-1")

            let audit = try #require(try await store.audit(taskID: "task-1"))
            #expect(audit.summary.nonCompliantResources == 3)
            #expect(audit.summary.scheduledAuditName == "daily")
            #expect(audit.checks.count == 2)
            let expiring = try #require(audit.checks.first { $0.checkName == "DEVICE_CERTIFICATE_EXPIRING_CHECK" })
            #expect(expiring.severity == .medium)
            #expect(expiring.nonCompliantResourcesCount == 3)
            #expect(audit.summary.change.newlyNonCompliant.map(\.checkName) == ["DEVICE_CERTIFICATE_EXPIRING_CHECK"])
            #expect(try await store.audit(taskID: "missing") == nil)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func storesEveryCheckOfAnAuditWithMoreChecksThanOneInsertCarries(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let checks = (0..<250).map { ("CUSTOM_CHECK_\($0)", $0 % 2 == 0 ? "COMPLETED_NON_COMPLIANT" : "COMPLETED_COMPLIANT", $0 % 2 == 0 ? 1 : 0) }
            try await AuditFixtures.record(AuditFixtures.audit("wide", start: 1_000, checks: checks), in: store)
            let audit = try #require(try await store.audit(taskID: "wide"))
            #expect(audit.checks.count == 250)
            #expect(audit.summary.nonCompliantResources == 125)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func comparesRunsThatStartedAtTheSameMillisecondByTaskID(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            // Stored out of order; the series is ordered by start time, then taskId. t1 arrives
            // late: t2, stored as a first run, is compared again with it.
            for id in ["t2", "t3", "t1"] {
                try await AuditFixtures.record(AuditFixtures.audit(id, start: 5_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store)
            }
            #expect(try #require(try await store.audit(taskID: "t1")).summary.change.isFirstRun)
            #expect(try #require(try await store.audit(taskID: "t2")).summary.change.previousTaskID == "t1")
            #expect(try #require(try await store.audit(taskID: "t3")).summary.change.previousTaskID == "t2")
        }
    }

    @Test(arguments: TestBackend.allCases)
    func knowsWhatChangedSinceThePreviousRun(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let runs: [(String, Int64, [(String, String, Int)])] = [
                ("d1", 1_000, [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1), ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_COMPLIANT", 0)]),
                ("d2", 2_000, [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1), ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 2)]),
                ("d3", 3_000, [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1), ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 9)]),
                ("d4", 4_000, [("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0), ("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", 9)]),
            ]
            for (id, start, checks) in runs {
                try await AuditFixtures.record(AuditFixtures.audit(id, start: start, checks: checks), in: store)
            }
            // An on-demand audit of the same account is another series.
            try await AuditFixtures.record(AuditFixtures.audit("o1", start: 3_500, type: "ON_DEMAND_AUDIT_TASK", schedule: nil, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store)

            let d2 = try #require(try await store.audit(taskID: "d2")).summary.change
            #expect(d2.previousTaskID == "d1")
            #expect(d2.newlyNonCompliant.map(\.checkName) == ["DEVICE_CERTIFICATE_SHARED_CHECK"])
            #expect(d2.unchanged.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])
            let d3 = try #require(try await store.audit(taskID: "d3")).summary.change
            #expect(d3.worsened == [.init(checkName: "DEVICE_CERTIFICATE_SHARED_CHECK", severity: .critical, previousCount: 2, currentCount: 9)])
            let d4 = try #require(try await store.audit(taskID: "d4")).summary.change
            #expect(d4.resolved.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])
            #expect(!d4.hasNewFindings)
            let o1 = try #require(try await store.audit(taskID: "o1")).summary.change
            #expect(o1.isFirstRun)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func filtersAndPagesAuditsNewestFirst(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            for index in 0..<7 {
                let account = index % 2 == 0 ? "111111111111" : "222222222222"
                let status = index == 3 ? "FAILED" : "COMPLETED"
                let checks: [(String, String, Int)] = index % 3 == 0
                    ? [("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "COMPLETED_NON_COMPLIANT", index + 1)]
                    : [("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0)]
                try await AuditFixtures.record(AuditFixtures.audit("t\(index)", start: Int64(10_000 + index * 1000), status: status, schedule: index < 4 ? "daily" : "weekly", account: account, checks: checks), in: store)
            }
            var seen: [String] = []
            var cursor: AuditCursor?
            repeat {
                let page = try await store.audits(AuditQuery(limit: 3, after: cursor))
                seen += page.audits.map(\.taskID)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ["t6", "t5", "t4", "t3", "t2", "t1", "t0"])

            #expect(try await store.audits(AuditQuery(taskStatus: "FAILED")).audits.map(\.taskID) == ["t3"])
            #expect(try await store.audits(AuditQuery(accountID: "222222222222")).audits.map(\.taskID) == ["t5", "t3", "t1"])
            #expect(try await store.audits(AuditQuery(scheduledAuditName: "weekly")).audits.map(\.taskID) == ["t6", "t5", "t4"])
            #expect(try await store.audits(AuditQuery(since: 12_000, until: 14_000)).audits.map(\.taskID) == ["t4", "t3", "t2"])
            #expect(try await store.audits(AuditQuery(nonCompliantOnly: true)).audits.map(\.taskID) == ["t6", "t3", "t0"])
            #expect(try await store.audits(AuditQuery(checkName: "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")).audits.map(\.taskID) == ["t6", "t3", "t0"])
            #expect(AuditCursor(token: AuditCursor(taskStartTime: 5, taskID: "a-b").token) == AuditCursor(taskStartTime: 5, taskID: "a-b"))
        }
    }

    @Test(arguments: TestBackend.allCases)
    func reportsTheLatestResultPerCheckWithItsTrend(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            for (index, count) in [4, 6, 5, 8].enumerated() {
                try await AuditFixtures.record(AuditFixtures.audit("c\(index)", start: Int64(index * 100), checks: [("DEVICE_CERTIFICATE_SHARED_CHECK", "COMPLETED_NON_COMPLIANT", count), ("FUTURE_CHECK", "COMPLETED_COMPLIANT", 0)]), in: store)
            }
            let checks = try await store.latestChecks(trendLength: 3)
            let shared = try #require(checks.first { $0.checkName == "DEVICE_CERTIFICATE_SHARED_CHECK" })
            #expect(shared.latestTaskID == "c3")
            #expect(shared.nonCompliantResourcesCount == 8)
            #expect(shared.severity == .critical)
            #expect(shared.trend == [6, 5, 8])
            #expect(checks.first { $0.checkName == "FUTURE_CHECK" }?.severity == .unknown)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func storesDetectViolationsAndUnrecognizedNotifications(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let alarm = #"{"violationEventTime":1582745400000,"thingName":"sensor-7","behavior":{"criteria":{"value":{"count":5000},"comparisonOperator":"greater-than"},"name":"messageSize","metric":"aws:message-byte-size"},"violationEventType":"in-alarm","metricValue":{"count":26},"violationId":"v-1","securityProfileName":"LargeMessageSize"}"#
            let cleared = alarm.replacingOccurrences(of: "in-alarm", with: "alarm-cleared").replacingOccurrences(of: "1582745400000", with: "1582745500000")
            try await AuditFixtures.record(alarm, in: store)
            try await AuditFixtures.record(cleared, in: store)
            try await AuditFixtures.record(alarm, in: store) // the same event under another MessageId
            try await AuditFixtures.record("CPU alarm on gateway-3", in: store, id: "plain-1")

            let violations = try await store.violations(ViolationQuery())
            #expect(violations.map(\.violation.eventType) == [.alarmCleared, .inAlarm])
            #expect(violations.last?.violation.criteria == "greater-than 5000")
            #expect(try await store.violations(ViolationQuery(eventType: "in-alarm")).count == 1)
            #expect(try await store.violations(ViolationQuery(thingName: "other")).isEmpty)
            let unrecognized = try await store.unrecognizedNotifications(limit: 10)
            #expect(unrecognized.map(\.messageID) == ["plain-1"])
            #expect(try await store.messageCount() == 4)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func keepsSubscriptionState(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let topic = "arn:aws:sns:us-east-1:123456789012:device-defender-audits"
            var confirmation = AuditFixtures.message("You have chosen to subscribe", id: "s-1")
            confirmation.type = "SubscriptionConfirmation"
            _ = try await store.record(confirmation, effect: .confirmationRequested(subscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t"), payload: nil)
            #expect(try await store.subscription(topicARN: topic)?.status == .pending)
            try await store.markConfirmationFailed(topicARN: topic, reason: "AWS answered 503", at: 5)
            #expect(try await store.subscription(topicARN: topic)?.lastError == "AWS answered 503")
            try await store.markConfirmed(topicARN: topic, subscriptionARN: topic + ":abc", at: 6)
            let confirmed = try #require(try await store.subscription(topicARN: topic))
            #expect(confirmed.status == .confirmed)
            #expect(confirmed.subscriptionARN == topic + ":abc")
            #expect(confirmed.lastError == nil)
            _ = try await store.record(AuditFixtures.message("bye", id: "s-2"), effect: .unsubscribed, payload: nil)
            #expect(try await store.subscriptions().map(\.status) == [.unsubscribed])
        }
    }

    @Test(arguments: TestBackend.allCases)
    func prunesRawEnvelopesButKeepsSummariesUnlessAsked(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            try await AuditFixtures.record(AuditFixtures.audit("old", start: 1_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store, receivedAt: 1_000)
            try await AuditFixtures.record(AuditFixtures.audit("new", start: 9_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store, receivedAt: 9_000)
            #expect(try await store.prune(RetentionPlan(messagesBefore: 5_000)) == 1)
            #expect(try await store.messageCount() == 1)
            #expect(try await store.audits(AuditQuery()).audits.count == 2)
            #expect(try await store.prune(RetentionPlan(messagesBefore: 5_000, summariesBefore: 5_000)) == 1)
            #expect(try await store.audits(AuditQuery()).audits.map(\.taskID) == ["new"])
            #expect(try await store.audit(taskID: "old") == nil)
        }
    }
}
