import DeviceDefender
import Foundation
import Yams

/// Everything wrong with a configuration file, gathered while reading it: `config check` lists
/// every problem, not just the first. Used by one parse on one thread.
final class ConfigurationProblems {
    var errors: [ConfigurationError] = []
    var warnings: [ConfigurationWarning] = []

    /// Runs `body`; its error is recorded instead of ending the parse.
    func collect(_ body: () throws(ConfigurationError) -> Void) {
        do {
            try body()
        } catch {
            errors.append(error)
        }
    }
}

/// Where `${VAR}` and `${file:PATH}` come from.
public struct ConfigurationSources: Sendable {
    public var environment: [String: String]
    /// Reads a secret file; the result's trailing line break is dropped. Files are bounded: a
    /// secret is a line, not a disk image.
    public var readFile: @Sendable (String) throws(SecretFileProblem) -> String

    public static let maxSecretFileBytes = 65_536
    /// Where `${file:PATH}` inside an environment variable's value may point.
    public static let secretMounts = ["/run/secrets/", "/var/run/secrets/"]

    public init(environment: [String: String], readFile: @escaping @Sendable (String) throws(SecretFileProblem) -> String = ConfigurationSources.readSecretFile) {
        self.environment = environment
        self.readFile = readFile
    }

    @Sendable public static func readSecretFile(_ path: String) throws(SecretFileProblem) -> String {
        guard path.hasPrefix("/") else {
            throw SecretFileProblem("the path must be absolute")
        }
        // Non-blocking open and a regular file only: a FIFO, a device or a hung mount must not
        // hold start-up (or a reload) forever.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SecretFileProblem("it does not exist or cannot be read by this user")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw SecretFileProblem("it is not a regular file")
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while data.count <= maxSecretFileBytes {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SecretFileProblem("reading it failed (errno \(errno))")
            }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        guard data.count <= maxSecretFileBytes else {
            throw SecretFileProblem("it is larger than \(maxSecretFileBytes) bytes")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw SecretFileProblem("it is not UTF-8 text")
        }
        while text.hasSuffix("\n") || text.hasSuffix("\r") {
            text.removeLast()
        }
        return text
    }
}

/// Why a `${file:PATH}` secret could not be read (never its content).
public struct SecretFileProblem: Error, Sendable {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }
}

/// A YAML node with the dotted key it was found under, so that every error names its key.
struct ConfigNode {
    let node: Node
    let key: String
    let sources: ConfigurationSources
    let problems: ConfigurationProblems

    var isNull: Bool { ConfigNode.isNull(node) }

