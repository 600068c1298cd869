import Alerts
import ArgumentParser
import DeviceDefender
import Ingest
import Foundation
import Relay
import RelayConfig
import SNS
import Storage

struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check routing rules.", subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which receivers a message would reach and what each would get. Sends nothing.",
            discussion: """
                FILE is a saved SNS message (JSON envelope) or a bare payload (audit, Detect event, anything). \
                When the configured store can be read, an audit is compared with the stored previous run of its series \
                and active silences apply, as the relay would; otherwise (or with --no-store) it is treated as a first run. \
                With --expect, exits 1 when the receivers that would be sent to differ from the list (for CI).
                """
        )

        @Argument(help: "A saved SNS message or a bare payload.") var file: String
        @Option(help: "The topic to assume for a bare payload.") var topic = "arn:aws:sns:us-east-1:123456789012:device-defender-audits"
        @Option(help: "Evaluate mute windows at this ISO 8601 time (default: now).") var now: String?
        @Option(help: "The receivers that must get the alert, comma-separated (none: an empty string); exit 1 when they differ.") var expect: String?
        @Flag(help: "Do not read the store: treat an audit as the first run of its series.") var noStore = false
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let configuration = try options.load()
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
            var text = String(decoding: data, as: UTF8.self)
            var topicARN = topic
            var subject: String?
            // An envelope (signed or not: nothing is sent, so nothing is verified) or a bare payload.
            if let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
               object["Type"] is String, let inner = object["Message"] as? String {
                text = inner
                topicARN = object["TopicArn"] as? String ?? topic
                subject = object["Subject"] as? String
            }
            let at: Int64
            if let now {
                guard let instant = SNSInstant(iso8601: now) else { throw ValidationError("--now must be an ISO 8601 UTC time") }
                at = instant.millisecondsSince1970
            } else {
                at = RelayClock.now().millisecondsSince1970
            }
            let message = StoredMessage(messageID: "route-test", type: "Notification", topicARN: topicARN, subject: subject, message: text, snsTimestamp: "", signatureVersion: "2", signingCertURL: "", rawEnvelope: [], receivedAt: at)
            var silences: [Silence] = []
            let event: RecordedEvent
            switch DefenderPayload.classify(text) {
            case .audit(var audit):
                audit.region = audit.region ?? TopicARN(topicARN)?.region
                var previous: AuditNotification?
                if !noStore, let stored = try await Self.storedContext(of: audit, configuration: configuration, at: at) {
                    previous = stored.previous
                    silences = stored.silences
                    print(previous.map { "Compared with the stored run \($0.taskID)." } ?? "No earlier run of this series is stored: a first run.")
                }
                event = .audit(audit, AuditChange.between(previous: previous, current: audit))
            case .detect(let violation): event = .detect(violation)
            case .unrecognized(let reason): event = .unrecognized(reason: reason)
            }
            let planner = try AlertPlanner(configuration: configuration)
            guard let alert = planner.alert(for: message, event: event, silences: silences) else {
                if let expect { try Self.verify(expected: expect, actual: []) }
                print("No alert would be built (every finding is silenced, or nothing is told of this message).")
                return
            }
            print("\(alert.kind.rawValue) alert, \(alert.severity.rawValue): \(alert.headline)")
            let decisions = AlertRouter(routes: configuration.routes, defaultReceivers: configuration.alerts.defaultReceivers).decide(alert, now: at)
            guard !decisions.isEmpty else {
                print(alert.isQuiet
                    ? "No receiver: every check is compliant and nothing was resolved; only a route with noncompliant: false hears such an audit."
                    : "No receiver: no route matched and alerts.default_receivers is empty.")
                if let expect { try Self.verify(expected: expect, actual: []) }
                return
            }
            for decision in decisions {
                let rule = decision.routeIndex.map { "routes[\($0)]" } ?? "alerts.default_receivers"
                print("\n→ \(decision.receiver) via \(rule)\(decision.muted ? " (MUTED now: nothing would be sent)" : "")\(decision.repeatIntervalSeconds.map { ", repeat_interval \($0) s" } ?? "")")
                guard let body = planner.render(alert, forReceiverNamed: decision.receiver) else { continue }
                print(String(decoding: body, as: UTF8.self))
            }
            // Muted receivers would be sent nothing.
            if let expect { try Self.verify(expected: expect, actual: decisions.filter { !$0.muted }.map(\.receiver)) }
        }

        /// `amtool config routes test --verify.receivers`: the same receivers, in any order.
        static func verify(expected: String, actual: [String]) throws {
            let wanted = Set(expected.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            let got = Set(actual)
            if wanted == got {
                print("OK: the receivers are \(got.isEmpty ? "none" : got.sorted().joined(separator: ","))")
                return
            }
            print("MISMATCH: expected \(wanted.isEmpty ? "none" : wanted.sorted().joined(separator: ",")), got \(got.isEmpty ? "none" : got.sorted().joined(separator: ","))")
            throw ExitCode.failure
        }

        /// The stored previous run of the audit's series and the silences in effect, when the
        /// store can be read (an SQLite file that exists, or a PostgreSQL server that answers).
        static func storedContext(of audit: AuditNotification, configuration: RelayConfiguration, at: Int64) async throws -> (previous: AuditNotification?, silences: [Silence])? {
            if let location = try? StorageLocation(url: configuration.storage.url), case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
                return nil
            }
            do {
                return try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { store in
                    let query = AuditQuery(accountID: audit.accountID, scheduledAuditName: audit.scheduledAuditName, until: audit.taskStartTime - 1, limit: 20, region: audit.region)
                    let earlier = try await store.audits(query).audits.first { $0.taskType == audit.taskType.rawValue && $0.scheduledAuditName == audit.scheduledAuditName && $0.taskID != audit.taskID }
                    var previous: AuditNotification?
                    if let earlier, let stored = try await store.audit(taskID: earlier.taskID) {
                        previous = AuditNotification(
                            accountID: audit.accountID, taskID: stored.summary.taskID, taskStatus: .completed, taskType: audit.taskType,
                            scheduledAuditName: audit.scheduledAuditName, failedChecksCount: 0, canceledChecksCount: 0, nonCompliantChecksCount: 0,
                            compliantChecksCount: 0, totalChecksCount: stored.checks.count, taskStartTime: stored.summary.taskStartTime, checks: stored.checks
                        )
                    }
                    return (previous, try await store.silences(includeEnded: false, at: at))
                }
            } catch {
                print("The store cannot be read (\(error)); the audit is treated as a first run.")
                return nil
            }
        }
    }
}
