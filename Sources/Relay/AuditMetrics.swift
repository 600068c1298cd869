import Foundation
import DeviceDefender
import Storage

/// Prometheus gauges from the latest audit result per check, account and region, rendered at scrape
/// time from the store, so every replica reports the same numbers.
public enum AuditMetrics {
    /// The text exposition format (version 0.0.4).
    public static func render(_ checks: [CheckStatus]) -> String {
        let ordered = checks.sorted { ($0.checkName, $0.accountID, $0.region) < ($1.checkName, $1.accountID, $1.region) }
        var text = """
            # HELP defender_audit_noncompliant_resources Non-compliant resources in the latest Device Defender audit that ran the check.
            # TYPE defender_audit_noncompliant_resources gauge

            """
        for check in ordered {
            text += "defender_audit_noncompliant_resources{check=\"\(escape(check.checkName))\",account=\"\(escape(check.accountID))\",region=\"\(escape(check.region))\",severity=\"\(check.severity.rawValue)\"} \(check.nonCompliantResourcesCount)\n"
        }
        text += """
            # HELP defender_audit_check_last_run_timestamp_seconds Start time of the latest audit that ran the check.
            # TYPE defender_audit_check_last_run_timestamp_seconds gauge

            """
        for check in ordered {
            text += "defender_audit_check_last_run_timestamp_seconds{check=\"\(escape(check.checkName))\",account=\"\(escape(check.accountID))\",region=\"\(escape(check.region))\"} \(check.latestTaskStartTime / 1000)\n"
        }
        return text
    }

    /// `defender_relay_deliveries{state}`: the outbox's pending, sending and dead deliveries;
    /// dead letters need a person. Delivered ones are history (kept for
    /// `storage.delivery_retention_days`), not counted at every scrape.
    public static func render(deliveries counts: [Delivery.State: Int]) -> String {
        var text = """
            # HELP defender_relay_deliveries Alert deliveries not yet delivered, by state (dead: gave up, see /api/v1/deliveries?state=dead).
            # TYPE defender_relay_deliveries gauge

            """
        for state in [Delivery.State.pending, .sending, .dead] {
            text += "defender_relay_deliveries{state=\"\(state.rawValue)\"} \(counts[state] ?? 0)\n"
        }
        return text
    }

    /// `defender_relay_store_up`: 1 when this scrape could read the store, 0 when it could not
    /// (the store's gauges are then missing from it).
    public static func render(storeUp: Bool) -> String {
        """
            # HELP defender_relay_store_up Whether this scrape could read the store (0: the audit and outbox gauges are missing from it).
            # TYPE defender_relay_store_up gauge
            defender_relay_store_up \(storeUp ? 1 : 0)

            """
    }

    /// `defender_relay_outbox_oldest_pending_age_seconds`: how long the oldest pending delivery
    /// has waited (0 when none waits). Growing means a receiver is down or paused: alert on it.
    public static func render(oldestPendingQueuedAt: Int64?, now: Int64) -> String {
        let age = oldestPendingQueuedAt.map { max(0, now - $0) } ?? 0
        return """
            # HELP defender_relay_outbox_oldest_pending_age_seconds Seconds the oldest pending alert delivery has waited since it was queued (0: none pending), whatever its receiver: one this relay no longer names counts too.
            # TYPE defender_relay_outbox_oldest_pending_age_seconds gauge
            defender_relay_outbox_oldest_pending_age_seconds \(Double(age) / 1000)

            """
    }

    /// `defender_relay_deliveries_queued{receiver,configured}`: deliveries to send per
    /// receiver. `configured="false"`: queued for a receiver this relay's configuration does not
    /// name (renamed or removed, or a replica not yet updated): they wait until a relay that
    /// names it sends them, and an alert rule should say so.
    public static func render(queued: [String: Int], configured: Set<String>) -> String {
        var text = """
            # HELP defender_relay_deliveries_queued Alert deliveries pending or being sent, per receiver (configured="false": no lane on this relay sends them).
            # TYPE defender_relay_deliveries_queued gauge

            """
        for receiver in configured.union(queued.keys).sorted() {
            text += "defender_relay_deliveries_queued{receiver=\"\(escape(receiver))\",configured=\"\(configured.contains(receiver))\"} \(queued[receiver] ?? 0)\n"
        }
        return text
    }

    /// Label values escape backslash, double quote and newline.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
