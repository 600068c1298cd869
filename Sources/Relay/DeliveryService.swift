import Alerts
import RelayConfig
import Curl
import Foundation
import Logging
import SNS
import ServiceLifecycle
import Storage
import Synchronization

/// Sends what the outbox holds, one lane per configured receiver: each lane claims only its
/// own receiver's due deliveries (a lease, so that with several replicas each is sent by one),
/// oldest queued first, sends them within the receiver's rate and with at most its
/// `concurrency` sends under way, and records the outcome. A 429 or any failure that will be
/// retried pauses that lane until the retry is due (honouring `Retry-After`); what it had
/// claimed and not sent goes back unsent, its attempts untouched. So one slow, failing or
/// rate-limited receiver delays only itself, and a replica never claims a receiver it does not
/// know.
///
/// After a crash, leases run out and the deliveries are claimed again; with a store no other
/// process uses (SQLite), every lease found at start is released at once. On graceful
/// shutdown the lanes stop claiming, sends under way get `shutdownGrace` to finish, then are
/// aborted; whatever was claimed and not sent goes back to the queue, its attempts untouched.
public final class DeliveryService: Service, Sendable {
    let store: any Store
    let sender: AlertSender
    let policy: DeliveryRetryPolicy
    /// The receivers, in configuration order.
    let receivers: [String]
    /// Sends per second per receiver; 0: no limit.
    let rates: [String: Double]
    let concurrency: [String: Int]
    let limiter = ReceiverRateLimiter()
    let owner: String
    let pollInterval: Duration
    let leaseSeconds: Int64
    /// The longest one send may take (the outbound timeout): claims are sized by it.
    let sendTimeoutSeconds: Int
    let shutdownGrace: Duration
    /// Set once the grace ran out: sends ending now were aborted, not answered.
    private let aborted = Atomic<Bool>(false)
    private let abortTimer = Mutex<Task<Void, Never>?>(nil)
    let clock: @Sendable () -> SNSInstant
    let metrics: RelayMetrics?
    let logger: Logger

    public init(
        store: any Store, sender: AlertSender, policy: DeliveryRetryPolicy, receivers: [RelayConfiguration.Receiver],
        pollInterval: Duration = .milliseconds(250), leaseSeconds: Int64 = 120, sendTimeoutSeconds: Int = 10, shutdownGrace: Duration = .seconds(10),
        clock: @escaping @Sendable () -> SNSInstant, metrics: RelayMetrics? = nil, logger: Logger
    ) {
        self.metrics = metrics
        self.sendTimeoutSeconds = sendTimeoutSeconds
        self.shutdownGrace = shutdownGrace
        self.store = store
        self.sender = sender
        self.policy = policy
        self.receivers = receivers.map(\.name)
        self.rates = Dictionary(uniqueKeysWithValues: receivers.map { ($0.name, $0.effectiveRatePerSecond) })
        self.concurrency = Dictionary(uniqueKeysWithValues: receivers.map { ($0.name, $0.effectiveConcurrency) })
        self.owner = "relay-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        self.pollInterval = pollInterval
        self.leaseSeconds = leaseSeconds
        self.clock = clock
        self.logger = logger
    }

    /// How many deliveries one claim may take: as many as can be sent within half the lease
    /// (so that a claim is sent before its lease runs out and another replica takes it) by
    /// `concurrency` senders each taking up to `sendTimeoutSeconds`, and within the receiver's
    /// `rate`; between 1 and 256.
    static func claimLimit(rate: Double, concurrency: Int, leaseSeconds: Int64, sendTimeoutSeconds: Int) -> Int {
        let window = Double(leaseSeconds) / 2
        var limit = Double(max(1, concurrency)) * window / Double(max(1, sendTimeoutSeconds))
        if rate > 0 { limit = min(limit, rate * window) }
        return max(1, min(256, Int(limit)))
    }

