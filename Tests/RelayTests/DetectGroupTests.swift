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

/// Detect storms become one message per group (Alertmanager's group_wait and group_interval),
/// on both stores; a clearing reaches whoever heard of the alarm and says how long it lasted.
@Suite(.timeLimit(.minutes(3)))
struct DetectGroupTests {
    static func event(_ violation: String, thing: String, type: String = "in-alarm", at: Int64, profile: String = "Traffic", behavior: String = "PacketsOut") -> String {
        #"{"violationEventTime":\#(at),"thingName":"\#(thing)","behavior":{"name":"\#(behavior)","metric":"aws:all-packets-out"},"violationEventType":"\#(type)","metricValue":{"count":2914},"violationId":"\#(violation)","securityProfileName":"\#(profile)"}"#
    }

    /// Routes: in-alarm events page; clearings match no route (so they go to the default
    /// receiver), yet also reach the pager that heard of the alarm.
    static let planner = AlertPlanner(
        builder: AlertBuilder(),
        router: AlertRouter(routes: [AlertRoute(match: .init(kinds: [.detect], eventType: ["in-alarm"]), receivers: ["pager"])], defaultReceivers: ["log"]),
        receivers: [.init(name: "pager", kind: .webhook), .init(name: "log", kind: .webhook)], alertOnSubscriptionChanges: false,
        detectGrouping: DetectGrouping(waitSeconds: 30, intervalSeconds: 300)
    )

    static func record(_ text: String, at: Int64, in store: any Store) async throws {
        let message = AuditFixtures.message(text, receivedAt: at)
        _ = try await store.record(message, effect: .notificationDelivered, payload: DefenderPayload.classify(text), planner: planner)
    }

    static func flush(_ store: any Store, at now: Int64) async throws -> Int {
        try await store.withIngestTransaction { try await DetectGroupFlush.flush(planner: planner, now: now, in: $0) }
    }

