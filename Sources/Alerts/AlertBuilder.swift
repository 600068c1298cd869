import DeviceDefender
import Foundation

/// Builds alerts from what the relay stored. Pure: the console link template is passed in.
public struct AlertBuilder: Sendable {
    /// `{region}` and `{taskId}` are replaced; the default opens the audit's results in the
    /// AWS IoT console (`alerts.console_url`).
    public var consoleURLTemplate: String
    public var catalog: CheckCatalog
    /// Account ids to the names people know them by (`accounts:`).
    public var accountAliases: [String: String]

    public static let defaultConsoleURLTemplate = "https://{region}.console.aws.amazon.com/iot/home?region={region}#/dd/audit/results/{taskId}"

    public init(consoleURLTemplate: String = AlertBuilder.defaultConsoleURLTemplate, catalog: CheckCatalog = .known, accountAliases: [String: String] = [:]) {
        self.consoleURLTemplate = consoleURLTemplate
        self.catalog = catalog
        self.accountAliases = accountAliases
    }

    /// The region of an SNS topic ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`).
    public static func region(ofTopic topicARN: String) -> String? {
        let parts = topicARN.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 6 && !parts[3].isEmpty ? String(parts[3]) : nil
    }

    /// The account of an SNS topic ARN: Detect events do not name their account, the topic does.
    public static func account(ofTopic topicARN: String) -> String? {
        let parts = topicARN.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 6 && parts[4].count == 12 ? String(parts[4]) : nil
    }

    /// The alert for an audit. Findings of `silenced` checks are left out (they are stored and
    /// shown by the API, but alert nobody); nil when that leaves nothing to say.
    public func audit(_ audit: AuditNotification, change: AuditChange, topicARN: String, silenced: Set<String> = []) -> Alert? {
        let (alert, leftOut) = self.audit(audit, change: change, topicARN: topicARN, leavingOut: silenced)
        // Only a silence that left a finding out can leave nothing to say; one on a compliant
        // check changes nothing.
        if leftOut > 0, alert.isQuiet || (alert.findings.isEmpty && alert.attributes.taskStatus == "COMPLETED") { return nil }
        return alert
    }

    public func audit(_ audit: AuditNotification, change: AuditChange, topicARN: String) -> Alert {
        self.audit(audit, change: change, topicARN: topicARN, leavingOut: []).alert
    }

