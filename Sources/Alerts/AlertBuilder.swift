import DeviceDefender
import Foundation

/// Builds alerts from what the relay stored. Pure: the console link template is passed in.
public struct AlertBuilder: Sendable {
    /// `{region}` and `{taskId}` are replaced; the default opens the audit's results in the
    /// AWS IoT console (`alerts.console_url`).
    public var consoleURLTemplate: String
    public var catalog: CheckCatalog

    public static let defaultConsoleURLTemplate = "https://{region}.console.aws.amazon.com/iot/home?region={region}#/dd/audit/results/{taskId}"

    public init(consoleURLTemplate: String = AlertBuilder.defaultConsoleURLTemplate, catalog: CheckCatalog = .known) {
        self.consoleURLTemplate = consoleURLTemplate
        self.catalog = catalog
    }

    /// The region of an SNS topic ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`).
    public static func region(ofTopic topicARN: String) -> String? {
        let parts = topicARN.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 6 && !parts[3].isEmpty ? String(parts[3]) : nil
    }

    public func audit(_ audit: AuditNotification, change: AuditChange, topicARN: String) -> Alert {
        var findings: [Alert.Finding] = []
        let entries: [(AuditChange.Entry, Alert.Finding.Change)] =
            change.newlyNonCompliant.map { ($0, .new) } + change.worsened.map { ($0, .worse) } + change.unchanged.map { ($0, .known) }
        var covered = Set<String>()
        for (entry, kind) in entries {
            covered.insert(entry.checkName)
            let check = audit.checks.first { $0.checkName == entry.checkName }
            findings.append(finding(entry.checkName, severity: entry.severity, change: kind, current: entry.currentCount, total: check?.totalResourcesCount ?? 0, previous: entry.previousCount))
        }
        // Non-compliant checks the comparison did not cover (a first run lists them all as new).
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
        let order: [Alert.Finding.Change: Int] = [.new: 0, .worse: 1, .known: 2, .failed: 3, .better: 4, .resolved: 5]
        findings.sort { (order[$0.change]!, -$0.severity.rank, -$0.nonCompliantResources, $0.checkName) < (order[$1.change]!, -$1.severity.rank, -$1.nonCompliantResources, $1.checkName) }

        let fresh = findings.filter { $0.change == .new || $0.change == .worse }
        let nonCompliant = findings.filter { $0.change == .new || $0.change == .worse || $0.change == .known }
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
        if !fresh.isEmpty {
            let worst = fresh[0]
            summaryParts.append("\(fresh.count) new or worse (\(worst.severity.rawValue) \(worst.checkName): \(worst.nonCompliantResources) resource\(worst.nonCompliantResources == 1 ? "" : "s"))")
        }
        let known = nonCompliant.count - fresh.count
        if known > 0 { summaryParts.append("\(known) known") }
        let resolved = findings.filter { $0.change == .resolved }.count
        if resolved > 0 { summaryParts.append("\(resolved) resolved") }
        let failed = findings.filter { $0.change == .failed }.count
        if failed > 0 { summaryParts.append("\(failed) did not run") }
        let summary = "Device Defender " + title + (summaryParts.isEmpty ? "" : " — " + summaryParts.joined(separator: ", "))

        let region = Self.region(ofTopic: topicARN)
        var facts = [
            Alert.Fact(label: "Account", value: audit.accountID),
            Alert.Fact(label: "Audit", value: audit.scheduledAuditName ?? "on demand"),
            Alert.Fact(label: "Task", value: audit.taskID),
            Alert.Fact(label: "Checks", value: "\(audit.nonCompliantChecksCount) non-compliant, \(audit.compliantChecksCount) compliant, \(audit.failedChecksCount) failed of \(audit.totalChecksCount)"),
        ]
        if let previous = change.previousTaskID { facts.append(Alert.Fact(label: "Compared with", value: previous)) }
        let fingerprint = ([audit.seriesKey, audit.taskStatus.rawValue] + nonCompliant.map { "\($0.checkName)=\($0.nonCompliantResources)" }.sorted()).joined(separator: "|")
        return Alert(
            kind: .audit, id: "audit:\(audit.taskID)", title: "Device Defender audit: " + title, summary: summary, severity: severity,
            topicARN: topicARN, region: region, accountID: audit.accountID, link: link(region: region, taskID: audit.taskID),
            occurredAt: audit.taskStartTime, facts: facts, findings: findings,
            attributes: .init(
                taskStatus: audit.taskStatus.rawValue, taskType: audit.taskType.rawValue, scheduledAuditName: audit.scheduledAuditName,
                checkNames: nonCompliant.map(\.checkName), nonCompliantChecks: nonCompliant.count, hasNewFindings: !fresh.isEmpty,
                eventType: nil, securityProfileName: nil, fingerprint: fingerprint
            )
        )
    }

