import Alerts
import DeviceDefender
import Foundation
import HTTPTypes
import HummingbirdTesting
import Ingest
import Logging
@testable import Relay
import RelayConfig
import SNS
import Storage
import TestSupport
import Testing

/// The dead man's switch (`alerts.expect`): an overdue audit is told once, its return is told
/// once, and replicas watching one store queue each alert once.
@Suite(.timeLimit(.minutes(3)))
struct AuditScheduleWatchTests {
    static func run(_ id: String, schedule: String = "daily", account: String = "123456789012", region: String = "eu-west-1", at: Int64) -> AuditArrival {
        AuditArrival(taskID: id, accountID: account, region: region, scheduledAuditName: schedule, startedAt: at - 60_000, receivedAt: at)
    }

    @Test func judgesByTheLastCoveredRun() {
        let daily = AuditExpectation(scheduledAudit: "daily*", accountID: "123456789012", everySeconds: 86_400, graceSeconds: 7_200)
        let hour: Int64 = 3_600_000
        #expect(daily.covers(Self.run("a", schedule: "daily-prod", at: 0)))
        #expect(!daily.covers(Self.run("a", schedule: "weekly", at: 0)))
        #expect(!daily.covers(Self.run("a", account: "210987654321", at: 0)))
        #expect(daily.verdict(runs: [], now: 0) == .noRunYet)
        let last = Self.run("r2", at: 100 * hour)
        #expect(daily.verdict(runs: [last], now: 100 * hour + 26 * hour) == .onTime(next: 100 * hour + 26 * hour))
        #expect(daily.verdict(runs: [last], now: 100 * hour + 26 * hour + 1) == .overdue(last))
        let late = Self.run("r3", at: 100 * hour + 30 * hour)
        #expect(daily.verdict(runs: [late, last], now: late.receivedAt + 1000) == .back(late, after: last))
        #expect(daily.verdict(runs: [Self.run("r3", at: 100 * hour + 25 * hour), last], now: 126 * hour) == .onTime(next: 151 * hour))

        let builder = AlertBuilder(accountAliases: ["123456789012": "prod"])
        let overdue = builder.overdue(daily, last: last, now: 100 * hour + 27 * hour)
        #expect(overdue.kind == .overdue)
        #expect(overdue.headline == "OVERDUE: daily has not run for 1d 3h · prod (123456789012) eu-west-1 · every 1d")
        #expect(overdue.headline.count <= AlertHeadline.maxCharacters)
        #expect(overdue.id == "overdue:123456789012:*:daily*:r2")
        let back = builder.back(daily, run: late, after: last)
        #expect(back.headline == "BACK: daily ran again after 1d 6h · prod (123456789012) eu-west-1 · every 1d")
        #expect(AlertText.isGoodNews(back))
        // PagerDuty: one incident per schedule, triggered when overdue, resolved when back.
        let trigger = try! #require(PagerDutyEvent.events(overdue).first)
        let resolve = try! #require(PagerDutyEvent.events(back).first)
        #expect(trigger.dedupKey == "overdue:123456789012:eu-west-1:daily")
        #expect(resolve.dedupKey == trigger.dedupKey)
        #expect(String(decoding: resolve.body, as: UTF8.self).contains(#""event_action":"resolve""#))
    }

