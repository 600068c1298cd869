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
        let keys = (try? JSONSerialization.jsonObject(with: Data(message.utf8))) as? [String: Any]
        guard let keys else { return .unrecognized(reason: "the message is not a JSON object") }
        let looksLikeAudit = keys["taskId"] != nil || keys["auditDetails"] != nil
        let looksLikeDetect = keys["violationId"] != nil || keys["violationEventType"] != nil
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
