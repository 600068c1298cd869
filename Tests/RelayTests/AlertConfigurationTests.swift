import Alerts
import RelayConfig
import DeviceDefender
import Foundation
import Ingest
import Mustache
import Relay
import Storage
import Testing

struct AlertConfigurationTests {
    /// The shape the issue fixed as a contract, with secrets from the environment.
    static let example = """
        receivers:
          - name: secops-slack
            type: slack                 # slack | teams | discord | googlechat | webhook | email
            url: ${SLACK_WEBHOOK_URL}
          - name: audit-webhook
            type: webhook
            url: https://hooks.example.com/defender
            headers: {X-Team: iot}
            hmac_secret: ${WEBHOOK_SECRET}          # optional
          - name: oncall-email
            type: email
            smtp_url: smtp://smtp.example.com:587   # or smtps://...:465
            require_tls: true                       # STARTTLS required on smtp:// unless false
            username: relay
            password: ${SMTP_PASSWORD}
            from: defender-relay@example.com
            to: [iot-security@example.com]
        routes:
          - match: {kind: audit, noncompliant: true}
            receivers: [secops-slack, oncall-email]
            continue: true
            repeat_interval: 4h
            mute:
              - {days: [sat, sun]}
              - {from: "22:00", to: "06:00"}
          - match: {kind: detect}
            receivers: [audit-webhook]
          - match: {kind: [audit], min_severity: critical, changed_only: true, check_name: [REVOKED_CA_CERT_CHECK], scheduled_audit_name: "daily*", account_id: "123456789012", task_status: COMPLETED}
            receivers: [audit-webhook]
        alerts:
          default_receivers: [secops-slack]
          max_attempts: 8
        """

    static let environment = ["SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T1/B1/xyz", "WEBHOOK_SECRET": "s3cret", "SMTP_PASSWORD": "pw"]

