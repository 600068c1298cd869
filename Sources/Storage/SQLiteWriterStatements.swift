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
        let prepared = try self.prepared(statement.sql, in: db)
        defer { prepared.reset() }
        try prepared.bind(statement.arguments)
        try prepared.execute()
    }

    /// The rows `statement` returns, read on the writer connection.
    func rows(_ statement: SQLStatement, in db: Database) throws -> [SQLRow] {
        let prepared = try self.prepared(statement.sql, in: db)
        defer { prepared.reset() }
        try prepared.bind(statement.arguments)
        let count = sqlite3_column_count(prepared.handle)
        let names = (0..<count).map { String(cString: sqlite3_column_name(prepared.handle, $0)) }
        return try prepared.rows { row in
            var columns: [String: SQLValue] = [:]
            columns.reserveCapacity(Int(count))
            for index in 0..<count { columns[names[Int(index)]] = row.value(index) }
            return SQLRow(columns: columns)
        }
    }

    /// The statement for `sql`, prepared once per connection. Reset it (after reading its
    /// rows) before preparing it again.
    func prepared(_ sql: String, in db: Database) throws -> SQLitePreparedStatement {
        guard let connection = db.sqliteConnection else { throw DatabaseError(message: "the writer connection is closed") }
        let handle = try cache.withLock { cache -> Handle in
            if cache.connection != connection {
                for handle in cache.statements.values { sqlite3_finalize(handle) }
                cache.statements = [:]
                cache.connection = connection
            }
            if let handle = cache.statements[sql] { return Handle(pointer: handle) }
            var handle: OpaquePointer?
            let code = sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
            guard code == SQLITE_OK, let handle else { throw SQLitePreparedStatement.error(code, connection) }
            cache.statements[sql] = handle
            return Handle(pointer: handle)
        }.pointer
        return SQLitePreparedStatement(handle: handle, connection: connection)
    }

    /// Finalizes every statement (before the writer connection closes).
    func finalizeAll() {
        cache.withLock { cache in
            for handle in cache.statements.values { sqlite3_finalize(handle) }
            cache.statements = [:]
        }
    }
}

/// One prepared statement on the writer: typed binds (text and blobs bound from the caller's
/// own storage, copied by SQLite once), stepping, and columns read by position.
struct SQLitePreparedStatement {
    let handle: OpaquePointer
    let connection: OpaquePointer

    func bind(_ index: Int32, _ value: String) throws {
        guard !value.isEmpty else {
            // A null pointer would bind NULL, not an empty string.
            try check(sqlite3_bind_text(handle, index, "", 0, Self.transient))
            return
        }
        var value = value
        try value.withUTF8 { text in
            try text.withMemoryRebound(to: CChar.self) { chars in
                try check(sqlite3_bind_text(handle, index, chars.baseAddress, Int32(chars.count), Self.transient))
            }
        }
    }

    func bind(_ index: Int32, _ value: String?) throws {
        if let value { try bind(index, value) } else { try bindNull(index) }
    }

    func bind(_ index: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    func bind(_ index: Int32, _ value: Int) throws {
        try check(sqlite3_bind_int64(handle, index, Int64(value)))
    }

    func bind(_ index: Int32, _ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else {
            // A null pointer would bind NULL, not an empty blob.
            try check(sqlite3_bind_zeroblob(handle, index, 0))
            return
        }
        try bytes.withUnsafeBytes { blob in
            try check(sqlite3_bind_blob(handle, index, blob.baseAddress, Int32(blob.count), Self.transient))
        }
    }

    func bindNull(_ index: Int32) throws {
        try check(sqlite3_bind_null(handle, index))
    }

    /// Binds `arguments` to `?1`, `?2`, ... in order.
    func bind(_ arguments: [SQLValue]) throws {
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            switch argument {
            case .null: try bindNull(index)
            case .integer(let value): try bind(index, value)
            case .text(let value): try bind(index, value)
            case .blob(let bytes): try bind(index, bytes)
            }
        }
    }

    /// A value SQLite refused to bind (too long, out of memory) fails the statement rather
    /// than leave its parameter NULL.
    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw Self.error(code, connection) }
    }

    /// Runs the statement to completion, ignoring any rows.
    func execute() throws {
        var code = sqlite3_step(handle)
        while code == SQLITE_ROW { code = sqlite3_step(handle) }
        guard code == SQLITE_DONE else { throw Self.error(code, connection) }
    }

    /// Rows changed by the statement just executed.
    var changes: Int { Int(sqlite3_changes(connection)) }

    /// Every row, read by `read`.
    func rows<T>(_ read: (SQLiteRowReader) throws -> T) throws -> [T] {
        var result: [T] = []
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return result }
            guard code == SQLITE_ROW else { throw Self.error(code, connection) }
            result.append(try read(SQLiteRowReader(handle: handle)))
        }
    }

    /// Ready for the next use: rows finished, bindings cleared.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// SQLite copies bound text and blobs (`SQLITE_TRANSIENT`): nothing must outlive the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func error(_ code: Int32, _ connection: OpaquePointer) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
    }
}

/// The current row of a statement, by column position.
struct SQLiteRowReader {
    let handle: OpaquePointer

    func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

    func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

    func text(_ index: Int32) -> String {
        let count = Int(sqlite3_column_bytes(handle, index))
        guard let text = sqlite3_column_text(handle, index) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func optionalText(_ index: Int32) -> String? { isNull(index) ? nil : text(index) }

    func value(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .integer(Int64(sqlite3_column_double(handle, index)))
        case SQLITE_TEXT: return .text(text(index))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let blob = sqlite3_column_blob(handle, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default: return .null
        }
    }
}
