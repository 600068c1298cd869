import Logging
import ServiceLifecycle
import Synchronization

/// The store as one service of the relay's `ServiceGroup`: it opens first and closes last. For
/// PostgreSQL it runs the connection pool and the migrations; what needs the schema waits for
/// `ready()` before it starts.
public final class StoreService: Service, Sendable {
    public let store: any Store
    private let readiness = Mutex<Readiness>(.waiting([:], next: 0))

    private enum Readiness {
        case waiting([Int: CheckedContinuation<Void, any Error>], next: Int)
        case ready
        case failed(any Error)
    }

    /// Opens the store `url` names. SQLite opens (and migrates) here; PostgreSQL connects and
    /// migrates once the service runs.
    public init(url: String, logger: Logger) throws {
        switch try StorageLocation(url: url) {
        case .sqlite(let path):
            store = try SQLiteStore(path: path)
        case .postgres(let location):
            store = PostgresStore(location: location, logger: logger)
        }
    }

    public func run() async throws {
        if let postgres = store as? PostgresStore {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await postgres.run() }
                do {
                    try await postgres.migrate()
                } catch {
                    settle(.failed(error))
                    group.cancelAll()
                    throw error
                }
                settle(.ready)
                // Everything else stops first (services stop in reverse order); then the pool.
                try? await gracefulShutdown()
                group.cancelAll()
            }
        } else {
            settle(.ready)
            try? await gracefulShutdown()
            await store.close()
        }
    }

    /// Returns once the schema is current; throws if it cannot be made so, or when the caller
    /// is cancelled (a shutdown during a long migration must not wait for it).
    public func ready() async throws {
        let ticket = Mutex<Int?>(nil)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case ready, failed(any Error), later }
                let now = readiness.withLock { readiness -> Now in
                    switch readiness {
                    case .ready: return .ready
                    case .failed(let error): return .failed(error)
                    case .waiting(var waiters, let next):
                        if Task.isCancelled { return .failed(CancellationError()) }
                        waiters[next] = continuation
                        ticket.withLock { $0 = next }
                        readiness = .waiting(waiters, next: next + 1)
                        return .later
                    }
                }
                switch now {
                case .ready: continuation.resume()
                case .failed(let error): continuation.resume(throwing: error)
                case .later: break
                }
            }
        } onCancel: {
            let waiter = readiness.withLock { readiness -> CheckedContinuation<Void, any Error>? in
                guard case .waiting(var waiters, let next) = readiness, let id = ticket.withLock({ $0 }), let waiter = waiters.removeValue(forKey: id) else { return nil }
                readiness = .waiting(waiters, next: next)
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func settle(_ outcome: Readiness) {
        let waiters = readiness.withLock { readiness -> [CheckedContinuation<Void, any Error>] in
            guard case .waiting(let waiters, _) = readiness else { return [] }
            readiness = outcome
            return Array(waiters.values)
        }
        for waiter in waiters {
            if case .failed(let error) = outcome { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }
}

/// A service that starts once the store is ready (the HTTP server, group commit, delivery,
/// retention); asked to stop before that, it just returns.
public struct AfterStoreReady: Service {
    let store: StoreService
    let service: any Service

    public init(_ service: any Service, store: StoreService) {
        self.service = service
        self.store = store
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await store.ready() }
        } catch is CancellationError {
            return
        }
        // Ready just as the shutdown began: nothing to start.
        if Task.isShuttingDownGracefully || Task.isCancelled { return }
        try await service.run()
    }
}
