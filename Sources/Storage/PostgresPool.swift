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
/// - After connections failed, callers are answered at once (no waiting while the server is
///   known to be gone), and a probe tries a fresh connection every `probeInterval`; once one
///   succeeds, the pool is replaced by a new one. PostgresNIO's pool backs off reconnecting up
///   to a minute after a long outage, and nothing tells it that the server is back.
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

    private struct State: Sendable {
        var client: PostgresClient
        /// When connections began to fail (nil while they work).
        var failingSince: ContinuousClock.Instant?
        var replacements = 0
    }

    let timeouts: Timeouts
    private let clientConfiguration: PostgresClient.Configuration
    /// Nil: no probe (the pool recovers by its own backoff).
    private let probeConfiguration: PostgresConnection.Configuration?
    private let logger: Logger
    private let state: Mutex<State>
    private let replaced: AsyncStream<Void>
    private let replacedContinuation: AsyncStream<Void>.Continuation

    init(clientConfiguration: PostgresClient.Configuration, probeConfiguration: PostgresConnection.Configuration?, timeouts: Timeouts, logger: Logger) {
        var clientConfiguration = clientConfiguration
        clientConfiguration.options.additionalStartupParameters += timeouts.startupParameters
        var probeConfiguration = probeConfiguration
        probeConfiguration?.options.connectTimeout = .seconds(1)
        self.clientConfiguration = clientConfiguration
        self.probeConfiguration = probeConfiguration
        self.timeouts = timeouts
        self.logger = logger
        state = Mutex(State(client: PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)))
        (replaced, replacedContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// How many times the pool was replaced after an outage (for tests and logs).
    var replacements: Int { state.withLock { $0.replacements } }

    /// Runs the current pool, replacing it when the probe asks, and the probe, until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runClients() }
            group.addTask { await self.probeWhileFailing() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Each pool runs in a task of its own: a replaced pool winds down (its connections close
    /// as their leases end, each within `operationLimit`) while the new one already serves.
    private func runClients() async {
        let first = state.withLock { $0.client }
        var running = Task { await first.run() }
        var replacements = replaced.makeAsyncIterator()
        // nil once this task is cancelled.
        while await replacements.next() != nil {
            let client = state.withLock { $0.client }
            let previous = running
            running = Task { await client.run() }
            previous.cancel()
        }
        running.cancel()
        await running.value
    }

    private func probeWhileFailing() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: timeouts.probeInterval)
            guard state.withLock({ $0.failingSince }) != nil, await serverAnswers() else { continue }
            let replaced = state.withLock { state -> Bool in
                guard state.failingSince != nil else { return false }
                state.client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
                state.failingSince = nil
                state.replacements += 1
                return true
            }
            if replaced {
                logger.warning("postgresql answers again: connection pool replaced")
                replacedContinuation.yield()
            }
        }
    }

    /// Whether a fresh connection can be opened and answers a query.
    private func serverAnswers() async -> Bool {
        guard let probeConfiguration else { return false }
        do {
            let connection = try await PostgresConnection.connect(configuration: probeConfiguration, id: 0, logger: logger)
            defer { Task { try? await connection.close() } }
            try await connection.query("SELECT 1", logger: logger)
            return true
        } catch {
            return false
        }
    }

    /// Runs `body` with a pooled connection, waiting at most `wait` for one and closing it when
    /// the whole use outlasts `limit` (`timeouts.connectionWait` and `timeouts.operationLimit`
    /// unless given; start-up's migration waits and runs longer).
    func withConnection<T: Sendable>(
        wait: Duration? = nil, limit: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        // While the server is known not to answer, callers are answered at once instead of
        // each waiting out the bound (and queueing behind each other); the probe replaces the
        // pool, which clears this, within `probeInterval` of the server's return.
        let (client, failingSince) = state.withLock { ($0.client, $0.failingSince) }
        if let failingSince, probeConfiguration != nil {
            throw ServerNotAnswering(since: failingSince)
        }
        let lease = LeaseState()
        let wait = wait ?? timeouts.connectionWait
        let limit = limit ?? timeouts.operationLimit
        do {
            // The use runs in a task of its own that the caller stops waiting for at the bound:
            // a query on a connection whose server vanished can stay pending even after the
            // connection was closed, and a caller (an SNS request) must not wait with it.
            let operation = Task {
                try await client.withConnection { connection in
                    lease.leased(connection)
                    return try await body(connection)
                }
            }
            let value = try await FirstOutcome.of(operation) {
                try await Task.sleep(for: wait)
                guard let connection = lease.connection else { throw ConnectionWaitExceeded(wait: wait) }
                try await Task.sleep(for: max(.zero, limit - wait))
                // Still running: the server stopped answering. Closing the connection fails
                // what waits on it, and the pool opens another.
                Task { try? await connection.close() }
                throw OperationLimitExceeded(limit: limit)
            }
            state.withLock { $0.failingSince = nil }
            return value
        } catch {
            if Self.isConnectionFailure(error) {
                state.withLock { $0.failingSince = $0.failingSince ?? .now }
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

    /// A failure to reach the server, as opposed to an error the server answered with (a
    /// constraint, a statement or lock timeout: the server is up).
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if error is ConnectionWaitExceeded || error is OperationLimitExceeded || error is ServerNotAnswering { return true }
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError, error.rollbackError].contains { $0.map(isConnectionFailure) ?? false }
        }
        if let error = error as? PSQLError { return error.serverInfo == nil && error.code != .queryCancelled }
        // The pool's own error once its circuit breaker tripped (its type is not public).
        return String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError")
    }
}

/// No pooled connection became free, or could be opened, within the bound.
struct ConnectionWaitExceeded: Error, CustomStringConvertible {
    let wait: Duration

    var description: String { "no PostgreSQL connection could be had within \(wait)" }
}

/// The connection a caller got, once it got one (then the wait bound no longer applies).
private final class LeaseState: Sendable {
    private let value = Mutex<PostgresConnection?>(nil)

    func leased(_ connection: PostgresConnection) { value.withLock { $0 = connection } }
    var connection: PostgresConnection? { value.withLock { $0 } }
}

/// Connections failed and the probe has not seen the server answer since.
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
