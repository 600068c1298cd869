import Alerts
import Foundation
import Logging
import SNS
import ServiceLifecycle
import Storage
import Synchronization

/// Sends what the outbox holds: claims due deliveries (a lease, so that with several replicas
/// each is sent by one), sends them receiver by receiver within each receiver's rate and with
/// at most its `concurrency` sends under way, and records the outcome. After a crash, leases run
/// out and the deliveries are claimed again.
public final class DeliveryService: Service, Sendable {
    let store: any Store
    let sender: AlertSender
    let policy: DeliveryRetryPolicy
    /// Sends per second per receiver; 0: no limit.
    let rates: [String: Double]
    let concurrency: [String: Int]
    /// The most deliveries one claim takes.
    let claimLimit: Int
    let limiter = ReceiverRateLimiter()
    let owner: String
    let pollInterval: Duration
    let leaseSeconds: Int64
    let clock: @Sendable () -> SNSInstant
    let logger: Logger

    public init(
        store: any Store, sender: AlertSender, policy: DeliveryRetryPolicy, receivers: [RelayConfiguration.Receiver],
        pollInterval: Duration = .milliseconds(250), leaseSeconds: Int64 = 120, clock: @escaping @Sendable () -> SNSInstant, logger: Logger
    ) {
        self.store = store
        self.sender = sender
        self.policy = policy
        self.rates = Dictionary(uniqueKeysWithValues: receivers.map { ($0.name, $0.effectiveRatePerSecond) })
        self.concurrency = Dictionary(uniqueKeysWithValues: receivers.map { ($0.name, $0.effectiveConcurrency) })
        self.claimLimit = Self.claimLimit(rates: receivers.map(\.effectiveRatePerSecond), leaseSeconds: leaseSeconds)
        self.owner = "relay-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        self.pollInterval = pollInterval
        self.leaseSeconds = leaseSeconds
        self.clock = clock
        self.logger = logger
    }

    /// How many deliveries one claim may take: as many as the slowest rate-limited receiver can
    /// send within half the lease (so that a claim is sent before its lease runs out and
    /// another replica takes it), between 1 and 256.
    static func claimLimit(rates: [Double], leaseSeconds: Int64) -> Int {
        guard let slowest = rates.filter({ $0 > 0 }).min() else { return 256 }
        return max(1, min(256, Int(slowest * Double(leaseSeconds) / 2)))
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let sent = await runOnce()
            if sent == 0 {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.pollInterval) }
            }
        }
    }

    /// One claim-and-send pass; returns how many deliveries it attempted.
    @discardableResult
    public func runOnce() async -> Int {
        let now = clock().millisecondsSince1970
        let claimed: [Delivery]
        do {
            claimed = try await store.claimDeliveries(owner: owner, now: now, leaseUntil: now + leaseSeconds * 1000, limit: claimLimit)
        } catch {
            logger.warning("outbox unavailable", metadata: ["error": "\(error)"])
            return 0
        }
        guard !claimed.isEmpty else { return 0 }
        let byReceiver = Dictionary(grouping: claimed, by: \.receiver)
        await withTaskGroup(of: Void.self) { group in
            for (receiver, deliveries) in byReceiver {
                // One lane per receiver: its `concurrency` senders take its deliveries in order,
                // each waiting for the receiver's next rate slot.
                let queue = DeliveryQueue(deliveries)
                for _ in 0..<min(deliveries.count, max(1, concurrency[receiver] ?? 1)) {
                    group.addTask {
                        while let delivery = queue.next() {
                            let rate = self.rates[receiver] ?? 1
                            if rate > 0 { await self.limiter.waitForSlot(receiver, perSecond: rate) }
                            await self.attempt(delivery)
                        }
                    }
                }
            }
        }
        return claimed.count
    }

    private func attempt(_ delivery: Delivery) async {
        let result = await sender.send(delivery)
        let now = clock().millisecondsSince1970
        let decision = policy.decide(result, attemptsBefore: delivery.attempts, createdAt: delivery.createdAt, now: now, jitter: Double.random(in: 0...1))
        var logger = logger
        logger[metadataKey: "delivery"] = "\(delivery.id)"
        logger[metadataKey: "receiver"] = "\(delivery.receiver)"
        let outcome: DeliveryOutcome
        switch decision {
        case .delivered(let status):
            outcome = .delivered(status: status)
            logger.info("alert delivered", metadata: ["status": "\(status)", "attempt": "\(delivery.attempts + 1)"])
        case .retry(let at, let reason, let status):
            outcome = .retry(at: at, error: reason, status: status)
            logger.warning("alert delivery will be retried", metadata: ["reason": "\(reason)", "in_ms": "\(at - now)", "attempt": "\(delivery.attempts + 1)"])
        case .dead(let reason, let status):
            outcome = .dead(error: reason, status: status)
            logger.error("alert delivery dead-lettered", metadata: ["reason": "\(reason)", "attempt": "\(delivery.attempts + 1)"])
        }
        do {
            try await store.completeDelivery(id: delivery.id, owner: owner, outcome: outcome, at: now)
        } catch {
            // The lease runs out and the delivery is sent again: at least once, never lost.
            logger.error("delivery outcome not recorded", metadata: ["error": "\(error)"])
        }
    }
}

/// The deliveries one receiver's senders share, handed out in order.
final class DeliveryQueue: Sendable {
    private let remaining: Mutex<ArraySlice<Delivery>>

    init(_ deliveries: [Delivery]) {
        remaining = Mutex(deliveries[...])
    }

    func next() -> Delivery? {
        remaining.withLock { $0.popFirst() }
    }
}

/// Spaces sends to each receiver (Slack allows about one message a second per webhook).
actor ReceiverRateLimiter {
    private var nextSlot: [String: ContinuousClock.Instant] = [:]

    func waitForSlot(_ receiver: String, perSecond: Double) async {
        let now = ContinuousClock.now
        let slot = max(now, nextSlot[receiver] ?? now)
        nextSlot[receiver] = slot + .seconds(1 / max(perSecond, 0.001))
        if slot > now { try? await Task.sleep(until: slot) }
    }
}
