import DeviceDefender

/// The first line of every message: what a phone's push preview, a mail subject and a chat
/// notification show. It leads with how bad, then what changed, then where, and fits
/// `maxCharacters` so that none of it is cut off in a preview.
public enum AlertHeadline {
    public static let maxCharacters = 80

    /// `CRITICAL: 2 new findings · prod (123456789012) eu-west-1 · dailyAudit`.
    static func audit(_ alert: Alert, status: AuditNotification.TaskStatus, scheduledAuditName: String?) -> String {
        let findings = alert.findings
        let new = findings.filter { $0.change == .new }
        let worse = findings.filter { $0.change == .worse }
        // Still open: known, or better but not gone.
        let known = findings.filter { $0.change == .known || $0.change == .better }
        let resolved = findings.filter { $0.change == .resolved }
        let failed = findings.filter { $0.change == .failed }
        let lead: String
        let what: String
        switch status {
        case .failed:
            (lead, what) = ("FAILED", "audit did not complete")
        case .canceled:
            (lead, what) = ("CANCELED", "audit was canceled")
        case .completed where !new.isEmpty || !worse.isEmpty:
            lead = (new + worse).map(\.severity).max()!.rawValue
            what = switch (new.count, worse.count) {
            case (let n, 0): "\(n) new finding\(n == 1 ? "" : "s")"
            case (0, let w): "\(w) finding\(w == 1 ? "" : "s") worse"
            case (let n, let w): "\(n) new, \(w) worse findings"
            }
        case .completed where !resolved.isEmpty:
            lead = "RESOLVED"
            what = "\(resolved.count) finding\(resolved.count == 1 ? "" : "s") resolved" + (known.isEmpty ? "" : ", \(known.count) still open")
        case .completed where !known.isEmpty:
            lead = known.map(\.severity).max()!.rawValue
            what = "\(known.count) open finding\(known.count == 1 ? "" : "s"), nothing new"
        case .completed where !failed.isEmpty:
            lead = "WARNING"
            what = "\(failed.count) check\(failed.count == 1 ? "" : "s") did not run"
        case .completed:
            (lead, what) = ("OK", "all checks compliant")
        }
        return fit(lead: lead, what: what, alert: alert, name: scheduledAuditName ?? "on-demand audit")
    }

    /// `HIGH: gateway-eu-17 in alarm · prod (123456789012) eu-west-1 · Profile/Behavior`.
    static func detect(_ alert: Alert, verb: String, subject: String, profile: String, behavior: String) -> String {
        let lead = switch alert.attributes.eventType {
        case "in-alarm": alert.severity.rawValue
        case "alarm-cleared": "CLEARED"
        default: "INVALIDATED"
        }
        var what = "\(subject) \(verb)"
        if alert.violations.count == 1, let started = alert.violations[0].alarmStartedAt {
            what += " after " + AlertText.duration(milliseconds: alert.violations[0].eventTime - started)
        }
        // The behavior first: when the line is too long, the profile's name is what is cut.
        return fit(lead: lead, what: what, alert: alert, name: "\(behavior) (\(profile))")
    }

    /// Keeps the lead and what changed whole; shortens where, then the name, to fit.
    static func fit(lead: String, what: String, alert: Alert, name: String) -> String {
        let head = "\(lead): \(what)"
        var places = [alert.place]
        if let alias = alert.accountAlias {
            places.append(([alias] + (alert.region.map { [$0] } ?? [])).joined(separator: " "))
        }
        for place in places {
            let line = [head, place, name].filter { !$0.isEmpty }.joined(separator: " · ")
            if line.count <= maxCharacters { return line }
        }
        let place = places.last!
        let fixed = [head, place].filter { !$0.isEmpty }.joined(separator: " · ")
        let room = maxCharacters - fixed.count - 3
        if room >= 8 { return fixed + " · " + AlertText.truncate(name, room) }
        return AlertText.truncate(fixed, maxCharacters)
    }
}
