import Foundation
import DeviceDefender

/// One routing rule (`routes:` in the configuration): what it matches, where it sends, and how
/// often the same unchanged finding may be sent again.
public struct AlertRoute: Sendable, Equatable {
    /// Every condition that is set must hold.
    public struct Match: Sendable, Equatable {
        public var kinds: [Alert.Kind]?
        public var taskStatus: [String]?
        public var taskType: [String]?
        /// `*` globs.
        public var scheduledAuditName: String?
        public var accountID: [String]?
        /// The alert must carry a non-compliant or resolved finding of one of these checks.
        public var checkName: [String]?
        public var minimumSeverity: Severity?
        /// Only alerts with something new, worse or resolved since the last run.
        public var changedOnly: Bool?
        /// `true`: at least one non-compliant check; `false`: none.
        public var nonCompliant: Bool?
        public var eventType: [String]?
        /// `*` globs.
        public var securityProfileName: String?

        public init(
            kinds: [Alert.Kind]? = nil, taskStatus: [String]? = nil, taskType: [String]? = nil, scheduledAuditName: String? = nil,
            accountID: [String]? = nil, checkName: [String]? = nil, minimumSeverity: Severity? = nil, changedOnly: Bool? = nil,
            nonCompliant: Bool? = nil, eventType: [String]? = nil, securityProfileName: String? = nil
        ) {
            self.kinds = kinds
            self.taskStatus = taskStatus
            self.taskType = taskType
            self.scheduledAuditName = scheduledAuditName
            self.accountID = accountID
            self.checkName = checkName
            self.minimumSeverity = minimumSeverity
            self.changedOnly = changedOnly
            self.nonCompliant = nonCompliant
            self.eventType = eventType
            self.securityProfileName = securityProfileName
        }

        public func matches(_ alert: Alert) -> Bool {
            let attributes = alert.attributes
            if let kinds, !kinds.contains(alert.kind) { return false }
            if let taskStatus, !taskStatus.contains(attributes.taskStatus ?? "") { return false }
            if let taskType, !taskType.contains(attributes.taskType ?? "") { return false }
            if let pattern = scheduledAuditName, !Glob.matches(pattern, attributes.scheduledAuditName ?? "") { return false }
            if let accountID, !accountID.contains(alert.accountID ?? "") { return false }
            // Resolutions reach whoever heard of the problem: a route for a check, a severity or
            // changes only hears that its finding was resolved.
            if let checkName, !(attributes.checkNames + attributes.resolvedCheckNames).contains(where: { checkName.contains($0) }) { return false }
            if let minimumSeverity, alert.routingSeverity.rank < minimumSeverity.rank { return false }
            if changedOnly == true, !attributes.hasNewFindings, attributes.resolvedCheckNames.isEmpty { return false }
            if let nonCompliant, (attributes.nonCompliantChecks > 0) != nonCompliant { return false }
            if let eventType, !eventType.contains(attributes.eventType ?? "") { return false }
            if let pattern = securityProfileName, !Glob.matches(pattern, attributes.securityProfileName ?? "") { return false }
            return true
        }
    }

    public var match: Match
    public var receivers: [String]
    /// Evaluation goes on to the next route after this one matched.
    public var `continue`: Bool
    /// Within this many seconds, an alert with the same fingerprint is not sent again.
    public var repeatIntervalSeconds: Int64?
    public var mute: [MuteWindow]

    public init(match: Match, receivers: [String], continue: Bool = false, repeatIntervalSeconds: Int64? = nil, mute: [MuteWindow] = []) {
        self.match = match
        self.receivers = receivers
        self.continue = `continue`
        self.repeatIntervalSeconds = repeatIntervalSeconds
        self.mute = mute
    }
}

/// A recurring time window in which a route sends nothing (`mute:` entries such as
/// `{days: [sat, sun]}` or `{from: "22:00", to: "06:00", location: Europe/Berlin}`), read on
/// the wall clock of `location` (an IANA time zone, UTC by default), so that "22:00" stays
/// 22:00 across daylight saving changes. A muted alert is not queued later: muting is for
/// noise a team chose not to hear.
public struct MuteWindow: Sendable, Equatable {
    /// 1 = Monday ... 7 = Sunday; empty means every day.
    public var weekdays: Set<Int>
    /// Minutes after local midnight; from > to wraps past midnight.
    public var fromMinute: Int
    public var toMinute: Int
    public var timeZone: TimeZone

    public init(weekdays: Set<Int> = [], fromMinute: Int = 0, toMinute: Int = 1440, timeZone: TimeZone = TimeZone(identifier: "UTC")!) {
        self.weekdays = weekdays
        self.fromMinute = fromMinute
        self.toMinute = toMinute
        self.timeZone = timeZone
    }

    /// `millis` since the Unix epoch.
    public func contains(_ millis: Int64) -> Bool {
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        let local = Int64(timeZone.secondsFromGMT(for: date)) + millis / 1000
        let minute = Int(((local % 86_400) + 86_400) % 86_400 / 60)
        // 1970-01-01 was a Thursday (4).
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let weekday = Int(((days + 3) % 7 + 7) % 7) + 1
        let inTime = fromMinute <= toMinute ? (minute >= fromMinute && minute < toMinute) : (minute >= fromMinute || minute < toMinute)
        guard inTime else { return false }
        if weekdays.isEmpty { return true }
        // A window wrapping midnight belongs to the day it started.
        let day = fromMinute > toMinute && minute < toMinute ? (weekday + 5) % 7 + 1 : weekday
        return weekdays.contains(day)
    }
}

