import Logging

/// Opens the store `storage.url` names for the duration of `body`: SQLite is opened and
/// migrated; PostgreSQL's connection pool runs beside `body` and is migrated before it starts.
public enum StoreFactory {
    /// `leaseClock`: whose clock PostgreSQL leases are kept by (tests step time by hand).
    public static func withStore<T: Sendable>(
        url: String, logger: Logger, leaseClock: PostgresStore.LeaseClock = .database, _ body: (any Store) async throws -> T
    ) async throws -> T {
        switch try StorageLocation(url: url) {
        case .sqlite(let path):
            let store = try SQLiteStore(path: path)
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        case .postgres(let location):
            let store = PostgresStore(location: location, logger: logger, leaseClock: leaseClock)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.run() }
                defer { group.cancelAll() }
                try await store.migrate()
                return try await body(store)
            }
        }
    }
}
