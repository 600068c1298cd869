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
