/// SQL the two schemas' migrations share.
enum SchemaSQL {
    /// `AuditNotification.seriesKey` in SQL, over an `audit_tasks` row: the migration that
    /// added regions rewrites every stored key with it. `SchemaParityTests` checks it against
    /// the Swift function.
    static let seriesKeyExpression = """
        CASE WHEN scheduled_audit_name IS NOT NULL
            THEN 'scheduled:' || account_id || ':' || region || ':' || scheduled_audit_name
            ELSE task_type || ':' || account_id || ':' || region END
        """
}
