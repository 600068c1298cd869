import DeviceDefender

/// A dead man's switch (`alerts.expect`): runs of a scheduled audit should arrive every
/// `every`; when none has arrived `every + grace` after the last one, an `overdue` alert goes
/// out once, and a `back` alert when a run arrives again. An audit that silently stopped
/// (a deleted schedule, a broken SNS subscription, an expired role) is otherwise never noticed.
public struct AuditExpectation: Sendable, Equatable {
    /// A `*` glob on the scheduled audit's name.
    public var scheduledAudit: String
    public var accountID: String?
    public var region: String?
    public var everySeconds: Int64
    public var graceSeconds: Int64

    public init(scheduledAudit: String = "*", accountID: String? = nil, region: String? = nil, everySeconds: Int64, graceSeconds: Int64 = 0) {
        self.scheduledAudit = scheduledAudit
        self.accountID = accountID
        self.region = region
        self.everySeconds = everySeconds
        self.graceSeconds = graceSeconds
    }

    /// Names the expectation in alert ids: the same expectation always makes the same ids, so
    /// replicas (and restarts) queue each overdue alert once.
    public var key: String {
        "\(accountID ?? "*"):\(region ?? "*"):\(scheduledAudit)"
    }

    /// How long after a run the next must have arrived.
    public var windowMilliseconds: Int64 { (everySeconds + graceSeconds) * 1000 }

    public func covers(_ run: AuditArrival) -> Bool {
        guard let name = run.scheduledAuditName, Glob.matches(scheduledAudit, name) else { return false }
        if let accountID, accountID != run.accountID { return false }
        if let region, region != run.region { return false }
        return true
    }

    /// What the expectation calls for at `now`, given the covered runs newest first: an
    /// overdue alert for the latest run when the next is late, and a back alert for the
    /// latest run when it came late after the one before (`wasOverdue` tells whether an
    /// overdue alert went out for that one).
    public func verdict(runs: [AuditArrival], now: Int64) -> Verdict {
        guard let latest = runs.first else { return .noRunYet }
        if now > latest.receivedAt + windowMilliseconds { return .overdue(latest) }
        if runs.count > 1, latest.receivedAt > runs[1].receivedAt + windowMilliseconds { return .back(latest, after: runs[1]) }
        return .onTime(next: latest.receivedAt + windowMilliseconds)
    }

    public enum Verdict: Sendable, Equatable {
        /// Nothing to judge by: no covered run is stored yet.
        case noRunYet
        case onTime(next: Int64)
        /// No run since this one, for longer than the window.
        case overdue(AuditArrival)
        /// This run arrived after the one before had been overdue.
        case back(AuditArrival, after: AuditArrival)
    }
}

extension AlertBuilder {
    /// `OVERDUE: dailyAudit has not run for 26h · prod (123456789012) eu-west-1 · every 24h`.
    public func overdue(_ expectation: AuditExpectation, last: AuditArrival, now: Int64) -> Alert {
        let name = last.scheduledAuditName ?? expectation.scheduledAudit
        let late = AlertText.duration(milliseconds: now - last.receivedAt)
        var alert = expectationAlert(
            expectation, run: last, id: "overdue:\(expectation.key):\(last.taskID)", event: "overdue", severity: .high,
            title: "Device Defender audit overdue: \(name)", what: "\(name) has not run for \(late)",
            summary: "No run of \(name) has arrived for \(late); one is expected every \(AlertText.duration(milliseconds: expectation.everySeconds * 1000)) (grace \(AlertText.duration(milliseconds: expectation.graceSeconds * 1000))). Check that the scheduled audit still exists, that its SNS topic still delivers to this relay, and that the audit role still has its permissions.",
            now: now
        )
        alert.facts.append(.init(label: "Last run arrived", value: AlertText.utcTime(last.receivedAt)))
        return alert
    }

    /// `BACK: dailyAudit ran again after 27h · prod (123456789012) eu-west-1 · every 24h`.
    public func back(_ expectation: AuditExpectation, run: AuditArrival, after previous: AuditArrival) -> Alert {
        let name = run.scheduledAuditName ?? expectation.scheduledAudit
        let gap = AlertText.duration(milliseconds: run.receivedAt - previous.receivedAt)
        var alert = expectationAlert(
            expectation, run: run, id: "back:\(expectation.key):\(run.taskID)", event: "back", severity: .low,
            title: "Device Defender audit back: \(name)", what: "\(name) ran again after \(gap)",
            summary: "A run of \(name) arrived again, \(gap) after the one before.", now: run.receivedAt
        )
        alert.facts.append(.init(label: "Previous run arrived", value: AlertText.utcTime(previous.receivedAt)))
        alert.facts.append(.init(label: "Task", value: run.taskID))
        return alert
    }

    private func expectationAlert(
        _ expectation: AuditExpectation, run: AuditArrival, id: String, event: String, severity: Severity, title: String, what: String, summary: String, now: Int64
    ) -> Alert {
        let alias = accountAliases[run.accountID]
        var alert = Alert(
            kind: .overdue, id: id, title: title, headline: "", summary: summary, severity: severity, topicARN: "",
            region: run.region.isEmpty ? nil : run.region, accountID: run.accountID, accountAlias: alias, link: nil, occurredAt: now, previousRunAt: run.startedAt,
            facts: [
                .init(label: "Account", value: AlertText.accountName(run.accountID, alias: alias)), .init(label: "Region", value: run.region),
                .init(label: "Audit", value: run.scheduledAuditName ?? expectation.scheduledAudit),
                .init(label: "Expected", value: "every \(AlertText.duration(milliseconds: expectation.everySeconds * 1000)), grace \(AlertText.duration(milliseconds: expectation.graceSeconds * 1000))"),
            ],
            findings: [],
            attributes: .init(
                taskStatus: nil, taskType: nil, scheduledAuditName: run.scheduledAuditName, checkNames: [], nonCompliantChecks: 0,
                hasNewFindings: event == "overdue", eventType: event, securityProfileName: nil, fingerprint: "\(event)|\(expectation.key)|\(run.taskID)"
            )
        )
        alert.headline = AlertHeadline.fit(lead: event.uppercased(), what: what, alert: alert, name: "every \(AlertText.duration(milliseconds: expectation.everySeconds * 1000))")
        return alert
    }
}
