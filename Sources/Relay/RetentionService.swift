import RelayConfig
import Logging
import SNS
import ServiceLifecycle
import Storage

/// Deletes what `storage.retention_days` (and `summary_retention_days`,
/// `delivery_retention_days`) no longer keeps, a few hundred rows per transaction: at
/// start, then every `interval`. Raw envelopes only matter for re-verification and the
/// dedupe window (an hour), so their retention is an operator's choice of evidence horizon.
public struct RetentionService: Service {
    let store: any Store
    let storage: RelayConfiguration.Storage
    /// The longest `repeat_interval` of any route: delivered rows are what repeats are
    /// suppressed by, so none younger than it is deleted.
    let longestRepeatIntervalSeconds: Int64?
    let interval: Duration
    let clock: @Sendable () -> SNSInstant
    let logger: Logger

    public init(
        store: any Store, storage: RelayConfiguration.Storage, longestRepeatIntervalSeconds: Int64? = nil, interval: Duration = .seconds(3600),
        clock: @escaping @Sendable () -> SNSInstant, logger: Logger
    ) {
        self.store = store
        self.storage = storage
        self.longestRepeatIntervalSeconds = longestRepeatIntervalSeconds
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: { interval }) { await pruneOnce() }
    }

    /// What the configuration keeps, as cut-offs at `now`.
    public static func plan(_ storage: RelayConfiguration.Storage, longestRepeatIntervalSeconds: Int64? = nil, now: SNSInstant) -> RetentionPlan {
        func daysAgo(_ days: Int) -> Int64 { now.adding(seconds: -Int64(days) * 86_400).millisecondsSince1970 }
        let repeatWindow = now.adding(seconds: -(longestRepeatIntervalSeconds ?? 0)).millisecondsSince1970
        return RetentionPlan(
            messagesBefore: daysAgo(storage.retentionDays), summariesBefore: storage.summaryRetentionDays.map(daysAgo),
            deliveredBefore: min(daysAgo(storage.deliveredRetentionDays), repeatWindow), deadBefore: daysAgo(storage.deadRetentionDays)
        )
    }

    /// One pass; failures are logged and retried at the next interval.
    public func pruneOnce() async {
        let now = clock()
        do {
            let deleted = try await store.prune(Self.plan(storage, longestRepeatIntervalSeconds: longestRepeatIntervalSeconds, now: now))
            if deleted > 0 { logger.info("retention pruned rows", metadata: ["deleted": "\(deleted)"]) }
        } catch {
            logger.warning("retention pass failed", metadata: ["error": "\(error)"])
        }
    }
}

