/// The silences' SQL, the same for both stores.
enum SilenceSQL {
    /// Most silences a store keeps in effect at once: each is compared with every finding.
    static let maxActive = 1000

    static func insert(_ silence: Silence) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO silences (id, check_name, account_id, region, scheduled_audit_name, starts_at, ends_at, comment, created_by, created_at, expired_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
            """,
            [
                .text(silence.id), .text(silence.checkName), optional(silence.accountID), optional(silence.region), optional(silence.scheduledAuditName),
                .integer(silence.startsAt), .integer(silence.endsAt), .text(silence.comment), optional(silence.createdBy), .integer(silence.createdAt),
            ]
        )
    }

    static func activeCount(at now: Int64) -> SQLStatement {
        SQLStatement("SELECT count(*) AS n FROM silences WHERE ends_at > ? AND expired_at IS NULL", [.integer(now)])
    }

    /// In effect at `now` or later (not ended, not expired), or every one with `includeEnded`;
    /// newest first.
    static func list(includeEnded: Bool, at now: Int64) -> SQLStatement {
        includeEnded
            ? SQLStatement("SELECT * FROM silences ORDER BY created_at DESC, id LIMIT 10000")
            : SQLStatement("SELECT * FROM silences WHERE ends_at > ? AND expired_at IS NULL ORDER BY created_at DESC, id", [.integer(now)])
    }

    /// Ends a silence now; false when there is no such silence in effect.
    static func expire(id: String, at now: Int64) -> SQLStatement {
        SQLStatement("UPDATE silences SET expired_at = ? WHERE id = ? AND expired_at IS NULL AND ends_at > ?", [.integer(now), .text(id), .integer(now)])
    }

    static func silence(from row: SQLRow) throws(StoreError) -> Silence {
        Silence(
            id: try row.text("id"), checkName: try row.text("check_name"), accountID: try row.optionalText("account_id"), region: try row.optionalText("region"),
            scheduledAuditName: try row.optionalText("scheduled_audit_name"), startsAt: try row.int64("starts_at"), endsAt: try row.int64("ends_at"),
            comment: try row.text("comment"), createdBy: try row.optionalText("created_by"), createdAt: try row.int64("created_at"),
            expiredAt: try row.optionalInt64("expired_at")
        )
    }

    private static func optional(_ text: String?) -> SQLValue {
        text.map { .text($0) } ?? .null
    }
}
