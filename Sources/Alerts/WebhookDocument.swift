import DeviceDefender
import Foundation

/// The generic webhook's body: the alert itself (schema `defender-relay.alert/1`), stable keys
/// in sorted order so receivers and HMAC verifiers see one canonical form.
public enum WebhookDocument {
    public static func render(_ alert: Alert) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(alert)) ?? Data("{}".utf8))
    }
}
