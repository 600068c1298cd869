import Foundation
import Yams

/// A YAML node with the dotted key it was found under, so that every error names its key.
struct ConfigNode {
    let node: Node
    let key: String
    let environment: [String: String]

    var isNull: Bool { ConfigNode.isNull(node) }

    var isMapping: Bool {
        if case .mapping = node { return true }
        return false
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// Calls `body` for each entry of a mapping; a key outside `known` is an error.
    func mapping(known: [String], _ body: (String, ConfigNode) throws(ConfigurationError) -> Void) throws(ConfigurationError) {
        if isNull { return }
        guard case .mapping(let mapping) = node else {
            throw .invalidValue(key: key.isEmpty ? "(top level)" : key, reason: "must be a mapping of keys to values")
        }
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else { throw .invalidValue(key: key, reason: "keys must be plain names") }
            let child = key.isEmpty ? scalar.string : "\(key).\(scalar.string)"
            guard known.contains(scalar.string) else { throw .unknownKey(child) }
            try body(scalar.string, ConfigNode(node: valueNode, key: child, environment: environment))
        }
    }

    func string() throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node else { throw .invalidValue(key: key, reason: "must be a single value") }
        return try substitute(scalar.string)
    }

    func integer(in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let text = try string()
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw .invalidValue(key: key, reason: "'\(text)' is not a whole number")
        }
        guard range.contains(value) else {
            throw .invalidValue(key: key, reason: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// The items of a list.
    func items() throws(ConfigurationError) -> [ConfigNode] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else { throw .invalidValue(key: key, reason: "must be a list") }
        return sequence.enumerated().map { ConfigNode(node: $1, key: "\(key)[\($0)]", environment: environment) }
    }

    /// One value or a list of values.
    func stringOrList() throws(ConfigurationError) -> [String] {
        if case .scalar = node { return [try string()] }
        return try strings()
    }

    /// A mapping of names to single values (HTTP headers).
    func stringMap() throws(ConfigurationError) -> [String: String] {
        if isNull { return [:] }
        guard case .mapping(let mapping) = node else { throw .invalidValue(key: key, reason: "must be a mapping of names to values") }
        var result: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let name) = keyNode else { throw .invalidValue(key: key, reason: "names must be plain") }
            result[name.string] = try ConfigNode(node: valueNode, key: "\(key).\(name.string)", environment: environment).string()
        }
        return result
    }

    func bool() throws(ConfigurationError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw .invalidValue(key: key, reason: "'\(other)' is not true or false")
        }
    }

    func number(in range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        let text = try string()
        guard let value = Double(text), range.contains(value) else {
            throw .invalidValue(key: key, reason: "'\(text)' is not a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `90`, `90s`, `30m`, `4h` or `1d`, as seconds.
    func duration() throws(ConfigurationError) -> Int64 {
        let text = try string().trimmingCharacters(in: .whitespaces)
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let unit = text.last.flatMap { units[$0] }
        guard let number = Int64(unit == nil ? text : String(text.dropLast())), number > 0 else {
            throw .invalidValue(key: key, reason: "'\(text)' is not a duration such as 90s, 30m, 4h or 1d")
        }
        return number * (unit ?? 1)
    }

    /// `HH:MM` as minutes after midnight; `24:00` is the end of the day.
    func timeOfDay() throws(ConfigurationError) -> Int {
        let text = try string()
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 1440 else {
            throw .invalidValue(key: key, reason: "'\(text)' is not a time such as 22:00")
        }
        return hours * 60 + minutes
    }

    func strings() throws(ConfigurationError) -> [String] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else { throw .invalidValue(key: key, reason: "must be a list") }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            values.append(try ConfigNode(node: item, key: "\(key)[\(index)]", environment: environment).string())
        }
        return values
    }

    /// Replaces `${VAR}` and `${VAR:-default}` from the environment.
    func substitute(_ text: String) throws(ConfigurationError) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw .invalidValue(key: key, reason: "unterminated ${ in '\(text)'")
            }
            let expression = rest[start.upperBound..<end]
            let name: Substring
            var fallback: Substring?
            if let separator = expression.range(of: ":-") {
                name = expression[..<separator.lowerBound]
                fallback = expression[separator.upperBound...]
            } else {
                name = expression
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw .invalidValue(key: key, reason: "'${\(expression)}' is not an environment variable reference")
            }
            if let value = environment[String(name)], !value.isEmpty {
                result += value
            } else if let fallback {
                result += fallback
            } else {
                throw .missingEnvironmentVariable(key: key, variable: String(name))
            }
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }
}
