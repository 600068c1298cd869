import Foundation
import Logging
import SNS
import Storage
import Yams

/// What `config check` reports: every error and warning, and the configuration when there is
/// no error.
public struct ConfigurationCheck: Sendable {
    public var configuration: RelayConfiguration?
    public var errors: [ConfigurationError]
    public var warnings: [ConfigurationWarning]
}

extension RelayConfiguration {
    /// Parses the YAML text of a configuration file. `${VAR}` (or `${VAR:-default}`) in any
    /// string value is replaced from the environment and `${file:PATH}` from a file, so secrets
    /// stay out of it. Unknown keys and bad values throw, naming the key; several problems
    /// throw `.problems` listing them all.
    public static func parse(yaml: String, environment: [String: String]) throws(ConfigurationError) -> RelayConfiguration {
        try parse(yaml: yaml, sources: ConfigurationSources(environment: environment))
    }

    public static func parse(yaml: String, sources: ConfigurationSources) throws(ConfigurationError) -> RelayConfiguration {
        let report = check(yaml: yaml, sources: sources)
        if let error = ConfigurationError.combining(report.errors) { throw error }
        return report.configuration ?? RelayConfiguration()
    }

    /// Reads the whole file, recording every problem instead of stopping at the first.
    public static func check(yaml: String, sources: ConfigurationSources) -> ConfigurationCheck {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            return ConfigurationCheck(configuration: nil, errors: [.malformedYAML(String(describing: error))], warnings: [])
        }
        var configuration = RelayConfiguration()
        let problems = ConfigurationProblems()
        if let root, !ConfigNode.isNull(root) {
            let reader = ConfigNode(node: root, key: "", sources: sources, problems: problems)
            reader.mapping(RootKey.self) { key, section throws(ConfigurationError) in
                switch key {
                case .server: configuration.server.read(section)
                case .sns: configuration.sns.read(section)
                case .api: configuration.api.token = readToken(section, APIKey.self)
                case .metrics: configuration.metrics.token = readToken(section, MetricsKey.self)
                case .storage: configuration.storage.read(section)
                case .outbound: configuration.outbound.read(section)
                case .log: configuration.log.read(section)
                case .accounts: configuration.accounts = readAccounts(section)
                case .receivers: configuration.receivers = readReceivers(section)
                case .routes: configuration.routes = readRoutes(section)
                case .alerts: configuration.alerts = readAlertSettings(section)
                }
            }
        }
        configuration.validate(problems)
        configuration.validateRouting(problems)
        return ConfigurationCheck(configuration: problems.errors.isEmpty ? configuration : nil, errors: problems.errors, warnings: problems.warnings)
    }

    /// Reads and parses a configuration file.
    public static func load(path: String, environment: [String: String]) throws(ConfigurationError) -> RelayConfiguration {
        try parse(yaml: try readFile(path), sources: ConfigurationSources(environment: environment))
    }

    /// Reads a configuration file and checks it whole (`config check`, `serve`, a reload):
    /// throws only when the file cannot be read.
    public static func check(path: String, environment: [String: String]) throws(ConfigurationError) -> ConfigurationCheck {
        check(yaml: try readFile(path), sources: ConfigurationSources(environment: environment))
    }

    /// The text of a configuration file.
    public static func readFile(_ path: String) throws(ConfigurationError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
    }

    /// Checks what single keys cannot: values that must parse as patterns, URLs or files.
    func validate(_ problems: ConfigurationProblems) {
        for (key, patterns) in [("sns.cert_url_hosts", sns.certURLHosts), ("sns.cert_url_paths", sns.certURLPaths), ("sns.cert_names", sns.certNames)] {
            if patterns.isEmpty { problems.errors.append(.invalidValue(key: key, reason: "at least one pattern is required")) }
            for pattern in patterns where (try? WholeMatchPattern(pattern)) == nil {
                problems.errors.append(.invalidValue(key: key, reason: "'\(pattern)' is not a valid regular expression"))
            }
        }
        for pattern in sns.allowedTopics {
            if let problem = AllowedTopics.problem(with: pattern) {
                problems.errors.append(.invalidValue(key: "sns.allowed_topics", reason: problem))
            }
        }
        if sns.allowedTopics.isEmpty {
            problems.warnings.append(.init(key: "sns.allowed_topics", message: "empty: every SNS message will be refused with 403 until a topic is allowed"))
        }
        if server.listensBeyondLoopback, api.token == nil {
            problems.errors.append(.invalidValue(
                key: "api.token",
                reason: "required when server.host (\(server.host)) listens beyond loopback: without it anyone who reaches the port can read every stored audit. Set api.token (e.g. ${RELAY_API_TOKEN}; generate one with `openssl rand -hex 24`)"
            ))
        }
        if server.listensBeyondLoopback, metrics.token == nil {
            problems.warnings.append(.init(key: "metrics.token", message: "unset while server.host listens beyond loopback: /metrics names accounts and counts non-compliant resources per check for anyone who reaches the port"))
        }
        if let proxy = outbound.proxy, proxy != "none" {
            let scheme = proxy.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if !["http", "https", "socks5", "socks5h"].contains(scheme.lowercased()) || !proxy.contains("://")
                || proxy.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
                problems.errors.append(.invalidValue(key: "outbound.proxy", reason: "must be none or a proxy URL such as http://proxy.internal:3128 (the value is not shown: it may hold a password)"))
            }
        }
        do {
            _ = try StorageLocation(url: storage.url)
        } catch {
            problems.errors.append(.invalidValue(key: "storage.url", reason: "\(error)"))
        }
        if let caFile = outbound.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            problems.errors.append(.invalidValue(key: "outbound.ca_file", reason: "\(caFile) is not a readable file"))
        }
    }
}

