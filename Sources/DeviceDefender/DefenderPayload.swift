import Foundation

/// What an SNS Notification's Message turned out to be. Nothing a genuine topic sends is
/// dropped: anything that is not a Device Defender payload is kept as unrecognized.
public enum DefenderPayload: Sendable, Equatable {
    case audit(AuditNotification)
    case detect(DetectViolation)
    /// With why it is not an audit or Detect payload.
    case unrecognized(reason: String)

    /// `audit`, `detect` or `unrecognized`: for logs, metrics and routing.
    public var kind: String {
        switch self {
        case .audit: "audit"
        case .detect: "detect"
        case .unrecognized: "unrecognized"
        }
    }

    /// Classifies by shape (`taskId` + `auditDetails` is an audit, `violationId` +
    /// `violationEventType` a Detect event), then decodes strictly.
    public static func classify(_ message: String, catalog: CheckCatalog = .known) -> DefenderPayload {
        guard let keys = try? JSONDecoder().decode(TopLevelKeys.self, from: Data(message.utf8)).keys else {
            return .unrecognized(reason: "the message is not a JSON object")
        }
        let looksLikeAudit = keys.contains("taskId") || keys.contains("auditDetails")
        let looksLikeDetect = keys.contains("violationId") || keys.contains("violationEventType")
        if looksLikeAudit && !looksLikeDetect {
            do {
                return .audit(try AuditNotification.decode(message, catalog: catalog))
            } catch {
                return .unrecognized(reason: "not an audit notification: \(error)")
            }
        }
        if looksLikeDetect {
            do {
                return .detect(try DetectViolation.decode(message))
            } catch {
                return .unrecognized(reason: "not a Detect violation: \(error)")
            }
        }
        return .unrecognized(reason: "neither an audit notification nor a Detect violation")
    }
}

/// The names of a JSON object's top-level keys, read without building its values.
private struct TopLevelKeys: Decodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    let keys: Set<String>

    init(from decoder: any Decoder) throws {
        keys = Set(try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue))
    }
}
