import Foundation
import SNS
import Storage
import Yams

extension RelayConfiguration {
    /// Parses the YAML text of a configuration file. `${VAR}` (or `${VAR:-default}`) in any
    /// string value is replaced from `environment`, so secrets stay out of the file. Unknown
    /// keys and bad values throw, naming the key.
    public static func parse(yaml: String, environment: [String: String]) throws(ConfigurationError) -> RelayConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw .malformedYAML(String(describing: error))
        }
        var configuration = RelayConfiguration()
        guard let root, !ConfigNode.isNull(root) else { return configuration }
        let reader = ConfigNode(node: root, key: "", environment: environment)
        try reader.mapping(known: ["server", "sns", "api", "metrics", "storage", "outbound", "receivers", "routes", "alerts"]) { key, section throws(ConfigurationError) in
            switch key {
            case "server": try configuration.server.read(section)
            case "sns": try configuration.sns.read(section)
            case "api": configuration.api.token = try readToken(section)
            case "metrics": configuration.metrics.token = try readToken(section)
            case "storage": try configuration.storage.read(section)
            case "receivers": configuration.receivers = try readReceivers(section)
            case "routes": configuration.routes = try readRoutes(section)
            case "alerts": configuration.alerts = try readAlertSettings(section)
            default: try configuration.outbound.read(section)
            }
        }
        try configuration.validate()
        try configuration.validateRouting()
        return configuration
    }

    /// Reads and parses a configuration file.
    public static func load(path: String, environment: [String: String]) throws(ConfigurationError) -> RelayConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        return try parse(yaml: text, environment: environment)
    }

    /// Checks what single keys cannot: values that must parse as patterns, URLs or files.
    func validate() throws(ConfigurationError) {
        for (key, patterns) in [("sns.cert_url_hosts", sns.certURLHosts), ("sns.cert_url_paths", sns.certURLPaths), ("sns.cert_names", sns.certNames)] {
            guard !patterns.isEmpty else { throw .invalidValue(key: key, reason: "at least one pattern is required") }
            for pattern in patterns where (try? WholeMatchPattern(pattern)) == nil {
                throw .invalidValue(key: key, reason: "'\(pattern)' is not a valid regular expression")
            }
        }
        for pattern in sns.allowedTopics {
            if let problem = AllowedTopics.problem(with: pattern) {
                throw .invalidValue(key: "sns.allowed_topics", reason: problem)
            }
        }
        if server.listensBeyondLoopback, api.token == nil {
            throw .invalidValue(
                key: "api.token",
                reason: "required when server.host (\(server.host)) listens beyond loopback: without it anyone who reaches the port can read every stored audit. Set api.token (e.g. ${RELAY_API_TOKEN}; generate one with `openssl rand -hex 24`)"
            )
        }
        if let proxy = outbound.proxy, proxy != "none" {
            let scheme = proxy.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            guard ["http", "https", "socks5", "socks5h"].contains(scheme.lowercased()), proxy.contains("://"),
                  !proxy.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F })
            else {
                throw .invalidValue(key: "outbound.proxy", reason: "must be none or a proxy URL such as http://proxy.internal:3128")
            }
        }
        do {
            _ = try StorageLocation(url: storage.url)
        } catch {
            throw .invalidValue(key: "storage.url", reason: "\(error)")
        }
        if let caFile = outbound.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw .invalidValue(key: "outbound.ca_file", reason: "\(caFile) is not a readable file")
        }
    }
}

extension RelayConfiguration.Server {
    mutating func read(_ node: ConfigNode) throws(ConfigurationError) {
        let keys = ["host", "port", "sns_path", "max_body_bytes", "basic_auth", "request_timeout_seconds", "max_connections", "shutdown_grace_seconds"]
        try node.mapping(known: keys) { key, value throws(ConfigurationError) in
            switch key {
            case "request_timeout_seconds": requestTimeoutSeconds = try value.integer(in: 1...600)
            case "max_connections": maxConnections = try value.integer(in: 1...100_000)
            case "host": host = try value.string()
            case "port": port = try value.integer(in: 0...65535)
            case "sns_path":
                let path = try value.string()
                guard path.hasPrefix("/"), !path.contains("?"), !path.contains(" ") else {
                    throw .invalidValue(key: value.key, reason: "must be a path starting with /")
                }
                snsPath = path
            case "max_body_bytes": maxBodyBytes = try value.integer(in: 1024...16_777_216)
            case "shutdown_grace_seconds": shutdownGraceSeconds = try value.integer(in: 1...300)
            case "basic_auth":
                if value.isNull { basicAuth = nil; return }
                var username: String?
                var password: String?
                try value.mapping(known: ["username", "password"]) { key, value throws(ConfigurationError) in
                    if key == "username" { username = try value.string() } else { password = try value.string() }
                }
                guard let username, !username.isEmpty, !username.contains(":") else {
                    throw .invalidValue(key: "server.basic_auth.username", reason: "a non-empty username without ':' is required")
                }
                guard let password, !password.isEmpty else {
                    throw .invalidValue(key: "server.basic_auth.password", reason: "a non-empty password is required")
                }
                basicAuth = .init(username: username, password: password)
            default: throw .unknownKey(value.key)
            }
        }
    }
}

