import Alerts
import DeviceDefender
import Testing

struct AlertBuilderTests {
    @Test func leadsWithWhatIsNewSinceTheLastRun() {
        let alert = AlertFixtures.reviewedAudit
        #expect(alert.kind == .audit)
        #expect(alert.id == "audit:4e2bcd1ccbc2a5dd15292a82ab80c380")
        #expect(alert.title == "Device Defender audit: dailyAudit: 3 non-compliant checks")
        #expect(alert.headline == "CRITICAL: 1 new, 1 worse findings · prod (123456789012) eu-west-1 · dailyAudit")
        #expect(alert.summary == "3 of 5 checks non-compliant (1 new, 1 worse, 1 known); 1 resolved; 1 did not run")
        #expect(alert.facts.map(\.label) == ["Account", "Region", "Audit", "Ran", "Previous run", "Task"])
        #expect(alert.facts.map(\.value)[...4] == ["prod (123456789012)", "eu-west-1", "dailyAudit", "2026-11-18 11:06 UTC", "2026-11-17 11:06 UTC"])
        let dayBefore: Int64 = 1_795_000_000_000 - 86_400_000
        #expect(alert.previousRunAt == dayBefore)
        let shared = alert.findings[0]
        #expect(shared.displayName == "Device certificate shared")
        #expect(shared.documentationURL == "https://docs.aws.amazon.com/iot-device-defender/latest/devguide/audit-chk-device-cert-shared.html")
        #expect(shared.remediation?.hasPrefix("Give each device its own certificate") == true)
        #expect(AlertText.changeLabel(alert.findings[1]) == "worse 2→5")
        #expect(AlertText.changeLabel(alert.findings[3]) == "did not run: INSUFFICIENT_PERMISSIONS: Audit role lacks iot:ListCertificates")
        #expect(alert.severity == .critical)
        #expect(alert.findings.map(\.checkName) == [
            "DEVICE_CERTIFICATE_SHARED_CHECK", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "DEVICE_CERTIFICATE_EXPIRING_CHECK",
            "CA_CERTIFICATE_EXPIRING_CHECK", "LOGGING_DISABLED_CHECK",
        ])
        #expect(alert.findings.map(\.change) == [.new, .worse, .known, .failed, .resolved])
        #expect(alert.findings[3].error == "INSUFFICIENT_PERMISSIONS: Audit role lacks iot:ListCertificates")
        #expect(alert.link == "https://eu-west-1.console.aws.amazon.com/iot/home?region=eu-west-1#/dd/audit/results/4e2bcd1ccbc2a5dd15292a82ab80c380")
        #expect(alert.attributes.hasNewFindings)
        #expect(alert.attributes.checkNames.count == 3)
    }

    @Test func anUnchangedAuditHasTheSameFingerprintAndNoNewFindings() {
        let run = { (id: String) in AlertFixtures.audit(id, [("LOGGING_DISABLED_CHECK", .nonCompliant, 1, 1)]) }
        let first = AlertBuilder().audit(run("r1"), change: AuditChange.between(previous: nil, current: run("r1")), topicARN: AlertFixtures.topic)
        let second = AlertBuilder().audit(run("r2"), change: AuditChange.between(previous: run("r1"), current: run("r2")), topicARN: AlertFixtures.topic)
        #expect(first.attributes.hasNewFindings)
        #expect(!second.attributes.hasNewFindings)
        #expect(first.attributes.fingerprint == second.attributes.fingerprint)
        #expect(second.severity == .low)
        let worse = AlertBuilder().audit(AlertFixtures.audit("r3", [("LOGGING_DISABLED_CHECK", .nonCompliant, 2, 2)]), change: .init(), topicARN: AlertFixtures.topic)
        #expect(worse.attributes.fingerprint != second.attributes.fingerprint)
    }

    @Test func buildsDetectSubscriptionAndUnrecognizedAlerts() {
        let detect = AlertFixtures.detect
        #expect(detect.title == "Device Defender Detect: gateway-eu-17 in alarm (NormalHTTPTraffic / PacketsOut)")
        #expect(detect.headline == "HIGH: gateway-eu-17 in alarm · 123456789012 eu-west-1 · PacketsOut (NormalHTTPT…")
        #expect(detect.accountID == "123456789012", "Detect events name no account: the topic's is used")
        #expect(detect.attributes.eventType == "in-alarm")
        #expect(detect.severity == .high)
        let subscription = AlertBuilder().subscription(topicARN: AlertFixtures.topic, status: "unsubscribed", detail: nil, messageID: "m", at: 0)
        #expect(subscription.kind == .subscription)
        let other = AlertBuilder().unrecognized(topicARN: AlertFixtures.topic, subject: "CPU", message: String(repeating: "x", count: 5000), reason: "not JSON", messageID: "u", at: 0)
        #expect(other.facts.first { $0.label == "Message" }?.value.count == 500)
    }
}

