import Alerts
import DeviceDefender
import Foundation
import SNS

extension RelayConfiguration {
    static func readReceivers(_ node: ConfigNode) throws(ConfigurationError) -> [Receiver] {
        var receivers: [Receiver] = []
        for item in try node.items() {
            var name: String?
            var kind: Receiver.Kind?
            var receiver = Receiver(name: "", kind: .webhook)
            let keys = ["name", "type", "url", "headers", "hmac_secret", "template", "allowed_hosts", "rate_per_second", "concurrency",
                        "smtp_url", "require_tls", "username", "password", "from", "to", "subject_template", "text_template", "html_template"]
            try item.mapping(known: keys) { key, value throws(ConfigurationError) in
                switch key {
                case "name": name = try value.string()
                case "type":
                    guard let parsed = Receiver.Kind(rawValue: try value.string()) else {
                        throw .invalidValue(key: value.key, reason: "must be one of \(Receiver.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    kind = parsed
                case "url": receiver.url = try value.string()
                case "headers": receiver.headers = try value.stringMap()
                case "hmac_secret": receiver.hmacSecret = try value.string()
                case "template": receiver.template = try value.string()
                case "allowed_hosts": receiver.allowedHosts = try value.strings()
                case "rate_per_second":
                    let rate = try value.number(in: 0...10_000)
                    guard rate == 0 || rate >= 0.01 else { throw .invalidValue(key: value.key, reason: "must be 0 (no limit) or at least 0.01") }
                    receiver.ratePerSecond = rate
                case "concurrency": receiver.concurrency = Int(try value.number(in: 1...64))
                case "smtp_url": receiver.smtpURL = try value.string()
                case "require_tls": receiver.requireTLS = try value.bool()
                case "username": receiver.username = try value.string()
                case "password": receiver.password = try value.string()
                case "from": receiver.from = try value.string()
                case "subject_template": receiver.subjectTemplate = try value.string()
                case "text_template": receiver.textTemplate = try value.string()
                case "html_template": receiver.htmlTemplate = try value.string()
                default: receiver.to = try value.stringOrList()
                }
            }
            guard let name, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw .invalidValue(key: item.key + ".name", reason: "a name of letters, digits, - _ . is required")
            }
            guard let kind else { throw .invalidValue(key: item.key + ".type", reason: "required") }
            receiver.name = name
            receiver.kind = kind
            guard !receivers.contains(where: { $0.name == name }) else {
                throw .invalidValue(key: item.key + ".name", reason: "'\(name)' is used twice")
            }
            try validate(receiver, key: item.key)
            receivers.append(receiver)
        }
        return receivers
    }

    private static func validate(_ receiver: Receiver, key: String) throws(ConfigurationError) {
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
        guard let url = receiver.url else { throw .invalidValue(key: key + ".url", reason: "required for \(receiver.kind.rawValue)") }
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

    static func readRoutes(_ node: ConfigNode) throws(ConfigurationError) -> [AlertRoute] {
        var routes: [AlertRoute] = []
        for item in try node.items() {
            var route = AlertRoute(match: .init(), receivers: [])
            try item.mapping(known: ["match", "receivers", "continue", "repeat_interval", "mute"]) { key, value throws(ConfigurationError) in
                switch key {
                case "match": route.match = try readMatch(value)
                case "receivers": route.receivers = try value.strings()
                case "continue": route.continue = try value.bool()
                case "repeat_interval": route.repeatIntervalSeconds = try value.duration()
                default: route.mute = try value.items().map { item throws(ConfigurationError) in try readMute(item) }
                }
            }
            routes.append(route)
        }
        return routes
    }

    private static func readMatch(_ node: ConfigNode) throws(ConfigurationError) -> AlertRoute.Match {
        var match = AlertRoute.Match()
        let keys = ["kind", "task_status", "task_type", "scheduled_audit_name", "account_id", "check_name", "min_severity",
                    "changed_only", "noncompliant", "event_type", "security_profile"]
        try node.mapping(known: keys) { key, value throws(ConfigurationError) in
            switch key {
            case "kind":
                match.kinds = try value.stringOrList().map { text throws(ConfigurationError) in
                    guard let kind = Alert.Kind(rawValue: text) else { throw .invalidValue(key: value.key, reason: "'\(text)' is not audit, detect, subscription or unrecognized") }
                    return kind
                }
            case "task_status": match.taskStatus = try value.stringOrList()
            case "task_type": match.taskType = try value.stringOrList()
            case "scheduled_audit_name": match.scheduledAuditName = try value.string()
            case "account_id": match.accountID = try value.stringOrList()
            case "check_name": match.checkName = try value.stringOrList().map { CheckCatalog.known.canonicalName($0) }
            case "min_severity":
                guard let severity = Severity(rawValue: try value.string().uppercased()), severity != .unknown else {
                    throw .invalidValue(key: value.key, reason: "must be CRITICAL, HIGH, MEDIUM or LOW")
                }
                match.minimumSeverity = severity
            case "changed_only": match.changedOnly = try value.bool()
            case "noncompliant": match.nonCompliant = try value.bool()
            case "event_type": match.eventType = try value.stringOrList()
            default: match.securityProfileName = try value.string()
            }
        }
        return match
    }

    private static func readMute(_ node: ConfigNode) throws(ConfigurationError) -> MuteWindow {
        var window = MuteWindow()
        let days = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]
        try node.mapping(known: ["days", "from", "to"]) { key, value throws(ConfigurationError) in
            switch key {
            case "days":
                window.weekdays = Set(try value.stringOrList().map { text throws(ConfigurationError) in
                    guard let day = days[String(text.lowercased().prefix(3))] else { throw .invalidValue(key: value.key, reason: "'\(text)' is not a weekday") }
                    return day
                })
            case "from": window.fromMinute = try value.timeOfDay()
            default: window.toMinute = try value.timeOfDay()
            }
        }
        return window
    }

    static func readAlertSettings(_ node: ConfigNode) throws(ConfigurationError) -> AlertSettings {
        var settings = AlertSettings()
        let keys = ["console_url", "default_receivers", "max_attempts", "max_age_seconds", "alert_on_subscription_changes", "retry_base_seconds", "retry_max_delay_seconds", "delivery_lease_seconds"]
        try node.mapping(known: keys) { key, value throws(ConfigurationError) in
            switch key {
            case "delivery_lease_seconds": settings.deliveryLeaseSeconds = Int64(try value.integer(in: 5...3600))
            case "retry_base_seconds": settings.retryBaseSeconds = try value.number(in: 0.05...3600)
            case "retry_max_delay_seconds": settings.retryMaxDelaySeconds = try value.number(in: 1...86_400)
            case "console_url": settings.consoleURL = try value.string()
            case "default_receivers": settings.defaultReceivers = try value.strings()
            case "max_attempts": settings.maxAttempts = value.isNull ? nil : try value.integer(in: 1...10_000)
            case "max_age_seconds": settings.maxAgeSeconds = Int64(try value.integer(in: 60...2_592_000))
            default: settings.alertOnSubscriptionChanges = try value.bool()
            }
        }
        return settings
    }

    /// Every receiver a route names must exist.
    func validateRouting() throws(ConfigurationError) {
        let names = Set(receivers.map(\.name))
        for (index, route) in routes.enumerated() {
            for receiver in route.receivers where !names.contains(receiver) {
                throw .invalidValue(key: "routes[\(index)].receivers", reason: "no receiver is named '\(receiver)'")
            }
        }
        for receiver in alerts.defaultReceivers where !names.contains(receiver) {
            throw .invalidValue(key: "alerts.default_receivers", reason: "no receiver is named '\(receiver)'")
        }
    }
}
