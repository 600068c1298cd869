/// What one audit check means, as AWS documents it.
public struct AuditCheckDefinition: Sendable, Equatable {
    /// The current name AWS uses.
    public let name: String
    /// Names older payloads and documentation used for the same check.
    public let aliases: [String]
    public let severity: Severity
    public let title: String
    public let description: String
    /// One sentence on what an operator should do about a non-compliant finding of this check.
    public let remediation: String
    public let resourceType: String
    /// The page under docs.aws.amazon.com/iot-device-defender/latest/devguide/.
    public let documentationPage: String

    public init(name: String, aliases: [String], severity: Severity, title: String, description: String, remediation: String, resourceType: String, documentationPage: String) {
        self.name = name
        self.aliases = aliases
        self.severity = severity
        self.title = title
        self.description = description
        self.remediation = remediation
        self.resourceType = resourceType
        self.documentationPage = documentationPage
    }

    /// The check's page in the AWS IoT Device Defender Developer Guide.
    public var documentationURL: String {
        "https://docs.aws.amazon.com/iot-device-defender/latest/devguide/\(documentationPage).html"
    }
}

/// The known audit checks. Check names are open-ended (AWS adds checks), so a name the
/// catalog does not know is kept as it is, with severity `unknown`.
public struct CheckCatalog: Sendable {
    private let byName: [String: AuditCheckDefinition]
    public let definitions: [AuditCheckDefinition]

    public init(definitions: [AuditCheckDefinition]) {
        self.definitions = definitions
        var byName: [String: AuditCheckDefinition] = [:]
        for definition in definitions {
            byName[definition.name] = definition
            for alias in definition.aliases { byName[alias] = definition }
        }
        self.byName = byName
    }

    /// The definition for a current name or an alias.
    public func definition(for name: String) -> AuditCheckDefinition? {
        byName[name] ?? byName[Self.trimmed(name)]
    }

    /// The current name for `name` (an alias maps to its current name; unknown names stay).
    public func canonicalName(_ name: String) -> String {
        definition(for: name)?.name ?? Self.trimmed(name)
    }

    /// Without surrounding spaces and tabs; names arrive trimmed, so the common case copies nothing.
    private static func trimmed(_ name: String) -> String {
        guard let first = name.first, let last = name.last, first.isWhitespace || last.isWhitespace else { return name }
        return name.trimmingCharacters(in: .whitespaces)
    }

    public func severity(of name: String) -> Severity {
        definition(for: name)?.severity ?? .unknown
    }
}

import Foundation