    /// The alert, and how many findings the silences left out of it.
    private func audit(_ audit: AuditNotification, change: AuditChange, topicARN: String, leavingOut silenced: Set<String>) -> (alert: Alert, leftOut: Int) {
        var findings: [Alert.Finding] = []
        let entries: [(AuditChange.Entry, Alert.Finding.Change)] =
            change.newlyNonCompliant.map { ($0, .new) } + change.worsened.map { ($0, .worse) } + change.unchanged.map { ($0, .known) }
        var covered = Set<String>()
        for (entry, kind) in entries {
            covered.insert(entry.checkName)
            let check = audit.checks.first { $0.checkName == entry.checkName }
            findings.append(finding(entry.checkName, severity: entry.severity, change: kind, current: entry.currentCount, total: check?.totalResourcesCount ?? 0, previous: entry.previousCount))
        }
        // Non-compliant checks the comparison did not cover (a first run lists them all as new);
        // improved ones are covered below.
        covered.formUnion(change.improved.map(\.checkName))
        for check in audit.checks where check.isNonCompliant && !covered.contains(check.checkName) {
            covered.insert(check.checkName)
            findings.append(finding(check.checkName, severity: check.severity, change: .new, current: check.nonCompliantResourcesCount, total: check.totalResourcesCount, previous: nil))
        }
        for check in audit.checks where check.runStatus == .failed || check.runStatus == .canceled {
            var failed = finding(check.checkName, severity: check.severity, change: .failed, current: 0, total: check.totalResourcesCount, previous: nil)
            failed.error = [check.errorCode, check.message].compactMap { $0 }.joined(separator: ": ")
            findings.append(failed)
        }
        for entry in change.improved {
            let check = audit.checks.first { $0.checkName == entry.checkName }
            findings.append(finding(entry.checkName, severity: entry.severity, change: .better, current: entry.currentCount, total: check?.totalResourcesCount ?? 0, previous: entry.previousCount))
        }
        for entry in change.resolved {
            let check = audit.checks.first { $0.checkName == entry.checkName }
            findings.append(finding(entry.checkName, severity: entry.severity, change: .resolved, current: 0, total: check?.totalResourcesCount ?? 0, previous: entry.previousCount))
        }
        let silencedCount = silenced.isEmpty ? 0 : Set(findings.map(\.checkName)).intersection(silenced).count
        findings.removeAll { silenced.contains($0.checkName) }
        let order: [Alert.Finding.Change: Int] = [.new: 0, .worse: 1, .known: 2, .failed: 3, .better: 4, .resolved: 5]
        findings.sort { (order[$0.change]!, -$0.severity.rank, -$0.nonCompliantResources, $0.checkName) < (order[$1.change]!, -$1.severity.rank, -$1.nonCompliantResources, $1.checkName) }

        let fresh = findings.filter { $0.change == .new || $0.change == .worse }
        // Better is still non-compliant: fewer resources, not none.
        let nonCompliant = findings.filter { $0.change == .new || $0.change == .worse || $0.change == .known || $0.change == .better }
        let resolved = findings.filter { $0.change == .resolved }
        let failed = findings.filter { $0.change == .failed }
        let severity = (fresh.isEmpty ? nonCompliant : fresh).map(\.severity).max() ?? .unknown
        let name = audit.scheduledAuditName ?? "On-demand audit"
        let title: String
        switch audit.taskStatus {
        case .failed: title = "\(name) failed"
        case .canceled: title = "\(name) was canceled"
        case .completed where nonCompliant.isEmpty: title = "\(name): all checks compliant"
        case .completed: title = "\(name): \(nonCompliant.count) non-compliant check\(nonCompliant.count == 1 ? "" : "s")"
        }
        var summaryParts: [String] = []
        let newCount = fresh.filter { $0.change == .new }.count
        if newCount > 0 { summaryParts.append("\(newCount) new") }
        if fresh.count > newCount { summaryParts.append("\(fresh.count - newCount) worse") }
        let better = findings.filter { $0.change == .better }.count
        let known = nonCompliant.count - fresh.count - better
        if known > 0 { summaryParts.append("\(known) known") }
        if better > 0 { summaryParts.append("\(better) better") }
        if !resolved.isEmpty { summaryParts.append("\(resolved.count) resolved") }
        if !failed.isEmpty { summaryParts.append("\(failed.count) did not run") }
        if silencedCount > 0 { summaryParts.append("\(silencedCount) silenced") }
        // The non-compliant checks' breakdown in brackets; what is not non-compliant after it.
        let breakdown = summaryParts.filter { $0.hasSuffix(" new") || $0.hasSuffix(" worse") || $0.hasSuffix(" known") || $0.hasSuffix(" better") }
        let rest = summaryParts.filter { !breakdown.contains($0) }
        let summary = (["\(audit.nonCompliantChecksCount) of \(audit.totalChecksCount) checks non-compliant" + (breakdown.isEmpty ? "" : " (" + breakdown.joined(separator: ", ") + ")")] + rest).joined(separator: "; ")

        let region = audit.region ?? Self.region(ofTopic: topicARN)
        let alias = accountAliases[audit.accountID]
        var facts = [
            Alert.Fact(label: "Account", value: AlertText.accountName(audit.accountID, alias: alias)),
            Alert.Fact(label: "Region", value: region ?? "unknown"),
            Alert.Fact(label: "Audit", value: audit.scheduledAuditName ?? "on demand"),
            Alert.Fact(label: "Ran", value: AlertText.utcTime(audit.taskStartTime)),
            Alert.Fact(label: "Previous run", value: change.previousTaskStartTime.map(AlertText.utcTime) ?? (change.isFirstRun ? "first run of this schedule" : "unknown")),
            Alert.Fact(label: "Task", value: audit.taskID),
        ]
        if audit.scheduledAuditName == nil, change.isFirstRun { facts[4].value = "first on-demand audit of this account and region" }
        let fingerprint = ([audit.seriesKey, audit.taskStatus.rawValue] + nonCompliant.map { "\($0.checkName)=\($0.nonCompliantResources)" }.sorted()).joined(separator: "|")
        var alert = Alert(
            kind: .audit, id: "audit:\(audit.taskID)", title: "Device Defender audit: " + title, headline: "", summary: summary, severity: severity,
            topicARN: topicARN, region: region, accountID: audit.accountID, accountAlias: alias, link: link(region: region, taskID: audit.taskID),
            occurredAt: audit.taskStartTime, previousRunAt: change.previousTaskStartTime, facts: facts, findings: findings,
            attributes: .init(
                taskStatus: audit.taskStatus.rawValue, taskType: audit.taskType.rawValue, scheduledAuditName: audit.scheduledAuditName,
                checkNames: nonCompliant.map(\.checkName), nonCompliantChecks: nonCompliant.count, hasNewFindings: !fresh.isEmpty,
                eventType: nil, securityProfileName: nil, fingerprint: fingerprint, resolvedCheckNames: resolved.map(\.checkName),
                resolvedSeverity: resolved.map(\.severity).max()
            )
        )
        alert.headline = AlertHeadline.audit(alert, status: audit.taskStatus, scheduledAuditName: audit.scheduledAuditName)
        return (alert, silencedCount)
    }