extension RelayConfiguration.Server {
    mutating func read(_ node: ConfigNode) {
        node.mapping(ServerKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .requestTimeoutSeconds: requestTimeoutSeconds = try value.integer(in: 1...600)
            case .maxConnections: maxConnections = try value.integer(in: 1...100_000)
            case .host: host = try value.string()
            case .port: port = try value.integer(in: 0...65535)
            case .snsPath:
                let path = try value.string()
                guard path.hasPrefix("/"), !path.contains("?"), !path.contains(" ") else {
                    throw .invalidValue(key: value.key, reason: "must be a path starting with /")
                }
                snsPath = path
            case .maxBodyBytes: maxBodyBytes = try value.integer(in: 1024...16_777_216)
            case .shutdownGraceSeconds: shutdownGraceSeconds = try value.integer(in: 1...300)
            case .basicAuth:
                if value.isNull { basicAuth = nil; return }
                guard value.isMapping else { throw .invalidValue(key: value.key, reason: "must be a mapping of username and password") }
                var username: String?
                var password: String?
                value.mapping(BasicAuthKey.self) { key, value throws(ConfigurationError) in
                    switch key {
                    case .username: username = try value.string()
                    case .password: password = try value.string()
                    }
                }
                guard let username, !username.isEmpty, !username.contains(":") else {
                    throw .invalidValue(key: "server.basic_auth.username", reason: "a non-empty username without ':' is required")
                }
                guard let password, !password.isEmpty else {
                    throw .invalidValue(key: "server.basic_auth.password", reason: "a non-empty password is required")
                }
                basicAuth = .init(username: username, password: password)
            }
        }
    }
}

extension RelayConfiguration.SNS {
    mutating func read(_ node: ConfigNode) {
        node.mapping(SNSKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .allowedTopics: allowedTopics = try value.strings()
            case .confirmSubscriptions:
                guard let mode = RelayConfiguration.ConfirmationMode(rawValue: try value.string()) else {
                    throw .invalidValue(key: value.key, reason: "must be auto or manual")
                }
                confirmSubscriptions = mode
            case .signatureVersions:
                let versions = Set(try value.strings())
                guard !versions.isEmpty, versions.isSubset(of: SNSMessageVerifier.supportedVersions) else {
                    throw .invalidValue(key: value.key, reason: "must list \"1\" and/or \"2\"")
                }
                signatureVersions = versions
            case .maxMessageAgeSeconds: maxMessageAgeSeconds = Int64(try value.integer(in: 60...604_800))
            case .certURLHosts: certURLHosts = try value.strings()
            case .certURLPaths: certURLPaths = try value.strings()
            case .certNames: certNames = try value.strings()
            }
        }
    }
}

extension RelayConfiguration {
    /// `api:` and `metrics:` hold one `token`, a bearer secret of 16 characters or more.
    static func readToken<Keys: ConfigKey>(_ node: ConfigNode, _ keys: Keys.Type) -> String? {
        var token: String?
        node.mapping(keys) { _, value throws(ConfigurationError) in
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
    mutating func read(_ node: ConfigNode) {
        node.mapping(StorageKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .url: url = try value.string()
            case .retentionDays: retentionDays = try value.integer(in: 1...36_500)
            case .summaryRetentionDays: summaryRetentionDays = value.isNull ? nil : try value.integer(in: 1...36_500)
            case .deliveryRetentionDays: try readDeliveryRetention(value)
            }
        }
    }

    /// `delivery_retention_days: 30`, or `{delivered: 30, dead: 90}`.
    private mutating func readDeliveryRetention(_ value: ConfigNode) throws(ConfigurationError) {
        if value.isMapping {
            value.mapping(DeliveryRetentionKey.self) { key, days throws(ConfigurationError) in
                switch key {
                case .delivered: deliveredRetentionDays = try days.integer(in: 1...36_500)
                case .dead: deadRetentionDays = try days.integer(in: 1...36_500)
                }
            }
        } else {
            deliveredRetentionDays = try value.integer(in: 1...36_500)
            deadRetentionDays = deliveredRetentionDays
        }
    }
}

extension RelayConfiguration.Outbound {
    mutating func read(_ node: ConfigNode) {
        node.mapping(OutboundKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .proxy: proxy = value.isNull ? nil : try value.string()
            case .timeoutSeconds: timeoutSeconds = try value.integer(in: 1...300)
            case .caFile: caFile = value.isNull ? nil : try value.string()
            case .connectTo:
                connectTo = try value.strings()
                for entry in connectTo {
                    let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
                    guard parts.count == 4, !parts[0].isEmpty, Int(parts[1]) != nil, !parts[2].isEmpty, Int(parts[3]) != nil else {
                        throw .invalidValue(key: value.key, reason: "'\(value.shown(entry))' is not HOST:PORT:CONNECT_HOST:CONNECT_PORT")
                    }
                }
            }
        }
    }
}

extension RelayConfiguration.Log {
    mutating func read(_ node: ConfigNode) {
        node.mapping(LogKey.self) { key, value throws(ConfigurationError) in
            switch key {
            case .format:
                guard let parsed = Format(rawValue: try value.string().lowercased()) else {
                    throw .invalidValue(key: value.key, reason: "must be text or json")
                }
                format = parsed
            case .level:
                guard let parsed = Logger.Level(rawValue: try value.string().lowercased()) else {
                    throw .invalidValue(key: value.key, reason: "must be trace, debug, info, notice, warning, error or critical")
                }
                level = parsed
            }
        }
    }
}
