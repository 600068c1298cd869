import DeviceDefender

/// A stored Detect event waiting in its group (`alerts.detect`): written in the ingest
/// transaction that stores the event, sent with its group when the group is due.
public struct DetectGroupEvent: Sendable, Equatable {
    /// The `detect_violations` row.
    public var messageID: String
    public var groupKey: String
    public var topicARN: String
    /// Epoch milliseconds.
    public var receivedAt: Int64
    /// A new group waits this long for more events before it is sent.
    public var waitMilliseconds: Int64
    /// A group sent before waits at least this long after it before it is sent again.
    public var intervalMilliseconds: Int64

    public init(messageID: String, groupKey: String, topicARN: String, receivedAt: Int64, waitMilliseconds: Int64, intervalMilliseconds: Int64) {
        self.messageID = messageID
        self.groupKey = groupKey
        self.topicARN = topicARN
        self.receivedAt = receivedAt
        self.waitMilliseconds = waitMilliseconds
        self.intervalMilliseconds = intervalMilliseconds
    }
}

/// A group whose time has come, with its waiting events oldest first.
public struct DueDetectGroup: Sendable, Equatable {
    public var groupKey: String
    public var topicARN: String
    public var events: [StoredViolation]

    public init(groupKey: String, topicARN: String, events: [StoredViolation]) {
        self.groupKey = groupKey
        self.topicARN = topicARN
        self.events = events
    }
}

/// A group that was sent, with the events its messages told of.
public struct SentDetectGroup: Sendable, Equatable {
    public var groupKey: String
    public var messageIDs: [String]

    public init(groupKey: String, messageIDs: [String]) {
        self.groupKey = groupKey
        self.messageIDs = messageIDs
    }
}

/// The Detect groups' SQL, the same for both stores but for row locks. Statements take many
/// rows at once (`IN` lists of at most `chunk` values), so that a storm costs a few round trips
/// per batch, not a few per event.
enum DetectGroupSQL {
    static let chunk = 200

    /// Events sent in one message at most: a larger storm is told in several (the rest at
    /// once after the first), so that no message, row or transaction grows with the storm.
    static let maxEventsPerMessage = 200

    static let nextDue = SQLStatement("SELECT min(due_at) AS due FROM detect_groups WHERE due_at IS NOT NULL")

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    /// Lists are padded with their last value to one of a few lengths, so that SQLite's
    /// statement cache (keyed by the SQL text) holds a handful of texts, not one per length.
    /// A repeated value changes nothing: `IN` lists and `ON CONFLICT DO NOTHING` inserts.
    static func padded<T>(_ values: ArraySlice<T>) -> [T] {
        guard let last = values.last else { return [] }
        let size = [1, 4, 16, 64, chunk].first { $0 >= values.count } ?? values.count
        return Array(values) + Array(repeating: last, count: size - values.count)
    }

