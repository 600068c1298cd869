import Alerts
import Foundation
import RelayConfig
import Testing

/// `config check`'s judgement, without a process: every problem of a file at once, secrets
/// from files, matcher values that can never match, and the reference that cannot drift.
struct ConfigurationCheckTests {
    static func check(_ yaml: String, environment: [String: String] = [:]) -> ConfigurationCheck {
        RelayConfiguration.check(yaml: yaml, sources: ConfigurationSources(environment: environment))
    }

    static let faulty = """
        server:
          prot: 80
          port: 99999
        log: {format: xml, level: chatty}
        receivers:
          - {name: chat, type: slack, url: "https://evil.example/services/T0/B0/SECRETTOKEN"}
          - {name: spare, type: webhook, url: "https://hooks.example.com/spare"}
          - {name: env, type: webhook, url: "${MISSING_VAR}"}
          - {name: kind, type: pager}
        routes:
          - match: {task_status: COMPLETE, task_type: DAILY, event_type: alarm, account_id: "1234", check_name: NO_SUCH_CHECK, kind: audits}
            receivers: [chat, ghost]
          - {receivers: [env, kind]}
        alerts: {default_receivers: [nobody]}
        """

    @Test func listsEveryProblemNotJustTheFirst() {
        let report = Self.check(Self.faulty)
        #expect(report.configuration == nil)
        #expect(Set(report.errors.map(\.description)) == [
            "unknown configuration key 'server.prot' (check its spelling and indentation; docs/CONFIGURATION.md lists every key)",
            "invalid value for 'server.port': 99999 is outside 0...65535",
            "invalid value for 'log.format': must be text or json",
            "invalid value for 'log.level': must be trace, debug, info, notice, warning, error or critical",
            "invalid value for 'receivers[0].url': host 'evil.example' is not an allowed host (the URL itself is not shown: it may hold a secret)",
            "'receivers[2].url' refers to environment variable MISSING_VAR, which is not set (use ${MISSING_VAR:-default} for a default)",
            "invalid value for 'receivers[3].type': must be one of slack, teams, discord, googlechat, webhook, email, pagerduty",
            "invalid value for 'routes[0].match.task_status': 'COMPLETE' can never match: it must be one of FAILED, CANCELED, COMPLETED",
            "invalid value for 'routes[0].match.task_type': 'DAILY' can never match: it must be one of SCHEDULED_AUDIT_TASK, ON_DEMAND_AUDIT_TASK",
            "invalid value for 'routes[0].match.event_type': 'alarm' can never match: it must be one of in-alarm, alarm-cleared, alarm-invalidated",
            "invalid value for 'routes[0].match.account_id': '1234' is not a 12-digit AWS account id (quote it in YAML so leading zeros stay)",
            "invalid value for 'routes[0].match.kind': 'audits' is not audit, detect, subscription, unrecognized or overdue",
            "invalid value for 'routes[0].receivers': no receiver is named 'ghost'",
            "invalid value for 'routes[1].receivers': no receiver is named 'kind'",
            "invalid value for 'alerts.default_receivers': no receiver is named 'nobody'",
        ])
        #expect(Set(report.warnings.map(\.description)) == [
            "'routes[0].match.check_name': 'NO_SUCH_CHECK' is not a Device Defender check this relay knows: the route matches only if AWS sends a check by that name",
            "'receivers': no route and no alerts.default_receivers names 'spare': it will get no alerts",
            "'sns.allowed_topics': empty: every SNS message will be refused with 403 until a topic is allowed",
        ])
        // The webhook URL's token is never repeated.
        #expect(!report.errors.map(\.description).joined().contains("SECRETTOKEN"))
        // `serve` refuses the same file, listing the same problems.
        #expect(throws: ConfigurationError.problems(report.errors)) {
            try RelayConfiguration.parse(yaml: Self.faulty, environment: [:])
        }
    }

    @Test func aGoodFileHasNoProblem() throws {
        let report = Self.check("""
            sns: {allowed_topics: ["arn:aws:sns:eu-west-1:123456789012:audits"]}
            receivers: [{name: hook, type: webhook, url: "https://hooks.example.com/x"}]
            routes: [{match: {task_status: [COMPLETED, FAILED], account_id: "012345678901", check_name: DEVICE_CERTIFICATE_SHARED_CHECK}, receivers: [hook]}]
            """)
        #expect(report.errors.isEmpty)
        #expect(report.warnings.isEmpty)
        #expect(report.configuration?.routes.first?.match.checkName == ["DEVICE_CERTIFICATE_SHARED_CHECK"])
    }

    @Test func readsSecretsFromFiles() throws {
        let directory = try makeTemporaryDirectory("secrets")
        let secret = directory.appendingPathComponent("slack_url")
        try "https://hooks.slack.com/services/T0/B0/FILESECRET\n".write(to: secret, atomically: true, encoding: .utf8)
        let yaml = "receivers: [{name: chat, type: slack, url: \"${file:\(secret.path)}\"}]\nroutes: [{receivers: [chat]}]"
        let configuration = try RelayConfiguration.parse(yaml: yaml, environment: [:])
        // The trailing line break (every editor and `echo` add one) is not part of the secret.
        #expect(configuration.receivers.first?.url == "https://hooks.slack.com/services/T0/B0/FILESECRET")

        // Anywhere ${VAR} works, in the middle of a value too.
        let token = directory.appendingPathComponent("token")
        try "0123456789abcdef0123".write(to: token, atomically: true, encoding: .utf8)
        let storage = try RelayConfiguration.parse(yaml: "api: {token: \"${file:\(token.path)}\"}\nstorage: {url: \"postgres://relay:${file:\(token.path)}@db:5432/relay\"}", environment: [:])
        #expect(storage.api.token == "0123456789abcdef0123")
        #expect(storage.storage.url == "postgres://relay:0123456789abcdef0123@db:5432/relay")

        // Through an environment variable whose value refers to the file (compose's storage
        // URL), one level deep, and only under the secret mounts: whoever sets one variable
        // must not pull any file into any value.
        let mounted = ConfigurationSources(environment: [
            "RELAY_STORAGE_URL": "postgres://relay:${file:/run/secrets/postgres_password}@db:5432/relay?sslmode=disable",
            "HOOK": "https://hooks.example.com/${file:/etc/passwd}",
            "SNEAKY": "https://hooks.example.com/${file:/run/secrets/../../etc/passwd}",
        ]) { path throws(SecretFileProblem) in
            guard path == "/run/secrets/postgres_password" else { throw SecretFileProblem("unexpected read of \(path)") }
            return "from-the-mount"
        }
        let viaVariable = try RelayConfiguration.parse(yaml: "storage: {url: \"${RELAY_STORAGE_URL}\"}", sources: mounted)
        #expect(viaVariable.storage.url == "postgres://relay:from-the-mount@db:5432/relay?sslmode=disable")
        for variable in ["HOOK", "SNEAKY"] {
            let report = RelayConfiguration.check(yaml: "receivers: [{name: h, type: webhook, url: \"${\(variable)}\"}]\nroutes: [{receivers: [h]}]", sources: mounted)
            #expect(report.errors.count == 1, "\(report.errors)")
            #expect(report.errors.first?.description.contains("only files under /run/secrets/ or /var/run/secrets/ are read") == true, "\(report.errors)")
        }

        // Only regular files: a FIFO would hold start-up forever.
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: ConfigurationError.unreadableSecretFile(key: "api.token", path: fifo, reason: "it is not a regular file")) {
            try RelayConfiguration.parse(yaml: "api: {token: \"${file:\(fifo)}\"}", environment: [:])
        }

        // A value from the environment that lands in the wrong key is not repeated.
        do {
            _ = try RelayConfiguration.parse(yaml: "server: {port: \"${LEAKED}\"}", environment: ["LEAKED": "hunter2-database-password"])
            Issue.record("a password was accepted as a port")
        } catch {
            #expect(!error.description.contains("hunter2"), "\(error)")
        }
        #expect(throws: ConfigurationError.invalidValue(key: "storage.url", reason: "storage.url 'Postgres://…' is not supported: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE (schemes are lower case)")) {
            try RelayConfiguration.parse(yaml: "storage: {url: \"Postgres://relay:hunter2@db/relay\"}", environment: [:])
        }

        let missing = directory.appendingPathComponent("absent").path
        #expect(throws: ConfigurationError.unreadableSecretFile(key: "receivers[0].url", path: missing, reason: "it does not exist or cannot be read by this user")) {
            try RelayConfiguration.parse(yaml: "receivers: [{name: chat, type: slack, url: \"${file:\(missing)}\"}]", environment: [:])
        }
        #expect(throws: ConfigurationError.unreadableSecretFile(key: "api.token", path: "run/secrets/token", reason: "the path must be absolute")) {
            try RelayConfiguration.parse(yaml: "api: {token: \"${file:run/secrets/token}\"}", environment: [:])
        }
        // Bounded: a secret is a line, not a disk image.
        let huge = directory.appendingPathComponent("huge")
        try Data(repeating: UInt8(ascii: "a"), count: ConfigurationSources.maxSecretFileBytes + 1).write(to: huge)
        #expect(throws: ConfigurationError.unreadableSecretFile(key: "api.token", path: huge.path, reason: "it is larger than 65536 bytes")) {
            try RelayConfiguration.parse(yaml: "api: {token: \"${file:\(huge.path)}\"}", environment: [:])
        }
        // An error about a value read from a file never shows what the file holds.
        let elsewhere = directory.appendingPathComponent("elsewhere")
        try "https://evil.example/hooks/FILESECRET\n".write(to: elsewhere, atomically: true, encoding: .utf8)
        do {
            _ = try RelayConfiguration.parse(yaml: "receivers: [{name: chat, type: slack, url: \"${file:\(elsewhere.path)}\"}]", environment: [:])
            Issue.record("a URL outside the allowed hosts was accepted")
        } catch {
            #expect(!error.description.contains("FILESECRET"), "\(error)")
        }
    }

    /// `docs/CONFIGURATION.md` is what `defender-relay config reference` prints.
    @Test func theReferenceDocumentIsCurrent() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/CONFIGURATION.md").standardized
        let document = try String(contentsOf: path, encoding: .utf8)
        #expect(document == ConfigurationReference.markdown, "regenerate it: defender-relay config reference > docs/CONFIGURATION.md")
    }

    /// Every default the reference states, written into a file, leaves the configuration as an
    /// empty file does: the documentation of defaults cannot drift from the code either.
    @Test func everyDocumentedDefaultIsTheDefault() throws {
        var checked = 0
        for section in ConfigurationReference.sections where !section.path.contains("[") && section.path != RootKey.path {
            for (name, documentation) in section.keys {
                let value = documentation.defaultValue
                // Descriptive defaults ("unset", "SNS's regional hosts") are not values.
                let isLiteral = !value.contains(" ") || value.hasPrefix("[") || value.hasPrefix("{")
                guard value != "—", !value.hasPrefix("unset"), isLiteral, !value.contains("`") else { continue }
                let parts = section.path.split(separator: ".")
                var yaml = "\(name): \(value)"
                for part in parts.reversed() { yaml = "\(part): {\(yaml)}" }
                let parsed = try RelayConfiguration.parse(yaml: yaml, environment: [:])
                #expect(parsed == RelayConfiguration(), "\(section.path).\(name) is documented as \(value)")
                checked += 1
            }
        }
        #expect(checked >= 25, "only \(checked) defaults were checked")
    }

    @Test func onlyReceiversRoutesAndAlertsAreReloadable() throws {
        let running = try RelayConfiguration.parse(yaml: "server: {port: 8080}", environment: [:])
        let next = try RelayConfiguration.parse(yaml: """
            server: {port: 9090}
            log: {format: json}
            receivers: [{name: hook, type: webhook, url: "https://hooks.example.com/x"}]
            routes: [{receivers: [hook]}]
            alerts: {max_age_seconds: 600}
            """, environment: [:])
        #expect(running.sectionsNeedingRestart(comparedWith: next) == ["server", "log"])
    }
}
