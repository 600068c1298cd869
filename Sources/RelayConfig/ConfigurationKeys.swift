/// Every key the configuration file may hold, section by section. Adding a key means adding a
/// case here; the compiler then asks for its documentation and for its branch in the parser.
public enum RootKey: String, ConfigKey {
    case server, sns, api, metrics, storage, outbound, log, accounts, receivers, routes, alerts

    public static let path = "(top level)"
    public static let summary = "The sections of the file. Every key is optional: an empty file serves on 127.0.0.1:8080 with an SQLite store in ./data."

    public var documentation: KeyDocumentation {
        switch self {
        case .server: .init("mapping", "—", "The HTTP server SNS delivers to.")
        case .sns: .init("mapping", "—", "Which SNS messages are accepted and how they are verified.")
        case .api: .init("mapping", "—", "The `/api/v1` query API.")
        case .metrics: .init("mapping", "—", "The Prometheus `/metrics` endpoint.")
        case .storage: .init("mapping", "—", "Where audits, messages and the alert outbox are stored, and for how long.")
        case .outbound: .init("mapping", "—", "How the relay reaches AWS, chat services and mail servers.")
        case .log: .init("mapping", "—", "Log format and level.")
        case .accounts: .init("mapping of 12-digit account ids to names", "{}", "The names alerts give accounts: `\"123456789012\": prod` shows `prod (123456789012)`.")
        case .receivers: .init("list of receivers", "[]", "Where alerts can go.")
        case .routes: .init("list of routes", "[]", "Which alerts go where: the first match wins unless `continue: true`.")
        case .alerts: .init("mapping", "—", "How alerts are built, retried and dead-lettered.")
        }
    }
}

public enum ServerKey: String, ConfigKey {
    case host, port
    case snsPath = "sns_path"
    case maxBodyBytes = "max_body_bytes"
    case basicAuth = "basic_auth"
    case requestTimeoutSeconds = "request_timeout_seconds"
    case maxConnections = "max_connections"
    case shutdownGraceSeconds = "shutdown_grace_seconds"

    public static let path = "server"
    public static let summary = "The HTTP server SNS delivers to, with the probes, the query API and the metrics."

    public var documentation: KeyDocumentation {
        switch self {
        case .host: .init("string", "127.0.0.1", "Address to bind. `0.0.0.0` in a container or behind a load balancer; then `api.token` is required.")
        case .port: .init("integer 0...65535", "8080", "Port to listen on; 0 picks a free one.")
        case .snsPath: .init("path", "/sns", "The path subscribed to the topic: `https://relay.example.com/sns`.")
        case .maxBodyBytes: .init("integer 1024...16777216", "524288", "Bodies above this get 413 before they are buffered. SNS payloads are at most 256 KiB; the envelope adds escaping.")
        case .basicAuth: .init("mapping (`username`, `password`)", "unset", "When set, the SNS endpoint requires these HTTP Basic credentials; subscribe `https://user:password@host/sns`.")
        case .requestTimeoutSeconds: .init("integer 1...600", "30", "A request's headers and body must arrive within this, or the connection is closed.")
        case .maxConnections: .init("integer 1...100000", "1024", "Connections accepted at once; more are closed on arrival.")
        case .shutdownGraceSeconds: .init("integer 1...300", "10", "On SIGTERM or SIGINT: stop accepting and claiming, give requests and alert sends this long, abort the sends still running (they are queued again) and exit 0.")
        }
    }
}

public enum BasicAuthKey: String, ConfigKey {
    case username, password

    public static let path = "server.basic_auth"
    public static let summary = "HTTP Basic credentials the SNS endpoint requires."

    public var documentation: KeyDocumentation {
        switch self {
        case .username: .init("string without `:`", "—", "Required when `basic_auth` is set.")
        case .password: .init("string (secret)", "—", "Required when `basic_auth` is set; use `${VAR}` or `${file:PATH}`.")
        }
    }
}

public enum SNSKey: String, ConfigKey {
    case allowedTopics = "allowed_topics"
    case confirmSubscriptions = "confirm_subscriptions"
    case signatureVersions = "signature_versions"
    case maxMessageAgeSeconds = "max_message_age_seconds"
    case certURLHosts = "cert_url_hosts"
    case certURLPaths = "cert_url_paths"
    case certNames = "cert_names"

