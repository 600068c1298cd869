/// A value bound to a statement or read from a row, the same for both backends.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
}

/// One statement with `?` placeholders. SQLite runs it as is; PostgreSQL numbers the
/// placeholders (`$1`, `$2` ...). Statements here never contain a literal `?`.
struct SQLStatement: Sendable {
    var sql: String
    var arguments: [SQLValue]

    init(_ sql: String, _ arguments: [SQLValue] = []) {
        self.sql = sql
        self.arguments = arguments
    }

    /// The PostgreSQL spelling of the placeholders.
    var numberedSQL: String {
        var result = ""
        var index = 0
        for character in sql {
            if character == "?" {
                index += 1
                result += "$\(index)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// A row by column name. Reading a column the row does not have, or NULL where the schema
/// has none, is an error that names the column: a query and a mapping that disagree fail
/// loudly instead of turning into empty strings and zeros.
struct SQLRow: Sendable {
    var columns: [String: SQLValue]

    func value(_ name: String) throws(StoreError) -> SQLValue {
        guard let value = columns[name] else {
            throw .schemaMismatch("the row has no column \(name) (columns: \(columns.keys.sorted().joined(separator: ", ")))")
        }
        return value
    }

    func text(_ name: String) throws(StoreError) -> String {
        guard let text = try optionalText(name) else { throw .schemaMismatch("column \(name) is NULL") }
        return text
    }

    func optionalText(_ name: String) throws(StoreError) -> String? {
        switch try value(name) {
        case .null: return nil
        case .text(let text): return text
        case let other: throw .schemaMismatch("column \(name) holds \(other), not text")
        }
    }

    func int64(_ name: String) throws(StoreError) -> Int64 {
        guard let number = try optionalInt64(name) else { throw .schemaMismatch("column \(name) is NULL") }
        return number
    }

    func optionalInt64(_ name: String) throws(StoreError) -> Int64? {
        switch try value(name) {
        case .null: return nil
        case .integer(let number): return number
        case let other: throw .schemaMismatch("column \(name) holds \(other), not an integer")
        }
    }

    func int(_ name: String) throws(StoreError) -> Int { Int(try int64(name)) }

    func blob(_ name: String) throws(StoreError) -> [UInt8] {
        switch try value(name) {
        case .blob(let bytes): return bytes
        case let other: throw .schemaMismatch("column \(name) holds \(other), not bytes")
        }
    }
}

extension SQLValue {
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    init(_ value: Int) { self = .integer(Int64(value)) }
    init(_ value: Int64) { self = .integer(value) }
}
