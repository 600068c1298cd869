/// Why bytes are not a JSON document the relay accepts, with the byte offset where it went wrong.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    /// The key an object repeated, when that is what is wrong.
    public let repeatedKey: String?

    public init(offset: Int, reason: String, repeatedKey: String? = nil) {
        self.offset = offset
        self.reason = reason
        self.repeatedKey = repeatedKey
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects accepted: far beyond any SNS envelope or Device
    /// Defender payload, and low enough that hostile input cannot exhaust the stack.
    public static let maximumDepth = 64

    /// Parses one JSON document (RFC 8259) from untrusted bytes, more strictly than the RFC
    /// requires where two readers could disagree: text must be valid UTF-8, a `\u` escape must
    /// not leave a lone surrogate, and an object must not repeat a key. Whitespace around the
    /// value is allowed; anything else after it is not.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(buffer)
            return Result { () throws(JSONSyntaxError) -> JSONValue in try reader.document() }
        }
        return try result.get()
    }

    /// Parses the UTF-8 of `text` (see `parse(_:)` for what is accepted).
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONSyntaxError> = text.withUTF8 { buffer in
            var reader = JSONReader(buffer)
            return Result { () throws(JSONSyntaxError) -> JSONValue in try reader.document() }
        }
        return try result.get()
    }
}

/// A recursive-descent reader over a byte buffer that outlives it (the caller's
/// `withUnsafeBufferPointer`); it keeps no pointer once `document()` returns.
struct JSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var depth = 0
    /// Reused for strings that contain escapes.
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func document() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        let value = try value()
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected data after the JSON value") }
        return value
    }

    private func fail(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: position, reason: reason)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func value() throws(JSONSyntaxError) -> JSONValue {
        guard position < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object(try object())
        case UInt8(ascii: "["): return .array(try array())
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw fail("unexpected end of input") }
        let start = word.utf8Start
        for offset in 0..<count where bytes[position + offset] != start[offset] {
            throw fail("invalid literal")
        }
        position += count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        guard depth <= JSONValue.maximumDepth else { throw fail("nested deeper than \(JSONValue.maximumDepth) levels") }
    }

    /// Steps into an array or object at its opening bracket; true when it closes at once (empty).
    private mutating func open(closedBy close: UInt8) throws(JSONSyntaxError) -> Bool {
        try enter()
        position += 1
        skipWhitespace()
        guard position < bytes.count, bytes[position] == close else { return false }
        position += 1
        depth -= 1
        return true
    }

    /// After an element or member: true when the array or object closes here, false when a `,`
    /// announces another.
    private mutating func closes(_ close: UInt8, or expected: String) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: ","):
            position += 1
            skipWhitespace()
            return false
        case close:
            position += 1
            depth -= 1
            return true
        default:
            throw fail(expected)
        }
    }

    private mutating func object() throws(JSONSyntaxError) -> JSONObject {
        var members: [JSONObject.Member] = []
        if try open(closedBy: UInt8(ascii: "}")) { return JSONObject(members: members) }
        // Past a few members, keys seen are hashed: a hostile object with thousands of keys
        // must not cost a comparison of every pair.
        var seen: Set<String>?
        repeat {
            guard position < bytes.count else { throw fail("unexpected end of input") }
            guard bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyOffset = position
            let key = try string()
            let duplicate: Bool
            if seen != nil {
                duplicate = !seen!.insert(key).inserted
            } else if members.count >= 16 {
                seen = Set(members.map(\.key))
                duplicate = !seen!.insert(key).inserted
            } else {
                duplicate = members.contains { $0.key == key }
            }
            if duplicate {
                throw JSONSyntaxError(offset: keyOffset, reason: "duplicate key \"\(key.prefix(64))\"", repeatedKey: key)
            }
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            position += 1
            skipWhitespace()
            members.append(JSONObject.Member(key: key, value: try value()))
        } while try !closes(UInt8(ascii: "}"), or: "expected ',' or '}'")
        return JSONObject(members: members)
    }

    private mutating func array() throws(JSONSyntaxError) -> [JSONValue] {
        var elements: [JSONValue] = []
        if try open(closedBy: UInt8(ascii: "]")) { return elements }
        repeat {
            elements.append(try value())
        } while try !closes(UInt8(ascii: "]"), or: "expected ',' or ']'")
        return elements
    }

    /// A string starting at the opening quote. Text without escapes is validated and copied in
    /// one step; escapes are decoded into `scratch`, then validated as UTF-8 as a whole.
    private mutating func string() throws(JSONSyntaxError) -> String {
        position += 1
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = try validated(UnsafeBufferPointer(rebasing: bytes[start..<position]), at: start)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            guard byte >= 0x20 else { throw fail("unescaped control character in a string") }
            position += 1
        }
        throw fail("unterminated string")
    }

    private mutating func escapedString(from start: Int) throws(JSONSyntaxError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                let text = try scratch.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in try validated(buffer, at: start) }
                position += 1
                return text
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { throw fail("unterminated string") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"): try unicodeEscape()
                default:
                    position -= 1
                    throw fail("invalid escape")
                }
            default:
                // Copy the run up to the next quote or backslash in one go.
                let runStart = position
                while position < bytes.count {
                    let next = bytes[position]
                    if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") { break }
                    guard next >= 0x20 else { throw fail("unescaped control character in a string") }
                    position += 1
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
            }
        }
        throw fail("unterminated string")
    }

    /// `\uXXXX` (the `\u` already read), with a following `\uXXXX` when it is a high surrogate.
    private mutating func unicodeEscape() throws(JSONSyntaxError) {
        var scalar = try hex4()
        if (0xD800...0xDBFF).contains(scalar) {
            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw fail("lone surrogate in a \\u escape")
            }
            position += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone surrogate in a \\u escape") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalar) {
            throw fail("lone surrogate in a \\u escape")
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
        scratch.append(contentsOf: UTF8.encode(unicode)!)
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw fail("unterminated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private func validated(_ utf8: UnsafeBufferPointer<UInt8>, at offset: Int) throws(JSONSyntaxError) -> String {
        // ASCII needs no validation beyond the control-character check already done.
        var ascii = true
        for byte in utf8 where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: utf8, as: UTF8.self) }
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw JSONSyntaxError(offset: offset, reason: "a string is not valid UTF-8")
        }
        return text
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    private mutating func number() throws(JSONSyntaxError) -> JSONNumber {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw fail("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("invalid number") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("invalid number") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        guard position - start <= 64 else { throw JSONSyntaxError(offset: start, reason: "a number longer than 64 characters") }
        return JSONNumber(literal: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
