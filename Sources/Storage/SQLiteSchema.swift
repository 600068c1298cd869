import GRDB

/// The SQLite schema, one migration per version. Migrations are append-only: a released
/// migration is never edited, a change is a new one.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-sns-messages-and-subscriptions") { db in
            try db.execute(sql: """
                CREATE TABLE sns_messages (
                    message_id TEXT PRIMARY KEY NOT NULL,
                    type TEXT NOT NULL,
                    topic_arn TEXT NOT NULL,
                    subject TEXT,
                    message TEXT NOT NULL,
                    sns_timestamp TEXT NOT NULL,
                    signature_version TEXT NOT NULL,
                    signing_cert_url TEXT NOT NULL,
                    raw_envelope BLOB NOT NULL,
                    received_at INTEGER NOT NULL
                );
                CREATE INDEX sns_messages_by_topic_and_time ON sns_messages (topic_arn, received_at);
                CREATE INDEX sns_messages_by_time ON sns_messages (received_at);
                CREATE TABLE subscriptions (
                    topic_arn TEXT PRIMARY KEY NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
                    subscription_arn TEXT,
                    subscribe_url TEXT,
                    last_error TEXT,
                    updated_at INTEGER NOT NULL,
                    confirmed_at INTEGER
                );
                """)
        }
        return migrator
    }
}
