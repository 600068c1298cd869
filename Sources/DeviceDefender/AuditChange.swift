/// What changed in an audit since the previous run of the same audit (same scheduled audit, or
/// for on-demand audits the same task type and account). Alerts lead with this, so that a
/// daily audit repeating a known finding does not shout as loudly as a new one.
public struct AuditChange: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var checkName: String
        public var severity: Severity
        /// Non-compliant resources in the previous run (nil when the check did not run then).
        public var previousCount: Int?
        public var currentCount: Int

        public init(checkName: String, severity: Severity, previousCount: Int?, currentCount: Int) {
            self.checkName = checkName
            self.severity = severity
            self.previousCount = previousCount
            self.currentCount = currentCount
        }
    }

    /// The taskId compared against; nil for the first run of a series.
    public var previousTaskID: String?
    /// When the run compared against started (epoch milliseconds); nil for a first run, and
    /// in changes stored before it was recorded.
    public var previousTaskStartTime: Int64?
    /// Non-compliant now, compliant (or absent) before.
    public var newlyNonCompliant: [Entry]
    /// Non-compliant before and now, with more non-compliant resources.
    public var worsened: [Entry]
    /// Non-compliant before and now, with fewer non-compliant resources.
    public var improved: [Entry]
    /// Non-compliant before, compliant now.
    public var resolved: [Entry]
    /// Non-compliant before and now, with the same count: known findings.
    public var unchanged: [Entry]

    public init(
        previousTaskID: String? = nil, previousTaskStartTime: Int64? = nil, newlyNonCompliant: [Entry] = [], worsened: [Entry] = [], improved: [Entry] = [],
        resolved: [Entry] = [], unchanged: [Entry] = []
    ) {
        self.previousTaskID = previousTaskID
        self.previousTaskStartTime = previousTaskStartTime
        self.newlyNonCompliant = newlyNonCompliant
        self.worsened = worsened
        self.improved = improved
        self.resolved = resolved
        self.unchanged = unchanged
    }

    public var isFirstRun: Bool { previousTaskID == nil }
    /// True when anything got worse: the signal for "only alert on change".
    public var hasNewFindings: Bool { !newlyNonCompliant.isEmpty || !worsened.isEmpty }

    /// Compares `current` with `previous` (nil for a first run: every finding is new).
    public static func between(previous: AuditNotification?, current: AuditNotification) -> AuditChange {
        var change = AuditChange(previousTaskID: previous?.taskID, previousTaskStartTime: previous?.taskStartTime)
        var before: [String: AuditCheckResult] = [:]
        for check in previous?.checks ?? [] { before[check.checkName] = check }
        for check in current.checks {
            let old = before[check.checkName]
            let oldCount = old.map { $0.isNonCompliant ? $0.nonCompliantResourcesCount : 0 }
            let entry = Entry(checkName: check.checkName, severity: check.severity, previousCount: oldCount, currentCount: check.isNonCompliant ? check.nonCompliantResourcesCount : 0)
            switch (old?.isNonCompliant ?? false, check.isNonCompliant) {
            case (false, true):
                change.newlyNonCompliant.append(entry)
            case (true, true):
                if entry.currentCount > (oldCount ?? 0) {
                    change.worsened.append(entry)
                } else if entry.currentCount < (oldCount ?? 0) {
                    change.improved.append(entry)
                } else {
                    change.unchanged.append(entry)
                }
            case (true, false):
                // A check that failed to run now is not "resolved": nothing is known about it.
                if check.runStatus == .compliant { change.resolved.append(entry) }
            case (false, false):
                break
            }
        }
        let order: (Entry, Entry) -> Bool = { ($0.severity.rank, $0.currentCount) > ($1.severity.rank, $1.currentCount) }
        change.newlyNonCompliant.sort(by: order)
        change.worsened.sort(by: order)
        return change
    }
}
