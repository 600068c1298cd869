import DeviceDefender

/// What the watch on overdue audits reads: the latest scheduled runs, and whether an alert was
/// queued already. The same SQL for both stores.
enum ArrivalSQL {
    /// Scheduled runs newest first (by start time, which `audit_tasks_newest` orders).
    static func latestScheduled(accountID: String?, region: String?, limit: Int) -> SQLStatement {
        var statement = SQLStatement(
            "SELECT task_id, account_id, region, scheduled_audit_name, task_start_time, received_at FROM audit_tasks WHERE task_type = 'SCHEDULED_AUDIT_TASK'"
        )
        if let accountID {
            statement.sql += " AND account_id = ?"
            statement.arguments.append(.text(accountID))
        }
        if let region {
            statement.sql += " AND region = ?"
            statement.arguments.append(.text(region))
        }
        statement.sql += " ORDER BY task_start_time DESC, task_id DESC LIMIT ?"
        statement.arguments.append(.integer(Int64(limit)))
        return statement
    }

    static func arrival(from row: SQLRow) throws(StoreError) -> AuditArrival {
        AuditArrival(
            taskID: try row.text("task_id"), accountID: try row.text("account_id"), region: try row.text("region"),
            scheduledAuditName: try row.optionalText("scheduled_audit_name"), startedAt: try row.int64("task_start_time"), receivedAt: try row.int64("received_at")
        )
    }

    /// By `alert_id` (its own index): a range on the `id` text would depend on how the
    /// database's collation orders punctuation.
    static func alertQueued(_ alertID: String) -> SQLStatement {
        SQLStatement("SELECT 1 AS found FROM deliveries WHERE alert_id = ? LIMIT 1", [.text(alertID)])
    }
}
