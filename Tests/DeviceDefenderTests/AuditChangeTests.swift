import DeviceDefender
import Foundation
import Testing

struct AuditChangeTests {
    func audit(_ id: String, _ checks: [(String, AuditCheckResult.RunStatus, Int)]) -> AuditNotification {
        AuditNotification(
            accountID: "123456789012", taskID: id, taskStatus: .completed, taskType: .scheduled, scheduledAuditName: "daily",
            failedChecksCount: 0, canceledChecksCount: 0, nonCompliantChecksCount: 0, compliantChecksCount: 0, totalChecksCount: checks.count,
            taskStartTime: 0,
            checks: checks.map { AuditCheckResult(checkName: $0.0, runStatus: $0.1, nonCompliantResourcesCount: $0.2, totalResourcesCount: 10, severity: CheckCatalog.known.severity(of: $0.0)) }
        )
    }

    @Test func aSequenceThatAddsWorsensAndResolvesFindings() {
        let first = audit("a1", [("LOGGING_DISABLED_CHECK", .nonCompliant, 1), ("DEVICE_CERTIFICATE_SHARED_CHECK", .compliant, 0)])
        let initial = AuditChange.between(previous: nil, current: first)
        #expect(initial.isFirstRun)
        #expect(initial.newlyNonCompliant.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])

        let second = audit("a2", [("LOGGING_DISABLED_CHECK", .nonCompliant, 1), ("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 2)])
        let added = AuditChange.between(previous: first, current: second)
        #expect(added.previousTaskID == "a1")
        #expect(added.newlyNonCompliant == [.init(checkName: "DEVICE_CERTIFICATE_SHARED_CHECK", severity: .critical, previousCount: 0, currentCount: 2)])
        #expect(added.unchanged.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])
        #expect(added.hasNewFindings)

        let third = audit("a3", [("LOGGING_DISABLED_CHECK", .nonCompliant, 1), ("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 7)])
        let worse = AuditChange.between(previous: second, current: third)
        #expect(worse.worsened == [.init(checkName: "DEVICE_CERTIFICATE_SHARED_CHECK", severity: .critical, previousCount: 2, currentCount: 7)])
        #expect(worse.newlyNonCompliant.isEmpty)

        let fourth = audit("a4", [("LOGGING_DISABLED_CHECK", .compliant, 0), ("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 3)])
        let better = AuditChange.between(previous: third, current: fourth)
        #expect(better.resolved.map(\.checkName) == ["LOGGING_DISABLED_CHECK"])
        #expect(better.improved.map(\.currentCount) == [3])
        #expect(!better.hasNewFindings)

        let same = AuditChange.between(previous: fourth, current: audit("a5", [("LOGGING_DISABLED_CHECK", .compliant, 0), ("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 3)]))
        #expect(!same.hasNewFindings)
        #expect(same.unchanged.map(\.checkName) == ["DEVICE_CERTIFICATE_SHARED_CHECK"])
    }

    @Test func aCheckThatFailedToRunIsNotResolved() {
        let before = audit("b1", [("LOGGING_DISABLED_CHECK", .nonCompliant, 1)])
        let after = audit("b2", [("LOGGING_DISABLED_CHECK", .failed, 0)])
        let change = AuditChange.between(previous: before, current: after)
        #expect(change.resolved.isEmpty)
        #expect(!change.hasNewFindings)
    }

    /// The stored document is written by hand; JSONEncoder (sorted keys) is the oracle.
    @Test func theStoredChangeIsWhatJSONEncoderWrites() throws {
        let quoted = "WEIRD \"CHECK\"\n\\ é"
        let change = AuditChange(
            previousTaskID: "prev \"1\"",
            newlyNonCompliant: [.init(checkName: quoted, severity: .critical, previousCount: nil, currentCount: 3)],
            worsened: [.init(checkName: "B", severity: .high, previousCount: 1, currentCount: 2)],
            improved: [], resolved: [.init(checkName: "C", severity: .low, previousCount: 4, currentCount: 0)], unchanged: []
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for value in [change, AuditChange()] {
            #expect(value.jsonText == String(decoding: try encoder.encode(value), as: UTF8.self))
            #expect(try JSONDecoder().decode(AuditChange.self, from: Data(value.jsonText.utf8)) == value)
        }
    }
}