    var isMapping: Bool {
        if case .mapping = node { return true }
        return false
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// How a value may be quoted in an error: as written when it refers to the environment or a
    /// file (the substituted text may be a secret that landed in the wrong key), else at most 64
    /// characters of it.
    func shown(_ value: some StringProtocol) -> String {
        ConfigNode.holdsReference(node) ? "(the value of a ${...} reference)" : String(value.prefix(64))
    }

    private static func holdsReference(_ node: Node) -> Bool {
        switch node {
        case .scalar(let scalar): scalar.string.contains("${")
        case .sequence(let sequence): sequence.contains(where: holdsReference)
        case .mapping(let mapping): mapping.contains { holdsReference($0.key) || holdsReference($0.value) }
        case .alias: false
        }
    }

    func child(_ node: Node, key: String) -> ConfigNode {
        ConfigNode(node: node, key: key, sources: sources, problems: problems)
    }

    /// Calls `body` for each entry of a mapping. A key `Keys` does not declare is recorded as
    /// unknown, and an error from `body` is recorded; either way the other keys are still read.
    func mapping<Keys: ConfigKey>(_ keys: Keys.Type, _ body: (Keys, ConfigNode) throws(ConfigurationError) -> Void) {
        if isNull { return }
        guard case .mapping(let mapping) = node else {
            problems.errors.append(.invalidValue(key: key.isEmpty ? "(top level)" : key, reason: "must be a mapping of keys to values"))
            return
        }
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                problems.errors.append(.invalidValue(key: key, reason: "keys must be plain names"))
                continue
            }
            let childKey = key.isEmpty ? scalar.string : "\(key).\(scalar.string)"
            guard let known = Keys(rawValue: scalar.string) else {
                problems.errors.append(.unknownKey(childKey))
                continue
            }
            problems.collect { () throws(ConfigurationError) in try body(known, child(valueNode, key: childKey)) }
        }
    }

    func string() throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node else { throw .invalidValue(key: key, reason: "must be a single value") }
        return try substitute(scalar.string)
    }

    func integer(in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let text = try string()
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw .invalidValue(key: key, reason: "'\(shown(text))' is not a whole number")
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
        return sequence.enumerated().map { child($1, key: "\(key)[\($0)]") }
    }

    /// The items of a list; when this is not a list, that is recorded and there are none.
    func itemsRecordingProblems() -> [ConfigNode] {
        var result: [ConfigNode] = []
        problems.collect { () throws(ConfigurationError) in result = try items() }
        return result
    }

    /// One value or a list of values, each of which must be one of `Value`'s cases: anything
    /// else could never match.
    func values<Value: RawRepresentable & CaseIterable>(of _: Value.Type) throws(ConfigurationError) -> [String] where Value.RawValue == String {
        let texts = try stringOrList()
        let allowed = Value.allCases.map(\.rawValue)
        for text in texts where !allowed.contains(text) {
            throw .invalidValue(key: key, reason: "'\(shown(text))' can never match: it must be one of \(allowed.joined(separator: ", "))")
        }
        return texts
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
            result[name.string] = try child(valueNode, key: "\(key).\(name.string)").string()
        }
        return result
    }

    func bool() throws(ConfigurationError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw .invalidValue(key: key, reason: "'\(shown(other))' is not true or false")
        }
    }

    func number(in range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        let text = try string()
        guard let value = Double(text), range.contains(value) else {
            throw .invalidValue(key: key, reason: "'\(shown(text))' is not a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `90`, `90s`, `30m`, `4h` or `1d`, as seconds.
    func duration() throws(ConfigurationError) -> Int64 {
        let text = try string()
        guard let seconds = DurationText.seconds(text) else {
            throw .invalidValue(key: key, reason: "'\(shown(text))' is not a duration such as 90s, 30m, 4h or 1d (at most 10 years)")
        }
        return seconds
    }

    /// A duration, or `0`/`0s` for none.
    func durationOrZero() throws(ConfigurationError) -> Int64 {
        let text = try string().trimmingCharacters(in: .whitespaces)
        return text == "0" || text == "0s" ? 0 : try duration()
    }

    /// `HH:MM` as minutes after midnight; `24:00` is the end of the day.
    func timeOfDay() throws(ConfigurationError) -> Int {
        let text = try string()
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 1440 else {
            throw .invalidValue(key: key, reason: "'\(shown(text))' is not a time such as 22:00")
        }
        return hours * 60 + minutes
    }

    func strings() throws(ConfigurationError) -> [String] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else { throw .invalidValue(key: key, reason: "must be a list") }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            values.append(try child(item, key: "\(key)[\(index)]").string())
        }
        return values
    }

    /// The content of the secret file `path`, its problem named with this key.
    private func secret(at path: String) throws(ConfigurationError) -> String {
        do {
            return try sources.readFile(path)
        } catch {
            throw .unreadableSecretFile(key: key, path: path, reason: error.reason)
        }
    }

    /// Replaces each `${file:PATH}` in an environment variable's value, and nothing else.
    private func substituteFiles(_ text: String) throws(ConfigurationError) -> String {
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${file:") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw .invalidValue(key: key, reason: "unterminated ${file: in an environment variable's value")
            }
            let path = String(rest[start.upperBound..<end])
            // Whoever sets one variable must not be able to pull any file into any value (a
            // webhook URL would carry it off): only the secret mounts of Docker and Kubernetes.
            guard ConfigurationSources.secretMounts.contains(where: { path.hasPrefix($0) }), !path.split(separator: "/").contains("..") else {
                throw .unreadableSecretFile(key: key, path: path, reason: "inside an environment variable's value only files under \(ConfigurationSources.secretMounts.joined(separator: " or ")) are read")
            }
            result += try secret(at: path)
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    /// Replaces `${VAR}` and `${VAR:-default}` from the environment, and `${file:PATH}` with
    /// the content of a file (Docker and Kubernetes secrets), so secrets stay out of the file.
    func substitute(_ text: String) throws(ConfigurationError) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw .invalidValue(key: key, reason: "unterminated ${ in the value")
            }
            let expression = rest[start.upperBound..<end]
            if expression.hasPrefix("file:") {
                let path = String(expression.dropFirst("file:".count))
                result += try secret(at: path)
                rest = rest[rest.index(after: end)...]
                continue
            }
            let name: Substring
            var fallback: Substring?
            if let separator = expression.range(of: ":-") {
                name = expression[..<separator.lowerBound]
                fallback = expression[separator.upperBound...]
            } else {
                name = expression
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw .invalidValue(key: key, reason: "'${\(name.prefix(64))...}' is neither an environment variable (${NAME}) nor a file (${file:/PATH})")
            }
            if let value = sources.environment[String(name)], !value.isEmpty {
                // A variable may carry a secret file reference itself (compose hands the
                // storage URL over as postgres://relay:${file:/run/secrets/pw}@db/relay);
                // only files are read there, one level deep.
                result += value.contains("${file:") ? try substituteFiles(value) : value
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
