import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The store's PostgreSQL connections, with the bounds an SNS endpoint needs: SNS waits only
/// seconds for an answer, so a database that is down, frozen or locked must turn into a 503
/// within that time, and the relay must be storing again within seconds of the database's
/// return, without a restart.
///
/// - Waiting for a pooled connection is bounded (`Timeouts.connectionWait`): PostgresNIO's
///   pool would hold the request until its circuit breaker trips (about a minute).
/// - Every session runs with `statement_timeout`, `lock_timeout` and
///   `idle_in_transaction_session_timeout` (sent at connect time, so they hold for every
///   statement, and read back by `PostgresFaultTests`): a stuck statement, a lock held by a
///   frozen replica, or a transaction its client abandoned cannot hold others for longer.
/// - After the pool failed to give or keep a connection, a probe opens a fresh one every
///   `probeInterval`. Server unreachable: callers are answered at once (no waiting while it is
///   known to be gone). Server answering: the pool is replaced by a new one, unless every
///   connection was simply busy (load, not an outage); PostgresNIO's pool backs off
///   reconnecting up to a minute after a long outage, and nothing tells it the server is back.
///   The replaced pool stops once the uses of its connections under way have ended.
final class PostgresPool: Sendable {
    struct Timeouts: Sendable {
        /// How long a caller waits for a pooled connection before the store answers
        /// "unavailable" (the SNS endpoint answers 503).
        var connectionWait: Duration = .seconds(2)
        /// Server-side bounds of every session, in milliseconds.
        var statementMilliseconds = 5_000
        var lockMilliseconds = 2_000
        var idleInTransactionMilliseconds = 10_000
        /// How long one use of a connection (a transaction, a query) may take from the moment
        /// it was asked for; past it the connection is closed, which fails what runs on it.
        /// `statement_timeout` bounds a statement on a server that answers; this bounds one
        /// that stopped answering (a frozen host, a network that drops packets). Below the 15 s
        /// SNS waits for an answer, so that it gets a 503 rather than a timeout.
        var operationLimit: Duration = .seconds(8)
        /// How often the probe tries a fresh connection while the pool fails.
        var probeInterval: Duration = .seconds(1)

        /// The session settings, as PostgreSQL startup parameters.
        var startupParameters: [(String, String)] {
            [
                ("statement_timeout", String(statementMilliseconds)),
                ("lock_timeout", String(lockMilliseconds)),
                ("idle_in_transaction_session_timeout", String(idleInTransactionMilliseconds)),
            ]
        }
    }

    /// One PostgresNIO client and the uses of its connections under way.
    private final class Generation: Sendable {
        let client: PostgresClient
        let number: Int
        private let inFlight = Atomic<Int>(0)

        init(client: PostgresClient, number: Int) {
            self.client = client
            self.number = number
        }

        var usesUnderWay: Int { inFlight.load(ordering: .acquiring) }
        func began() { inFlight.add(1, ordering: .acquiringAndReleasing) }
        func ended() { inFlight.subtract(1, ordering: .acquiringAndReleasing) }
    }

    private struct State: Sendable {
        var current: Generation
        /// When the current client first failed to give or keep a connection (nil while it
        /// works): the probe then looks at the server.
        var suspectSince: ContinuousClock.Instant?
        /// Set when the probe could not reach the server: callers are answered at once.
        var downSince: ContinuousClock.Instant?
        var replacements = 0
    }

    let timeouts: Timeouts
    private let clientConfiguration: PostgresClient.Configuration
    /// Nil: no probe (the pool recovers by its own backoff).
    private let probeConfiguration: PostgresConnection.Configuration?
    private let logger: Logger
    private let state: Mutex<State>
    private let replacedClients: AsyncStream<Generation>
    private let replacedContinuation: AsyncStream<Generation>.Continuation

    init(clientConfiguration: PostgresClient.Configuration, probeConfiguration: PostgresConnection.Configuration?, timeouts: Timeouts, logger: Logger) {
        var clientConfiguration = clientConfiguration
        clientConfiguration.options.additionalStartupParameters += timeouts.startupParameters
        var probeConfiguration = probeConfiguration
        probeConfiguration?.options.connectTimeout = .seconds(1)
        self.clientConfiguration = clientConfiguration
        self.probeConfiguration = probeConfiguration
        self.timeouts = timeouts
        self.logger = logger
        let first = Generation(client: PostgresClient(configuration: clientConfiguration, backgroundLogger: logger), number: 0)
        state = Mutex(State(current: first))
        (replacedClients, replacedContinuation) = AsyncStream.makeStream(of: Generation.self)
    }

