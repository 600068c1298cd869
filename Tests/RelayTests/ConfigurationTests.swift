import RelayConfig
import Relay
import SNS
import Testing

struct ConfigurationTests {
    @Test func anEmptyFileServesLocallyWithDefaults() throws {
        for text in ["", "# nothing\n", "---\n"] {
            let configuration = try RelayConfiguration.parse(yaml: text, environment: [:])
            #expect(configuration.server.host == "127.0.0.1")
            #expect(configuration.server.port == 8080)
            #expect(configuration.server.snsPath == "/sns")
            #expect(configuration.server.maxBodyBytes == 524_288)
            #expect(configuration.sns.allowedTopics.isEmpty)
            #expect(configuration.sns.confirmSubscriptions == .auto)
            #expect(configuration.sns.signatureVersions == ["1", "2"])
            #expect(configuration.sns.maxMessageAgeSeconds == 3600)
            #expect(configuration.storage.url == "sqlite://data/defender-relay.sqlite")
            #expect(configuration.outbound.timeoutSeconds == 10)
        }
    }

    @Test func readsEveryKeyAndSubstitutesTheEnvironment() throws {
        let yaml = """
            server:
              host: 0.0.0.0
              port: 9443
              sns_path: /hooks/sns
              max_body_bytes: 65536
              basic_auth:
                username: sns
                password: ${SNS_PASSWORD}
            sns:
              allowed_topics: ["arn:aws:sns:*:123456789012:defender-*"]
              confirm_subscriptions: manual
              signature_versions: ["2"]
              max_message_age_seconds: 900
              cert_url_hosts: ['sns\\.eu-west-1\\.amazonaws\\.com']
              cert_names: ['sns\\.amazonaws\\.com']
            api:
              token: ${RELAY_API_TOKEN}
            storage:
              url: sqlite://${DATA_DIR:-/var/lib/defender-relay}/relay.sqlite
            outbound:
              timeout_seconds: 5
              connect_to: ["sns.eu-west-1.amazonaws.com:443:127.0.0.1:8443"]
            """
        let configuration = try RelayConfiguration.parse(yaml: yaml, environment: ["SNS_PASSWORD": "pa55word", "RELAY_API_TOKEN": "0123456789abcdef0123"])
        #expect(configuration.server.host == "0.0.0.0")
        #expect(configuration.server.port == 9443)
        #expect(configuration.server.snsPath == "/hooks/sns")
        #expect(configuration.server.basicAuth == .init(username: "sns", password: "pa55word"))
        #expect(configuration.sns.allowedTopics == ["arn:aws:sns:*:123456789012:defender-*"])
        #expect(configuration.sns.confirmSubscriptions == .manual)
        #expect(configuration.sns.signatureVersions == ["2"])
        #expect(configuration.sns.maxMessageAgeSeconds == 900)
        #expect(configuration.sns.certURLHosts == [#"sns\.eu-west-1\.amazonaws\.com"#])
        #expect(configuration.api.token == "0123456789abcdef0123")
        #expect(configuration.storage.url == "sqlite:///var/lib/defender-relay/relay.sqlite")
        #expect(configuration.outbound.connectTo == ["sns.eu-west-1.amazonaws.com:443:127.0.0.1:8443"])
    }

