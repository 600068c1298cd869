/// One key of a configuration section, declared once: the parser switches over the cases (so a
/// key cannot be accepted and then ignored, nor written into another key's field), unknown
/// names are whatever `init(rawValue:)` refuses, and `docs/CONFIGURATION.md` is generated from
/// `documentation` (a test compares the two).
public protocol ConfigKey: CaseIterable, Sendable, RawRepresentable where RawValue == String {
    /// Where the section sits in the file, as the reference shows it: `server`, `receivers[]`.
    static var path: String { get }
    /// One sentence on what the section is for.
    static var summary: String { get }
    var documentation: KeyDocumentation { get }
}

/// What the reference says about one key.
public struct KeyDocumentation: Sendable, Equatable {
    /// The value's form: `integer 1...600`, `duration`, `list of strings` ...
    public var type: String
    /// What applies when the key is absent, as it would be written in the file; `—` for none.
    public var defaultValue: String
    /// What the key means to the operator, and why one would change it.
    public var meaning: String

    public init(_ type: String, _ defaultValue: String, _ meaning: String) {
        self.type = type
        self.defaultValue = defaultValue
        self.meaning = meaning
    }
}

/// One section of the reference.
public struct ConfigSectionReference: Sendable {
    public var path: String
    public var summary: String
    public var keys: [(name: String, documentation: KeyDocumentation)]
}

extension ConfigKey {
    public static var reference: ConfigSectionReference {
        ConfigSectionReference(path: path, summary: summary, keys: allCases.map { ($0.rawValue, $0.documentation) })
    }
}