extension RelayConfiguration.SNS {
    mutating func read(_ node: ConfigNode) throws(ConfigurationError) {
        let keys = ["allowed_topics", "confirm_subscriptions", "signature_versions", "max_message_age_seconds", "cert_url_hosts", "cert_url_paths", "cert_names"]
        try node.mapping(known: keys) { key, value throws(ConfigurationError) in
            switch key {
            case "allowed_topics": allowedTopics = try value.strings()
            case "confirm_subscriptions":
                guard let mode = RelayConfiguration.ConfirmationMode(rawValue: try value.string()) else {
                    throw .invalidValue(key: value.key, reason: "must be auto or manual")
                }
                confirmSubscriptions = mode
            case "signature_versions":
                let versions = Set(try value.strings())
                guard !versions.isEmpty, versions.isSubset(of: SNSMessageVerifier.supportedVersions) else {
                    throw .invalidValue(key: value.key, reason: "must list \"1\" and/or \"2\"")
                }
                signatureVersions = versions
            case "max_message_age_seconds": maxMessageAgeSeconds = Int64(try value.integer(in: 60...604_800))
            case "cert_url_hosts": certURLHosts = try value.strings()
            case "cert_url_paths": certURLPaths = try value.strings()
            default: certNames = try value.strings()
            }
        }
    }
}

extension RelayConfiguration {
    /// `api:` and `metrics:` hold one `token`, a bearer secret of 16 characters or more.
    static func readToken(_ node: ConfigNode) throws(ConfigurationError) -> String? {
        var token: String?
        try node.mapping(known: ["token"]) { _, value throws(ConfigurationError) in
            if value.isNull { token = nil; return }
            let text = try value.string()
            guard text.count >= 16, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw .invalidValue(key: value.key, reason: "must be at least 16 printable ASCII characters without spaces")
            }
            token = text
        }
        return token
    }
}

extension RelayConfiguration.Storage {
    mutating func read(_ node: ConfigNode) throws(ConfigurationError) {
        try node.mapping(known: ["url", "retention_days", "summary_retention_days", "delivery_retention_days"]) { key, value throws(ConfigurationError) in
            switch key {
            case "url": url = try value.string()
            case "retention_days": retentionDays = try value.integer(in: 1...36_500)
            case "summary_retention_days": summaryRetentionDays = value.isNull ? nil : try value.integer(in: 1...36_500)
            case "delivery_retention_days": try readDeliveryRetention(value)
            default: throw .unknownKey(value.key)
            }
        }
    }

    /// `delivery_retention_days: 30`, or `{delivered: 30, dead: 90}`.
    private mutating func readDeliveryRetention(_ value: ConfigNode) throws(ConfigurationError) {
        if value.isMapping {
            try value.mapping(known: ["delivered", "dead"]) { key, days throws(ConfigurationError) in
                switch key {
                case "delivered": deliveredRetentionDays = try days.integer(in: 1...36_500)
                case "dead": deadRetentionDays = try days.integer(in: 1...36_500)
                default: throw .unknownKey(days.key)
                }
            }
        } else {
            deliveredRetentionDays = try value.integer(in: 1...36_500)
            deadRetentionDays = deliveredRetentionDays
        }
    }
}

extension RelayConfiguration.Outbound {
    mutating func read(_ node: ConfigNode) throws(ConfigurationError) {
        try node.mapping(known: ["timeout_seconds", "ca_file", "connect_to", "proxy"]) { key, value throws(ConfigurationError) in
            switch key {
            case "proxy": proxy = value.isNull ? nil : try value.string()
            case "timeout_seconds": timeoutSeconds = try value.integer(in: 1...300)
            case "ca_file": caFile = value.isNull ? nil : try value.string()
            default:
                connectTo = try value.strings()
                for entry in connectTo {
                    let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
                    guard parts.count == 4, !parts[0].isEmpty, Int(parts[1]) != nil, !parts[2].isEmpty, Int(parts[3]) != nil else {
                        throw .invalidValue(key: value.key, reason: "'\(entry)' is not HOST:PORT:CONNECT_HOST:CONNECT_PORT")
                    }
                }
            }
        }
    }
}