    @Test func readsRatesAndConcurrency() throws {
        let configuration = try RelayConfiguration.parse(yaml: """
            receivers:
              - {name: fast, type: webhook, url: "https://hooks.example.com/a", rate_per_second: 0, concurrency: 8}
              - {name: slow, type: webhook, url: "https://hooks.example.com/b", rate_per_second: 0.5}
              - {name: chat, type: slack, url: "https://hooks.slack.com/services/T/B/c"}
            """, environment: [:])
        #expect(configuration.receivers.map(\.effectiveRatePerSecond) == [0, 0.5, 1])
        #expect(configuration.receivers.map(\.effectiveConcurrency) == [8, 4, 1])
        for bad in ["rate_per_second: 0.001", "rate_per_second: -1", "concurrency: 0", "concurrency: 65"] {
            #expect(throws: ConfigurationError.self, "\(bad)") {
                try RelayConfiguration.parse(yaml: "receivers:\n  - {name: x, type: webhook, url: \"https://hooks.example.com/x\", \(bad)}", environment: [:])
            }
        }
    }

    @Test func readsTheDocumentedShape() throws {
        let configuration = try RelayConfiguration.parse(yaml: Self.example, environment: Self.environment)
        #expect(configuration.receivers.map(\.name) == ["secops-slack", "audit-webhook", "oncall-email"])
        #expect(configuration.receivers[0].url == "https://hooks.slack.com/services/T1/B1/xyz")
        #expect(configuration.receivers[1].headers == ["X-Team": "iot"])
        #expect(configuration.receivers[1].hmacSecret == "s3cret")
        #expect(configuration.receivers[2].to == ["iot-security@example.com"])
        #expect(configuration.receivers[2].requireTLS)
        #expect(configuration.routes.count == 3)
        #expect(configuration.routes[0].match == .init(kinds: [.audit], nonCompliant: true))
        #expect(configuration.routes[0].continue)
        #expect(configuration.routes[0].repeatIntervalSeconds == Int64(4 * 3600))
        #expect(configuration.routes[0].mute == [MuteWindow(weekdays: [6, 7]), MuteWindow(fromMinute: 22 * 60, toMinute: 6 * 60)])
        #expect(configuration.routes[2].match.minimumSeverity == .critical)
        #expect(configuration.routes[2].match.checkName == ["REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK"])
        #expect(configuration.alerts.defaultReceivers == ["secops-slack"])
        #expect(configuration.alerts.maxAttempts == 8)
    }

    @Test(arguments: [
        ("receivers:\n  - {name: a, type: pager, url: https://x.example}", ConfigurationError.invalidValue(key: "receivers[0].type", reason: "must be one of slack, teams, discord, googlechat, webhook, email, pagerduty")),
        ("receivers:\n  - {name: a, type: slack, url: https://evil.example/services/x}", .invalidValue(key: "receivers[0].url", reason: "host 'evil.example' is not an allowed host (the URL itself is not shown: it may hold a secret)")),
        ("receivers:\n  - {name: a, type: webhook, url: http://hooks.example.com/x}", .invalidValue(key: "receivers[0].url", reason: "only https is allowed (the URL itself is not shown: it may hold a secret)")),
        ("receivers:\n  - {name: a, type: webhook, url: https://user:pw@hooks.example.com/x}", .invalidValue(key: "receivers[0].url", reason: "it carries user information before the host (the URL itself is not shown: it may hold a secret)")),
        ("receivers:\n  - {name: a, type: webhook, url: https://a.example}\n  - {name: a, type: webhook, url: https://b.example}", .invalidValue(key: "receivers[1].name", reason: "'a' is used twice")),
        ("receivers:\n  - {name: m, type: email, smtp_url: smtp://mail.example, from: a@example.com}", .invalidValue(key: "receivers[0].to", reason: "at least one mail address is required")),
        ("receivers:\n  - {name: m, type: email, smtp_url: http://mail.example, from: a@example.com, to: b@example.com}", .invalidValue(key: "receivers[0].smtp_url", reason: "an smtp:// or smtps:// URL is required")),
        ("receivers:\n  - {name: a, type: webhook, url: https://hooks.example.com/x, headers: {X-Token: \"abc\\rInjected: yes\"}}", .invalidValue(key: "receivers[0].headers.X-Token", reason: "the value contains a CR, LF or other control character")),
        ("receivers:\n  - {name: a, type: webhook, url: https://hooks.example.com/x, headers: {X-Token: \"abc\\nInjected: yes\"}}", .invalidValue(key: "receivers[0].headers.X-Token", reason: "the value contains a CR, LF or other control character")),
        ("receivers:\n  - {name: a, type: webhook, url: https://hooks.example.com/x, headers: {\"X Token\": abc}}", .invalidValue(key: "receivers[0].headers", reason: "'X Token' is not an HTTP header name")),
        ("routes:\n  - {match: {kind: audit}, receivers: [nobody]}", .invalidValue(key: "routes[0].receivers", reason: "no receiver is named 'nobody'")),
        ("routes:\n  - {match: {colour: red}, receivers: []}", .unknownKey("routes[0].match.colour")),
        ("routes:\n  - {match: {min_severity: dire}, receivers: []}", .invalidValue(key: "routes[0].match.min_severity", reason: "must be CRITICAL, HIGH, MEDIUM or LOW")),
        ("routes:\n  - {match: {}, receivers: [], repeat_interval: soon}", .invalidValue(key: "routes[0].repeat_interval", reason: "'soon' is not a duration such as 90s, 30m, 4h or 1d (at most 10 years)")),
        ("routes:\n  - {match: {}, receivers: [], repeat_interval: 999999999999d}", .invalidValue(key: "routes[0].repeat_interval", reason: "'999999999999d' is not a duration such as 90s, 30m, 4h or 1d (at most 10 years)")),
        ("routes:\n  - {match: {}, receivers: [], mute: [{from: '25:00', to: '06:00'}]}", .invalidValue(key: "routes[0].mute[0].from", reason: "'25:00' is not a time such as 22:00")),
        ("routes:\n  - {match: {}, receivers: [], mute: [{location: CEST}]}", .invalidValue(key: "routes[0].mute[0].location", reason: "'CEST' is not an IANA time zone such as Europe/Berlin or UTC")),
        ("routes:\n  - {match: {}, receivers: [], mute: [{location: Mars/Olympus}]}", .invalidValue(key: "routes[0].mute[0].location", reason: "'Mars/Olympus' is not an IANA time zone such as Europe/Berlin or UTC")),
        ("alerts: {detect: {group_by: [thing, colour]}}", .invalidValue(key: "alerts.detect.group_by", reason: "'colour' is not security_profile, behavior or thing")),
        ("alerts: {expect: [{scheduled_audit: daily}]}", .invalidValue(key: "alerts.expect[0].every", reason: "required: how often a run is expected, e.g. 24h")),
        ("alerts: {expect: [{every: 24h, account: '42'}]}", .invalidValue(key: "alerts.expect[0].account", reason: "'42' is not a 12-digit AWS account id (quote it in YAML so leading zeros stay)")),
        ("accounts: {12345: prod}", .invalidValue(key: "accounts", reason: "'12345' is not a 12-digit AWS account id (quote it in YAML so leading zeros stay)")),
        ("accounts: {'123456789012': \"a\\nb\"}", .invalidValue(key: "accounts.123456789012", reason: "a name of 1 to 64 characters on one line is required")),
        ("receivers:\n  - {name: a, type: slack, url: https://hooks.slack.com/services/x, mention: ['@here']}", .invalidValue(key: "receivers[0].mention", reason: "'@here' is not a mention; expected here, channel, everyone, a user id (U…, W…) or a user group id (S…)")),
        ("receivers:\n  - {name: a, type: discord, url: https://discord.com/api/webhooks/1/x, mention: [ops]}", .invalidValue(key: "receivers[0].mention", reason: "'ops' is not a mention; expected role:ID or user:ID with a numeric id")),
        ("receivers:\n  - {name: p, type: pagerduty}", .invalidValue(key: "receivers[0].routing_key", reason: "an Events API v2 integration key (20 to 64 letters and digits) is required")),
        ("receivers:\n  - {name: p, type: pagerduty, routing_key: R0UT1NGKEY0123456789abcdefABCDEF, url: https://evil.example/v2/enqueue}", .invalidValue(key: "receivers[0].url", reason: "host 'evil.example' is not an allowed host (the URL itself is not shown: it may hold a secret)")),
        ("receivers:\n  - {name: a, type: googlechat, url: https://chat.googleapis.com/v1/x, mention: [all]}", .invalidValue(key: "receivers[0].mention", reason: "'all' is not a mention; expected nothing: googlechat receivers take no mentions")),
    ])
    func refusesBadReceiversAndRoutesNamingTheKey(_ yaml: String, _ expected: ConfigurationError) {
        #expect(throws: expected) { try RelayConfiguration.parse(yaml: yaml, environment: [:]) }
    }

    @Test func readsAccountsMentionsAndMuteTimeZones() throws {
        let configuration = try RelayConfiguration.parse(yaml: """
            accounts: {"012345678901": prod, "210987654321": staging}
            receivers:
              - {name: s, type: slack, url: "https://hooks.slack.com/services/x", mention: [here, U012AB3CD, S0614TZR7]}
              - {name: d, type: discord, url: "https://discord.com/api/webhooks/1/x", mention: ["role:123", "user:456"]}
              - {name: t, type: teams, url: "https://prod-01.westeurope.logic.azure.com/x", mention: ["Ops On Call <ops@example.com>"]}
            routes:
              - {match: {}, receivers: [s, d, t], mute: [{from: "22:00", to: "06:00", location: Europe/Berlin}]}
            alerts:
              detect: {group_by: [security_profile, thing], group_wait: 0s, group_interval: 1m}
              expect:
                - {scheduled_audit: "daily-*", account: "012345678901", region: eu-west-1, every: 24h, grace: 2h}
                - {every: 30s}
            """, environment: [:])
        #expect(configuration.alerts.detectGrouping == DetectGrouping(groupBy: [.securityProfile, .thing], waitSeconds: 0, intervalSeconds: 60))
        #expect(RelayConfiguration().alerts.detectGrouping == DetectGrouping(groupBy: [.securityProfile, .behavior], waitSeconds: 30, intervalSeconds: 300), "Alertmanager's defaults")
        #expect(configuration.alerts.expectations == [
            AuditExpectation(scheduledAudit: "daily-*", accountID: "012345678901", region: "eu-west-1", everySeconds: 86_400, graceSeconds: 7_200),
            AuditExpectation(everySeconds: 30),
        ])
        #expect(configuration.accounts == ["012345678901": "prod", "210987654321": "staging"])
        #expect(configuration.receivers.map(\.mentions) == [["here", "U012AB3CD", "S0614TZR7"], ["role:123", "user:456"], ["Ops On Call <ops@example.com>"]])
        #expect(configuration.routes[0].mute[0].timeZone.identifier == "Europe/Berlin")
        // The planner names the account as the configuration does.
        let payload = AuditFixtures.audit("t-1", start: 1, account: "012345678901", checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)])
        let audit = try AuditNotification.decode(payload)
        let alert = try #require(try AlertPlanner(configuration: configuration).alert(for: AuditFixtures.message(payload, id: "m", receivedAt: 1), event: .audit(audit, AuditChange.between(previous: nil, current: audit))))
        #expect(alert.accountAlias == "prod")
        #expect(alert.headline.contains("· prod (012345678901) us-east-1 ·"))
    }

    @Test func aWebhookURLIsNeverEchoedInErrors() {
        do {
            _ = try RelayConfiguration.parse(yaml: "receivers:\n  - {name: a, type: discord, url: 'https://evil.example/api/webhooks/1/TOPSECRETTOKEN'}", environment: [:])
            Issue.record("accepted")
        } catch {
            #expect(!String(describing: error).contains("TOPSECRETTOKEN"))
        }
    }

    /// Mustache escapes for HTML by default; a JSON template needs JSON string escaping, or a
    /// value with a quote or backslash breaks the document the receiver parses.
    @Test func jsonTemplatesEscapeValuesForJSONStrings() throws {
        let value = "say \"hi\" \\ now\nthen <b>&</b> \u{1}"
        for name in ["webhook.json", "webhook.json.mustache"] {
            let template = try WebhookTemplate.parse(#"{"text": "{{title}}"}"#, path: "/etc/defender-relay/" + name)
            let rendered = template.render(["title": value])
            let document = try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String: String]
            #expect(document?["text"] == value, "\(name): \(rendered)")
        }
        // Other templates keep Mustache's HTML escaping.
        #expect(try WebhookTemplate.parse("{{title}}", path: "mail.html").render(["title": "<b>"]) == "&lt;b&gt;")
    }
}
