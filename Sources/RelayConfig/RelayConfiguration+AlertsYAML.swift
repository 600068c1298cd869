import Alerts
import DeviceDefender
import Foundation
import SNS

extension RelayConfiguration {
    static func readReceivers(_ node: ConfigNode) -> [Receiver] {
        var receivers: [Receiver] = []
        for item in node.itemsRecordingProblems() {
            node.problems.collect { () throws(ConfigurationError) in
                var name: String?
                var kind: Receiver.Kind?
                var typeGiven = false
                var receiver = Receiver(name: "", kind: .webhook)
                let before = node.problems.errors.count
                item.mapping(ReceiverKey.self) { key, value throws(ConfigurationError) in
                    switch key {
                    case .name: name = try value.string()
                    case .type:
                        typeGiven = true
                        guard let parsed = Receiver.Kind(rawValue: try value.string()) else {
                            throw .invalidValue(key: value.key, reason: "must be one of \(Receiver.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        kind = parsed
                    case .url: receiver.url = try value.string()
                    case .headers: receiver.headers = try value.stringMap()
                    case .hmacSecret: receiver.hmacSecret = try value.string()
                    case .template: receiver.template = try value.string()
                    case .allowedHosts: receiver.allowedHosts = try value.strings()
                    case .ratePerSecond:
                        let rate = try value.number(in: 0...10_000)
                        guard rate == 0 || rate >= 0.01 else { throw .invalidValue(key: value.key, reason: "must be 0 (no limit) or at least 0.01") }
                        receiver.ratePerSecond = rate
                    case .concurrency: receiver.concurrency = try value.integer(in: 1...64)
                    case .smtpURL: receiver.smtpURL = try value.string()
                    case .requireTLS: receiver.requireTLS = try value.bool()
                    case .username: receiver.username = try value.string()
                    case .password: receiver.password = try value.string()
                    case .from: receiver.from = try value.string()
                    case .to: receiver.to = try value.stringOrList()
                    case .subjectTemplate: receiver.subjectTemplate = try value.string()
                    case .textTemplate: receiver.textTemplate = try value.string()
                    case .htmlTemplate: receiver.htmlTemplate = try value.string()
                    case .mention: receiver.mentions = try value.stringOrList()
                    case .routingKey: receiver.routingKey = try value.string()
                    }
                }
                guard let name, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                    throw .invalidValue(key: item.key + ".name", reason: "a name of letters, digits, - _ . is required")
                }
                guard let kind else {
                    // A type given but not understood was reported already.
                    if typeGiven { return }
                    throw .invalidValue(key: item.key + ".type", reason: "required")
                }
                receiver.name = name
                receiver.kind = kind
                guard !receivers.contains(where: { $0.name == name }) else {
                    throw .invalidValue(key: item.key + ".name", reason: "'\(name)' is used twice")
                }
                // A receiver with problems is still named, so that routes naming it are not
                // reported too; its values are judged only when its keys read cleanly.
                receivers.append(receiver)
                if node.problems.errors.count == before {
                    try validate(receiver, key: item.key)
                }
            }
        }
        return receivers
    }

    /// `accounts:`: each key a 12-digit account id, each name one line.
    static func readAccounts(_ node: ConfigNode) -> [String: String] {
        var accounts: [String: String] = [:]
        node.problems.collect { () throws(ConfigurationError) in
            for (account, name) in try node.stringMap() {
                guard account.count == 12, account.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                    throw .invalidValue(key: node.key, reason: "'\(node.shown(account))' is not a 12-digit AWS account id (quote it in YAML so leading zeros stay)")
                }
                guard !name.isEmpty, name.count <= 64, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                    throw .invalidValue(key: node.key + "." + account, reason: "a name of 1 to 64 characters on one line is required")
                }
                accounts[account] = name
            }
        }
        return accounts
    }

    /// Mentions are written as each service wants them; a malformed one would be sent as
    /// text and call nobody.
    private static func validateMentions(_ receiver: Receiver, key: String) throws(ConfigurationError) {
        let key = key + ".mention"
        func isID(_ text: Substring, _ allowed: (Character) -> Bool) -> Bool { !text.isEmpty && text.count <= 64 && text.allSatisfy(allowed) }
        for entry in receiver.mentions {
            let valid: Bool = switch receiver.kind {
            case .slack: ["here", "channel", "everyone"].contains(entry) || (["U", "W", "S"].contains(entry.prefix(1)) && isID(Substring(entry), { $0.isASCII && ($0.isUppercase || $0.isNumber) }))
            case .discord: (entry.hasPrefix("role:") || entry.hasPrefix("user:")) && isID(entry.dropFirst(5), { $0.isASCII && $0.isNumber })
            case .teams: !entry.isEmpty && entry.count <= 200 && !entry.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            case .googlechat, .webhook, .email, .pagerduty: false
            }
            guard valid else {
                let expected = switch receiver.kind {
                case .slack: "here, channel, everyone, a user id (U…, W…) or a user group id (S…)"
                case .discord: "role:ID or user:ID with a numeric id"
                case .teams: "Name <id> on one line"
                default: "nothing: \(receiver.kind.rawValue) receivers take no mentions"
                }
                throw .invalidValue(key: key, reason: "'\(String(entry.prefix(64)))' is not a mention; expected \(expected)")
            }
        }
    }

    private static func validate(_ receiver: Receiver, key: String) throws(ConfigurationError) {
        try validateMentions(receiver, key: key)
        if receiver.kind == .email {
            guard let smtp = receiver.smtpURL, smtp.hasPrefix("smtp://") || smtp.hasPrefix("smtps://") else {
                throw .invalidValue(key: key + ".smtp_url", reason: "an smtp:// or smtps:// URL is required")
            }
            guard let from = receiver.from, from.contains("@"), !from.contains("\r"), !from.contains("\n") else {
                throw .invalidValue(key: key + ".from", reason: "a mail address is required")
            }
            guard !receiver.to.isEmpty, receiver.to.allSatisfy({ $0.contains("@") && !$0.contains("\n") && !$0.contains("\r") }) else {
                throw .invalidValue(key: key + ".to", reason: "at least one mail address is required")
            }
            for (name, path) in [("text_template", receiver.textTemplate), ("html_template", receiver.htmlTemplate)] {
                if let path, !FileManager.default.isReadableFile(atPath: path) {
                    throw .invalidValue(key: key + "." + name, reason: "\(path) is not a readable file")
                }
            }
            return
        }
        for (name, value) in receiver.headers {
            let tokenBytes = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
            guard !name.isEmpty, name.utf8.allSatisfy(tokenBytes.contains) else {
                throw .invalidValue(key: key + ".headers", reason: "'\(name.prefix(64))' is not an HTTP header name")
            }
            // A CR or LF (even a bare CR) would let a value end the header and start another.
            guard !value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
                throw .invalidValue(key: key + ".headers." + name, reason: "the value contains a CR, LF or other control character")
            }
        }
        if receiver.kind == .pagerduty {
            // Integration keys are 32 characters of letters and digits; the value is a secret and
            // is never repeated in the error.
            guard let routingKey = receiver.routingKey, (20...64).contains(routingKey.count), routingKey.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw .invalidValue(key: key + ".routing_key", reason: "an Events API v2 integration key (20 to 64 letters and digits) is required")
            }
        }
        guard let url = receiver.effectiveURL else { throw .invalidValue(key: key + ".url", reason: "required for \(receiver.kind.rawValue)") }
        let patterns: [WholeMatchPattern]
        do {
            patterns = try receiver.effectiveAllowedHosts.map(WholeMatchPattern.init)
        } catch {
            throw .invalidValue(key: key + ".allowed_hosts", reason: "not a valid regular expression")
        }
        if let violation = ReceiverURLPolicy(allowedHosts: patterns).check(url) {
            throw .invalidValue(key: key + ".url", reason: "\(violation.sentence) (the URL itself is not shown: it may hold a secret)")
        }
        if let template = receiver.template, !FileManager.default.isReadableFile(atPath: template) {
            throw .invalidValue(key: key + ".template", reason: "\(template) is not a readable file")
        }
    }

    static func readRoutes(_ node: ConfigNode) -> [AlertRoute] {
        var routes: [AlertRoute] = []
        for item in node.itemsRecordingProblems() {
            var route = AlertRoute(match: .init(), receivers: [])
            item.mapping(RouteKey.self) { key, value throws(ConfigurationError) in
                switch key {
                case .match: route.match = readMatch(value)
                case .receivers: route.receivers = try value.strings()
                case .continue: route.continue = try value.bool()
                case .repeatInterval: route.repeatIntervalSeconds = try value.duration()
                case .mute: route.mute = value.itemsRecordingProblems().map(readMute)
                }
            }
            routes.append(route)
        }
        return routes
    }

    /// Each matcher value must be one the relay can see: a typo such as `COMPLETE` would make
    /// the route silently match nothing.
    private static func readMatch(_ node: ConfigNode) -> AlertRoute.Match {
        var match = AlertRoute.Match()
        node.mapping(MatchKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .kind:
                match.kinds = try value.stringOrList().map { text throws(ConfigurationError) in
                    guard let kind = Alert.Kind(rawValue: text) else { throw .invalidValue(key: value.key, reason: "'\(value.shown(text))' is not audit, detect, subscription, unrecognized or overdue") }
                    return kind
                }
            case .taskStatus: match.taskStatus = try value.values(of: AuditNotification.TaskStatus.self)
            case .taskType: match.taskType = try value.values(of: AuditNotification.TaskType.self)
            case .scheduledAuditName: match.scheduledAuditName = try value.string()
            case .accountID:
                let accounts = try value.stringOrList()
                for account in accounts where !(account.count == 12 && account.allSatisfy(\.isASCII) && account.allSatisfy(\.isNumber)) {
                    throw .invalidValue(key: value.key, reason: "'\(value.shown(account))' is not a 12-digit AWS account id (quote it in YAML so leading zeros stay)")
                }
                match.accountID = accounts
            case .checkName:
                let names = try value.stringOrList().map { CheckCatalog.known.canonicalName($0) }
                for name in names where CheckCatalog.known.definition(for: name) == nil {
                    node.problems.warnings.append(.init(key: value.key, message: "'\(name)' is not a Device Defender check this relay knows: the route matches only if AWS sends a check by that name"))
                }
                match.checkName = names
            case .minSeverity:
                guard let severity = Severity(rawValue: try value.string().uppercased()), severity != .unknown else {
                    throw .invalidValue(key: value.key, reason: "must be CRITICAL, HIGH, MEDIUM or LOW")
                }
                match.minimumSeverity = severity
            case .changedOnly: match.changedOnly = try value.bool()
            case .noncompliant: match.nonCompliant = try value.bool()
            case .eventType: match.eventType = try value.values(of: DetectViolation.EventType.self)
            case .securityProfile: match.securityProfileName = try value.string()
            }
        }
        return match
    }

    private static func readMute(_ node: ConfigNode) -> MuteWindow {
        var window = MuteWindow()
        let days = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]
        node.mapping(MuteKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .days:
                window.weekdays = Set(try value.stringOrList().map { text throws(ConfigurationError) in
                    guard let day = days[String(text.lowercased().prefix(3))] else { throw .invalidValue(key: value.key, reason: "'\(value.shown(text))' is not a weekday") }
                    return day
                })
            case .from: window.fromMinute = try value.timeOfDay()
            case .to: window.toMinute = try value.timeOfDay()
            case .location:
                let name = try value.string()
                // Foundation also accepts abbreviations such as "CEST"; only region names follow
                // daylight saving, so only they (and UTC) are taken.
                guard name == "UTC" || name.contains("/"), let zone = TimeZone(identifier: name) else {
                    throw .invalidValue(key: value.key, reason: "'\(value.shown(name))' is not an IANA time zone such as Europe/Berlin or UTC")
                }
                window.timeZone = zone
            }
        }
        return window
    }

    private static func readDetectGrouping(_ node: ConfigNode) -> DetectGrouping {
        var grouping = DetectGrouping()
        node.mapping(DetectKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .groupBy:
                let fields = try value.stringOrList().map { text throws(ConfigurationError) in
                    guard let field = DetectGrouping.Field(rawValue: text) else {
                        throw .invalidValue(key: value.key, reason: "'\(value.shown(text))' is not security_profile, behavior or thing")
                    }
                    return field
                }
                grouping.groupBy = fields
            case .groupWait: grouping.waitSeconds = try value.durationOrZero()
            case .groupInterval: grouping.intervalSeconds = try value.durationOrZero()
            }
        }
        return grouping
    }

    private static func readExpectation(_ node: ConfigNode) -> AuditExpectation? {
        var expectation = AuditExpectation(everySeconds: 0)
        let before = node.problems.errors.count
        node.mapping(ExpectKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .scheduledAudit: expectation.scheduledAudit = try value.string()
            case .account:
                let account = try value.string()
                guard account.count == 12, account.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw .invalidValue(key: value.key, reason: "'\(value.shown(account))' is not a 12-digit AWS account id (quote it in YAML so leading zeros stay)")
                }
                expectation.accountID = account
            case .region: expectation.region = try value.string()
            case .every: expectation.everySeconds = try value.duration()
            case .grace: expectation.graceSeconds = value.isNull ? 0 : try value.duration()
            }
        }
        guard node.problems.errors.count == before else { return nil }
        guard expectation.everySeconds > 0 else {
            node.problems.errors.append(.invalidValue(key: node.key + ".every", reason: "required: how often a run is expected, e.g. 24h"))
            return nil
        }
        return expectation
    }

    static func readAlertSettings(_ node: ConfigNode) -> AlertSettings {
        var settings = AlertSettings()
        node.mapping(AlertSettingsKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .deliveryLeaseSeconds: settings.deliveryLeaseSeconds = Int64(try value.integer(in: 5...3600))
            case .retryBaseSeconds: settings.retryBaseSeconds = try value.number(in: 0.05...3600)
            case .retryMaxDelaySeconds: settings.retryMaxDelaySeconds = try value.number(in: 1...86_400)
            case .consoleURL: settings.consoleURL = try value.string()
            case .defaultReceivers: settings.defaultReceivers = try value.strings()
            case .maxAttempts: settings.maxAttempts = value.isNull ? nil : try value.integer(in: 1...10_000)
            case .maxAgeSeconds: settings.maxAgeSeconds = Int64(try value.integer(in: 60...2_592_000))
            case .alertOnSubscriptionChanges: settings.alertOnSubscriptionChanges = try value.bool()
            case .expect: settings.expectations = value.itemsRecordingProblems().compactMap(readExpectation)
            case .detect: settings.detectGrouping = readDetectGrouping(value)
            }
        }
        return settings
    }

    /// Every receiver a route names must exist; a receiver nothing routes to is worth a warning.
    func validateRouting(_ problems: ConfigurationProblems) {
        let names = Set(receivers.map(\.name))
        for (index, route) in routes.enumerated() {
            for receiver in route.receivers where !names.contains(receiver) {
                problems.errors.append(.invalidValue(key: "routes[\(index)].receivers", reason: "no receiver is named '\(receiver)'"))
            }
        }
        for receiver in alerts.defaultReceivers where !names.contains(receiver) {
            problems.errors.append(.invalidValue(key: "alerts.default_receivers", reason: "no receiver is named '\(receiver)'"))
        }
        let used = Set(routes.flatMap(\.receivers) + alerts.defaultReceivers)
        for receiver in receivers where !used.contains(receiver.name) {
            problems.warnings.append(.init(key: "receivers", message: "no route and no alerts.default_receivers names '\(receiver.name)': it will get no alerts"))
        }
    }
}