    public func detect(_ violation: DetectViolation, topicARN: String, alarmStartedAt: Int64? = nil) -> Alert {
        detect([violation], topicARN: topicARN, alarmStartedAt: alarmStartedAt.map { [violation.violationID: $0] } ?? [:])!
    }

    /// One alert for Detect events of one security profile and behavior with the same event
    /// type (a group, as `alerts.detect_group_by` gathers them): one message lists every thing
    /// instead of one message per thing. `alarmStartedAt` holds, by violationId, when the alarm
    /// that a clearing ends began (for "lasted 2h 5m"). Nil for no violations.
    public func detect(_ violations: [DetectViolation], topicARN: String, alarmStartedAt: [String: Int64] = [:]) -> Alert? {
        guard let first = violations.first else { return nil }
        let sorted = violations.sorted { ($0.eventTime, $0.thingName, $0.violationID) < ($1.eventTime, $1.thingName, $1.violationID) }
        let region = Self.region(ofTopic: topicARN)
        let accountID = Self.account(ofTopic: topicARN)
        let alias = accountID.flatMap { accountAliases[$0] }
        let items = sorted.map { violation in
            Alert.Violation(
                violationID: violation.violationID, thingName: violation.thingName, eventType: violation.eventType.rawValue, eventTime: violation.eventTime,
                metricValue: violation.metricValue, alarmStartedAt: alarmStartedAt[violation.violationID]
            )
        }
        let things = Set(sorted.map(\.thingName))
        let verb: String = switch first.eventType {
        case .inAlarm: "in alarm"
        case .alarmCleared: "back to normal"
        case .alarmInvalidated: "alarm invalidated"
        }
        let subject = things.count == 1 ? first.thingName : "\(things.count) things"
        let title = "Device Defender Detect: \(subject) \(verb) (\(first.securityProfileName) / \(first.behaviorName))"
        var facts: [Alert.Fact] = []
        if let accountID { facts.append(.init(label: "Account", value: AlertText.accountName(accountID, alias: alias))) }
        if let region { facts.append(.init(label: "Region", value: region)) }
        if things.count == 1 { facts.append(.init(label: "Thing", value: first.thingName)) }
        facts.append(.init(label: "Security profile", value: first.securityProfileName))
        facts.append(.init(label: "Behavior", value: first.behaviorName + (first.metric.map { " (\($0))" } ?? "")))
        // One event: the summary says what was observed against which criteria.
        if sorted.count > 1, let criteria = first.criteria { facts.append(.init(label: "Criteria", value: criteria)) }
        if sorted.count == 1, let state = first.verificationState { facts.append(.init(label: "Verification", value: state)) }
        facts.append(.init(label: sorted.count == 1 ? "At" : "From", value: AlertText.utcTime(sorted.first!.eventTime)))
        if sorted.count > 1 { facts.append(.init(label: "To", value: AlertText.utcTime(sorted.last!.eventTime))) }
        if sorted.count == 1, let started = items[0].alarmStartedAt {
            facts.append(.init(label: "Lasted", value: AlertText.duration(milliseconds: first.eventTime - started)))
        }
        let summary = things.count == 1
            ? "\(first.thingName) \(verb)" + (first.metricValue.map { ", observed \($0)" } ?? "") + (first.criteria.map { ", criteria \($0)" } ?? "")
            : "\(things.count) things \(verb): " + sorted.prefix(5).map(\.thingName).joined(separator: ", ") + (things.count > 5 ? ", ..." : "")
        let ids = sorted.map { "\($0.violationID):\($0.eventType.rawValue):\($0.eventTime)" }
        var alert = Alert(
            kind: .detect, id: "detect:" + (ids.count == 1 ? ids[0] : "group:" + AlertText.digest(ids.joined(separator: ","))), title: title, headline: "",
            summary: summary, severity: first.eventType == .inAlarm ? .high : .low, topicARN: topicARN, region: region, accountID: accountID,
            accountAlias: alias, link: nil, occurredAt: sorted.first!.eventTime, previousRunAt: nil,
            facts: facts, findings: [],
            attributes: .init(
                taskStatus: nil, taskType: nil, scheduledAuditName: nil, checkNames: [], nonCompliantChecks: 0,
                hasNewFindings: first.eventType == .inAlarm, eventType: first.eventType.rawValue,
                securityProfileName: first.securityProfileName,
                // Bounded whatever the group's size (it is indexed): a digest for a group.
                fingerprint: sorted.count == 1 ? "\(first.violationID)|\(first.eventType.rawValue)"
                    : "group|" + AlertText.digest(sorted.map { "\($0.violationID)|\($0.eventType.rawValue)" }.joined(separator: ","))
            )
        )
        alert.violations = items
        alert.headline = AlertHeadline.detect(alert, verb: verb, subject: subject, profile: first.securityProfileName, behavior: first.behaviorName)
        return alert
    }

