import Foundation
import Logging
import Storage

/// A fresh, empty database of either backend for one test.
enum TestBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The server scripts/start-test-postgres.sh started (scripts/test.sh exports it).
    static var postgresAdminURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["DEFENDER_RELAY_TEST_POSTGRES_URL"], !url.isEmpty else {
                throw TestSetupError("No PostgreSQL server for the tests: run scripts/test.sh, or export DEFENDER_RELAY_TEST_POSTGRES_URL=$(scripts/start-test-postgres.sh)")
            }
            return url
        }
    }

    /// A `storage.url` for a new empty database.
    func makeDatabaseURL() async throws -> String {
        switch self {
        case .sqlite:
            return "sqlite://" + (try makeTemporaryDirectory("store")).appendingPathComponent("relay.sqlite").path
        case .postgres:
            let admin = try PostgresLocation(url: try Self.postgresAdminURL)
            let name = "relay_test_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
            let result = try await RelayProcess.run(
                "createdb", ["-h", admin.host, "-p", String(admin.port), "-U", admin.username, name],
                in: try makeTemporaryDirectory("createdb"), environment: ["PGPASSWORD": admin.password ?? ""]
            )
            guard result.status == 0 else { throw TestSetupError("createdb \(name) failed: \(result.output)") }
            return "postgres://\(admin.username):\(admin.password ?? "")@\(admin.host):\(admin.port)/\(name)?sslmode=disable"
        }
    }

    /// Removes a PostgreSQL test database (the server itself is throwaway).
    static func drop(_ url: String) async throws {
        guard url.hasPrefix("postgres"), let location = try? PostgresLocation(url: url) else { return }
        _ = try await RelayProcess.run(
            "dropdb", ["--force", "-h", location.host, "-p", String(location.port), "-U", location.username, location.database],
            in: try makeTemporaryDirectory("dropdb"), environment: ["PGPASSWORD": location.password ?? ""]
        )
    }

    /// Runs `psql` against a test database (for migrations from an older schema).
    static func psql(_ url: String, _ sql: String) async throws {
        let location = try PostgresLocation(url: url)
        let result = try await RelayProcess.run(
            "psql", ["-h", location.host, "-p", String(location.port), "-U", location.username, "-d", location.database, "-v", "ON_ERROR_STOP=1", "-qc", sql],
            in: try makeTemporaryDirectory("psql"), environment: ["PGPASSWORD": location.password ?? ""]
        )
        guard result.status == 0 else { throw TestSetupError("psql failed: \(result.output)") }
    }
}

/// A fresh store of `backend`. Its leases follow the `now` the test passes (`leaseClock`
/// `.caller`), so that tests can step time; `PostgresLeaseClockTests` checks the database's clock.
func withTestStore<T: Sendable>(_ backend: TestBackend, leaseClock: PostgresStore.LeaseClock = .caller, _ body: (any Store, String) async throws -> T) async throws -> T {
    let url = try await backend.makeDatabaseURL()
    var logger = Logger(label: "store-test")
    logger.logLevel = .critical
    let result = try await StoreFactory.withStore(url: url, logger: logger, leaseClock: leaseClock) { store in try await body(store, url) }
    try? await TestBackend.drop(url)
    return result
}

import Testing

/// The test environment lacks something the test needs; says what to run.
struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