    public func detect(_ violation: DetectViolation, topicARN: String) -> Alert {
        let verb: String = switch violation.eventType {
        case .inAlarm: "in alarm"
        case .alarmCleared: "cleared"
        case .alarmInvalidated: "invalidated"
        }
        var facts = [
            Alert.Fact(label: "Thing", value: violation.thingName),
            Alert.Fact(label: "Security profile", value: violation.securityProfileName),
            Alert.Fact(label: "Behavior", value: violation.behaviorName + (violation.metric.map { " (\($0))" } ?? "")),
        ]
        if let criteria = violation.criteria { facts.append(.init(label: "Criteria", value: criteria)) }
        if let value = violation.metricValue { facts.append(.init(label: "Observed", value: value)) }
        if let state = violation.verificationState { facts.append(.init(label: "Verification", value: state)) }
        let region = Self.region(ofTopic: topicARN)
        let title = "Device Defender Detect: \(violation.thingName) \(verb) (\(violation.behaviorName))"
        return Alert(
            kind: .detect, id: "detect:\(violation.violationID):\(violation.eventType.rawValue):\(violation.eventTime)", title: title,
            summary: title + (violation.metricValue.map { ", observed \($0)" } ?? "") + (violation.criteria.map { ", criteria \($0)" } ?? ""),
            severity: violation.eventType == .inAlarm ? .high : .low, topicARN: topicARN, region: region, accountID: nil,
            link: nil, occurredAt: violation.eventTime,
            facts: facts, findings: [],
            attributes: .init(
                taskStatus: nil, taskType: nil, scheduledAuditName: nil, checkNames: [], nonCompliantChecks: 0,
                hasNewFindings: violation.eventType == .inAlarm, eventType: violation.eventType.rawValue,
                securityProfileName: violation.securityProfileName,
                fingerprint: "\(violation.violationID)|\(violation.eventType.rawValue)"
            )
        )
    }

    /// `status` is `confirmed`, `pending` or `unsubscribed`.
    public func subscription(topicARN: String, status: String, detail: String?, messageID: String, at: Int64) -> Alert {
        let title = "SNS subscription \(status): \(topicARN)"
        return Alert(
            kind: .subscription, id: "subscription:\(messageID):\(status)", title: title, summary: title + (detail.map { " — \($0)" } ?? ""),
            severity: status == "unsubscribed" ? .high : .low, topicARN: topicARN, region: Self.region(ofTopic: topicARN), accountID: nil,
            link: nil, occurredAt: at, facts: [.init(label: "Topic", value: topicARN), .init(label: "Status", value: status)], findings: [],
            attributes: .init(taskStatus: nil, taskType: nil, scheduledAuditName: nil, checkNames: [], nonCompliantChecks: 0, hasNewFindings: true, eventType: status, securityProfileName: nil, fingerprint: "\(topicARN)|\(status)")
        )
    }

    public func unrecognized(topicARN: String, subject: String?, message: String, reason: String, messageID: String, at: Int64) -> Alert {
        let excerpt = String(message.prefix(500))
        let title = subject.map { "SNS message: \($0)" } ?? "SNS message that is not a Device Defender payload"
        return Alert(
            kind: .unrecognized, id: "unrecognized:\(messageID)", title: title, summary: title + " — " + String(excerpt.prefix(200)),
            severity: .unknown, topicARN: topicARN, region: Self.region(ofTopic: topicARN), accountID: nil, link: nil, occurredAt: at,
            facts: [.init(label: "Topic", value: topicARN), .init(label: "Message", value: excerpt), .init(label: "Why not decoded", value: reason)],
            findings: [],
            attributes: .init(taskStatus: nil, taskType: nil, scheduledAuditName: nil, checkNames: [], nonCompliantChecks: 0, hasNewFindings: true, eventType: nil, securityProfileName: nil, fingerprint: messageID)
        )
    }

    private func finding(_ name: String, severity: Severity, change: Alert.Finding.Change, current: Int, total: Int, previous: Int?) -> Alert.Finding {
        Alert.Finding(checkName: name, title: catalog.definition(for: name)?.title, severity: severity, change: change, nonCompliantResources: current, totalResources: total, previousNonCompliantResources: previous, error: nil)
    }

    private func link(region: String?, taskID: String) -> String? {
        guard let region else { return nil }
        return consoleURLTemplate.replacingOccurrences(of: "{region}", with: region).replacingOccurrences(of: "{taskId}", with: taskID)
    }
}
