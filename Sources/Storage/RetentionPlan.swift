/// What one retention pass deletes: every row older than its cut-off (milliseconds since the
/// Unix epoch), in transactions of at most `batchSize` rows each, so that a large backlog
/// never holds the writer (SQLite) or many row locks (PostgreSQL) for long.
public struct RetentionPlan: Sendable, Equatable {
    /// Raw SNS envelopes and unrecognized notifications received before this.
    public var messagesBefore: Int64
    /// Audit summaries and Detect events before this; nil keeps them.
    public var summariesBefore: Int64?
    /// Delivered alerts queued before this; nil keeps them.
    public var deliveredBefore: Int64?
    /// Dead letters that died (their last attempt) before this; nil keeps them.
    public var deadBefore: Int64?
    public var batchSize: Int

    public init(messagesBefore: Int64, summariesBefore: Int64? = nil, deliveredBefore: Int64? = nil, deadBefore: Int64? = nil, batchSize: Int = 500) {
        precondition(batchSize > 0)
        self.messagesBefore = messagesBefore
        self.summariesBefore = summariesBefore
        self.deliveredBefore = deliveredBefore
        self.deadBefore = deadBefore
        self.batchSize = batchSize
    }
}