    @Test(arguments: TestBackend.allCases)
    func aStormIsOneMessageAndItsClearingReachesWhoHeardOfIt(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let t: Int64 = 1_800_000_000_000
            for index in 1...3 { try await Self.record(Self.event("v-\(index)", thing: "thing-\(index)", at: t + Int64(index) * 1000), at: t + Int64(index) * 1000, in: store) }
            // Another behavior is another group.
            try await Self.record(Self.event("v-9", thing: "thing-9", at: t, behavior: "Connections"), at: t + 2000, in: store)
            #expect(try await store.deliveries(state: nil, limit: 10).isEmpty, "events wait in their group")
            #expect(try await store.nextDetectGroupDue() == t + 1000 + 30_000, "due group_wait after the group's first event")
            #expect(try await Self.flush(store, at: t + 30_999) == 0)
            #expect(try await Self.flush(store, at: t + 32_000) == 2)
            let first = try await store.deliveries(state: nil, limit: 10)
            #expect(first.count == 2, "one message per group, not one per thing")
            let storm = try #require(first.first { String(decoding: $0.body, as: UTF8.self).contains("thing-2") })
            #expect(storm.receiver == "pager")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(storm.body)) as? [String: Any])
            #expect(document["headline"] as? String == "HIGH: 3 things in alarm · 123456789012 us-east-1 · PacketsOut (Traffic)")
            #expect((document["violations"] as? [[String: Any]])?.compactMap { $0["thingName"] as? String } == ["thing-1", "thing-2", "thing-3"])
            #expect(try await store.nextDetectGroupDue() == nil, "nothing waits")

            // Within group_interval, a new event waits until interval after the last message.
            try await Self.record(Self.event("v-4", thing: "thing-4", at: t + 40_000), at: t + 40_000, in: store)
            #expect(try await store.nextDetectGroupDue() == t + 32_000 + 300_000)
            // thing-2's alarm clears (its own group of clearings, same key, same time).
            try await Self.record(Self.event("v-2", thing: "thing-2", type: "alarm-cleared", at: t + 7_502_000), at: t + 7_502_000, in: store)
            #expect(try await Self.flush(store, at: t + 200_000) == 0)
            #expect(try await Self.flush(store, at: t + 332_000) == 1)
            let second = try await store.deliveries(state: nil, limit: 10).filter { !first.map(\.id).contains($0.id) }
            let cleared = try #require(second.first { String(decoding: $0.body, as: UTF8.self).contains("alarm-cleared") })
            #expect(cleared.receiver == "pager", "the clearing reaches the receiver of its alarm though no route matches it")
            #expect(second.contains { $0.receiver == "log" && String(decoding: $0.body, as: UTF8.self).contains("alarm-cleared") }, "and where its routes send it")
            let clearedDocument = try #require(try JSONSerialization.jsonObject(with: Data(cleared.body)) as? [String: Any])
            #expect(clearedDocument["headline"] as? String == "CLEARED: thing-2 back to normal after 2h 5m · 123456789012 us-east-1 · PacketsO…")
            #expect(second.contains { String(decoding: $0.body, as: UTF8.self).contains("thing-4") && $0.receiver == "pager" })
        }
    }

    /// A storm larger than one message holds is told in messages of at most 200 things, the
    /// rest at once after the first; nothing that is stored or indexed grows with it.
    @Test(arguments: TestBackend.allCases)
    func aLargeStormIsToldInBoundedMessages(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let t: Int64 = 1_800_000_000_000
            let ids = (1...230).map { String(format: "%032x", $0 * 7919) }
            try await store.withIngestTransaction { transaction in
                let items = ids.enumerated().map { index, id in
                    let text = Self.event(id, thing: "thing-\(index)", at: t + Int64(index))
                    return IngestItem(message: AuditFixtures.message(text, receivedAt: t + Int64(index)), effect: .notificationDelivered, payload: DefenderPayload.classify(text))
                }
                _ = try await RecordBatch.record(items, planner: Self.planner, in: transaction)
            }
            #expect(try await Self.flush(store, at: t + 31_000) == 1)
            #expect(try await store.nextDetectGroupDue() == t + 31_000, "what did not fit is due at once")
            #expect(try await Self.flush(store, at: t + 31_500) == 1)
            #expect(try await store.nextDetectGroupDue() == nil)
            let messages = try await store.deliveries(state: nil, limit: 10).filter { $0.receiver == "pager" }
            let counts = messages.map { ((try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any])?["violations"] as? [Any])?.count ?? 0 }
            #expect(counts.sorted() == [30, 200])
        }
    }

    /// Two replicas sending due groups at the same moment send each group once.
    @Test func replicasSendEachGroupOnce() async throws {
        try await withTestStore(.postgres) { store, _ in
            let t: Int64 = 1_800_000_000_000
            for index in 1...6 {
                try await Self.record(Self.event("r-\(index)", thing: "thing-\(index)", at: t, behavior: "B\(index % 3)"), at: t, in: store)
            }
            let sent = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await Self.flush(store, at: t + 31_000) } }
                return try await group.reduce(0, +)
            }
            #expect(sent == 3)
            #expect(try await store.deliveries(state: nil, limit: 20).count == 3)
        }
    }

    /// Against the live relay with small durations: a storm is one message after group_wait.
    @Test func theLiveRelaySendsAStormAsOneMessage() async throws {
        let hook = DeliveryTests.receiver("hook", .webhook, "https://hooks.example.com/detect")
        try await DeliveryTests().withRelay(receivers: [hook], { $0.alerts.detectGrouping = DetectGrouping(waitSeconds: 5, intervalSeconds: 5) }) { setup, _, client in
            let start = ContinuousClock.now
            // At once, as a storm arrives (SNS delivers concurrently).
            let envelopes = try (1...5).map { try TestEnvelope(type: .notification, message: Self.event("live-\($0)", thing: "gw-\($0)", at: 1_800_000_000_000), certificateURL: setup.certificateURL).signed() }
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for envelope in envelopes { group.addTask { try await client.postSNS(envelope).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: .ok, count: 5))
            let requests = try await eventually("the group's message") { () -> [FakeChat.Request]? in
                let requests = setup.chat.requests(to: "/detect")
                return requests.isEmpty ? nil : requests
            }
            #expect(ContinuousClock.now - start >= .seconds(5), "not before group_wait")
            try await Task.sleep(for: .seconds(1))
            #expect(setup.chat.requests(to: "/detect").count == 1)
            #expect((requests[0].json?["headline"] as? String)?.hasPrefix("HIGH: 5 things in alarm") == true)
        }
    }
}
