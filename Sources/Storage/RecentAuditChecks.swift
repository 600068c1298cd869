import DeviceDefender

/// The checks of audits the writer stored recently, by taskId, so that comparing an audit with
/// its previous run does not read and parse that run's checks again: the previous run is
/// nearly always the one stored last in its series.
///
/// Correct by construction rather than by invalidation: the previous run's taskId always comes
/// from the database, and a taskId's checks never change once stored; entries of a transaction
/// that rolls back are forgotten. Used on the SQLite writer's queue only.
final class RecentAuditChecks: @unchecked Sendable {
    // @unchecked: touched only on the writer's queue, one transaction at a time.

    /// Entries kept at most; the oldest go first.
    static let capacity = 1024

    private var checks: [String: [AuditCheckResult]] = [:]
    private var order: [String] = []
    private var oldest = 0

    var count: Int { checks.count }

    subscript(taskID: String) -> [AuditCheckResult]? { checks[taskID] }

    func remember(_ taskID: String, _ value: [AuditCheckResult]) {
        if checks.updateValue(value, forKey: taskID) != nil { return }
        if order.count < Self.capacity {
            order.append(taskID)
        } else {
            checks[order[oldest]] = nil
            order[oldest] = taskID
            oldest = (oldest + 1) % Self.capacity
        }
    }

    func forget(_ taskIDs: [String]) {
        for taskID in taskIDs { checks[taskID] = nil }
    }
}
