/// Where verified messages and subscription state live. Every write is durable (committed)
/// when the call returns: the SNS endpoint answers 200 only after `record` returned.
public protocol Store: Sendable {
    /// Stores `message` and applies `effect` in one transaction; `.duplicate` (and no change at
    /// all) when its MessageId is already stored.
    func record(_ message: StoredMessage, effect: SubscriptionEffect) async throws(StoreError) -> RecordOutcome

    func storedMessage(id: String) async throws(StoreError) -> StoredMessage?
    func messageCount() async throws(StoreError) -> Int
    /// Every MessageId stored, for reconciliation tools and tests.
    func storedMessageIDs() async throws(StoreError) -> Set<String>

    func subscriptions() async throws(StoreError) -> [Subscription]
    func subscription(topicARN: String) async throws(StoreError) -> Subscription?
    /// Marks the topic's subscription confirmed (creating its record when there is none).
    func markConfirmed(topicARN: String, subscriptionARN: String?, at: Int64) async throws(StoreError)
    /// Keeps the subscription pending and remembers why confirming it failed.
    func markConfirmationFailed(topicARN: String, reason: String, at: Int64) async throws(StoreError)

    /// Throws when the store cannot serve reads and writes (for `/readyz`).
    func checkReady() async throws(StoreError)
    func close() async
}
