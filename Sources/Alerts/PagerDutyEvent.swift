import DeviceDefender

/// PagerDuty Events API v2 (`POST https://events.pagerduty.com/v2/enqueue`): one event per
/// finding, not per audit, so that an incident is one problem someone can fix and resolve.
/// Every open finding (new, worse, known or better) triggers, with `dedup_key` =
/// `account:region:check`: PagerDuty folds a trigger for an open incident into it, so an
/// incident stays one per finding across runs, and one whose trigger was lost (or that was
/// open before the receiver existed) is opened at the next run. A finding that is compliant
/// again resolves it.
/// Detect alarms trigger and clear by their violation id. The routing key is not in the body:
/// the sender adds it, so the outbox never holds it.
/// Limits (developer.pagerduty.com): summary 1024 characters, a whole event 512 KB.
public enum PagerDutyEvent {
    public struct Event: Sendable, Equatable {
        /// What makes the outbox entry unique within the alert.
        public var dedupKey: String
        /// The event without `routing_key`.
        public var body: [UInt8]
        /// Equal for the same event about the same state (repeat suppression).
        public var fingerprint: String
    }

    public static func events(_ alert: Alert) -> [Event] {
        switch alert.kind {
        case .audit: auditEvents(alert)
        case .detect: detectEvents(alert)
        case .overdue: overdueEvents(alert)
        case .subscription, .unrecognized: []
        }
    }

    static func auditEvents(_ alert: Alert) -> [Event] {
        let account = alert.accountID ?? "unknown"
        let region = alert.region ?? "unknown"
        let schedule = alert.attributes.scheduledAuditName ?? "on-demand audit"
        var events: [Event] = []
        for finding in alert.findings {
            let key = "\(account):\(region):\(finding.checkName)"
            switch finding.change {
            case .new, .worse, .known, .better:
                var details: [String: Any] = [
                    "check": finding.checkName, "title": finding.displayName, "change": AlertText.changeLabel(finding),
                    "non_compliant_resources": finding.nonCompliantResources, "total_resources": finding.totalResources,
                    "audit": schedule, "account": alert.place,
                ]
                details["meaning"] = finding.meaning
                details["remediation"] = finding.remediation
                details["documentation"] = finding.documentationURL
                if let previous = finding.previousNonCompliantResources { details["previous_non_compliant_resources"] = previous }
                var payload: [String: Any] = [
                    "summary": AlertText.truncate("\(finding.severity.rawValue): \(finding.displayName) — \(AlertText.changeLabel(finding)), \(AlertText.counts(finding) ?? "") · \(alert.place) · \(schedule)", 1024),
                    "source": "aws-iot-device-defender:\(account):\(region)", "severity": severity(finding.severity),
                    "timestamp": AlertText.isoTime(alert.occurredAt), "component": finding.checkName, "group": schedule, "class": "audit finding",
                    "custom_details": details,
                ]
                if alert.accountAlias != nil { payload["source"] = "aws-iot-device-defender:\(alert.accountAlias!):\(region)" }
                var links: [[String: Any]] = []
                if let link = alert.link { links.append(["href": link, "text": "Audit results in the AWS IoT console"]) }
                if let docs = finding.documentationURL { links.append(["href": docs, "text": "\(finding.checkName) in the AWS documentation"]) }
                var event: [String: Any] = ["event_action": "trigger", "dedup_key": key, "payload": payload, "client": "defender-relay"]
                if !links.isEmpty { event["links"] = links }
                if let link = alert.link { event["client_url"] = link }
                events.append(Event(dedupKey: key, body: AlertText.json(event), fingerprint: "\(key)|trigger|\(finding.nonCompliantResources)"))
            case .resolved:
                events.append(resolve(key))
            case .failed:
                break
            }
        }
        return events
    }

    static func detectEvents(_ alert: Alert) -> [Event] {
        alert.violations.map { violation in
            let key = "detect:\(violation.violationID)"
            guard violation.eventType == "in-alarm" else {
                return resolve(key)
            }
            let payload: [String: Any] = [
                "summary": AlertText.truncate("\(alert.severity.rawValue): \(violation.thingName) in alarm · \(alert.attributes.securityProfileName ?? "") · \(alert.place)", 1024),
                "source": violation.thingName, "severity": severity(alert.severity), "timestamp": AlertText.isoTime(violation.eventTime),
                "component": violation.thingName, "group": alert.attributes.securityProfileName ?? "", "class": "detect violation",
                "custom_details": Dictionary(alert.facts.map { ($0.label, $0.value) }, uniquingKeysWith: { first, _ in first }).merging(["observed": violation.metricValue ?? ""]) { first, _ in first },
            ]
            return Event(dedupKey: key, body: AlertText.json(["event_action": "trigger", "dedup_key": key, "payload": payload, "client": "defender-relay"]), fingerprint: "\(key)|trigger")
        }
    }

    /// An overdue schedule (account, region, name) is one incident; its run arriving again
    /// resolves it.
    static func overdueEvents(_ alert: Alert) -> [Event] {
        let key = "overdue:\(alert.accountID ?? ""):\(alert.region ?? ""):\(alert.attributes.scheduledAuditName ?? "")"
        guard alert.attributes.eventType == "overdue" else {
            return [resolve(key)]
        }
        let payload: [String: Any] = [
            "summary": AlertText.truncate(alert.headline + ". " + alert.summary, 1024), "source": "aws-iot-device-defender:\(alert.accountID ?? ""):\(alert.region ?? "")",
            "severity": severity(alert.severity), "timestamp": AlertText.isoTime(alert.occurredAt), "class": "overdue audit",
            "group": alert.attributes.scheduledAuditName ?? "", "custom_details": Dictionary(alert.facts.map { ($0.label, $0.value) }, uniquingKeysWith: { first, _ in first }),
        ]
        return [Event(dedupKey: key, body: AlertText.json(["event_action": "trigger", "dedup_key": key, "payload": payload, "client": "defender-relay"]), fingerprint: "\(key)|trigger")]
    }

    /// Ends the incident `key` (PagerDuty ignores a resolve for a key it has no incident of).
    public static func resolve(_ key: String) -> Event {
        Event(dedupKey: key, body: AlertText.json(["event_action": "resolve", "dedup_key": key]), fingerprint: "\(key)|resolve")
    }

    /// PagerDuty knows critical, error, warning and info.
    static func severity(_ severity: Severity) -> String {
        switch severity {
        case .critical: "critical"
        case .high: "error"
        case .medium, .unknown: "warning"
        case .low: "info"
        }
    }
}