    public static let path = "sns"
    public static let summary = "Which SNS messages are accepted, and how strictly they are verified."

    public var documentation: KeyDocumentation {
        switch self {
        case .allowedTopics: .init("list of topic ARNs or `*` globs", "[]", "Topics whose messages are accepted; each names its partition and 12-digit account. Empty refuses every message.")
        case .confirmSubscriptions: .init("`auto` or `manual`", "auto", "`auto` visits the SubscribeURL of a verified confirmation from an allowed topic; `manual` records it for `defender-relay subscriptions confirm`.")
        case .signatureVersions: .init("list of \"1\", \"2\"", "[\"1\", \"2\"]", "Accepted signature versions; drop \"1\" to refuse SHA1 signatures.")
        case .maxMessageAgeSeconds: .init("integer 60...604800", "3600", "Older messages (or ones more than 5 minutes in the future) are refused as replays.")
        case .certURLHosts: .init("list of regexes (whole match)", "SNS's regional hosts", "Hosts SigningCertURL and SubscribeURL may name.")
        case .certURLPaths: .init("list of regexes (whole match)", "`/SimpleNotificationService-<32 hex>.pem`", "Paths a SigningCertURL may name.")
        case .certNames: .init("list of regexes (whole match)", "sns.amazonaws.com and sns-signing.<region>.amazonaws.com", "Names a signing certificate's subject CN or DNS SAN must carry.")
        }
    }
}

public enum APIKey: String, ConfigKey {
    case token

    public static let path = "api"
    public static let summary = "The `/api/v1` query API."

    public var documentation: KeyDocumentation {
        switch self {
        case .token: .init("string, 16+ printable characters (secret)", "unset", "Bearer token the `/api` routes require. Required when `server.host` listens beyond loopback. Generate with `openssl rand -hex 24`.")
        }
    }
}

public enum MetricsKey: String, ConfigKey {
    case token

    public static let path = "metrics"
    public static let summary = "The Prometheus `/metrics` endpoint."

    public var documentation: KeyDocumentation {
        switch self {
        case .token: .init("string, 16+ printable characters (secret)", "unset", "When set, `/metrics` requires it as a bearer token: the metrics name accounts and count non-compliant resources per check.")
        }
    }
}

public enum StorageKey: String, ConfigKey {
    case url
    case retentionDays = "retention_days"
    case summaryRetentionDays = "summary_retention_days"
    case deliveryRetentionDays = "delivery_retention_days"

    public static let path = "storage"
    public static let summary = "Where everything is stored, and for how long."

    public var documentation: KeyDocumentation {
        switch self {
        case .url: .init("URL", "sqlite://data/defender-relay.sqlite", "`sqlite://RELATIVE/PATH`, `sqlite:///ABSOLUTE/PATH`, or `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=disable|prefer|require` for several replicas.")
        case .retentionDays: .init("integer 1...36500", "400", "Raw SNS envelopes (and unrecognized notifications) older than this are deleted; audit summaries and Detect events are kept.")
        case .summaryRetentionDays: .init("integer 1...36500", "unset (kept forever)", "When set, audit summaries and Detect events older than this are deleted too.")
        case .deliveryRetentionDays: .init("integer 1...36500, or `{delivered: N, dead: N}`", "{delivered: 30, dead: 90}", "How long the outbox keeps delivered alerts (never less than the longest route `repeat_interval`) and dead letters. Pending deliveries are never deleted.")
        }
    }
}

public enum DeliveryRetentionKey: String, ConfigKey {
    case delivered, dead

    public static let path = "storage.delivery_retention_days"
    public static let summary = "The mapping form of `delivery_retention_days`."

    public var documentation: KeyDocumentation {
        switch self {
        case .delivered: .init("integer 1...36500", "30", "Days a delivered alert is kept, counted from when it was queued.")
        case .dead: .init("integer 1...36500", "90", "Days a dead letter is kept, counted from its last attempt.")
        }
    }
}

public enum OutboundKey: String, ConfigKey {
    case timeoutSeconds = "timeout_seconds"
    case caFile = "ca_file"
    case connectTo = "connect_to"
    case proxy

    public static let path = "outbound"
    public static let summary = "How the relay reaches AWS (certificates, subscription confirmations), chat services and mail servers."