struct AlertRouterTests {
    static let router = AlertRouter(
        routes: [
            AlertRoute(match: .init(kinds: [.audit], minimumSeverity: .critical, changedOnly: true), receivers: ["pager"], continue: true),
            AlertRoute(match: .init(kinds: [.audit], nonCompliant: true), receivers: ["secops-slack", "oncall-email"], repeatIntervalSeconds: 86_400),
            AlertRoute(match: .init(kinds: [.audit], taskStatus: ["FAILED", "CANCELED"]), receivers: ["platform-teams"]),
            AlertRoute(match: .init(kinds: [.detect], eventType: ["in-alarm"], securityProfileName: "Normal*"), receivers: ["detect-webhook"]),
            AlertRoute(match: .init(kinds: [.detect]), receivers: []),
            AlertRoute(match: .init(kinds: [.audit], scheduledAuditName: "weekly*", accountID: ["210987654321"], checkName: ["LOGGING_DISABLED_CHECK"]), receivers: ["weekly-chat"]),
        ],
        defaultReceivers: ["catch-all"]
    )

    func receivers(_ alert: Alert) -> [String] { Self.router.decide(alert, now: 0).map(\.receiver) }

    @Test func decidesForATableOfAlerts() {
        #expect(receivers(AlertFixtures.reviewedAudit) == ["pager", "secops-slack", "oncall-email"])
        let unchanged = AlertBuilder().audit(AlertFixtures.audit("u", [("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 1, 9)]), change: .init(previousTaskID: "p", unchanged: [.init(checkName: "DEVICE_CERTIFICATE_SHARED_CHECK", severity: .critical, previousCount: 1, currentCount: 1)]), topicARN: AlertFixtures.topic)
        #expect(receivers(unchanged) == ["secops-slack", "oncall-email"])
        let failed = AlertBuilder().audit(AlertFixtures.audit("f", status: .failed, []), change: .init(), topicARN: AlertFixtures.topic)
        #expect(receivers(failed) == ["platform-teams"])
        #expect(receivers(AlertFixtures.detect) == ["detect-webhook"])
        var cleared = AlertFixtures.detect
        cleared.attributes.eventType = "alarm-cleared"
        #expect(receivers(cleared) == [], "a matching route with no receivers silences")
        let clean = AlertBuilder().audit(AlertFixtures.audit("c", [("LOGGING_DISABLED_CHECK", .compliant, 0, 1)]), change: .init(), topicARN: AlertFixtures.topic)
        #expect(receivers(clean) == [], "an all-compliant audit with nothing resolved alerts nobody, default receivers included")
        let other = AlertBuilder().unrecognized(topicARN: AlertFixtures.topic, subject: nil, message: "hi", reason: "r", messageID: "x", at: 0)
        #expect(receivers(other) == ["catch-all"])
    }

    @Test func reportsRepeatIntervalsAndMutes() {
        let router = AlertRouter(routes: [AlertRoute(match: .init(), receivers: ["slack"], repeatIntervalSeconds: 3600, mute: [MuteWindow(weekdays: [6, 7])])])
        let saturdayNoon: Int64 = 1_795_262_400_000 // 2026-11-21 (a Saturday) 12:00 UTC
        #expect(router.decide(AlertFixtures.detect, now: saturdayNoon) == [.init(receiver: "slack", routeIndex: 0, repeatIntervalSeconds: 3600, muted: true)])
        #expect(router.decide(AlertFixtures.detect, now: saturdayNoon + 2 * 86_400_000).first?.muted == false)
    }

    @Test func muteWindowsWrapPastMidnight() {
        let night = MuteWindow(fromMinute: 22 * 60, toMinute: 6 * 60)
        let day: Int64 = 1_795_219_200_000 // 2026-11-21 (a Saturday) 00:00 UTC
        #expect(night.contains(day + 23 * 3_600_000))
        #expect(night.contains(day + 5 * 3_600_000))
        #expect(!night.contains(day + 12 * 3_600_000))
        let fridayNights = MuteWindow(weekdays: [5], fromMinute: 22 * 60, toMinute: 6 * 60)
        #expect(fridayNights.contains(day + 2 * 3_600_000), "Saturday 02:00 belongs to Friday's night")
        #expect(!fridayNights.contains(day + 23 * 3_600_000), "Saturday 23:00 is Saturday's night")
    }
}
