import JSON

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
    /// `violationEventType` a Detect event), then decodes strictly. The Message is parsed once.
    public static func classify(_ message: String, catalog: CheckCatalog = .known) -> DefenderPayload {
        guard case .object(let object)? = try? JSONValue.parse(message) else {
            return .unrecognized(reason: "the message is not a JSON object")
        }
        let looksLikeAudit = object["taskId"] != nil || object["auditDetails"] != nil
        let looksLikeDetect = object["violationId"] != nil || object["violationEventType"] != nil
        if looksLikeAudit && !looksLikeDetect {
            do {
                return .audit(try AuditNotification.decode(PayloadFields(object), catalog: catalog))
            } catch {
                return .unrecognized(reason: "not an audit notification: \(error)")
            }
        }
        if looksLikeDetect {
            do {
                return .detect(try DetectViolation.decode(PayloadFields(object)))
            } catch {
                return .unrecognized(reason: "not a Detect violation: \(error)")
            }
        }
        return .unrecognized(reason: "neither an audit notification nor a Detect violation")
    }
}
