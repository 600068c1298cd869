import Logging
import SNS
import ServiceLifecycle
import Storage

/// Deletes what `storage.retention_days` (and `summary_retention_days`) no longer keeps: at
/// start, then every `interval`. Raw envelopes only matter for re-verification and the
/// dedupe window (an hour), so their retention is an operator's choice of evidence horizon.
public struct RetentionService: Service {
    let store: any Store
    let retentionDays: Int
    let summaryRetentionDays: Int?
    let interval: Duration
    let clock: @Sendable () -> SNSInstant
    let logger: Logger

    public init(store: any Store, storage: RelayConfiguration.Storage, interval: Duration = .seconds(3600), clock: @escaping @Sendable () -> SNSInstant, logger: Logger) {
        self.store = store
        self.retentionDays = storage.retentionDays
        self.summaryRetentionDays = storage.summaryRetentionDays
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await pruneOnce()
            // Graceful shutdown ends the wait at once instead of after the interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass; failures are logged and retried at the next interval.
    public func pruneOnce() async {
        let now = clock()
        do {
            let deleted = try await store.prune(
                messagesBefore: now.adding(seconds: -Int64(retentionDays) * 86_400).millisecondsSince1970,
                summariesBefore: summaryRetentionDays.map { now.adding(seconds: -Int64($0) * 86_400).millisecondsSince1970 }
            )
            if deleted > 0 { logger.info("retention pruned rows", metadata: ["deleted": "\(deleted)"]) }
        } catch {
            logger.warning("retention pass failed", metadata: ["error": "\(error)"])
        }
    }
}

