import Alerts
import DeviceDefender
import Foundation
import Testing

/// The first line of every message (push previews, mail subjects) and the rules for who hears
/// what: each case here is one a person would otherwise misread or never get.
struct AlertWordingTests {
    static let builder = AlertBuilder(accountAliases: ["123456789012": "prod"])

    static func run(_ id: String, schedule: String? = "dailyAudit", status: AuditNotification.TaskStatus = .completed, _ checks: [(String, AuditCheckResult.RunStatus, Int, Int)]) -> AuditNotification {
        AlertFixtures.audit(id, status: status, schedule: schedule, checks)
    }

    static func alert(previous: AuditNotification?, current: AuditNotification, builder: AlertBuilder = builder) -> Alert {
        builder.audit(current, change: AuditChange.between(previous: previous, current: current), topicARN: AlertFixtures.topic)
    }

    @Test func headlinesLeadWithHowBadAndFitAPushPreview() {
        let shared = ("DEVICE_CERTIFICATE_SHARED_CHECK", AuditCheckResult.RunStatus.nonCompliant, 3, 100)
        let sharedClean = ("DEVICE_CERTIFICATE_SHARED_CHECK", AuditCheckResult.RunStatus.compliant, 0, 100)
        let logging = ("LOGGING_DISABLED_CHECK", AuditCheckResult.RunStatus.nonCompliant, 1, 1)
        let cases: [(Alert, String)] = [
            (Self.alert(previous: nil, current: Self.run("a", [shared, logging])), "CRITICAL: 2 new findings · prod (123456789012) eu-west-1 · dailyAudit"),
            (Self.alert(previous: Self.run("a", [shared]), current: Self.run("b", [shared])), "CRITICAL: 1 open finding, nothing new · prod eu-west-1 · dailyAudit"),
            (Self.alert(previous: Self.run("a", [shared, logging]), current: Self.run("b", [sharedClean, logging])), "RESOLVED: 1 finding resolved, 1 still open · prod eu-west-1 · dailyAudit"),
            (Self.alert(previous: nil, current: Self.run("a", [sharedClean])), "OK: all checks compliant · prod (123456789012) eu-west-1 · dailyAudit"),
            (Self.alert(previous: nil, current: Self.run("a", status: .failed, [])), "FAILED: audit did not complete · prod (123456789012) eu-west-1 · dailyAudit"),
            (Self.alert(previous: nil, current: Self.run("a", [("CA_CERTIFICATE_EXPIRING_CHECK", .failed, 0, 0)])), "WARNING: 1 check did not run · prod (123456789012) eu-west-1 · dailyAudit"),
            (Self.alert(previous: nil, current: Self.run("a", schedule: nil, [logging]), builder: AlertBuilder()), "LOW: 1 new finding · 123456789012 eu-west-1 · on-demand audit"),
            // Too long: the account id goes first (the alias names it), then the schedule's name
            // is shortened; never the severity, the change or the place.
            (Self.alert(previous: nil, current: Self.run("a", schedule: "weekly-compliance-audit-for-the-whole-fleet-of-gateways", [shared])), "CRITICAL: 1 new finding · prod eu-west-1 · weekly-compliance-audit-for-the-whol…"),
        ]
        for (alert, expected) in cases {
            #expect(alert.headline == expected)
            #expect(alert.headline.count <= AlertHeadline.maxCharacters)
        }
        let first = Self.alert(previous: nil, current: Self.run("a", [shared]))
        #expect(first.facts.first { $0.label == "Previous run" }?.value == "first run of this schedule")
        #expect(first.previousRunAt == nil)
    }

