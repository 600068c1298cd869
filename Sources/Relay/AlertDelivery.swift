import Curl
import Logging
import ServiceLifecycle
import Synchronization

/// The outbox workers of the configuration in effect. A reload (SIGHUP) that changes receivers
/// or alert settings hands over a new `DeliveryService`: the old one stops as it would at
/// shutdown (stops claiming, sends under way get the grace, what it claimed and did not send is
/// queued again), then the new one starts. Deliveries are rows in the store, so nothing queued
/// is lost in between; they wait a moment.
public final class AlertDelivery: Service, Sendable {
    private struct State {
        var current: DeliveryService?
        var pending: [DeliveryService?] = []
        var wake: CheckedContinuation<Void, Never>?
        var stopping = false
    }

    private let state: Mutex<State>
    private let logger: Logger

    public init(_ initial: DeliveryService?, logger: Logger) {
        state = Mutex(State(current: nil, pending: [initial]))
        self.logger = logger
    }

    /// The receivers whose lanes run now, or are about to (the newest generation handed over).
    public var receivers: [String] {
        state.withLock { state in
            if let next = state.pending.last { return next?.receivers ?? [] }
            return state.current?.receivers ?? []
        }
    }

    /// Replaces the workers (nil: no receivers any more).
    public func replace(with next: DeliveryService?) {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.pending.append(next)
            defer { state.wake = nil }
            return state.wake
        }
        wake?.resume()
    }

    /// A stop signal arrived: the workers' grace counts from now.
    public func shutdownRequested() {
        state.withLock { $0.current }?.shutdownRequested()
    }

    public func run() async throws {
        var running: (service: DeliveryService, group: ServiceGroup, task: Task<Void, any Error>)?
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while let next = await nextGeneration() {
                    if let old = running {
                        await old.group.triggerGracefulShutdown()
                        _ = await old.task.result
                        running = nil
                        // Its sends still hanging after the grace were aborted through the
                        // shared client; the next lanes need it working again.
                        old.service.sender.curl.resumeTransfers()
                    }
                    state.withLock { $0.current = next }
                    guard let next else { continue }
                    // A group of its own, so that this generation alone can be shut down gracefully.
                    let group = ServiceGroup(configuration: .init(services: [next], logger: logger))
                    running = (next, group, Task { try await group.run() })
                }
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
        guard let running else { return }
        running.service.shutdownRequested()
        await withTaskCancellationHandler {
            await running.group.triggerGracefulShutdown()
            _ = await running.task.result
        } onCancel: {
            running.task.cancel()
        }
    }

    private func stop() {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopping = true
            defer { state.wake = nil }
            return state.wake
        }
        wake?.resume()
    }

    /// The next workers to run (`.some(nil)`: none), or nil once stopping.
    private func nextGeneration() async -> DeliveryService?? {
        while true {
            enum Step { case next(DeliveryService?), stop, wait }
            let step = state.withLock { state -> Step in
                if state.stopping { return .stop }
                if !state.pending.isEmpty { return .next(state.pending.removeFirst()) }
                return .wait
            }
            switch step {
            case .next(let service): return .some(service)
            case .stop: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if state.stopping || !state.pending.isEmpty { return true }
                        state.wake = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }
}
