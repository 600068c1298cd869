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

/// The Detect groups' SQL, the same for both stores but for row locks.
enum DetectGroupSQL {
    static let nextDue = SQLStatement("SELECT min(due_at) AS due FROM detect_groups WHERE due_at IS NOT NULL")

    static func insertEvent(_ event: DetectGroupEvent) -> SQLStatement {
        SQLStatement("INSERT INTO detect_group_events (message_id, group_key) VALUES (?, ?) ON CONFLICT DO NOTHING", [.text(event.messageID), .text(event.groupKey)])
    }

    /// A group with nothing waiting becomes due `wait` from now, or at `interval` after it was
    /// last sent when that is later; a group with events waiting keeps its time.
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
            WHERE e.group_key = ? ORDER BY v.event_time, v.message_id
            """,
            [.text(groupKey)]
        )
    }

    static func finishGroup(_ groupKey: String, at now: Int64) -> [SQLStatement] {
        [
            SQLStatement("DELETE FROM detect_group_events WHERE group_key = ?", [.text(groupKey)]),
            SQLStatement("UPDATE detect_groups SET due_at = NULL, last_flushed_at = ? WHERE group_key = ?", [.integer(now), .text(groupKey)]),
        ]
    }

    static func alarmReceivers(_ violationID: String) -> SQLStatement {
        SQLStatement("SELECT receiver FROM detect_alarm_receivers WHERE violation_id = ? ORDER BY receiver", [.text(violationID)])
    }

    /// When the alarm a clearing ends began: its in-alarm event, the latest before `before`.
    static func alarmStart(_ violationID: String, before: Int64) -> SQLStatement {
        SQLStatement(
            "SELECT max(event_time) AS started FROM detect_violations WHERE violation_id = ? AND event_type = 'in-alarm' AND event_time <= ?",
            [.text(violationID), .integer(before)]
        )
    }

    static func recordAlarmReceiver(violationID: String, receiver: String) -> SQLStatement {
        SQLStatement("INSERT INTO detect_alarm_receivers (violation_id, receiver) VALUES (?, ?) ON CONFLICT DO NOTHING", [.text(violationID), .text(receiver)])
    }

    static func forgetAlarm(_ violationID: String) -> SQLStatement {
        SQLStatement("DELETE FROM detect_alarm_receivers WHERE violation_id = ?", [.text(violationID)])
    }
}