    /// How many times the pool was replaced after an outage (for tests and logs).
    var replacements: Int { state.withLock { $0.replacements } }

    /// Runs the current pool, every replacement the probe makes, and the probe, until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runClients() }
            group.addTask { await self.probeWhileSuspect() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Each client runs in a task of its own. A replaced one keeps running until the uses of
    /// its connections under way have ended (each within `operationLimit`), then stops: its
    /// callers' transactions are not cut off by the replacement.
    private func runClients() async {
        let first = state.withLock { $0.current }
        var running: [(generation: Generation, task: Task<Void, Never>)] = [(first, Task { await first.client.run() })]
        var replacements = replacedClients.makeAsyncIterator()
        // nil once this task is cancelled.
        while let next = await replacements.next() {
            let previous = running
            running = [(next, Task { await next.client.run() })]
            for (generation, task) in previous {
                let limit = timeouts.operationLimit
                Task {
                    let deadline = ContinuousClock.now + limit + .seconds(1)
                    while generation.usesUnderWay > 0, ContinuousClock.now < deadline {
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                    task.cancel()
                }
            }
        }
        for (_, task) in running { task.cancel() }
        for (_, task) in running { await task.value }
    }

    /// While the current client is suspect, looks at the server once per `probeInterval`:
    /// unreachable, callers are answered at once until it answers again; answering, the client
    /// is replaced, unless every connection is simply busy (load, not an outage).
    private func probeWhileSuspect() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: timeouts.probeInterval)
            let (suspect, generation) = state.withLock { ($0.suspectSince, $0.current) }
            guard suspect != nil, probeConfiguration != nil else { continue }
            guard await serverAnswers() else {
                state.withLock { $0.downSince = $0.downSince ?? .now }
                continue
            }
            let saturated = generation.usesUnderWay >= clientConfiguration.options.maximumConnections
            let replacement = state.withLock { state -> Generation? in
                guard state.current === generation, state.suspectSince != nil else { return nil }
                state.suspectSince = nil
                guard !saturated || state.downSince != nil else { return nil }
                state.downSince = nil
                state.replacements += 1
                state.current = Generation(
                    client: PostgresClient(configuration: clientConfiguration, backgroundLogger: logger), number: generation.number + 1
                )
                return state.current
            }
            if let replacement {
                logger.warning("postgresql answers again: connection pool replaced")
                replacedContinuation.yield(replacement)
            }
        }
    }

    /// Whether a fresh connection can be opened and answers a query, within twice the probe's
    /// connect timeout: a server that accepts and then stops answering counts as unreachable.
    private func serverAnswers() async -> Bool {
        guard let probeConfiguration else { return false }
        let logger = self.logger
        let probe = Task { () -> Bool in
            let connection = try await PostgresConnection.connect(configuration: probeConfiguration, id: 0, logger: logger)
            defer { Task { try? await connection.close() } }
            try await connection.query("SELECT 1", logger: logger)
            return true
        }
        return (try? await FirstOutcome.of(probe) { try await Task.sleep(for: .seconds(2)); throw CancellationError() }) ?? false
    }

    /// Runs `body` with a pooled connection, waiting at most `wait` for one and closing it when
    /// the whole use outlasts `limit` (`timeouts.connectionWait` and `timeouts.operationLimit`
    /// unless given; start-up's migration waits and runs longer).
    func withConnection<T: Sendable>(
        wait: Duration? = nil, limit: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        // While the server is known to be unreachable, callers are answered at once instead
        // of each waiting out the bound; the probe clears this when it answers again.
        let (generation, downSince) = state.withLock { ($0.current, $0.downSince) }
        if let downSince { throw ServerNotAnswering(since: downSince) }
        let lease = LeaseState()
        let wait = wait ?? timeouts.connectionWait
        let limit = limit ?? timeouts.operationLimit
        let client = generation.client
        generation.began()
        do {
            // The use runs in a task of its own that the caller stops waiting for at the bound:
            // a query on a connection whose server vanished can stay pending even after the
            // connection was closed, and a caller (an SNS request) must not wait with it.
            let operation = Task {
                defer { generation.ended() }
                return try await client.withConnection { connection in
                    lease.leased(connection)
                    defer { lease.finished() }
                    return try await body(connection)
                }
            }
            let value = try await FirstOutcome.of(operation) {
                try await Task.sleep(for: wait)
                guard lease.hasLeased else { throw ConnectionWaitExceeded(wait: wait) }
                try await Task.sleep(for: max(.zero, limit - wait))
                // Still running: the server stopped answering. Closing the connection fails
                // what waits on it, and the pool opens another. Only if this use still holds it.
                if let connection = lease.takeForClosing() { Task { try? await connection.close() } }
                throw OperationLimitExceeded(limit: limit)
            }
            return value
        } catch {
            if Self.isConnectionFailure(error) {
                state.withLock { state in
                    // Only the current client's failures count; a replaced one's are history.
                    if state.current === generation { state.suspectSince = state.suspectSince ?? .now }
                }
            }
            throw error
        }
    }

    /// Runs `body` in a transaction (BEGIN, then COMMIT, or ROLLBACK when it throws).
    func withTransaction<T: Sendable>(
        wait: Duration? = nil, limit: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await withConnection(wait: wait, limit: limit) { connection in
            try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// A failure to get or keep a connection, as opposed to an error the server answered
    /// with (a constraint, a statement or lock timeout: the server is up) or one of this
    /// client's own (too many parameters).
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if error is ConnectionWaitExceeded || error is OperationLimitExceeded || error is ServerNotAnswering { return true }
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError, error.rollbackError].contains { $0.map(isConnectionFailure) ?? false }
        }
        if let error = error as? PSQLError {
            return [.connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed].contains(error.code)
        }
        // The pool's own error once its circuit breaker tripped (its type is not public).
        return String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError")
    }
}

