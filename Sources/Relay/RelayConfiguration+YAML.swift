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
        try reader.mapping(known: ["server", "sns", "api", "storage", "outbound", "receivers", "routes", "alerts"]) { key, section throws(ConfigurationError) in
            switch key {
            case "server": try configuration.server.read(section)
            case "sns": try configuration.sns.read(section)
            case "api": try configuration.api.read(section)
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
        for (key, patterns) in [("sns.cert_url_hosts", sns.certURLHosts), ("sns.cert_names", sns.certNames)] {
            guard !patterns.isEmpty else { throw .invalidValue(key: key, reason: "at least one pattern is required") }
            for pattern in patterns where (try? AmazonHostPattern(pattern)) == nil {
                throw .invalidValue(key: key, reason: "'\(pattern)' is not a valid regular expression")
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
        try node.mapping(known: ["host", "port", "sns_path", "max_body_bytes", "basic_auth"]) { key, value throws(ConfigurationError) in
            switch key {
            case "host": host = try value.string()
            case "port": port = try value.integer(in: 0...65535)
            case "sns_path":
                let path = try value.string()
                guard path.hasPrefix("/"), !path.contains("?"), !path.contains(" ") else {
                    throw .invalidValue(key: value.key, reason: "must be a path starting with /")
                }
                snsPath = path
            case "max_body_bytes": maxBodyBytes = try value.integer(in: 1024...16_777_216)
            default:
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
            }
        }
    }
}

extension RelayConfiguration.SNS {
    mutating func read(_ node: ConfigNode) throws(ConfigurationError) {
        let keys = ["allowed_topics", "confirm_subscriptions", "signature_versions", "max_message_age_seconds", "cert_url_hosts", "cert_names"]
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
            default: certNames = try value.strings()
            }
        }
    }
}

extension RelayConfiguration.API {
    mutating func read(_ node: ConfigNode) throws(ConfigurationError) {
        try node.mapping(known: ["token"]) { _, value throws(ConfigurationError) in
            if value.isNull { token = nil; return }
            let text = try value.string()
            guard text.count >= 16 else {
                throw .invalidValue(key: value.key, reason: "must be at least 16 characters")
            }
            token = text
        }
    }
}

extension RelayConfiguration.Storage {
    mutating func read(_ node: ConfigNode) throws(ConfigurationError) {
        try node.mapping(known: ["url", "retention_days", "summary_retention_days"]) { key, value throws(ConfigurationError) in
            switch key {
            case "url": url = try value.string()
            case "retention_days": retentionDays = try value.integer(in: 1...36_500)
            default: summaryRetentionDays = value.isNull ? nil : try value.integer(in: 1...36_500)
            }
        }
    }
}

extension RelayConfiguration.Outbound {
    mutating func read(_ node: ConfigNode) throws(ConfigurationError) {
        try node.mapping(known: ["timeout_seconds", "ca_file", "connect_to"]) { key, value throws(ConfigurationError) in
            switch key {
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
