#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON document as parsed from untrusted bytes: every value kept exactly as written (strings
/// unescaped, numbers as their literal text), objects in the order their members were written.
///
/// The relay's own reader (`JSONValue.parse`) builds it, so that the envelope and the payload are
/// each parsed once, strictly, without Foundation's `Codable` machinery on the request path.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON type's name, for error messages ("a string", "an object", ...).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }
}

/// A JSON number as written. Converted only when asked, and only when the conversion is exact
/// (`int64`) or the usual binary approximation (`double`).
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    /// The literal, e.g. `-12`, `0.5`, `1e3`; it matches the JSON number grammar.
    public let literal: String

    public init(literal: String) {
        self.literal = literal
    }

    /// The value when the literal is a plain integer (no fraction, no exponent) within Int64.
    public var int64: Int64? { Int64(literal) }

    /// The value as the nearest Double (nil only when it overflows to infinity).
    public var double: Double? {
        guard let value = Double(literal), value.isFinite else { return nil }
        return value
    }

    public var description: String { literal }
}

/// A JSON object's members in the order they were written. Keys are unique: the reader refuses a
/// document that repeats a key, so no two parsers can disagree on which value a key has.
public struct JSONObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public let key: String
        public let value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public let members: [Member]

    public init(members: [Member]) {
        self.members = members
    }

    /// The value of `key`, nil when absent. Keys are compared byte for byte, not by Swift's
    /// canonical equivalence (under which "\u{212A}" equals "K"): a key that another JSON
    /// reader would not call `key` is not `key` here either. A linear search: the objects the
    /// relay reads have a dozen members or so, where it beats hashing every key.
    public subscript(key: String) -> JSONValue? {
        var wanted = key
        return wanted.withUTF8 { wantedBytes in
            for member in members where member.key.utf8.count == wantedBytes.count {
                var candidate = member.key
                let same = candidate.withUTF8 { bytes in
                    wantedBytes.isEmpty || memcmp(bytes.baseAddress!, wantedBytes.baseAddress!, wantedBytes.count) == 0
                }
                if same { return member.value }
            }
            return nil
        }
    }

    public var keys: [String] { members.map(\.key) }
    public var count: Int { members.count }
}
