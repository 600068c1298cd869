import Alerts
import DeviceDefender

extension RelayConfiguration {
    /// One `receivers:` entry.
    public struct Receiver: Sendable, Equatable {
        public typealias Kind = ReceiverKind

        public var name: String
        public var kind: Kind
        /// Chat and webhook receivers: where to POST.
        public var url: String?
        /// Webhook only: extra request headers.
        public var headers: [String: String] = [:]
        /// Webhook only: signs `timestamp.body` with HMAC-SHA256.
        public var hmacSecret: String?
        /// Webhook only: a Mustache template file rendered with the alert.
        public var template: String?
        /// Hosts the URL may name (whole-match regexes); defaults per type (hooks.slack.com ...).
        public var allowedHosts: [String]?
        /// Sends per second to this receiver; defaults per type (Slack: 1); 0: no limit.
        public var ratePerSecond: Double?
        /// Sends under way at once to this receiver (`concurrency`); defaults per type.
        public var concurrency: Int?
        /// Email only.
        public var smtpURL: String?
        public var requireTLS = true
        public var username: String?
        public var password: String?
        public var from: String?
        public var to: [String] = []
        /// Email only: Mustache templates rendered with the alert document; the built-in
        /// subject, text and HTML are used for any not given.
        public var subjectTemplate: String?
        public var textTemplate: String?
        public var htmlTemplate: String?
        /// PagerDuty only: the Events API v2 integration key (a secret).
        public var routingKey: String?
        /// Slack, Teams, Discord: who is called when a new or worse finding is CRITICAL.
        public var mentions: [String] = []

        public init(name: String, kind: Kind) {
            self.name = name
            self.kind = kind
        }

        /// The hosts each service's webhooks live on, so a mistyped or injected URL cannot send
        /// alerts (and their data) anywhere else.
        public var effectiveAllowedHosts: [String] {
            if let allowedHosts { return allowedHosts }
            switch kind {
            case .slack: return [#"hooks\.slack\.com"#]
            case .teams: return [#"([a-z0-9-]+\.)+(logic\.azure\.com|webhook\.office\.com|powerplatform\.com)"#]
            case .discord: return [#"(discord\.com|discordapp\.com|ptb\.discord\.com|canary\.discord\.com)"#]
            case .googlechat: return [#"chat\.googleapis\.com"#]
            case .pagerduty: return [#"events\.(eu\.)?pagerduty\.com"#]
            case .webhook, .email: return [".*"]
            }
        }

        /// Where the receiver POSTs: its `url`, or PagerDuty's Events API v2.
        public var effectiveURL: String? {
            url ?? (kind == .pagerduty ? "https://events.pagerduty.com/v2/enqueue" : nil)
        }

        /// Sends at once: one for chat services and mail (they rate-limit per webhook and keep
        /// order), four for webhooks (a service of one's own takes parallel requests).
        public var effectiveConcurrency: Int {
            if let concurrency { return concurrency }
            return kind == .webhook ? 4 : 1
        }

        /// Slack allows about one message a second per webhook; Discord 5 per 2 s; Google Chat
        /// 1 per second per space. 0 means no limit.
        public var effectiveRatePerSecond: Double {
            if let ratePerSecond { return ratePerSecond }
            switch kind {
            case .slack, .googlechat: return 1
            case .discord: return 2
            case .teams: return 2
            // The Events API takes about 120 events a minute per integration key.
            case .pagerduty: return 2
            case .webhook: return 10
            case .email: return 2
            }
        }
    }

    /// `alerts.*`: how alerts are built and delivered.
    public struct AlertSettings: Sendable, Equatable {
        /// `console_url`: the link in audit alerts; `{region}` and `{taskId}` are replaced.
        public var consoleURL = AlertBuilder.defaultConsoleURLTemplate
        /// `default_receivers`: where alerts no route matched go (none by default).
        public var defaultReceivers: [String] = []
        /// `max_attempts`: when set, after this many failed attempts a delivery is dead-lettered;
        /// unset, only its age counts.
        public var maxAttempts: Int?
        /// `max_age_seconds`: a delivery still failing this long after it was queued is
        /// dead-lettered (two days by default).
        public var maxAgeSeconds: Int64 = DeliveryRetryPolicy.defaultMaxAgeSeconds
        /// `alert_on_subscription_changes`: subscription confirmed / unsubscribed alerts.
        public var alertOnSubscriptionChanges = true
        /// `retry_base_seconds`: the first retry waits about this long, doubling each time.
        public var retryBaseSeconds = 2.0
        /// `retry_max_delay_seconds`: the longest wait between two attempts.
        public var retryMaxDelaySeconds = 600.0
        /// `delivery_lease_seconds`: how long a replica holds the deliveries it claimed. If it
        /// dies mid-send, they are sent again once the lease runs out: shorter means faster
        /// recovery, but must exceed the time to send one claimed batch.
        public var deliveryLeaseSeconds: Int64 = 120
        /// `detect`: how Detect events are grouped.
        public var detectGrouping = DetectGrouping()
        /// `expect`: scheduled audits that must keep arriving.
        public var expectations: [AuditExpectation] = []

        public var retryPolicy: DeliveryRetryPolicy {
            DeliveryRetryPolicy(baseDelaySeconds: retryBaseSeconds, maxDelaySeconds: retryMaxDelaySeconds, maxAttempts: maxAttempts, maxAgeSeconds: maxAgeSeconds)
        }

        public init() {}
    }
}