    public var documentation: KeyDocumentation {
        switch self {
        case .timeoutSeconds: .init("integer 1...300", "10", "The whole-transfer limit of each outbound request.")
        case .caFile: .init("file path", "unset (system trust store)", "A PEM bundle trusted instead of the system store (e.g. behind a TLS-inspecting proxy).")
        case .connectTo: .init("list of `HOST:PORT:CONNECT_HOST:CONNECT_PORT`", "[]", "curl `--connect-to` entries: reach a host at another address while TLS still checks the real name.")
        case .proxy: .init("`none` or a proxy URL", "unset (the environment's `https_proxy`, `ALL_PROXY`)", "The proxy for outbound requests; `none` ignores the environment. Logged at start.")
        }
    }
}

public enum LogKey: String, ConfigKey {
    case format, level

    public static let path = "log"
    public static let summary = "Log lines go to standard error, one access-log line per request."

    public var documentation: KeyDocumentation {
        switch self {
        case .format: .init("`text` or `json`", "text", "`json` writes one JSON object per line for a log collector. `LOG_FORMAT` overrides it.")
        case .level: .init("trace, debug, info, notice, warning, error, critical", "info", "The least severe level written. `LOG_LEVEL` overrides it.")
        }
    }
}

public enum AlertSettingsKey: String, ConfigKey {
    case consoleURL = "console_url"
    case defaultReceivers = "default_receivers"
    case maxAttempts = "max_attempts"
    case maxAgeSeconds = "max_age_seconds"
    case alertOnSubscriptionChanges = "alert_on_subscription_changes"
    case retryBaseSeconds = "retry_base_seconds"
    case retryMaxDelaySeconds = "retry_max_delay_seconds"
    case deliveryLeaseSeconds = "delivery_lease_seconds"
    case expect
    case detect

    public static let path = "alerts"
    public static let summary = "How alerts are built and delivered."

    public var documentation: KeyDocumentation {
        switch self {
        case .consoleURL: .init("URL template", "the AWS IoT console's audit result page", "The link in audit alerts; `{region}` and `{taskId}` are replaced.")
        case .defaultReceivers: .init("list of receiver names", "[]", "Where alerts no route matched go.")
        case .maxAttempts: .init("integer 1...10000", "unset", "When set, a delivery is dead-lettered after this many failed attempts; unset, only its age counts.")
        case .maxAgeSeconds: .init("integer 60...2592000", "172800", "A delivery still failing this long after it was queued is dead-lettered (two days).")
        case .alertOnSubscriptionChanges: .init("boolean", "true", "Send alerts when a subscription is confirmed or ended.")
        case .retryBaseSeconds: .init("number 0.05...3600", "2", "The first retry waits about this long, doubling each time (with jitter).")
        case .retryMaxDelaySeconds: .init("number 1...86400", "600", "The longest wait between two attempts.")
        case .deliveryLeaseSeconds: .init("integer 5...3600", "120", "How long a replica holds the deliveries it claimed; if it dies mid-send they are sent again after this.")
        case .detect: .init("mapping", "—", "How Detect events are grouped into messages (`alerts.detect`).")
        case .expect: .init("list of expectations", "[]", "Scheduled audits that must keep arriving (`alerts.expect[]`): an `overdue` alert when one is late, a `back` alert when it arrives again.")
        }
    }
}

public enum ReceiverKey: String, ConfigKey {
    case name, type, url, headers
    case hmacSecret = "hmac_secret"
    case template
    case allowedHosts = "allowed_hosts"
    case ratePerSecond = "rate_per_second"
    case concurrency
    case smtpURL = "smtp_url"
    case requireTLS = "require_tls"
    case username, password, from, to
    case subjectTemplate = "subject_template"
    case textTemplate = "text_template"
    case htmlTemplate = "html_template"
    case mention
    case routingKey = "routing_key"

    public static let path = "receivers[]"
    public static let summary = "One place alerts can go. Chat and webhook URLs must be https on the service's own hosts."