/// No pooled connection became free, or could be opened, within the bound.
struct ConnectionWaitExceeded: Error, CustomStringConvertible {
    let wait: Duration

    var description: String { "no PostgreSQL connection could be had within \(wait)" }
}

/// The connection a use got, while it holds it: the deadline may close it then, and only then
/// (once the use ended, the connection is back in the pool and someone else's).
private final class LeaseState: Sendable {
    private enum Phase { case waiting, holding(PostgresConnection), done }
    private let phase = Mutex<Phase>(.waiting)

    func leased(_ connection: PostgresConnection) { phase.withLock { $0 = .holding(connection) } }
    func finished() { phase.withLock { $0 = .done } }

    var hasLeased: Bool {
        phase.withLock { if case .waiting = $0 { false } else { true } }
    }

    /// The connection, when the use still holds it; the use then counts as done.
    func takeForClosing() -> PostgresConnection? {
        phase.withLock { phase in
            guard case .holding(let connection) = phase else { return nil }
            phase = .done
            return connection
        }
    }
}

/// The probe could not reach the server, and has not seen it answer since.
struct ServerNotAnswering: Error, CustomStringConvertible {
    let since: ContinuousClock.Instant

    var description: String { "PostgreSQL has not answered for \((ContinuousClock.now - since).components.seconds) s; waiting for it to come back" }
}

/// A use of a connection outlasted its bound: the server stopped answering.
struct OperationLimitExceeded: Error, CustomStringConvertible {
    let limit: Duration

    var description: String { "PostgreSQL did not answer within \(limit)" }
}

/// Waits for whichever ends first: `operation`, or `deadline` (which throws when the bound is
/// reached). The operation is cancelled, and no longer waited for, when the deadline wins or
/// the caller is cancelled; the deadline is cancelled when the operation ends.
enum FirstOutcome {
    static func of<T: Sendable>(_ operation: Task<T, any Error>, deadline: @escaping @Sendable () async throws -> Void) async throws -> T {
        let outcome = Outcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                outcome.set(continuation)
                let timer = Task {
                    do {
                        try await deadline()
                    } catch is CancellationError {
                        return
                    } catch {
                        outcome.finish(.failure(error))
                        operation.cancel()
                    }
                }
                Task {
                    let result = await operation.result
                    timer.cancel()
                    outcome.finish(result)
                }
            }
        } onCancel: {
            operation.cancel()
            outcome.finish(.failure(CancellationError()))
        }
    }

    /// Resumes its continuation once, with the first result.
    private final class Outcome<T: Sendable>: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, early: Result<T, any Error>?, done: Bool)>((nil, nil, false))

        func set(_ continuation: CheckedContinuation<T, any Error>) {
            let early = state.withLock { state -> Result<T, any Error>? in
                guard let early = state.early else {
                    state.continuation = continuation
                    return nil
                }
                state.early = nil
                return early
            }
            if let early { continuation.resume(with: early) }
        }

        func finish(_ result: Result<T, any Error>) {
            let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
                guard !state.done else { return nil }
                state.done = true
                guard let continuation = state.continuation else {
                    state.early = result
                    return nil
                }
                state.continuation = nil
                return continuation
            }
            continuation?.resume(with: result)
        }
    }
}
