import Synchronization

/// The alert planner in effect, shared by everything that plans alerts (group commit, the
/// subscription lifecycle) and replaced as one value when the configuration is reloaded
/// (SIGHUP): a batch plans with the routes of one configuration, never half of each.
public final class AlertRouting: Sendable {
    private let current: Mutex<AlertPlanner?>

    /// nil: no receivers, no alerts planned.
    public init(_ planner: AlertPlanner?) {
        current = Mutex(planner)
    }

    public var planner: AlertPlanner? { current.withLock { $0 } }

    public func replace(with planner: AlertPlanner?) {
        current.withLock { $0 = planner }
    }
}