    /// One expectation covering two schedules: the one that stopped is overdue, however well
    /// the other keeps arriving.
    @Test func eachCoveredScheduleIsJudgedOnItsOwn() async throws {
        try await withTestStore(.sqlite) { store, _ in
            let compliant = [("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0)]
            _ = try await AuditFixtures.record(AuditFixtures.audit("stopped-1", start: 1_000, schedule: "daily-a", checks: compliant), in: store, receivedAt: 1_000_000)
            _ = try await AuditFixtures.record(AuditFixtures.audit("running-1", start: 2_000, schedule: "daily-b", checks: compliant), in: store, receivedAt: 1_000_000)
            _ = try await AuditFixtures.record(AuditFixtures.audit("running-2", start: 3_000, schedule: "daily-b", checks: compliant), in: store, receivedAt: 1_050_000)
            let planner = AlertPlanner(
                builder: AlertBuilder(), router: AlertRouter(routes: [], defaultReceivers: ["hook"]), receivers: [.init(name: "hook", kind: .webhook)],
                alertOnSubscriptionChanges: false, expectations: [AuditExpectation(scheduledAudit: "daily-*", everySeconds: 60)]
            )
            var logger = Logger(label: "watch-test")
            logger.logLevel = .critical
            await AuditScheduleWatch(store: store, routing: AlertRouting(planner), clock: { SNSInstant(millisecondsSince1970: 1_070_000) }, logger: logger).checkOnce()
            #expect(try await store.deliveries(state: nil, limit: 10).map(\.alertID) == ["overdue:*:*:daily-*:stopped-1"])
        }
    }

    /// Two replicas watching one store at the same moment queue the overdue alert once.
    @Test(arguments: TestBackend.allCases)
    func replicasQueueEachAlertOnce(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            try await AuditFixtures.record(AuditFixtures.audit("r-1", start: 1_000, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0)]), in: store)
            let receivedAt = try #require(try await store.latestScheduledAudits(accountID: nil, region: nil, limit: 5).first?.receivedAt)
            let planner = AlertPlanner(
                builder: AlertBuilder(), router: AlertRouter(routes: [], defaultReceivers: ["hook"]), receivers: [.init(name: "hook", kind: .webhook)],
                alertOnSubscriptionChanges: false, expectations: [AuditExpectation(scheduledAudit: "daily", everySeconds: 60)]
            )
            var logger = Logger(label: "watch-test")
            logger.logLevel = .critical
            let later = SNSInstant(millisecondsSince1970: receivedAt + 61_000)
            let watches = (0..<2).map { _ in AuditScheduleWatch(store: store, routing: AlertRouting(planner), clock: { later }, logger: logger) }
            await withTaskGroup(of: Void.self) { group in
                for watch in watches { for _ in 0..<3 { group.addTask { await watch.checkOnce() } } }
            }
            let queued = try await store.deliveries(state: nil, limit: 10)
            #expect(queued.map(\.alertID) == ["overdue:*:*:daily:r-1"])
        }
    }

    /// The timeline with small durations against the live relay: a run, silence past
    /// `every + grace`, one overdue alert; the next run, one back alert.
    @Test func anOverdueAuditIsToldOnceAndItsReturnOnce() async throws {
        let hook = DeliveryTests.receiver("hook", .webhook, "https://hooks.example.com/schedule")
        try await DeliveryTests().withRelay(receivers: [hook], { $0.alerts.expectations = [AuditExpectation(scheduledAudit: "dai*", everySeconds: 2, graceSeconds: 1)] }) { setup, _, client in
            let compliant = [("LOGGING_DISABLED_CHECK", "COMPLETED_COMPLIANT", 0)]
            // Taken before the run is posted: the relay receives it after this.
            let published = ContinuousClock.now
            #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("on-time-1", start: 1_764_000_000_000, checks: compliant, url: setup.certificateURL)).status == .ok)
            func documents() -> [[String: Any]] { setup.chat.requests(to: "/schedule").compactMap(\.json) }
            let overdue = try await eventually("the overdue alert") { documents().first { $0["kind"] as? String == "overdue" } }
            #expect(ContinuousClock.now - published >= .seconds(3), "not before every + grace")
            let headline = try #require(overdue["headline"] as? String)
            #expect(headline.hasPrefix("OVERDUE: daily has not run for ") && headline.hasSuffix("s · 123456789012 us-east-1 · every 2s"), "\(headline)")
            #expect((overdue["attributes"] as? [String: Any])?["eventType"] as? String == "overdue")
            #expect(documents().count == 1, "the quiet compliant run alerted nobody")
            try await Task.sleep(for: .seconds(2))
            #expect(documents().count == 1, "told once, however long it stays overdue")

            #expect(try await client.postSNS(try DeliveryTests.auditEnvelope("on-time-2", start: 1_764_000_060_000, checks: compliant, url: setup.certificateURL)).status == .ok)
            let back = try await eventually("the back alert") { documents().first { ($0["attributes"] as? [String: Any])?["eventType"] as? String == "back" } }
            #expect((back["headline"] as? String)?.hasPrefix("BACK: daily ran again after ") == true)
            #expect(documents().filter { ($0["attributes"] as? [String: Any])?["eventType"] as? String == "back" }.count == 1)
        }
    }
}
