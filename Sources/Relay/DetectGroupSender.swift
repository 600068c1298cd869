import Alerts
import Ingest
import Logging
import SNS
import ServiceLifecycle
import Storage

/// Sends Detect groups when they are due (`alerts.detect`). A cheap read finds the next due
/// time; only a due group opens a write transaction, so an idle relay does not take the
/// SQLite writer every tick. With PostgreSQL, due groups are locked by the replica that
/// sends them (`FOR UPDATE SKIP LOCKED`): each group is sent once.
public struct DetectGroupSender: Service {
    let store: any Store
    let routing: AlertRouting
    let clock: @Sendable () -> SNSInstant
    let logger: Logger

    public init(store: any Store, routing: AlertRouting, clock: @escaping @Sendable () -> SNSInstant, logger: Logger) {
        self.store = store
        self.routing = routing
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: { Self.interval(routing.planner?.detectGrouping ?? DetectGrouping()) }) { await sendDue() }
    }

    /// A quarter of the shorter of wait and interval, between 0.1 s and 5 s: a group is sent
    /// at most that late.
    static func interval(_ grouping: DetectGrouping) -> Duration {
        let shortest = min(grouping.waitSeconds, grouping.intervalSeconds) * 1000
        return .milliseconds(min(5000, max(100, shortest / 4)))
    }

    /// Sends every group due now; failures are logged and tried again at the next tick (the
    /// events stay in their group).
    public func sendDue() async {
        guard let planner = routing.planner else { return }
        let now = clock().millisecondsSince1970
        do {
            guard let due = try await store.nextDetectGroupDue(), due <= now else { return }
            while true {
                let sent = try await store.withIngestTransaction { transaction in
                    try await DetectGroupFlush.flush(planner: planner, now: now, in: transaction)
                }
                if sent > 0 { logger.info("detect groups sent", metadata: ["groups": "\(sent)"]) }
                if sent < DetectGroupFlush.groupsPerTransaction { break }
            }
        } catch {
            logger.warning("sending detect groups failed; tried again shortly", metadata: ["error": "\(error)"])
        }
    }
}