    public var documentation: KeyDocumentation {
        switch self {
        case .name: .init("letters, digits, `-_.`", "—", "Required; what routes call the receiver. Unique.")
        case .type: .init("slack, teams, discord, googlechat, webhook, email, pagerduty", "—", "Required.")
        case .url: .init("https URL (secret)", "—", "Required for every type but email and pagerduty (default `https://events.pagerduty.com/v2/enqueue`). Webhook URLs hold tokens: use `${VAR}` or `${file:PATH}`.")
        case .headers: .init("mapping of header names to values", "{}", "Webhook only: extra request headers.")
        case .hmacSecret: .init("string (secret)", "unset", "Webhook only: signs `timestamp.body` with HMAC-SHA256 in `X-Defender-Relay-Signature`.")
        case .template: .init("file path", "unset (the JSON document of docs/ALERT-SCHEMA.md)", "Webhook only: a Mustache template rendered with the alert.")
        case .allowedHosts: .init("list of regexes (whole match)", "the service's hosts (pagerduty: events.pagerduty.com, events.eu.pagerduty.com; webhook, email: any)", "Hosts the URL may name.")
        case .ratePerSecond: .init("number, 0 or 0.01...10000", "slack, googlechat 1; discord, teams, email, pagerduty 2; webhook 10", "Sends per second to this receiver; 0 means no limit.")
        case .concurrency: .init("integer 1...64", "webhook 4, others 1", "Sends under way at once to this receiver.")
        case .smtpURL: .init("smtp:// or smtps:// URL", "—", "Email only, required.")
        case .requireTLS: .init("boolean", "true", "Email only: STARTTLS is required on smtp:// unless false.")
        case .username: .init("string", "unset", "Email only: SMTP login.")
        case .password: .init("string (secret)", "unset", "Email only: SMTP password.")
        case .from: .init("mail address", "—", "Email only, required.")
        case .to: .init("mail address or list of them", "—", "Email only, required.")
        case .subjectTemplate: .init("Mustache template", "built in", "Email only: the subject line.")
        case .textTemplate: .init("file path", "built in", "Email only: the plain-text part's Mustache template.")
        case .htmlTemplate: .init("file path", "built in", "Email only: the HTML part's Mustache template.")
        case .routingKey: .init("string (secret)", "—", "PagerDuty only, required: the Events API v2 integration key; use `${VAR}` or `${file:PATH}`.")
        case .mention: .init("list", "[]", "Slack, Teams, Discord: who is called when a new or worse finding is CRITICAL. Slack: `here`, `channel`, user ids (`U…`, `W…`), user group ids (`S…`); Discord: `role:ID`, `user:ID` (only these are pinged); Teams: `Name <id>` with a user's Entra object id or UPN.")
        }
    }
}

public enum RouteKey: String, ConfigKey {
    case match, receivers
    case `continue`
    case repeatInterval = "repeat_interval"
    case mute

    public static let path = "routes[]"
    public static let summary = "One routing rule."

    public var documentation: KeyDocumentation {
        switch self {
        case .match: .init("mapping", "{} (matches everything)", "Conditions that must all hold (`routes[].match`).")
        case .receivers: .init("list of receiver names", "[]", "Where matching alerts go; each must name a receiver.")
        case .continue: .init("boolean", "false", "Keep looking at later routes after this one matched.")
        case .repeatInterval: .init("duration (`90s`, `30m`, `4h`, `1d`)", "unset (every run)", "An unchanged finding is not sent again to this route's receivers within this long of its last delivery (nor while that one still waits to be sent).")
        case .mute: .init("list of windows", "[]", "Times in which this route sends nothing (`routes[].mute[]`).")
        }
    }
}

public enum MatchKey: String, ConfigKey {
    case kind
    case taskStatus = "task_status"
    case taskType = "task_type"
    case scheduledAuditName = "scheduled_audit_name"
    case accountID = "account_id"
    case checkName = "check_name"
    case minSeverity = "min_severity"
    case changedOnly = "changed_only"
    case noncompliant
    case eventType = "event_type"
    case securityProfile = "security_profile"

    public static let path = "routes[].match"
    public static let summary = "What a route matches; values that can never match are refused."