    public func run() async throws {
        if !store.isShared {
            // One process per store: a lease found now was left by a process that is gone.
            do {
                let released = try await store.releaseDeliveries(owner: nil, receiver: nil, at: clock().millisecondsSince1970)
                if released > 0 { logger.info("deliveries left claimed by a stopped relay put back", metadata: ["count": "\(released)"]) }
            } catch {
                logger.warning("outbox unavailable", metadata: ["error": "\(error)"])
            }
        }
        await reportUnknownReceivers()
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    for receiver in receivers {
                        group.addTask { await self.drain(receiver) }
                    }
                }
            } onGracefulShutdown: {
                self.shutdownRequested()
            }
        } onCancel: {
            self.abortSends()
        }
        // The grace timer is not only cancelled but awaited: past its sleep, it may be about to
        // abort the shared client; that must happen before this service returns (a reload
        // resumes the client for the next lanes only then), never after.
        let timer = abortTimer.withLock { $0 }
        timer?.cancel()
        await timer?.value
        // What was claimed and not sent is queued again, not left leased: in a task of its own,
        // so that a cancelled shutdown still does it (within the store's own bounds).
        let (store, owner, clock) = (store, owner, clock)
        await Task { _ = try? await store.releaseDeliveries(owner: owner, receiver: nil, at: clock().millisecondsSince1970) }.value
    }

    /// The process was asked to stop (SIGTERM/SIGINT, seen by `serve` as soon as it arrives,
    /// and again by the graceful shutdown that reaches this service once the HTTP server has
    /// drained): sends under way get `shutdownGrace` from the first call, then are aborted.
    public func shutdownRequested() {
        abortTimer.withLock { timer in
            guard timer == nil else { return }
            let grace = shutdownGrace
            timer = Task {
                guard (try? await Task.sleep(for: grace)) != nil else { return }
                self.abortSends()
            }
        }
    }

    private func abortSends() {
        guard !aborted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        logger.warning("alert sends still under way at shutdown aborted; they are queued again")
        sender.curl.abortTransfers()
    }

    /// Deliveries queued for receivers this configuration does not name wait untouched (this
    /// replica has no lane for them): said once at start, so that a rolling configuration
    /// change that dropped or renamed a receiver does not hide them.
    func reportUnknownReceivers() async {
        guard let queued = try? await store.queuedDeliveriesByReceiver() else { return }
        let known = Set(receivers)
        for (receiver, count) in queued.sorted(by: { $0.key < $1.key }) where !known.contains(receiver) {
            logger.warning("deliveries are queued for a receiver this configuration does not name; they wait until a relay that names it sends them", metadata: [
                "receiver": "\(receiver.prefix(64))", "count": "\(count)",
            ])
        }
    }

    /// One receiver's lane, until shutdown.
    private func drain(_ receiver: String) async {
        let lane = Lane()
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let now = clock().millisecondsSince1970
            if let until = lane.pausedUntil, until > now {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(min(until - now, 60_000))) }
                continue
            }
            if await runOnce(receiver, lane: lane) == 0 {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.pollInterval) }
            }
        }
    }

    /// One claim-and-send pass of one receiver's lane; returns how many deliveries it attempted.
    private func runOnce(_ receiver: String, lane: Lane) async -> Int {
        let now = clock().millisecondsSince1970
        let rate = rates[receiver] ?? 1
        let claimed: [Delivery]
        do {
            claimed = try await store.claimDeliveries(
                owner: owner, receiver: receiver, now: now, leaseUntil: now + leaseSeconds * 1000,
                limit: Self.claimLimit(rate: rate, concurrency: concurrency[receiver] ?? 1, leaseSeconds: leaseSeconds, sendTimeoutSeconds: sendTimeoutSeconds)
            )
        } catch {
            // A claim that was committed although its answer was lost would stay leased until
            // its lease ran out: put back whatever this lane holds, if the store lets it.
            logger.warning("outbox unavailable", metadata: ["error": "\(error)", "receiver": "\(receiver)"])
            _ = try? await store.releaseDeliveries(owner: owner, receiver: receiver, at: clock().millisecondsSince1970)
            return 0
        }
        guard !claimed.isEmpty else { return 0 }
        let queue = DeliveryQueue(claimed)
        await withTaskGroup(of: Void.self) { group in
            // Its `concurrency` senders take the deliveries in the order they were queued, each
            // waiting for the receiver's next rate slot, and stop as soon as the lane pauses.
            for _ in 0..<min(claimed.count, max(1, concurrency[receiver] ?? 1)) {
                group.addTask {
                    while !Task.isShuttingDownGracefully, !lane.isPaused(now: self.clock().millisecondsSince1970), let delivery = queue.next() {
                        // A rate-limit wait ends at shutdown; the delivery is then not sent (it
                        // goes back with the rest, below).
                        if rate > 0 { await cancelWhenGracefulShutdown { await self.limiter.waitForSlot(receiver, perSecond: rate) } }
                        if Task.isShuttingDownGracefully { break }
                        if let retryAt = await self.attempt(delivery) { lane.pause(until: retryAt) }
                    }
                }
            }
        }
        let unsent = queue.remainingCount
        if unsent > 0 || Task.isShuttingDownGracefully || lane.isPaused(now: clock().millisecondsSince1970) {
            // Paused or stopping: the rest (and a delivery taken but not sent) goes back
            // unsent, its attempts untouched.
            _ = try? await store.releaseDeliveries(owner: owner, receiver: receiver, at: clock().millisecondsSince1970)
        }
        return claimed.count - unsent
    }

    /// Sends one delivery and records how it went; returns when to try again if it will be.
    private func attempt(_ delivery: Delivery) async -> Int64? {
        // Still ours? A batch that outlived its lease may have been claimed by another replica:
        // then that replica sends it, not this one.
        let renewedAt = clock().millisecondsSince1970
        do {
            guard try await store.renewLease(id: delivery.id, owner: owner, until: renewedAt + leaseSeconds * 1000, at: renewedAt) else {
                logger.info("alert delivery skipped: another replica holds it now", metadata: ["delivery": "\(delivery.id)"])
                return nil
            }
        } catch {
            // The store failed: pause the lane a moment; what it claimed goes back unsent.
            logger.warning("outbox unavailable", metadata: ["error": "\(error)"])
            return renewedAt + 1_000
        }
        let result = await sender.send(delivery)
        // Aborted by a shutdown past its grace: not an answer from the receiver. The delivery
        // stays claimed and goes back to the queue as the service stops, its attempts untouched.
        guard !aborted.load(ordering: .acquiring) else { return nil }
        let now = clock().millisecondsSince1970
        let decision = policy.decide(result, attemptsBefore: delivery.attempts, createdAt: delivery.createdAt, now: now, jitter: Double.random(in: 0...1))
        var logger = logger
        logger[metadataKey: "delivery"] = "\(delivery.id)"
        logger[metadataKey: "receiver"] = "\(delivery.receiver)"
        let outcome: DeliveryOutcome
        var retryAt: Int64?
        switch decision {
        case .delivered(let status):
            outcome = .delivered(status: status)
        case .retry(let at, let reason, let status):
            outcome = .retry(at: at, error: reason, status: status)
            retryAt = at
        case .dead(let reason, let status):
            outcome = .dead(error: reason, status: status)
        }
        let recorded: Bool
        do {
            try await store.completeDelivery(id: delivery.id, owner: owner, outcome: outcome, at: now)
            recorded = true
        } catch {
            // The lease runs out and the delivery is sent again: at least once, never lost.
            logger.error("delivery outcome not recorded", metadata: ["error": "\(error)"])
            recorded = false
        }
        // Counted once the outbox knows it: an attempt whose outcome was not recorded is made
        // again, and counted then.
        let metrics = recorded ? self.metrics : nil
        // Said once the outcome is recorded (or could not be), so the log never claims more
        // than the outbox knows.
        let attempt: Logger.MetadataValue = "\(delivery.attempts + 1)"
        switch decision {
        case .delivered(let status):
            logger.info("alert delivered", metadata: ["status": "\(status)", "attempt": attempt])
            metrics?.recordDelivery(receiver: delivery.receiver, outcome: "delivered", queuedAt: delivery.createdAt, now: now)
        case .retry(let at, let reason, _):
            logger.warning("alert delivery will be retried; the receiver is paused until then", metadata: ["reason": "\(reason)", "in_ms": "\(at - now)", "attempt": attempt])
            metrics?.recordDelivery(receiver: delivery.receiver, outcome: "retry", queuedAt: delivery.createdAt, now: now)
        case .dead(let reason, _):
            logger.error("alert delivery dead-lettered", metadata: ["reason": "\(reason)", "attempt": attempt])
            metrics?.recordDelivery(receiver: delivery.receiver, outcome: "dead", queuedAt: delivery.createdAt, now: now)
        }
        return retryAt
    }
}

/// A receiver's lane state: until when it is paused (a retry is due then).
final class Lane: Sendable {
    private let pausedUntilMillis = Mutex<Int64?>(nil)

    var pausedUntil: Int64? { pausedUntilMillis.withLock { $0 } }

    func isPaused(now: Int64) -> Bool { (pausedUntil ?? 0) > now }

    func pause(until: Int64) {
        pausedUntilMillis.withLock { $0 = max($0 ?? 0, until) }
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

    var remainingCount: Int { remaining.withLock { $0.count } }
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
