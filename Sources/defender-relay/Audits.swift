import ArgumentParser
import DeviceDefender
import Relay
import SNS
import Storage

struct Audits: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List stored Device Defender audits, or show one with its checks.",
        subcommands: [List.self, Show.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audits, newest first.")

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "COMPLETED, FAILED or CANCELED.") var status: String?
        @Option(help: "Only audits that ran this check.") var check: String?
        @Option(help: "Only this AWS account.") var account: String?
        @Option(help: "Only audits that ran in this AWS region (e.g. eu-west-1).") var region: String?
        @Option(name: .customLong("scheduled-audit"), help: "Only this scheduled audit.") var scheduledAudit: String?
        @Option(help: "Started at or after (ISO 8601, date or epoch ms).") var since: String?
        @Option(help: "Started at or before (ISO 8601, date or epoch ms).") var until: String?
        @Flag(help: "Only audits with non-compliant checks.") var noncompliant = false
        @Option(help: "At most this many (1 to 500).") var limit = 20
        @Option(help: "Continue from the cursor a previous page printed.") var cursor: String?
        @Flag(help: "Print JSON (as GET /api/v1/audits) instead of a table.") var json = false

        func run() async throws {
            var parameters: [String: String] = ["limit": String(limit)]
            parameters["status"] = status
            parameters["check"] = check
            parameters["account"] = account
            parameters["region"] = region
            parameters["scheduled_audit"] = scheduledAudit
            parameters["since"] = since
            parameters["until"] = until
            parameters["cursor"] = cursor
            if noncompliant { parameters["noncompliant"] = "true" }
            let query: AuditQuery
            do {
                query = try APIQueryParameters.auditQuery(parameters)
            } catch {
                throw ValidationError(error.detail.replacingOccurrences(of: "Query parameter", with: "Option"))
            }
            let configuration = try options.load()
            let page = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { try await $0.audits(query) }
            if json {
                try JSONOutput.print(APIModels.AuditList(page))
                return
            }
            guard !page.audits.isEmpty else {
                print("No audits stored that match.")
                return
            }
            let rows = page.audits.map { audit in
                [
                    audit.taskID, SNSInstant(millisecondsSince1970: audit.taskStartTime).description, audit.taskStatus,
                    audit.scheduledAuditName ?? "on demand", audit.accountID, audit.region.isEmpty ? "?" : audit.region,
                    "\(audit.nonCompliantChecksCount)/\(audit.totalChecksCount)", AuditsText.changeSummary(audit.change),
                ]
            }
            print(TextTable.render(header: ["TASK", "STARTED", "STATUS", "AUDIT", "ACCOUNT", "REGION", "NON-COMPLIANT", "SINCE LAST RUN"], rows: rows))
            if let next = page.nextCursor { print("\nMore: --cursor \(next.token)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one audit: its checks, severities and what changed.")

        @Argument(help: "The audit's taskId.") var taskID: String
        @OptionGroup var options: ConfigurationOptions
        @Flag(help: "Print JSON (as GET /api/v1/audits/{taskId}) instead of text.") var json = false

        func run() async throws {
            let configuration = try options.load()
            let found = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { try await $0.audit(taskID: taskID) }
            guard let audit = found else { throw CommandFailure("No audit with taskId \(taskID) is stored.") }
            if json {
                try JSONOutput.print(APIModels.AuditDetail(audit))
                return
            }
            let summary = audit.summary
            print("Audit \(summary.taskID) (\(summary.scheduledAuditName ?? "on demand"), account \(summary.accountID), region \(summary.region.isEmpty ? "unknown" : summary.region))")
            print("Started \(SNSInstant(millisecondsSince1970: summary.taskStartTime)), \(summary.taskStatus): \(summary.nonCompliantChecksCount) of \(summary.totalChecksCount) checks non-compliant, \(summary.failedChecksCount) failed")
            print("Since last run: \(AuditsText.changeSummary(summary.change))\n")
            let marks = AuditsText.marks(summary.change)
            let rows = audit.checks
                .sorted { ($0.severity.rank, $0.nonCompliantResourcesCount) > ($1.severity.rank, $1.nonCompliantResourcesCount) }
                .map { check in
                    [check.severity.rawValue, check.checkName, check.runStatus.rawValue,
                     "\(check.nonCompliantResourcesCount)/\(check.totalResourcesCount)", marks[check.checkName] ?? "", check.errorCode ?? ""]
                }
            print(TextTable.render(header: ["SEVERITY", "CHECK", "STATUS", "NON-COMPLIANT", "CHANGE", "ERROR"], rows: rows))
            for warning in summary.warnings { print("warning: \(warning)") }
        }
    }
}

struct Checks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The latest result of every audit check, with its trend.")

    @OptionGroup var options: ConfigurationOptions
    @Option(help: "How many past audits the trend covers (1 to 100).") var trend = 10
    @Flag(help: "Print JSON (as GET /api/v1/checks) instead of a table.") var json = false

    func run() async throws {
        let length: Int
        do {
            length = try APIQueryParameters.trendLength(["trend": String(trend)])
        } catch {
            throw ValidationError("--trend must be a whole number from 1 to 100")
        }
        let configuration = try options.load()
        let checks = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { try await $0.latestChecks(trendLength: length) }
        let list = APIModels.CheckList(checks)
        if json {
            try JSONOutput.print(list)
            return
        }
        guard !checks.isEmpty else {
            print("No audit results stored yet.")
            return
        }
        let rows = checks
            .sorted { ($0.severity.rank, $1.checkName) > ($1.severity.rank, $0.checkName) }
            .map { check in
                [check.severity.rawValue, check.checkName, check.accountID, check.region.isEmpty ? "?" : check.region, check.runStatus,
                 "\(check.nonCompliantResourcesCount)/\(check.totalResourcesCount)", check.trend.map(String.init).joined(separator: " ")]
            }
        print(TextTable.render(header: ["SEVERITY", "CHECK", "ACCOUNT", "REGION", "LATEST", "NON-COMPLIANT", "TREND (OLDEST FIRST)"], rows: rows))
    }
}

/// Words for a change, shared by the table views.
enum AuditsText {
    static func changeSummary(_ change: AuditChange) -> String {
        if change.isFirstRun { return "first run" }
        var parts: [String] = []
        if !change.newlyNonCompliant.isEmpty { parts.append("\(change.newlyNonCompliant.count) new") }
        if !change.worsened.isEmpty { parts.append("\(change.worsened.count) worse") }
        if !change.improved.isEmpty { parts.append("\(change.improved.count) better") }
        if !change.resolved.isEmpty { parts.append("\(change.resolved.count) resolved") }
        return parts.isEmpty ? "no change" : parts.joined(separator: ", ")
    }

    static func marks(_ change: AuditChange) -> [String: String] {
        var marks: [String: String] = [:]
        for entry in change.newlyNonCompliant { marks[entry.checkName] = "NEW" }
        for entry in change.worsened { marks[entry.checkName] = "WORSE (was \(entry.previousCount ?? 0))" }
        for entry in change.improved { marks[entry.checkName] = "better (was \(entry.previousCount ?? 0))" }
        for entry in change.resolved { marks[entry.checkName] = "resolved" }
        return marks
    }
}

import Foundation
import RelayConfig