    public var documentation: KeyDocumentation {
        switch self {
        case .kind: .init("audit, detect, subscription, unrecognized, overdue (one or a list)", "any", "The kind of alert (`overdue`: a scheduled audit that did not arrive in time, `alerts.expect`, or is back).")
        case .taskStatus: .init("COMPLETED, FAILED, CANCELED (one or a list)", "any", "The audit task's status.")
        case .taskType: .init("SCHEDULED_AUDIT_TASK, ON_DEMAND_AUDIT_TASK (one or a list)", "any", "The audit task's type.")
        case .scheduledAuditName: .init("`*` glob", "any", "The scheduled audit's name.")
        case .accountID: .init("12-digit account id (one or a list)", "any", "The AWS account.")
        case .checkName: .init("check name (one or a list)", "any", "The alert must carry a non-compliant or resolved finding of one of these checks.")
        case .minSeverity: .init("CRITICAL, HIGH, MEDIUM, LOW", "any", "The worst new, worse or resolved finding (else the worst non-compliant one) must be at least this severe.")
        case .changedOnly: .init("boolean", "any", "`true`: only alerts with something new, worse or resolved since the previous run.")
        case .noncompliant: .init("boolean", "any", "`true`: at least one non-compliant check; `false`: none (the only way to hear of audits whose checks all passed).")
        case .eventType: .init("in-alarm, alarm-cleared, alarm-invalidated (one or a list)", "any", "The Detect violation event type.")
        case .securityProfile: .init("`*` glob", "any", "The Detect security profile's name.")
        }
    }
}

public enum MuteKey: String, ConfigKey {
    case days, from, to, location

    public static let path = "routes[].mute[]"
    public static let summary = "A window in which a route sends nothing, on the wall clock of `location`."

    public var documentation: KeyDocumentation {
        switch self {
        case .days: .init("weekday names (`mon` ... `sun`)", "every day", "The days the window applies to.")
        case .from: .init("`HH:MM`", "00:00", "Start of the window.")
        case .to: .init("`HH:MM` (`24:00` is the end of the day)", "24:00", "End of the window; before `from` means it runs past midnight.")
        case .location: .init("IANA time zone (`Europe/Berlin`)", "UTC", "The time zone `days`, `from` and `to` are read in; daylight saving time is followed.")
        }
    }
}

public enum DetectKey: String, ConfigKey {
    case groupBy = "group_by"
    case groupWait = "group_wait"
    case groupInterval = "group_interval"

    public static let path = "alerts.detect"
    public static let summary = "Detect events are grouped as Alertmanager groups alerts: one message lists the things in alarm instead of one message per thing. Each event type (in alarm, cleared, invalidated) is its own message; a clearing also goes to the receivers its alarm went to and says how long it lasted."

    public var documentation: KeyDocumentation {
        switch self {
        case .groupBy: .init("list of security_profile, behavior, thing", "[security_profile, behavior]", "Events with the same values (and the same topic) share a message.")
        case .groupWait: .init("duration, or 0s", "30s", "A new group waits this long for more events before its first message.")
        case .groupInterval: .init("duration, or 0s", "5m", "A group that was sent waits at least this long before its next message.")
        }
    }
}

public enum ExpectKey: String, ConfigKey {
    case scheduledAudit = "scheduled_audit"
    case account, region, every, grace

    public static let path = "alerts.expect[]"
    public static let summary = "A dead man's switch: runs of the scheduled audits it covers must arrive every `every`; when none has arrived `every + grace` after the last one, one `overdue` alert goes out (kind `overdue`), and a `back` alert when a run arrives. It judges from the first run it sees; with several replicas the alert is queued once."

    public var documentation: KeyDocumentation {
        switch self {
        case .scheduledAudit: .init("`*` glob", "*", "The scheduled audits covered, by name.")
        case .account: .init("12-digit account id", "any", "Only runs of this account.")
        case .region: .init("region", "any", "Only runs of this region.")
        case .every: .init("duration (`30s`, `5m`, `24h`)", "—", "Required: how often a run is expected.")
        case .grace: .init("duration", "0s", "How much later than `every` a run may arrive before it is overdue.")
        }
    }
}

/// The reference, section by section, in the order `docs/CONFIGURATION.md` shows them.
public enum ConfigurationReference {
    public static let sections: [ConfigSectionReference] = [
        RootKey.reference, ServerKey.reference, BasicAuthKey.reference, SNSKey.reference, APIKey.reference, MetricsKey.reference,
        StorageKey.reference, DeliveryRetentionKey.reference, OutboundKey.reference, LogKey.reference, AlertSettingsKey.reference,
        DetectKey.reference, ExpectKey.reference, ReceiverKey.reference, RouteKey.reference, MatchKey.reference, MuteKey.reference,
    ]
}
