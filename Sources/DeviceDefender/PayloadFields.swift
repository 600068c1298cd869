import JSON

/// Typed access to one JSON object of a payload, naming the key path in every error
/// (`auditDetails[3].checkName`), with the rules the published schemas imply: a required key
/// must be present and not null; an optional key may be absent or null; a value of the wrong
/// JSON type is refused either way.
struct PayloadFields {
    let object: JSONObject
    /// Where this object sits: the path of the object holding it, the key it is under and, in
    /// an array, its index. Rendered only for an error message or a nested object's parent, so
    /// that decoding an audit's twenty checks builds no path strings.
    private let parent: String
    private let name: String?
    private let index: Int?

    init(_ object: JSONObject, path: String = "") {
        self.object = object
        self.parent = path
        self.name = nil
        self.index = nil
    }

    private init(_ object: JSONObject, parent: String, name: String, index: Int?) {
        self.object = object
        self.parent = parent
        self.name = name
        self.index = index
    }

    /// Where this object sits in the payload; empty at the top level.
    var path: String {
        guard let name else { return parent }
        let named = parent.isEmpty ? name : "\(parent).\(name)"
        return index.map { "\(named)[\($0)]" } ?? named
    }

    /// Parses `message` and requires a JSON object at its top.
    static func parse(_ message: String) throws(PayloadDecodingError) -> PayloadFields {
        guard let value = try? JSONValue.parse(message) else { throw .notJSON }
        guard case .object(let object) = value else { throw .notAnObject }
        return PayloadFields(object)
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func required(_ key: String, _ expected: String) throws(PayloadDecodingError) -> JSONValue {
        guard let value = object[key] else { throw .missingKey(keyPath(key)) }
        if value == .null { throw .wrongType(key: keyPath(key), expected: expected) }
        return value
    }

    private func optional(_ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(PayloadDecodingError) -> String {
        guard case .string(let text) = try required(key, "a string") else { throw .wrongType(key: keyPath(key), expected: "a string") }
        return text
    }

    func optionalString(_ key: String) throws(PayloadDecodingError) -> String? {
        guard let value = optional(key) else { return nil }
        guard case .string(let text) = value else { throw .wrongType(key: keyPath(key), expected: "a string") }
        return text
    }

    func int(_ key: String) throws(PayloadDecodingError) -> Int {
        Int(try int64(key))
    }

    func int64(_ key: String) throws(PayloadDecodingError) -> Int64 {
        guard case .number(let number) = try required(key, "an integer"), let value = number.int64 else {
            throw .wrongType(key: keyPath(key), expected: "an integer")
        }
        return value
    }

    func optionalInt64(_ key: String) throws(PayloadDecodingError) -> Int64? {
        guard let value = optional(key) else { return nil }
        guard case .number(let number) = value, let integer = number.int64 else { throw .wrongType(key: keyPath(key), expected: "an integer") }
        return integer
    }

    func double(_ key: String) throws(PayloadDecodingError) -> Double {
        guard case .number(let number) = try required(key, "a number"), let value = number.double else {
            throw .wrongType(key: keyPath(key), expected: "a number")
        }
        return value
    }

    func optionalDouble(_ key: String) throws(PayloadDecodingError) -> Double? {
        guard let value = optional(key) else { return nil }
        guard case .number(let number) = value, let double = number.double else { throw .wrongType(key: keyPath(key), expected: "a number") }
        return double
    }

    func object(_ key: String) throws(PayloadDecodingError) -> PayloadFields {
        guard case .object(let nested) = try required(key, "an object") else { throw .wrongType(key: keyPath(key), expected: "an object") }
        return PayloadFields(nested, parent: path, name: key, index: nil)
    }

    func optionalObject(_ key: String) throws(PayloadDecodingError) -> PayloadFields? {
        guard let value = optional(key) else { return nil }
        guard case .object(let nested) = value else { throw .wrongType(key: keyPath(key), expected: "an object") }
        return PayloadFields(nested, parent: path, name: key, index: nil)
    }

    /// The objects of an array of objects, each with its own path (`key[index]`).
    func objects(_ key: String) throws(PayloadDecodingError) -> [PayloadFields] {
        guard case .array(let elements) = try required(key, "an array") else { throw .wrongType(key: keyPath(key), expected: "an array") }
        var result: [PayloadFields] = []
        result.reserveCapacity(elements.count)
        let parent = path
        for (index, element) in elements.enumerated() {
            guard case .object(let nested) = element else { throw .wrongType(key: "\(keyPath(key))[\(index)]", expected: "an object") }
            result.append(PayloadFields(nested, parent: parent, name: key, index: index))
        }
        return result
    }

    /// An optional array whose elements must all be `T`, read by `element` (nil for a wrong type).
    func optionalArray<T>(_ key: String, expected: String, _ element: (JSONValue) -> T?) throws(PayloadDecodingError) -> [T]? {
        guard let value = optional(key) else { return nil }
        guard case .array(let elements) = value else { throw .wrongType(key: keyPath(key), expected: "an array") }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for (index, item) in elements.enumerated() {
            guard let converted = element(item) else { throw .wrongType(key: "\(keyPath(key))[\(index)]", expected: expected) }
            result.append(converted)
        }
        return result
    }

    /// An optional object whose values must all be strings.
    func optionalStringMap(_ key: String) throws(PayloadDecodingError) -> [String: String]? {
        guard let value = optional(key) else { return nil }
        guard case .object(let nested) = value else { throw .wrongType(key: keyPath(key), expected: "an object") }
        var result: [String: String] = [:]
        for member in nested.members {
            guard case .string(let text) = member.value else { throw .wrongType(key: "\(keyPath(key)).\(member.key)", expected: "a string") }
            result[member.key] = text
        }
        return result
    }
}
