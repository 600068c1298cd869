import Alerts
import DeviceDefender
import Foundation
import Ingest
import Storage
import Testing

/// The outbox's promises on both stores: written with the message, claimed by one owner at a
/// time, finished only by its owner, claimable again when a lease runs out, repeats suppressed.
@Suite(.timeLimit(.minutes(2)))
struct OutboxContractTests {
    static func entry(_ alert: String, receiver: String = "slack", fingerprint: String = "f", repeatInterval: Int64? = nil) -> OutboxEntry {
        OutboxEntry(id: "\(alert)#\(receiver)", receiver: receiver, alertID: alert, kind: "audit", body: Array("{\"a\":1}".utf8), fingerprint: fingerprint, repeatIntervalSeconds: repeatInterval)
    }

    @Test(arguments: TestBackend.allCases)
    func queuesWithTheMessageAndLeasesToOneOwner(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let planner = AlertPlanner(
                builder: AlertBuilder(consoleURLTemplate: AlertBuilder.defaultConsoleURLTemplate),
                router: AlertRouter(routes: [], defaultReceivers: ["slack", "mail"]),
                receivers: [.init(name: "slack", kind: .slack), .init(name: "mail", kind: .webhook)],
                alertOnSubscriptionChanges: false
            )
            let payload = AuditFixtures.audit("o-1", start: 1, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)])
            let message = AuditFixtures.message(payload, id: "m-1", receivedAt: 1_000)
            #expect(try await store.record(message, effect: .notificationDelivered, payload: .classify(payload), planner: planner) == .recorded)
            // A duplicate message queues nothing.
            #expect(try await store.record(message, effect: .notificationDelivered, payload: .classify(payload), planner: planner) == .duplicate)
            #expect(try await store.deliveries(state: .pending, limit: 10).count == 2)

            let first = try await Self.claimAll(store, owner: "a", now: 1_000, leaseUntil: 61_000)
            #expect(first.count == 2)
            #expect(try await Self.claimAll(store, owner: "b", now: 2_000, leaseUntil: 62_000).isEmpty, "leased deliveries were claimed twice")

            // Only the lease holder records the outcome.
            try await store.completeDelivery(id: first[0].id, owner: "b", outcome: .delivered(status: 200), at: 3_000)
            #expect(try await store.deliveries(state: .delivered, limit: 10).isEmpty)
            try await store.completeDelivery(id: first[0].id, owner: "a", outcome: .delivered(status: 200), at: 3_000)
            #expect(try await store.deliveries(state: .delivered, limit: 10).map(\.id) == [first[0].id])

            // Owner "a" died holding the other one: after its lease it is claimable again.
            #expect(try await Self.claimAll(store, owner: "b", now: 60_999, leaseUntil: 120_000).isEmpty)
            let reclaimed = try await Self.claimAll(store, owner: "b", now: 61_001, leaseUntil: 120_000)
            #expect(reclaimed.map(\.id) == [first[1].id])
            try await store.completeDelivery(id: first[1].id, owner: "b", outcome: .retry(at: 70_000, error: "HTTP 503", status: 503), at: 61_500)
            #expect(try await Self.claimAll(store, owner: "b", now: 69_999, leaseUntil: 130_000).isEmpty)
            let retried = try await Self.claimAll(store, owner: "b", now: 70_000, leaseUntil: 130_000)
            #expect(retried.first?.attempts == 1)
            #expect(retried.first?.lastStatus == 503)
            try await store.completeDelivery(id: first[1].id, owner: "b", outcome: .dead(error: "permanent: HTTP 400", status: 400), at: 71_000)
            #expect(try await store.deliveryCounts() == [.dead: 1], "delivered ones are history, not counted")

            #expect(try await store.retryDeadDeliveries(id: nil, at: 80_000) == 1)
            let again = try await store.deliveries(state: .pending, limit: 10)
            #expect(again.first?.attempts == 0)
        }
    }

    /// Both receivers' claims, as the lanes of one replica make them.
    static func claimAll(_ store: any Store, owner: String, now: Int64, leaseUntil: Int64) async throws -> [Delivery] {
        var claimed: [Delivery] = []
        for receiver in ["slack", "mail"] {
            claimed += try await store.claimDeliveries(owner: owner, receiver: receiver, now: now, leaseUntil: leaseUntil, limit: 10)
        }
        return claimed
    }

    /// A lane claims its own receiver's deliveries only, oldest queued first, and what it puts
    /// back keeps its attempts.
    @Test(arguments: TestBackend.allCases)
    func claimsOneReceiverInQueuedOrderAndReleasesUnsent(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            try await store.enqueue([Self.entry("late", receiver: "slack")], at: 3_000)
            try await store.enqueue([Self.entry("early", receiver: "slack")], at: 1_000)
            try await store.enqueue([Self.entry("other", receiver: "mail")], at: 500)
            let claimed = try await store.claimDeliveries(owner: "a", receiver: "slack", now: 5_000, leaseUntil: 65_000, limit: 10)
            #expect(claimed.map(\.alertID) == ["early", "late"])
            #expect(try await store.deliveries(state: .pending, limit: 10).map(\.alertID) == ["other"])

            #expect(try await store.releaseDeliveries(owner: "b", receiver: nil, at: 6_000) == 0, "another owner's claims were released")
            #expect(try await store.releaseDeliveries(owner: "a", receiver: "slack", at: 6_000) == 2)
            let again = try await store.claimDeliveries(owner: "b", receiver: "slack", now: 7_000, leaseUntil: 67_000, limit: 1)
            #expect(again.map(\.alertID) == ["early"])
            #expect(again.first?.attempts == 0, "putting a claim back spent an attempt")

            // A store no other process uses releases every lease found (a relay that stopped).
            #expect(try await store.releaseDeliveries(owner: nil, receiver: nil, at: 8_000) == 1)
            #expect(try await store.deliveries(state: .sending, limit: 10).isEmpty)
        }
    }

    /// Right before a send the sender renews its lease; once its lease ran out and another
    /// replica claimed the delivery, the renewal fails and the first replica does not send it.
    @Test(arguments: TestBackend.allCases)
    func aLeaseTakenOverCannotBeRenewed(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            try await store.enqueue([Self.entry("slow-batch", receiver: "slack")], at: 1_000)
            let first = try await store.claimDeliveries(owner: "a", receiver: "slack", now: 1_000, leaseUntil: 5_000, limit: 10)
            #expect(try await store.renewLease(id: first[0].id, owner: "a", until: 9_000, at: 4_000))
            #expect(try await store.claimDeliveries(owner: "b", receiver: "slack", now: 8_999, leaseUntil: 20_000, limit: 10).isEmpty, "a renewed lease was taken over")
            let taken = try await store.claimDeliveries(owner: "b", receiver: "slack", now: 9_001, leaseUntil: 20_000, limit: 10)
            #expect(taken.map(\.id) == [first[0].id])
            #expect(try await store.renewLease(id: first[0].id, owner: "a", until: 30_000, at: 10_000) == false)
            #expect(try await store.renewLease(id: first[0].id, owner: "b", until: 30_000, at: 10_000))
        }
    }

    /// The confirmation and its "subscription confirmed" alert are written together.
    @Test(arguments: TestBackend.allCases)
    func aConfirmationAndItsAlertAreOneWrite(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let topic = "arn:aws:sns:us-east-1:123456789012:audits"
            try await store.confirm(topicARN: topic, subscriptionARN: topic + ":abc", alerts: [Self.entry("subscription:confirmed", receiver: "slack")], at: 5_000)
            let subscription = try #require(try await store.subscription(topicARN: topic))
            #expect(subscription.status == .confirmed)
            #expect(subscription.subscriptionARN == topic + ":abc")
            #expect(try await store.deliveries(state: .pending, limit: 10).map(\.alertID) == ["subscription:confirmed"])
        }
    }

    /// `repeat_interval` counts from the last delivery of the same fingerprint; one still
    /// waiting (the receiver is down) holds back its repeats whatever their age, and one that
    /// was dead-lettered holds back nothing.
    @Test(arguments: TestBackend.allCases)
    func suppressesRepeatsWithinTheIntervalFromTheLastDelivery(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let hour: Int64 = 3_600_000
            try await store.enqueue([Self.entry("a1", fingerprint: "same", repeatInterval: 3600)], at: 0)
            // The receiver is down for five hours: a1 waits, and the repeats wait with it.
            try await store.enqueue([Self.entry("a2", fingerprint: "same", repeatInterval: 3600)], at: 2 * hour)
            try await store.enqueue([Self.entry("a3", fingerprint: "other", repeatInterval: 3600)], at: 2 * hour)
            let claimed = try await store.claimDeliveries(owner: "a", receiver: "slack", now: 5 * hour, leaseUntil: 6 * hour, limit: 1)
            #expect(claimed.map(\.alertID) == ["a1"])
            try await store.completeDelivery(id: claimed[0].id, owner: "a", outcome: .delivered(status: 200), at: 5 * hour)
            // Within an hour of that delivery (not of a1's queueing) the repeat stays held back.
            try await store.enqueue([Self.entry("a4", fingerprint: "same", repeatInterval: 3600)], at: 5 * hour + hour / 2)
            try await store.enqueue([Self.entry("a5", fingerprint: "same", repeatInterval: 3600)], at: 6 * hour + 1000)
            #expect(Set(try await store.deliveries(state: nil, limit: 10).map(\.alertID)) == ["a1", "a3", "a5"])

            // A dead-lettered alert holds nothing back.
            try await store.enqueue([Self.entry("b1", receiver: "mail", fingerprint: "f", repeatInterval: 3600)], at: 0)
            let mail = try await store.claimDeliveries(owner: "a", receiver: "mail", now: 1000, leaseUntil: hour, limit: 1)
            try await store.completeDelivery(id: mail[0].id, owner: "a", outcome: .dead(error: "HTTP 400", status: 400), at: 2000)
            try await store.enqueue([Self.entry("b2", receiver: "mail", fingerprint: "f", repeatInterval: 3600)], at: 3000)
            #expect(try await store.deliveries(state: .pending, limit: 10).map(\.alertID).contains("b2"))
        }
    }
}

