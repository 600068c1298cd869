/// When a stored audit run started and when it arrived: what the watch on overdue audits
/// (`alerts.expect`) judges by.
public struct AuditArrival: Sendable, Equatable {
    public var taskID: String
    public var accountID: String
    public var region: String
    public var scheduledAuditName: String?
    /// Epoch milliseconds.
    public var startedAt: Int64
    /// Epoch milliseconds.
    public var receivedAt: Int64

    public init(taskID: String, accountID: String, region: String, scheduledAuditName: String?, startedAt: Int64, receivedAt: Int64) {
        self.taskID = taskID
        self.accountID = accountID
        self.region = region
        self.scheduledAuditName = scheduledAuditName
        self.startedAt = startedAt
        self.receivedAt = receivedAt
    }
}
