import Foundation
import GRDB
import Logging
import Storage
import Testing

/// Both stores run the same SQL (SummarySQL), so their schemas must define the same tables
/// with the same columns: a column added to one migration list and not the other would only
/// show up as a runtime error on one backend.
@Suite(.timeLimit(.minutes(1)))
struct SchemaParityTests {
    @Test func sqliteAndPostgresDefineTheSameTablesAndColumns() async throws {
        let sqliteURL = try await TestBackend.sqlite.makeDatabaseURL()
        let path = String(sqliteURL.dropFirst("sqlite://".count))
        let store = try SQLiteStore(path: path)
        await store.close()
        let sqliteColumns = try await DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: """
                SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
                WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'grdb_migrations'
                """)
        }

        let postgresURL = try await TestBackend.postgres.makeDatabaseURL()
        try await withTestStoreAt(postgresURL)
        let location = try PostgresLocation(url: postgresURL)
        let result = try await RelayProcess.run(
            "psql", ["-h", location.host, "-p", String(location.port), "-U", location.username, "-d", location.database, "-At", "-c",
                     "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'"],
            in: try makeTemporaryDirectory("psql"), environment: ["PGPASSWORD": location.password ?? ""]
        )
        try? await TestBackend.drop(postgresURL)
        #expect(result.status == 0, "\(result.output)")
        let postgresColumns = Set(result.output.split(separator: "\n").map(String.init))

        #expect(!sqliteColumns.isEmpty)
        #expect(Set(sqliteColumns).subtracting(postgresColumns).sorted() == [], "columns only SQLite defines")
        #expect(postgresColumns.subtracting(sqliteColumns).sorted() == [], "columns only PostgreSQL defines")
    }

    /// Opens (and so migrates) the PostgreSQL database once.
    private func withTestStoreAt(_ url: String) async throws {
        try await StoreFactory.withStore(url: url, logger: .init(label: "schema-parity")) { _ in }
    }
}
