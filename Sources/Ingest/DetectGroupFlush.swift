import Alerts
import DeviceDefender
import Storage

/// Sends the Detect groups that are due, in one transaction with the deliveries it queues: a
/// group's events leave it only together with the alerts that tell of them. An alarm's
/// clearing goes to the receivers its alarm went to (as well as where its routes send it) and
/// says how long the alarm lasted.
public enum DetectGroupFlush {
    /// Groups sent per transaction; more wait for the next one.
    public static let groupsPerTransaction = 20

    /// Returns how many groups were sent.
    public static func flush(planner: AlertPlanner, now: Int64, in transaction: any IngestTransaction) async throws -> Int {
        let groups = try await transaction.dueDetectGroups(now: now, limit: groupsPerTransaction)
        guard !groups.isEmpty else { return 0 }
        var deliveries: [NewDelivery] = []
        // Deliveries are claimed in queued order: each alert is queued a millisecond after the
        // one before, so that an alarm's clearing never goes out (or reaches PagerDuty) before it.
        var queuedAt = now
        func queued(_ entries: [OutboxEntry]) -> [NewDelivery] {
            defer { queuedAt += 1 }
            return entries.map { NewDelivery(entry: $0, at: queuedAt) }
        }
        for group in groups {
            // One alert per event type, in the order they first occur: an alarm raised and
            // cleared within one wait is told as raised, then cleared.
            var order: [DetectViolation.EventType] = []
            for event in group.events where !order.contains(event.violation.eventType) { order.append(event.violation.eventType) }
            for type in order {
                let violations = group.events.filter { $0.violation.eventType == type }.map(\.violation)
                let ids = Array(Set(violations.map(\.violationID))).sorted()
                if type == .inAlarm {
                    guard let alert = planner.builder.detect(violations, topicARN: group.topicARN) else { continue }
                    let entries = planner.entries(for: alert, now: now)
                    deliveries += queued(entries)
                    let receivers = Set(entries.map(\.receiver)).sorted()
                    try await transaction.recordAlarmReceivers(ids.flatMap { id in receivers.map { (violationID: id, receiver: $0) } })
                } else {
                    let alarms = try await transaction.alarms(ids, before: violations.map(\.eventTime).max() ?? now)
                    let started = alarms.compactMapValues(\.startedAt)
                    guard let alert = planner.builder.detect(violations, topicARN: group.topicARN, alarmStartedAt: started) else { continue }
                    let heard = Set(alarms.values.flatMap(\.receivers)).sorted()
                    deliveries += queued(planner.entries(for: alert, now: now, alsoTo: heard))
                    try await transaction.forgetAlarms(ids)
                }
            }
        }
        try await RecordBatch.queue(deliveries, in: transaction)
        try await transaction.finishDetectGroups(groups.map { SentDetectGroup(groupKey: $0.groupKey, messageIDs: $0.events.map(\.messageID)) }, at: now)
        return groups.count
    }
}
