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
/// - After connections failed, a probe tries a fresh connection every `probeInterval`; once
///   one succeeds while the pool still fails, the pool is replaced by a new one. PostgresNIO's
///   pool backs off reconnecting up to a minute after a long outage, and nothing tells it
///   that the server is back.
final class PostgresPool: Sendable {
    struct Timeouts: Sendable {
        /// How long a caller waits for a pooled connection before the store answers
        /// "unavailable" (the SNS endpoint answers 503).
        var connectionWait: Duration = .seconds(2)
        /// Server-side bounds of every session, in milliseconds.
        var statementMilliseconds = 5_000
        var lockMilliseconds = 2_000
        var idleInTransactionMilliseconds = 10_000
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

    private func runClients() async {
        var replacements = replaced.makeAsyncIterator()
        while !Task.isCancelled {
            let client = state.withLock { $0.client }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                // Until the probe replaced the client, or this task is cancelled (nil).
                _ = await replacements.next()
                group.cancelAll()
            }
        }
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

    /// Runs `body` with a pooled connection, waiting at most `wait` for one
    /// (`timeouts.connectionWait` unless given: start-up may wait longer).
    func withConnection<T: Sendable>(wait: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = state.withLock { $0.client }
        let leased = LeaseFlag()
        let wait = wait ?? timeouts.connectionWait
        do {
            let value = try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        leased.set()
                        return try await body(connection)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: wait)
                    if leased.isSet { return nil }
                    throw ConnectionWaitExceeded(wait: wait)
                }
                while let result = try await group.next() {
                    if let result {
                        group.cancelAll()
                        return result
                    }
                }
                throw CancellationError()
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
    func withTransaction<T: Sendable>(wait: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await withConnection(wait: wait) { connection in
            try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// A failure to reach the server, as opposed to an error the server answered with (a
    /// constraint, a statement or lock timeout: the server is up).
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if error is ConnectionWaitExceeded { return true }
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

/// Whether a caller got its connection (then the wait bound no longer applies).
private final class LeaseFlag: Sendable {
    private let value = Mutex(false)

    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
