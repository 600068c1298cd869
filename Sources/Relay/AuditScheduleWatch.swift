import Alerts
import DeviceDefender
import Ingest
import Logging
import SNS
import ServiceLifecycle
import Storage

/// Watches the scheduled audits of `alerts.expect` and queues `overdue` and `back` alerts
/// through the outbox. Alert ids are derived from the expectation and the run, and the outbox
/// keeps one row per id: several replicas watching at once, or a restart, queue each alert
/// once. Reads the planner in effect, so a reload changes the expectations at the next check.
public struct AuditScheduleWatch: Service {
    let store: any Store
    let routing: AlertRouting
    let clock: @Sendable () -> SNSInstant
    let logger: Logger
    /// Most runs read per expectation: each covered schedule's two latest runs are found among
    /// them (a schedule whose runs all fall further back is no longer judged).
    static let runsRead = 1000

    public init(store: any Store, routing: AlertRouting, clock: @escaping @Sendable () -> SNSInstant, logger: Logger) {
        self.store = store
        self.routing = routing
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: { Self.interval(routing.planner?.expectations ?? []) }) { await checkOnce() }
    }

    /// A quarter of the shortest window, between 0.2 s and 30 s: an overdue audit is told of
    /// within a quarter of its window, and a daily audit costs two reads a minute.
    static func interval(_ expectations: [AuditExpectation]) -> Duration {
        guard let window = expectations.map(\.windowMilliseconds).min() else { return .seconds(30) }
        return .milliseconds(min(30_000, max(200, window / 4)))
    }

    /// One look at every expectation; a failure is logged and tried again at the next look.
    public func checkOnce() async {
        guard let planner = routing.planner, !planner.expectations.isEmpty else { return }
        let now = clock().millisecondsSince1970
        for expectation in planner.expectations {
            do {
                let runs = try await store.latestScheduledAudits(accountID: expectation.accountID, region: expectation.region, limit: Self.runsRead)
                    .filter(expectation.covers)
                // Each schedule (account, region, name) on its own: one that stopped is overdue
                // however well the others keep arriving.
                var series: [String: [AuditArrival]] = [:]
                var order: [String] = []
                for run in runs {
                    let key = "\(run.accountID):\(run.region):\(run.scheduledAuditName ?? "")"
                    if series[key] == nil { order.append(key) }
                    if series[key, default: []].count < 2 { series[key, default: []].append(run) }
                }
                for key in order {
                    switch expectation.verdict(runs: series[key]!, now: now) {
                    case .overdue(let last):
                        try await queue(planner.builder.overdue(expectation, last: last, now: now), planner: planner, now: now)
                    case .back(let run, let previous):
                        // Back only after an overdue alert went out for the run before.
                        guard try await store.isAlertQueued(alertID: "overdue:\(expectation.key):\(previous.taskID)") else { continue }
                        try await queue(planner.builder.back(expectation, run: run, after: previous), planner: planner, now: now)
                    case .noRunYet, .onTime:
                        continue
                    }
                }
            } catch {
                logger.warning("checking an expected audit failed; tried again at the next check", metadata: ["expectation": "\(expectation.key)", "error": "\(error)"])
            }
        }
    }

    private func queue(_ alert: Alert, planner: AlertPlanner, now: Int64) async throws {
        guard try await !store.isAlertQueued(alertID: alert.id) else { return }
        let entries = planner.entries(for: alert, now: now)
        guard !entries.isEmpty else { return }
        try await store.enqueue(entries, at: now)
        logger.notice("audit schedule alert queued", metadata: ["alert": "\(alert.id)", "receivers": "\(entries.map(\.receiver).joined(separator: ","))"])
    }
}