    static func insertEvents(_ slice: ArraySlice<DetectGroupEvent>) -> SQLStatement {
        let events = padded(slice)
        return SQLStatement(
            "INSERT INTO detect_group_events (message_id, group_key) VALUES " + Array(repeating: "(?, ?)", count: events.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING",
            events.flatMap { [SQLValue.text($0.messageID), .text($0.groupKey)] }
        )
    }

    /// A group with nothing waiting becomes due `wait` from now, or at `interval` after it was
    /// last sent when that is later; a group with events waiting keeps its time. One per group,
    /// with the group's first event of the batch.
    static func upsertGroup(_ event: DetectGroupEvent) -> SQLStatement {
        let now = event.receivedAt
        return SQLStatement(
            """
            INSERT INTO detect_groups (group_key, topic_arn, due_at, last_flushed_at) VALUES (?, ?, ?, NULL)
            ON CONFLICT (group_key) DO UPDATE SET due_at = COALESCE(detect_groups.due_at, CASE
                WHEN detect_groups.last_flushed_at IS NULL OR detect_groups.last_flushed_at + ? <= ? THEN ?
                ELSE detect_groups.last_flushed_at + ? END)
            """,
            [
                .text(event.groupKey), .text(event.topicARN), .integer(now + event.waitMilliseconds),
                .integer(event.intervalMilliseconds), .integer(now), .integer(now + event.waitMilliseconds), .integer(event.intervalMilliseconds),
            ]
        )
    }

    /// Due groups; PostgreSQL locks them so that one replica sends each.
    static func dueGroups(now: Int64, limit: Int, postgres: Bool) -> SQLStatement {
        SQLStatement(
            "SELECT group_key, topic_arn FROM detect_groups WHERE due_at <= ? ORDER BY due_at, group_key LIMIT ?" + (postgres ? " FOR UPDATE SKIP LOCKED" : ""),
            [.integer(now), .integer(Int64(limit))]
        )
    }

    static func groupEvents(_ groupKey: String) -> SQLStatement {
        SQLStatement(
            """
            SELECT v.* FROM detect_group_events e JOIN detect_violations v ON v.message_id = e.message_id
            WHERE e.group_key = ? ORDER BY v.event_time, v.message_id LIMIT ?
            """,
            [.text(groupKey), .integer(Int64(maxEventsPerMessage))]
        )
    }

    /// The sent events leave the group; events that did not fit (or arrived meanwhile) keep it
    /// due at once, otherwise it waits for a new event.
    static func finishGroup(_ group: SentDetectGroup, at now: Int64) -> [SQLStatement] {
        stride(from: 0, to: group.messageIDs.count, by: chunk).map { start in
            let ids = padded(group.messageIDs[start..<min(start + chunk, group.messageIDs.count)])
            return SQLStatement("DELETE FROM detect_group_events WHERE message_id IN (\(placeholders(ids.count)))", ids.map { .text($0) })
        } + [
            SQLStatement(
                """
                UPDATE detect_groups SET last_flushed_at = ?,
                    due_at = CASE WHEN EXISTS (SELECT 1 FROM detect_group_events WHERE group_key = ?) THEN ? ELSE NULL END
                WHERE group_key = ?
                """,
                [.integer(now), .text(group.groupKey), .integer(now), .text(group.groupKey)]
            ),
        ]
    }

    static func alarmReceivers(_ slice: ArraySlice<String>) -> SQLStatement {
        let violationIDs = padded(slice)
        return SQLStatement(
            "SELECT violation_id, receiver FROM detect_alarm_receivers WHERE violation_id IN (\(placeholders(violationIDs.count))) ORDER BY violation_id, receiver",
            violationIDs.map { .text($0) }
        )
    }

    /// When the alarms that clearings end began: their in-alarm events, the latest before `before`.
    static func alarmStarts(_ slice: ArraySlice<String>, before: Int64) -> SQLStatement {
        let violationIDs = padded(slice)
        return SQLStatement(
            """
            SELECT violation_id, max(event_time) AS started FROM detect_violations
            WHERE violation_id IN (\(placeholders(violationIDs.count))) AND event_type = 'in-alarm' AND event_time <= ? GROUP BY violation_id
            """,
            violationIDs.map { .text($0) } + [.integer(before)]
        )
    }

    static func recordAlarmReceivers(_ slice: ArraySlice<(violationID: String, receiver: String)>) -> SQLStatement {
        let rows = padded(slice)
        return SQLStatement(
            "INSERT INTO detect_alarm_receivers (violation_id, receiver) VALUES " + Array(repeating: "(?, ?)", count: rows.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING",
            rows.flatMap { [SQLValue.text($0.violationID), .text($0.receiver)] }
        )
    }

    static func forgetAlarms(_ slice: ArraySlice<String>) -> SQLStatement {
        let violationIDs = padded(slice)
        return SQLStatement("DELETE FROM detect_alarm_receivers WHERE violation_id IN (\(placeholders(violationIDs.count)))", violationIDs.map { .text($0) })
    }

    /// The work of `queueDetectGroupEvents`, the same for both stores.
    static func queueStatements(_ events: [DetectGroupEvent]) -> [SQLStatement] {
        var statements = stride(from: 0, to: events.count, by: chunk).map { insertEvents(events[$0..<min($0 + chunk, events.count)]) }
        // Groups in key order (replicas lock them in one order), each once, with its first event.
        var firsts: [String: DetectGroupEvent] = [:]
        for event in events where firsts[event.groupKey].map({ event.receivedAt < $0.receivedAt }) ?? true { firsts[event.groupKey] = event }
        statements += firsts.keys.sorted().map { upsertGroup(firsts[$0]!) }
        return statements
    }

    /// The work of `alarms`, the same for both stores: a statement pair per chunk of ids.
    static func alarms(_ violationIDs: [String], before: Int64, rows: (SQLStatement) async throws -> [SQLRow]) async throws -> [String: (receivers: [String], startedAt: Int64?)] {
        var result: [String: (receivers: [String], startedAt: Int64?)] = [:]
        for id in violationIDs { result[id] = ([], nil) }
        for start in stride(from: 0, to: violationIDs.count, by: chunk) {
            let ids = violationIDs[start..<min(start + chunk, violationIDs.count)]
            for row in try await rows(alarmReceivers(ids)) { result[try row.text("violation_id")]?.receivers.append(try row.text("receiver")) }
            for row in try await rows(alarmStarts(ids, before: before)) { result[try row.text("violation_id")]?.startedAt = try row.optionalInt64("started") }
        }
        return result
    }

    static func recordStatements(_ rows: [(violationID: String, receiver: String)]) -> [SQLStatement] {
        stride(from: 0, to: rows.count, by: chunk).map { recordAlarmReceivers(rows[$0..<min($0 + chunk, rows.count)]) }
    }

    static func forgetStatements(_ violationIDs: [String]) -> [SQLStatement] {
        stride(from: 0, to: violationIDs.count, by: chunk).map { forgetAlarms(violationIDs[$0..<min($0 + chunk, violationIDs.count)]) }
    }
}
