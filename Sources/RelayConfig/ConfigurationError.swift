/// Why the configuration cannot be used; each names the key (as written in the YAML file) so
/// that start-up failures point at the line to fix. Values that may hold a secret (URLs, files'
/// contents) are never repeated.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformedYAML(String)
    case unknownKey(String)
    case invalidValue(key: String, reason: String)
    case missingEnvironmentVariable(key: String, variable: String)
    case unreadableSecretFile(key: String, path: String, reason: String)
    /// More than one of the above, in the order they were found.
    case problems([ConfigurationError])

    /// The configuration key at fault, when there is one.
    public var key: String? {
        switch self {
        case .unreadable, .malformedYAML, .problems: nil
        case .unknownKey(let key), .invalidValue(let key, _), .missingEnvironmentVariable(let key, _), .unreadableSecretFile(let key, _, _): key
        }
    }

    /// Each problem on its own (`problems` unpacked).
    public var all: [ConfigurationError] {
        if case .problems(let list) = self { return list.flatMap(\.all) }
        return [self]
    }

    /// One error for a list of them: the error itself when there is one.
    public static func combining(_ errors: [ConfigurationError]) -> ConfigurationError? {
        switch errors.count {
        case 0: nil
        case 1: errors[0]
        default: .problems(errors)
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read configuration file \(path): \(reason)"
        case .malformedYAML(let reason):
            "configuration is not valid YAML: \(reason)"
        case .unknownKey(let key):
            "unknown configuration key '\(key)' (check its spelling and indentation; docs/CONFIGURATION.md lists every key)"
        case .invalidValue(let key, let reason):
            "invalid value for '\(key)': \(reason)"
        case .missingEnvironmentVariable(let key, let variable):
            "'\(key)' refers to environment variable \(variable), which is not set (use ${\(variable):-default} for a default)"
        case .unreadableSecretFile(let key, let path, let reason):
            "'\(key)' reads ${file:\(path)}, which cannot be used: \(reason)"
        case .problems(let list):
            "\(list.count) problems in the configuration:\n" + list.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}

/// Something that works but is probably not what was meant (a receiver no route uses).
public struct ConfigurationWarning: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "'\(key)': \(message)" }
}