/// Two replicas whose clocks disagree by ten minutes share one PostgreSQL outbox: the lease is
/// kept by the database's clock, so the replica whose clock runs ahead does not take (and send
/// again) a delivery the other holds; once the real lease has run out, it does.
@Suite(.timeLimit(.minutes(1)))
struct PostgresLeaseClockTests {
    @Test func leasesRunOutByTheDatabasesClockNotTheReplicas() async throws {
        try await withTestStore(.postgres, leaseClock: .database) { store, _ in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            try await store.withIngestTransaction { transaction in
                try await transaction.insertDeliveries([NewDelivery(entry: OutboxContractTests.entry("skew"), at: now - 1_000)])
            }
            let held = try await store.claimDeliveries(owner: "a", receiver: "slack", now: now, leaseUntil: now + 2_000, limit: 10)
            #expect(held.count == 1)
            // Replica b's clock is ten minutes ahead: by its clock a's lease ran out long ago.
            let ahead = now + 600_000
            #expect(try await store.claimDeliveries(owner: "b", receiver: "slack", now: ahead, leaseUntil: ahead + 2_000, limit: 10).isEmpty,
                    "a lease was judged by a replica's clock")
            // A renewal extends the lease by its length, in the database's time.
            #expect(try await store.renewLease(id: held[0].id, owner: "a", until: now + 2_000, at: now))
            try await Task.sleep(for: .milliseconds(2_300))
            let later = Int64(Date().timeIntervalSince1970 * 1000)
            let taken = try await store.claimDeliveries(owner: "b", receiver: "slack", now: later + 600_000, leaseUntil: later + 602_000, limit: 10)
            #expect(taken.map(\.id) == [held[0].id], "the lease ran out by the database's clock")
        }
    }
}
