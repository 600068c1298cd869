/// Why the configuration cannot be used; each names the key (as written in the YAML file) so
/// that start-up failures point at the line to fix.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformedYAML(String)
    case unknownKey(String)
    case invalidValue(key: String, reason: String)
    case missingEnvironmentVariable(key: String, variable: String)

    /// The configuration key at fault, when there is one.
    public var key: String? {
        switch self {
        case .unreadable, .malformedYAML: nil
        case .unknownKey(let key), .invalidValue(let key, _), .missingEnvironmentVariable(let key, _): key
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read configuration file \(path): \(reason)"
        case .malformedYAML(let reason):
            "configuration is not valid YAML: \(reason)"
        case .unknownKey(let key):
            "unknown configuration key '\(key)' (check its spelling and indentation)"
        case .invalidValue(let key, let reason):
            "invalid value for '\(key)': \(reason)"
        case .missingEnvironmentVariable(let key, let variable):
            "'\(key)' refers to environment variable \(variable), which is not set (use ${\(variable):-default} for a default)"
        }
    }
}