    /// A finding with fewer resources is still open: not "all compliant", not quiet.
    @Test func anAuditWhoseOnlyFindingImprovedIsNotAnAllClear() {
        let before = Self.run("a", [("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 5, 100)])
        let after = Self.run("b", [("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 2, 100)])
        let alert = Self.alert(previous: before, current: after)
        #expect(!alert.isQuiet)
        #expect(alert.headline == "CRITICAL: 1 open finding, nothing new · prod eu-west-1 · dailyAudit")
        #expect(alert.attributes.checkNames == ["DEVICE_CERTIFICATE_SHARED_CHECK"])
        #expect(AlertText.alertColour(alert) != 0x2E_7D_32)
    }

    /// min_severity judges what changed: a LOW finding resolved beside a known CRITICAL one is
    /// not a CRITICAL change.
    @Test func minSeverityJudgesWhatChanged() {
        let route = AlertRoute.Match(minimumSeverity: .critical, changedOnly: true)
        let shared = ("DEVICE_CERTIFICATE_SHARED_CHECK", AuditCheckResult.RunStatus.nonCompliant, 3, 100)
        let lowResolved = Self.alert(previous: Self.run("a", [shared, ("LOGGING_DISABLED_CHECK", .nonCompliant, 1, 1)]), current: Self.run("b", [shared, ("LOGGING_DISABLED_CHECK", .compliant, 0, 1)]))
        #expect(!route.matches(lowResolved))
        let criticalResolved = Self.alert(previous: Self.run("a", [shared]), current: Self.run("b", [("DEVICE_CERTIFICATE_SHARED_CHECK", .compliant, 0, 100)]))
        #expect(route.matches(criticalResolved))
    }

    @Test func aClearedAlarmSaysHowLongItLasted() throws {
        let cleared = DetectViolation(violationID: "v-1", thingName: "gateway-eu-17", securityProfileName: "Traffic", eventType: .alarmCleared, eventTime: 1_795_007_500_000, behaviorName: "PacketsOut")
        let alert = Self.builder.detect(cleared, topicARN: AlertFixtures.topic, alarmStartedAt: 1_795_000_000_000)
        #expect(alert.headline == "CLEARED: gateway-eu-17 back to normal after 2h 5m · prod eu-west-1 · PacketsOut…")
        #expect(alert.facts.first { $0.label == "Lasted" }?.value == "2h 5m")
        #expect(AlertText.alertColour(alert) == 0x2E_7D_32, "good news is green")
    }

    @Test func aGroupOfDetectEventsIsOneAlertListingEachThing() throws {
        let violations = (1...3).map { DetectViolation(violationID: "v-\($0)", thingName: "thing-\($0)", securityProfileName: "Traffic", eventType: .inAlarm, eventTime: 1_795_000_000_000 + Int64($0) * 1000, behaviorName: "PacketsOut", metricValue: "\($0 * 100)") }
        let alert = try #require(Self.builder.detect(violations.reversed(), topicARN: AlertFixtures.topic))
        #expect(alert.headline == "HIGH: 3 things in alarm · prod (123456789012) eu-west-1 · PacketsOut (Traffic)")
        #expect(alert.violations.map(\.thingName) == ["thing-1", "thing-2", "thing-3"])
        #expect(alert.id == Self.builder.detect(violations, topicARN: AlertFixtures.topic)?.id, "the same events in any order are the same alert")
        let slack = String(decoding: SlackMessage.render(alert), as: UTF8.self)
        #expect(slack.contains("• thing-2 · observed 200 · 2026-11-18 11:06 UTC"))
    }

    @Test func routesHearResolutionsOfWhatTheyWereToldAbout() {
        let router = AlertRouter(routes: [
            AlertRoute(match: .init(checkName: ["DEVICE_CERTIFICATE_SHARED_CHECK"]), receivers: ["certs"], continue: true),
            AlertRoute(match: .init(minimumSeverity: .critical), receivers: ["pager"], continue: true),
            AlertRoute(match: .init(changedOnly: true), receivers: ["changes"], continue: true),
            AlertRoute(match: .init(kinds: [.audit], nonCompliant: false), receivers: ["all-clear"]),
        ], defaultReceivers: ["catch-all"])
        let shared = ("DEVICE_CERTIFICATE_SHARED_CHECK", AuditCheckResult.RunStatus.nonCompliant, 3, 100)
        let sharedClean = ("DEVICE_CERTIFICATE_SHARED_CHECK", AuditCheckResult.RunStatus.compliant, 0, 100)
        let problem = Self.alert(previous: nil, current: Self.run("a", [shared]))
        #expect(router.decide(problem, now: 0).map(\.receiver) == ["certs", "pager", "changes"])
        let resolved = Self.alert(previous: Self.run("a", [shared]), current: Self.run("b", [sharedClean]))
        #expect(router.decide(resolved, now: 0).map(\.receiver) == ["certs", "pager", "changes", "all-clear"])
        let quiet = Self.alert(previous: Self.run("b", [sharedClean]), current: Self.run("c", [sharedClean]))
        #expect(quiet.isQuiet)
        #expect(router.decide(quiet, now: 0).map(\.receiver) == ["all-clear"], "only the route asking for compliant audits hears a quiet one")
        let noExplicitRoute = AlertRouter(routes: [AlertRoute(match: .init(kinds: [.audit]), receivers: ["audits"])], defaultReceivers: ["catch-all"])
        #expect(noExplicitRoute.decide(quiet, now: 0).isEmpty)
        #expect(noExplicitRoute.decide(resolved, now: 0).map(\.receiver) == ["audits"])
    }

    @Test func mentionsCallPeopleOnlyForNewCriticalFindings() throws {
        let critical = AlertFixtures.reviewedAudit
        let slack = String(decoding: SlackMessage.render(critical, mentions: ["here", "U012AB3CD", "S0614TZR7"]), as: UTF8.self)
        #expect(slack.contains("<!here> <@U012AB3CD> <!subteam^S0614TZR7>"))
        let discord = try JSONSerialization.jsonObject(with: Data(DiscordMessage.render(critical, mentions: ["role:123", "user:456"]))) as! [String: Any]
        #expect(discord["content"] as? String == critical.headline + "\n<@&123> <@456>")
        let allowed = discord["allowed_mentions"] as! [String: [String]]
        #expect(allowed == ["parse": [], "roles": ["123"], "users": ["456"]])
        let teams = String(decoding: TeamsMessage.render(critical, mentions: ["Ops On Call <ops@example.com>"]), as: UTF8.self)
        #expect(teams.contains(#""mentioned":{"id":"ops@example.com","name":"Ops On Call"}"#))
        #expect(teams.contains("<at>Ops On Call</at>"))

        let known = Self.alert(previous: Self.run("a", [("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 3, 100)]), current: Self.run("b", [("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 3, 100)]))
        #expect(known.severity == .critical)
        #expect(!String(decoding: SlackMessage.render(known, mentions: ["here"]), as: UTF8.self).contains("<!here>"))
        let quietDiscord = try JSONSerialization.jsonObject(with: Data(DiscordMessage.render(known, mentions: ["role:123"]))) as! [String: Any]
        #expect((quietDiscord["allowed_mentions"] as! [String: [String]])["roles"] == [])
    }

    @Test func noMessageRepeatsItsHeadline() throws {
        let alert = AlertFixtures.reviewedAudit
        let headline = alert.headline
        for (name, body) in [
            ("slack", SlackMessage.render(alert)), ("teams", TeamsMessage.render(alert)), ("discord", DiscordMessage.render(alert)),
            ("googlechat", GoogleChatMessage.render(alert)),
        ] {
            let text = String(decoding: body, as: UTF8.self)
            #expect(text.components(separatedBy: headline).count - 1 == (name == "teams" ? 2 : 1), "\(name): the headline once (Teams: the card and the activity summary that notifications show)")
        }
        let mail = EmailMessage.render(alert)
        #expect(mail.subject == headline)
        #expect(!mail.text.contains(headline))
        #expect(mail.html.components(separatedBy: headline).count - 1 == 1, "only the HTML <title>")
    }

    @Test func muteWindowsFollowTheirTimeZoneAcrossDaylightSaving() {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        let nights = MuteWindow(fromMinute: 22 * 60, toMinute: 6 * 60, timeZone: berlin)
        // 2026-01-15 21:30 UTC is 22:30 in Berlin (CET, +1); 2026-07-15 20:30 UTC is 22:30 (CEST, +2).
        #expect(nights.contains(1_768_512_600_000))
        #expect(nights.contains(1_784_147_400_000))
        // 2026-07-15 21:30 UTC is 23:30 in Berlin, and 04:30 UTC is 06:30: past the window.
        #expect(!nights.contains(1_784_147_400_000 - 3_600_000 * 2), "20:30 in Berlin")
        #expect(!nights.contains(1_784_089_800_000), "06:30 in Berlin")
        let sundays = MuteWindow(weekdays: [7], timeZone: berlin)
        // 2026-11-21 23:30 UTC is Sunday 00:30 in Berlin.
        #expect(sundays.contains(1_795_303_800_000))
        #expect(!MuteWindow(weekdays: [7]).contains(1_795_303_800_000), "still Saturday in UTC")
    }
}