    @Test(arguments: [
        ("server:\n  prot: 80", ConfigurationError.unknownKey("server.prot")),
        ("storage:\n  path: x", .unknownKey("storage.path")),
        ("smtp: {}", .unknownKey("smtp")),
        ("server:\n  port: eighty", .invalidValue(key: "server.port", reason: "'eighty' is not a whole number")),
        ("server:\n  port: 70000", .invalidValue(key: "server.port", reason: "70000 is outside 0...65535")),
        ("sns:\n  confirm_subscriptions: sometimes", .invalidValue(key: "sns.confirm_subscriptions", reason: "must be auto or manual")),
        ("sns:\n  signature_versions: ['3']", .invalidValue(key: "sns.signature_versions", reason: "must list \"1\" and/or \"2\"")),
        ("sns:\n  allowed_topics: arn:aws:sns:x", .invalidValue(key: "sns.allowed_topics", reason: "must be a list")),
        ("sns:\n  cert_url_hosts: ['(unclosed']", .invalidValue(key: "sns.cert_url_hosts", reason: "'(unclosed' is not a valid regular expression")),
        ("storage:\n  url: mysql://db", .invalidValue(key: "storage.url", reason: "storage.url 'mysql://…' is not supported: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE (schemes are lower case)")),
        ("outbound:\n  connect_to: ['host:443']", .invalidValue(key: "outbound.connect_to", reason: "'host:443' is not HOST:PORT:CONNECT_HOST:CONNECT_PORT")),
        ("outbound:\n  ca_file: /nonexistent/ca.pem", .invalidValue(key: "outbound.ca_file", reason: "/nonexistent/ca.pem is not a readable file")),
        ("api:\n  token: ${RELAY_API_TOKEN}", .missingEnvironmentVariable(key: "api.token", variable: "RELAY_API_TOKEN")),
        ("api:\n  token: short", .invalidValue(key: "api.token", reason: "must be at least 16 printable ASCII characters without spaces")),
        ("server:\n  basic_auth:\n    username: sns", .invalidValue(key: "server.basic_auth.password", reason: "a non-empty password is required")),
    ])
    func refusesBadConfigurationNamingTheKey(_ yaml: String, _ expected: ConfigurationError) {
        #expect(throws: expected) { try RelayConfiguration.parse(yaml: yaml, environment: [:]) }
    }

    @Test func theShippedExampleConfigurationLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/defender-relay.yaml").standardized.path
        let configuration = try RelayConfiguration.load(path: path, environment: ["RELAY_API_TOKEN": "a-token-of-sixteen-chars"])
        #expect(!configuration.sns.allowedTopics.isEmpty)
        #expect(configuration.api.token == "a-token-of-sixteen-chars")
        // The example spells out the built-in URL and name rules: they must not drift apart.
        #expect(configuration.sns.certURLHosts == WholeMatchPattern.defaultCertificateHosts)
        #expect(configuration.sns.certURLPaths == WholeMatchPattern.defaultCertificatePaths)
        #expect(configuration.sns.certNames == WholeMatchPattern.defaultCertificateNames)
        #expect(configuration.server.requestTimeoutSeconds == RelayConfiguration.Server().requestTimeoutSeconds)
        #expect(configuration.server.maxConnections == RelayConfiguration.Server().maxConnections)
        // In the container it listens on 0.0.0.0, which needs the token.
        #expect(throws: ConfigurationError.self) {
            try RelayConfiguration.load(path: path, environment: ["RELAY_HOST": "0.0.0.0"])
        }
    }

    @Test(arguments: [
        ("sns:\n  allowed_topics: ['*']", "sns.allowed_topics"),
        ("sns:\n  allowed_topics: ['arn:aws:sns:us-east-1:*:audits']", "sns.allowed_topics"),
        ("server: {host: 0.0.0.0}", "api.token"),
        ("server: {host: '::'}", "api.token"),
        ("server: {host: 127.example.com}", "api.token"),
        ("server: {host: 127.0.0.1.evil.example}", "api.token"),
        ("outbound: {proxy: 'ftp://proxy'}", "outbound.proxy"),
        ("sns:\n  cert_url_paths: ['(']", "sns.cert_url_paths"),
        ("server: {request_timeout_seconds: 0}", "server.request_timeout_seconds"),
        ("server: {max_connections: 0}", "server.max_connections"),
        ("metrics: {token: short}", "metrics.token"),
    ])
    func refusesUnsafeSettingsNamingTheKey(_ yaml: String, _ key: String) {
        for loopback in ["127.0.0.1", "127.1.2.3", "localhost", "::1"] {
            var server = RelayConfiguration.Server()
            server.host = loopback
            #expect(!server.listensBeyondLoopback, "\(loopback)")
        }
        do {
            _ = try RelayConfiguration.parse(yaml: yaml, environment: [:])
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.key == key, "\(error)")
        }
    }
}

import Foundation
