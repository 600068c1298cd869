import Alerts
import Logging
import SNS

/// Everything `defender-relay serve` is told by its YAML file. Every value has a default, so an
/// empty file serves locally; the keys named in comments are the file's keys.
public struct RelayConfiguration: Sendable, Equatable {
    public struct BasicAuth: Sendable, Equatable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    /// `server.*`
    public struct Server: Sendable, Equatable {
        /// `host`: the address to bind; 127.0.0.1 unless told otherwise (the container says 0.0.0.0).
        public var host = "127.0.0.1"
        /// `port`: 8080; 0 picks a free port (tests).
        public var port = 8080
        /// `sns_path`: the path subscribed to the topic.
        public var snsPath = "/sns"
        /// `max_body_bytes`: larger bodies get 413 before they are buffered. SNS messages are at
        /// most 256 KiB of payload; the envelope adds escaping.
        public var maxBodyBytes = 524_288
        /// `basic_auth`: when set, the SNS endpoint requires these credentials (put them in the
        /// subscription URL as `https://user:password@host/sns`).
        public var basicAuth: BasicAuth?
        /// `request_timeout_seconds`: a request's headers and body must arrive within this, or
        /// the connection is closed: a client dripping one byte at a time cannot hold it.
        public var requestTimeoutSeconds = 30
        /// `max_connections`: connections accepted at once; more are closed on arrival.
        public var maxConnections = 1024
        /// `shutdown_grace_seconds`: on SIGTERM or SIGINT the relay stops accepting and claiming;
        /// requests and alert sends under way get this long to finish, sends still running
        /// are then aborted and queued again, and the process exits 0.
        public var shutdownGraceSeconds = 10

        /// Whether `host` reaches beyond this machine: anything but `localhost`, `::1` or an
        /// IPv4 literal in 127.0.0.0/8. A name such as `127.example.com` is resolved, so it
        /// counts as beyond.
        public var listensBeyondLoopback: Bool {
            if host == "localhost" || host == "::1" { return false }
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            let isLoopbackLiteral = octets.count == 4 && octets[0] == "127"
                && octets.allSatisfy { octet in (1...3).contains(octet.count) && octet.allSatisfy(\.isASCII) && UInt8(octet) != nil }
            return !isLoopbackLiteral
        }

        public init() {}
    }

    /// `sns.confirm_subscriptions`
    public enum ConfirmationMode: String, Sendable {
        /// Visit the SubscribeURL of a verified SubscriptionConfirmation from an allowed topic.
        case auto
        /// Record it as pending; an operator runs `defender-relay subscriptions confirm`.
        case manual
    }

    /// `sns.*`
    public struct SNS: Sendable, Equatable {
        /// `allowed_topics`: exact ARNs or `*` globs. Empty refuses every message.
        public var allowedTopics: [String] = []
        public var confirmSubscriptions = ConfirmationMode.auto
        /// `signature_versions`: drop "1" to refuse SHA1 signatures.
        public var signatureVersions: Set<String> = ["1", "2"]
        /// `max_message_age_seconds`: the replay window.
        public var maxMessageAgeSeconds: Int64 = 3600
        /// `cert_url_hosts`: hosts SigningCertURL and SubscribeURL may name (whole-match regexes).
        public var certURLHosts: [String] = WholeMatchPattern.defaultCertificateHosts
        /// `cert_url_paths`: paths a SigningCertURL may name (whole-match regexes).
        public var certURLPaths: [String] = WholeMatchPattern.defaultCertificatePaths
        /// `cert_names`: accepted subject CN / DNS SAN of signing certificates (whole-match regexes).
        public var certNames: [String] = WholeMatchPattern.defaultCertificateNames

        public init() {}
    }

    /// `api.*`
    public struct API: Sendable, Equatable {
        /// `token`: the bearer token the `/api` routes require. Required when `server.host`
        /// listens beyond loopback.
        public var token: String?

        public init() {}
    }

    /// `metrics.*`
    public struct Metrics: Sendable, Equatable {
        /// `token`: when set, `/metrics` requires it as a bearer token. The metrics name
        /// accounts and count non-compliant resources per check: a map of the fleet's weak spots.
        public var token: String?

