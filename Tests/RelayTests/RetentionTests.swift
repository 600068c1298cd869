import RelayConfig
import Ingest
import Logging
import Relay
import SNS
import Storage
import Testing

struct RetentionTests {
    @Test(arguments: TestBackend.allCases)
    func prunesOldEnvelopesAndKeepsSummaries(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let day: Int64 = 86_400_000
            try await AuditFixtures.record(AuditFixtures.audit("ancient", start: 1, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store, receivedAt: 1)
            try await AuditFixtures.record(AuditFixtures.audit("recent", start: 500 * day, checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)]), in: store, receivedAt: 500 * day)
            var storage = RelayConfiguration.Storage()
            storage.retentionDays = 30
            var logger = Logger(label: "retention-test")
            logger.logLevel = .critical
            await RetentionService(store: store, storage: storage, clock: { SNSInstant(millisecondsSince1970: 510 * day) }, logger: logger).pruneOnce()
            #expect(try await store.messageCount() == 1)
            #expect(try await store.audits(AuditQuery()).audits.count == 2)

            storage.summaryRetentionDays = 100
            await RetentionService(store: store, storage: storage, clock: { SNSInstant(millisecondsSince1970: 510 * day) }, logger: logger).pruneOnce()
            #expect(try await store.audits(AuditQuery()).audits.map(\.taskID) == ["recent"])
        }
    }

    @Test func retentionIsConfigurable() throws {
        let configuration = try RelayConfiguration.parse(yaml: "storage:\n  retention_days: 90\n  summary_retention_days: 730\n", environment: [:])
        #expect(configuration.storage.retentionDays == 90)
        #expect(configuration.storage.summaryRetentionDays == 730)
        #expect(try RelayConfiguration.parse(yaml: "", environment: [:]).storage.retentionDays == 400)
        #expect(throws: ConfigurationError.invalidValue(key: "storage.retention_days", reason: "0 is outside 1...36500")) {
            try RelayConfiguration.parse(yaml: "storage:\n  retention_days: 0\n", environment: [:])
        }
    }
}

/// The outbox does not grow without bound, and retention never holds the writer for long.
@Suite(.timeLimit(.minutes(2)))
struct OutboxRetentionTests {
    static func queue(_ store: any Store, _ count: Int, prefix: String, at: Int64) async throws {
        let deliveries = (0..<count).map { index in
            NewDelivery(entry: OutboxContractTests.entry("\(prefix)-\(index)"), at: at)
        }
        try await store.withIngestTransaction { transaction in try await transaction.insertDeliveries(deliveries) }
    }

    @Test(arguments: TestBackend.allCases)
    func deliveredAndDeadAreKeptForTheirOwnRetentionAndPendingForever(_ backend: TestBackend) async throws {
        try await withTestStore(backend) { store, _ in
            let day: Int64 = 86_400_000
            // 1,100 delivered and 3 dead 40 days ago, 2 still pending from then; 4 delivered
            // and 1 dead yesterday.
            try await Self.queue(store, 1_105, prefix: "old", at: 100 * day)
            let old = try await store.claimDeliveries(owner: "w", receiver: "slack", now: 100 * day, leaseUntil: 101 * day, limit: 2_000)
            #expect(old.count == 1_105)
            for (index, delivery) in old.enumerated() where index < 1_103 {
                let outcome: DeliveryOutcome = index < 1_100 ? .delivered(status: 200) : .dead(error: "HTTP 404", status: 404)
                try await store.completeDelivery(id: delivery.id, owner: "w", outcome: outcome, at: 100 * day)
            }
            #expect(try await store.releaseDeliveries(owner: "w", receiver: nil, at: 100 * day) == 2)
            try await Self.queue(store, 5, prefix: "new", at: 139 * day)
            for (index, delivery) in try await store.claimDeliveries(owner: "w", receiver: "slack", now: 139 * day, leaseUntil: 140 * day, limit: 10).filter({ $0.id.hasPrefix("new") }).enumerated() {
                try await store.completeDelivery(id: delivery.id, owner: "w", outcome: index < 4 ? .delivered(status: 200) : .dead(error: "HTTP 404", status: 404), at: 139 * day)
            }
            // The old pending ones were claimed with the new: back to pending.
            #expect(try await store.releaseDeliveries(owner: "w", receiver: nil, at: 139 * day) == 2)

            var storage = RelayConfiguration.Storage()
            storage.deliveredRetentionDays = 30
            storage.deadRetentionDays = 60
            let plan = RetentionService.plan(storage, now: SNSInstant(millisecondsSince1970: 140 * day))
            #expect(try await store.prune(plan) == 1_100)
            #expect(try await store.deliveries(state: .delivered, limit: 2_000).map(\.id).sorted() == (0..<4).map { "new-\($0)#slack" }.sorted())
            #expect(try await store.deliveries(state: .dead, limit: 10).count == 4, "dead letters are kept 60 days")
            #expect(try await store.deliveries(state: .pending, limit: 10).count == 2, "pending deliveries are never pruned")

            // A route that suppresses repeats for 60 days keeps delivered rows that long.
            let longRepeat = RetentionService.plan(storage, longestRepeatIntervalSeconds: 60 * 86_400, now: SNSInstant(millisecondsSince1970: 140 * day))
            #expect(longRepeat.deliveredBefore == 80 * day)

            storage.deadRetentionDays = 30
            #expect(try await store.prune(RetentionService.plan(storage, now: SNSInstant(millisecondsSince1970: 140 * day))) == 3)
            #expect(try await store.deliveries(state: .dead, limit: 10).map(\.id) == ["new-4#slack"])
        }
    }

    /// A prune of 20,000 envelopes runs in transactions of 500: a message stored while it runs
    /// is committed long before the prune ends, instead of waiting for one big transaction.
    @Test func ingestIsNotHeldBehindALargePrune() async throws {
        try await withTestStore(.sqlite) { store, _ in
            let messages = (0..<20_000).map { AuditFixtures.message("{}", id: "old-\($0)", receivedAt: 1) }
            _ = try await store.withIngestTransaction { transaction in try await transaction.insertMessages(messages, previousRunsOf: []) }
            let clock = ContinuousClock()
            let pruning = Task { () -> (Int, ContinuousClock.Instant) in
                let deleted = try await store.prune(RetentionPlan(messagesBefore: 1_000))
                return (deleted, clock.now)
            }
            try await Task.sleep(for: .milliseconds(20))
            let asked = clock.now
            #expect(try await store.record(AuditFixtures.message("{}", id: "new", receivedAt: 5_000), effect: .notificationDelivered) == .recorded)
            let stored = clock.now
            let (deleted, pruned) = try await pruning.value
            print("retention: 20,000 rows pruned in \(pruned - asked + .milliseconds(20)); a message stored meanwhile waited \(stored - asked)")
            #expect(deleted == 20_000)
            #expect(stored < pruned, "the message was stored while the prune ran")
            #expect(try await store.messageCount() == 1)
        }
    }
}
