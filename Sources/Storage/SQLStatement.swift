/// A value bound to a statement or read from a row, the same for both backends.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    var string: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    var int64: Int64? {
        switch self {
        case .integer(let value): value
        case .text(let value): Int64(value)
        default: nil
        }
    }

    var int: Int { Int(int64 ?? 0) }
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

/// A row by column name.
struct SQLRow: Sendable {
    var columns: [String: SQLValue]

    subscript(_ name: String) -> SQLValue { columns[name] ?? .null }

    func text(_ name: String) -> String { self[name].string ?? "" }
    func optionalText(_ name: String) -> String? { self[name].string }
    func int(_ name: String) -> Int { self[name].int }
    func int64(_ name: String) -> Int64 { self[name].int64 ?? 0 }
}

extension SQLValue {
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    init(_ value: Int) { self = .integer(Int64(value)) }
    init(_ value: Int64) { self = .integer(value) }
}