        public init() {}
    }

    /// `storage.*`
    public struct Storage: Sendable, Equatable {
        /// `url`: `sqlite://RELATIVE/PATH`, `sqlite:///ABSOLUTE/PATH`, or
        /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` for several replicas.
        public var url = "sqlite://data/defender-relay.sqlite"
        /// `retention_days`: raw SNS envelopes (and unrecognized notifications) older than this
        /// are deleted; audit summaries and Detect events are kept.
        public var retentionDays = 400
        /// `summary_retention_days`: when set, audit summaries and Detect events older than this
        /// are deleted too. Unset keeps them forever.
        public var summaryRetentionDays: Int?
        /// `delivery_retention_days`: how long the outbox keeps delivered alerts and dead
        /// letters (each row holds its rendered message), counted from when each was queued
        /// (delivered; never less than the longest route `repeat_interval`, which they
        /// remember) or last tried (dead):
        /// one number for both, or `{delivered: N, dead: N}`. Pending deliveries are never
        /// deleted: they are retried until `alerts.max_age_seconds`.
        public var deliveredRetentionDays = 30
        public var deadRetentionDays = 90

        public init() {}
    }

    /// `outbound.*`: how the relay reaches AWS (and, later, chat and mail).
    public struct Outbound: Sendable, Equatable {
        /// `timeout_seconds`: the whole-transfer limit of each outbound request.
        public var timeoutSeconds = 10
        /// `ca_file`: a PEM bundle used instead of the system trust store.
        public var caFile: String?
        /// `connect_to`: curl `--connect-to` entries `HOST:PORT:CONNECT_HOST:CONNECT_PORT`.
        public var connectTo: [String] = []
        /// `proxy`: nil uses the proxy the environment names (`https_proxy`, `ALL_PROXY`, as
        /// libcurl reads them), `none` uses no proxy whatever the environment says, a URL uses
        /// that proxy. The relay logs at start which one outbound requests use.
        public var proxy: String?

        public init() {}
    }

    /// `log.*`
    public struct Log: Sendable, Equatable {
        public enum Format: String, Sendable {
            /// swift-log's usual line: time, level, label, message, metadata.
            case text
            /// One JSON object per line, for log collectors.
            case json
        }

        public var format = Format.text
        public var level = Logger.Level.info

        /// `LOG_FORMAT` and `LOG_LEVEL` override the file, so one can turn up the level without
        /// editing it. Values that are not a format or a level are ignored.
        public func overridden(by environment: [String: String]) -> Log {
            var log = self
            if let format = environment["LOG_FORMAT"].flatMap({ Format(rawValue: $0.lowercased()) }) { log.format = format }
            if let level = environment["LOG_LEVEL"].flatMap({ Logger.Level(rawValue: $0.lowercased()) }) { log.level = level }
            return log
        }

        public init() {}
    }

    /// `accounts:` account ids to the names alerts show (`prod (123456789012)`).
    public var accounts: [String: String] = [:]
    /// `receivers:` where alerts can go.
    public var receivers: [Receiver] = []
    /// `routes:` which alerts go where, first match wins unless `continue: true`.
    public var routes: [AlertRoute] = []
    public var alerts = AlertSettings()

    public var server = Server()
    public var sns = SNS()
    public var api = API()
    public var metrics = Metrics()
    public var storage = Storage()
    public var outbound = Outbound()
    public var log = Log()

    public init() {}

    /// The sections that differ from `other` and are read only at start (all but accounts,
    /// receivers, routes and alerts, which a reload replaces).
    public func sectionsNeedingRestart(comparedWith other: RelayConfiguration) -> [String] {
        var changed: [String] = []
        if server != other.server { changed.append(RootKey.server.rawValue) }
        if sns != other.sns { changed.append(RootKey.sns.rawValue) }
        if api != other.api { changed.append(RootKey.api.rawValue) }
        if metrics != other.metrics { changed.append(RootKey.metrics.rawValue) }
        if storage != other.storage { changed.append(RootKey.storage.rawValue) }
        if outbound != other.outbound { changed.append(RootKey.outbound.rawValue) }
        if log != other.log { changed.append(RootKey.log.rawValue) }
        return changed
    }
}
