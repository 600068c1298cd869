import Foundation
import GRDB

/// The embedded default store: one SQLite file in WAL mode, schema migrated by version.
///
/// `synchronous = FULL` makes every commit durable across power loss, not only a crash of
/// this process; the group committer amortises that fsync over concurrent requests.
public final class SQLiteStore: Store {
    public let path: String
    private let pool: DatabasePool
    private let committer: GroupCommitter

    /// Opens (creating if needed, with its folder) and migrates the database at `path`.
    public init(path: String) throws(StoreError) {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw .unavailable("cannot open \(path): \(error)")
        }
        do {
            try SQLiteSchema.migrator.migrate(pool)
        } catch {
            throw .migrationFailed("\(path): \(error)")
        }
        committer = GroupCommitter(pool: pool)
    }

    /// The schema version this database is at (the last applied migration).
    public func schemaVersion() async throws(StoreError) -> String? {
        try await read { db in try SQLiteSchema.migrator.appliedMigrations(db).last }
    }

    public func record(_ message: StoredMessage, effect: SubscriptionEffect) async throws(StoreError) -> RecordOutcome {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO sns_messages (message_id, type, topic_arn, subject, message, sns_timestamp,
                        signature_version, signing_cert_url, raw_envelope, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (message_id) DO NOTHING
                    """,
                arguments: [
                    message.messageID, message.type, message.topicARN, message.subject, message.message,
                    message.snsTimestamp, message.signatureVersion, message.signingCertURL,
                    Data(message.rawEnvelope), message.receivedAt,
                ]
            )
            guard db.changesCount == 1 else { return RecordOutcome.duplicate }
            try SQLiteStore.apply(effect, of: message, in: db)
            return RecordOutcome.recorded
        }
    }

    private static func apply(_ effect: SubscriptionEffect, of message: StoredMessage, in db: Database) throws {
        let now = message.receivedAt
        switch effect {
        case .confirmationRequested(let subscribeURL):
            try db.execute(
                sql: """
                    INSERT INTO subscriptions (topic_arn, status, subscribe_url, last_error, updated_at)
                    VALUES (?, 'pending', ?, NULL, ?)
                    ON CONFLICT (topic_arn) DO UPDATE SET status = 'pending', subscribe_url = excluded.subscribe_url,
                        last_error = NULL, updated_at = excluded.updated_at
                    """,
                arguments: [message.topicARN, subscribeURL, now]
            )
        case .unsubscribed:
            try db.execute(
                sql: """
                    INSERT INTO subscriptions (topic_arn, status, updated_at) VALUES (?, 'unsubscribed', ?)
                    ON CONFLICT (topic_arn) DO UPDATE SET status = 'unsubscribed', subscribe_url = NULL,
                        updated_at = excluded.updated_at
                    """,
                arguments: [message.topicARN, now]
            )
        case .notificationDelivered:
            try db.execute(
                sql: """
                    INSERT INTO subscriptions (topic_arn, status, updated_at, confirmed_at) VALUES (?, 'confirmed', ?, ?)
                    ON CONFLICT (topic_arn) DO NOTHING
                    """,
                arguments: [message.topicARN, now, now]
            )
        }
    }

    public func storedMessage(id: String) async throws(StoreError) -> StoredMessage? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sns_messages WHERE message_id = ?", arguments: [id]).map { row in
                StoredMessage(
                    messageID: row["message_id"], type: row["type"], topicARN: row["topic_arn"], subject: row["subject"],
                    message: row["message"], snsTimestamp: row["sns_timestamp"], signatureVersion: row["signature_version"],
                    signingCertURL: row["signing_cert_url"], rawEnvelope: [UInt8](row["raw_envelope"] as Data),
                    receivedAt: row["received_at"]
                )
            }
        }
    }

    public func messageCount() async throws(StoreError) -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sns_messages") ?? 0 }
    }

    public func storedMessageIDs() async throws(StoreError) -> Set<String> {
        try await read { db in Set(try String.fetchAll(db, sql: "SELECT message_id FROM sns_messages")) }
    }

    public func subscriptions() async throws(StoreError) -> [Subscription] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM subscriptions ORDER BY topic_arn").map(SQLiteStore.subscription(from:))
        }
    }

    public func subscription(topicARN: String) async throws(StoreError) -> Subscription? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM subscriptions WHERE topic_arn = ?", arguments: [topicARN])
                .map(SQLiteStore.subscription(from:))
        }
    }

    public func markConfirmed(topicARN: String, subscriptionARN: String?, at: Int64) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO subscriptions (topic_arn, status, subscription_arn, updated_at, confirmed_at)
                    VALUES (?, 'confirmed', ?, ?, ?)
                    ON CONFLICT (topic_arn) DO UPDATE SET status = 'confirmed',
                        subscription_arn = coalesce(excluded.subscription_arn, subscriptions.subscription_arn),
                        subscribe_url = NULL, last_error = NULL, updated_at = excluded.updated_at,
                        confirmed_at = excluded.confirmed_at
                    """,
                arguments: [topicARN, subscriptionARN, at, at]
            )
        }
    }

    public func markConfirmationFailed(topicARN: String, reason: String, at: Int64) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE subscriptions SET last_error = ?, updated_at = ? WHERE topic_arn = ? AND status = 'pending'",
                arguments: [reason, at, topicARN]
            )
        }
    }

    public func checkReady() async throws(StoreError) {
        try await read { db in
            _ = try Row.fetchOne(db, sql: "SELECT 1 FROM sns_messages LIMIT 1")
            _ = try Row.fetchOne(db, sql: "SELECT 1 FROM subscriptions LIMIT 1")
        }
    }

    public func close() async {
        try? pool.close()
    }

    // MARK: -

    private static func subscription(from row: Row) -> Subscription {
        Subscription(
            topicARN: row["topic_arn"],
            status: Subscription.Status(rawValue: row["status"]) ?? .pending,
            subscriptionARN: row["subscription_arn"],
            subscribeURL: row["subscribe_url"],
            lastError: row["last_error"],
            updatedAt: row["updated_at"],
            confirmedAt: row["confirmed_at"]
        )
    }

    private func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await committer.write(work)
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unavailable(String(describing: error))
        }
    }

    private func read<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(work)
        } catch {
            throw .unavailable(String(describing: error))
        }
    }
}
