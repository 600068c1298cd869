import GRDB
import GRDBSQLite
import Synchronization

/// Prepared statements of the writer connection, run through SQLite's C API.
///
/// Every write of the ingest path runs on the one writer connection, so its per-statement cost
/// bounds how many messages per second the store takes. GRDB's statement machinery costs about
/// 25 µs per statement there (a statement that changes nothing took 30 µs); binding and
/// stepping a prepared statement directly costs a few. Only the writer connection is served
/// here: it lives as long as the pool, and `finalizeAll` runs before the pool closes. Reader
/// connections, which GRDB may close and reopen, keep using GRDB's own statements.
final class SQLiteWriterStatements: Sendable {
    private struct Cache: @unchecked Sendable {
        /// Prepared statements by SQL text; touched only on the writer's queue.
        var statements: [String: OpaquePointer] = [:]
        var connection: OpaquePointer?
    }

    private let cache = Mutex(Cache())

    /// A statement handle leaving the lock; used on the writer's queue only.
    private struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// Runs `statement` to completion on the writer connection.
    func run(_ statement: SQLStatement, in db: Database) throws {
        try withPrepared(statement, in: db) { handle in
            var code = sqlite3_step(handle)
            while code == SQLITE_ROW { code = sqlite3_step(handle) }
            guard code == SQLITE_DONE else { throw Self.error(code, db) }
        }
    }

    /// The rows `statement` returns, read on the writer connection.
    func rows(_ statement: SQLStatement, in db: Database) throws -> [SQLRow] {
        try withPrepared(statement, in: db) { handle in
            let count = sqlite3_column_count(handle)
            let names = (0..<count).map { String(cString: sqlite3_column_name(handle, $0)) }
            var rows: [SQLRow] = []
            while true {
                let code = sqlite3_step(handle)
                if code == SQLITE_DONE { return rows }
                guard code == SQLITE_ROW else { throw Self.error(code, db) }
                var columns: [String: SQLValue] = [:]
                columns.reserveCapacity(Int(count))
                for index in 0..<count {
                    columns[names[Int(index)]] = Self.value(handle, index)
                }
                rows.append(SQLRow(columns: columns))
            }
        }
    }

    /// Finalizes every statement (before the writer connection closes).
    func finalizeAll() {
        cache.withLock { cache in
            for handle in cache.statements.values { sqlite3_finalize(handle) }
            cache.statements = [:]
        }
    }

    private func withPrepared<T>(_ statement: SQLStatement, in db: Database, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard let connection = db.sqliteConnection else { throw DatabaseError(message: "the writer connection is closed") }
        let handle = try cache.withLock { cache -> Handle in
            if cache.connection != connection {
                for handle in cache.statements.values { sqlite3_finalize(handle) }
                cache.statements = [:]
                cache.connection = connection
            }
            if let handle = cache.statements[statement.sql] { return Handle(pointer: handle) }
            var handle: OpaquePointer?
            let code = sqlite3_prepare_v3(connection, statement.sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
            guard code == SQLITE_OK, let handle else { throw Self.error(code, db) }
            cache.statements[statement.sql] = handle
            return Handle(pointer: handle)
        }.pointer
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, argument) in statement.arguments.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch argument {
            case .null: code = sqlite3_bind_null(handle, index)
            case .integer(let value): code = sqlite3_bind_int64(handle, index, value)
            case .text(let value):
                code = value.utf8CString.withUnsafeBufferPointer { text in
                    sqlite3_bind_text(handle, index, text.baseAddress, Int32(text.count - 1), Self.transient)
                }
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { blob in
                    sqlite3_bind_blob(handle, index, blob.baseAddress, Int32(blob.count), Self.transient)
                }
            }
            guard code == SQLITE_OK else { throw Self.error(code, db) }
        }
        return try body(handle)
    }

    private static func value(_ handle: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .integer(Int64(sqlite3_column_double(handle, index)))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let text = sqlite3_column_text(handle, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let blob = sqlite3_column_blob(handle, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default: return .null
        }
    }

    /// SQLite copies bound text and blobs (`SQLITE_TRANSIENT`): nothing must outlive the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func error(_ code: Int32, _ db: Database) -> DatabaseError {
        let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) } ?? "no connection"
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
    }
}