    /// `status` is `confirmed`, `pending` or `unsubscribed`.
    public func subscription(topicARN: String, status: String, detail: String?, messageID: String, at: Int64) -> Alert {
        let title = "SNS subscription \(status): \(topicARN)"
        return Alert(
            kind: .subscription, id: "subscription:\(messageID):\(status)", title: title,
            headline: AlertText.truncate("\(status == "unsubscribed" ? "HIGH" : "INFO"): SNS subscription \(status) · \(topicARN.split(separator: ":").last ?? "")", AlertHeadline.maxCharacters),
            summary: title + (detail.map { " — \($0)" } ?? ""),
            severity: status == "unsubscribed" ? .high : .low, topicARN: topicARN, region: Self.region(ofTopic: topicARN), accountID: Self.account(ofTopic: topicARN),
            accountAlias: Self.account(ofTopic: topicARN).flatMap { accountAliases[$0] }, link: nil, occurredAt: at, previousRunAt: nil, facts: [.init(label: "Topic", value: topicARN), .init(label: "Status", value: status)], findings: [],
            attributes: .init(taskStatus: nil, taskType: nil, scheduledAuditName: nil, checkNames: [], nonCompliantChecks: 0, hasNewFindings: true, eventType: status, securityProfileName: nil, fingerprint: "\(topicARN)|\(status)")
        )
    }

    public func unrecognized(topicARN: String, subject: String?, message: String, reason: String, messageID: String, at: Int64) -> Alert {
        let excerpt = String(message.prefix(500))
        let title = subject.map { "SNS message: \($0)" } ?? "SNS message that is not a Device Defender payload"
        return Alert(
            kind: .unrecognized, id: "unrecognized:\(messageID)", title: title,
            headline: AlertText.truncate("UNKNOWN: " + (subject.map { "SNS message \"\($0)\"" } ?? "SNS message not from Device Defender") + " · \(topicARN.split(separator: ":").last ?? "")", AlertHeadline.maxCharacters),
            summary: title + " — " + String(excerpt.prefix(200)),
            severity: .unknown, topicARN: topicARN, region: Self.region(ofTopic: topicARN), accountID: Self.account(ofTopic: topicARN),
            accountAlias: Self.account(ofTopic: topicARN).flatMap { accountAliases[$0] }, link: nil, occurredAt: at, previousRunAt: nil,
            facts: [.init(label: "Topic", value: topicARN), .init(label: "Message", value: excerpt), .init(label: "Why not decoded", value: reason)],
            findings: [],
            attributes: .init(taskStatus: nil, taskType: nil, scheduledAuditName: nil, checkNames: [], nonCompliantChecks: 0, hasNewFindings: true, eventType: nil, securityProfileName: nil, fingerprint: messageID)
        )
    }

    private func finding(_ name: String, severity: Severity, change: Alert.Finding.Change, current: Int, total: Int, previous: Int?) -> Alert.Finding {
        let definition = catalog.definition(for: name)
        return Alert.Finding(
            checkName: name, title: definition?.title, severity: severity, change: change, nonCompliantResources: current, totalResources: total,
            previousNonCompliantResources: previous, error: nil, meaning: definition?.description, remediation: definition?.remediation,
            documentationURL: definition?.documentationURL
        )
    }

    private func link(region: String?, taskID: String) -> String? {
        guard let region else { return nil }
        return consoleURLTemplate.replacingOccurrences(of: "{region}", with: region).replacingOccurrences(of: "{taskId}", with: taskID)
    }
}
