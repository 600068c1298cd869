import DeviceDefender
import Foundation
import Ingest
import Logging
import ServiceLifecycle
import Storage
import Synchronization
import Testing

/// Group commit in front of the real SQLite store: messages that arrive together share a
/// transaction, the queue is bounded, a caller's cancellation cannot fail a batch, one message
/// the store refuses fails alone, and stopping neither loses nor strands a queued message.
@Suite(.timeLimit(.minutes(2)))
struct MessageRecorderTests {
    static func item(_ index: Int) -> IngestItem {
        let text = AuditFixtures.audit("t-\(index)", start: Int64(1_000 + index), checks: [("LOGGING_DISABLED_CHECK", "COMPLETED_NON_COMPLIANT", 1)])
        return IngestItem(message: AuditFixtures.message(text, id: "m-\(index)"), effect: .notificationDelivered, payload: .classify(text))
    }

    static var quiet: Logger {
        var logger = Logger(label: "recorder-test")
        logger.logLevel = .critical
        return logger
    }

    static func store() throws -> SQLiteStore {
        try SQLiteStore(path: try makeTemporaryDirectory("recorder").appendingPathComponent("relay.sqlite").path)
    }

    /// Runs `recorder` for the duration of `body`.
    static func running<T: Sendable>(_ recorder: MessageRecorder, _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await recorder.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    @Test func messagesThatArriveTogetherShareATransaction() async throws {
        let sqlite = try Self.store()
        let store = InstrumentedStore(sqlite)
        let recorder = MessageRecorder(store: store, planner: nil, logger: Self.quiet)
        let outcomes = try await Self.running(recorder) {
            try await withThrowingTaskGroup(of: RecordOutcome.self) { group in
                for index in 0..<64 { group.addTask { try await recorder.record(Self.item(index)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(outcomes == Array(repeating: .recorded, count: 64))
        #expect(try await sqlite.messageCount() == 64)
        #expect(try await sqlite.audits(AuditQuery(limit: 100)).audits.count == 64)
        #expect(store.transactions < 64, "\(store.transactions) transactions for 64 messages")
        await sqlite.close()
    }

    @Test func refusesMessagesPastItsQueueBoundAndStoresTheRest() async throws {
        let sqlite = try Self.store()
        let store = InstrumentedStore(sqlite)
        let recorder = MessageRecorder(store: store, planner: nil, maxQueued: 4, logger: Self.quiet)
        store.hold()
        try await Self.running(recorder) {
            let first = Task { try await recorder.record(Self.item(0)) }
            try await waitUntil { store.waiting == 1 }
            let queued = (1...4).map { index in Task { try await recorder.record(Self.item(index)) } }
            try await waitUntil { recorder.queued == 4 }
            await #expect(throws: StoreError.self) { try await recorder.record(Self.item(5)) }
            store.release()
            #expect(try await first.value == .recorded)
            for task in queued { #expect(try await task.value == .recorded) }
        }
        #expect(try await sqlite.storedMessageIDs() == Set((0...4).map { "m-\($0)" }))
        await sqlite.close()
    }

    @Test func aCancelledCallerCannotFailTheBatch() async throws {
        let sqlite = try Self.store()
        let store = InstrumentedStore(sqlite)
        let recorder = MessageRecorder(store: store, planner: nil, logger: Self.quiet)
        store.hold()
        try await Self.running(recorder) {
            let first = Task { try await recorder.record(Self.item(0)) }
            try await waitUntil { store.waiting == 1 }
            let cancelled = Task { try await recorder.record(Self.item(1)) }
            let other = Task { try await recorder.record(Self.item(2)) }
            try await waitUntil { recorder.queued == 2 }
            cancelled.cancel()
            store.release()
            #expect(try await first.value == .recorded)
            #expect(try await other.value == .recorded)
            #expect(try await cancelled.value == .recorded)
        }
        #expect(try await sqlite.messageCount() == 3)
        await sqlite.close()
    }

    @Test func aMessageTheStoreRefusesFailsAlone() async throws {
        let sqlite = try Self.store()
        let store = InstrumentedStore(sqlite, refusing: "m-2")
        let recorder = MessageRecorder(store: store, planner: nil, logger: Self.quiet)
        store.hold()
        try await Self.running(recorder) {
            let first = Task { try await recorder.record(Self.item(0)) }
            try await waitUntil { store.waiting == 1 }
            let batch = (1...3).map { index in Task { try await recorder.record(Self.item(index)) } }
            try await waitUntil { recorder.queued == 3 }
            store.release()
            #expect(try await first.value == .recorded)
            #expect(try await batch[0].value == .recorded)
            await #expect(throws: StoreError.self) { try await batch[1].value }
            #expect(try await batch[2].value == .recorded)
        }
        #expect(try await sqlite.storedMessageIDs() == ["m-0", "m-1", "m-3"])
        await sqlite.close()
    }

    @Test func aGracefulStopStoresWhatIsQueuedFirst() async throws {
        let sqlite = try Self.store()
        let store = InstrumentedStore(sqlite)
        let recorder = MessageRecorder(store: store, planner: nil, logger: Self.quiet)
        let group = ServiceGroup(configuration: .init(services: [recorder], logger: Self.quiet))
        store.hold()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let first = Task { try await recorder.record(Self.item(0)) }
            try await waitUntil { store.waiting == 1 }
            let queued = (1...3).map { index in Task { try await recorder.record(Self.item(index)) } }
            try await waitUntil { recorder.queued == 3 }
            // (Triggering returns once the service stopped: from another task.)
            let stopping = Task { await group.triggerGracefulShutdown() }
            // Stopping: nothing new is taken...
            try await waitUntil { recorder.isStopping }
            await #expect(throws: StoreError.self) { try await recorder.record(Self.item(9)) }
            store.release()
            await stopping.value
            // ...and nothing queued is dropped.
            #expect(try await first.value == .recorded)
            for task in queued { #expect(try await task.value == .recorded) }
            try await tasks.waitForAll()
        }
        #expect(try await sqlite.messageCount() == 4)
        await sqlite.close()
    }

    @Test func cancellingTheRecorderFailsWhatIsQueuedInsteadOfStrandingIt() async throws {
        let sqlite = try Self.store()
        let store = InstrumentedStore(sqlite)
        let recorder = MessageRecorder(store: store, planner: nil, logger: Self.quiet)
        store.hold()
        let running = Task { await recorder.run() }
        let first = Task { try await recorder.record(Self.item(0)) }
        try await waitUntil { store.waiting == 1 }
        let queued = Task { try await recorder.record(Self.item(1)) }
        try await waitUntil { recorder.queued == 1 }
        running.cancel()
        await #expect(throws: StoreError.self) { try await queued.value }
        store.release()
        #expect(try await first.value == .recorded)
        await running.value
        #expect(try await sqlite.storedMessageIDs() == ["m-0"])
        await sqlite.close()
    }
}

/// The real store, counting its transactions; it can hold them at their start (so that
/// messages queue behind) and refuse a given MessageId (a write the database refuses).
final class InstrumentedStore: IngestStore, Sendable {
    private struct State {
        var transactions = 0
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let store: any IngestStore
    private let refusing: String?
    private let state = Mutex(State())

    init(_ store: any IngestStore, refusing: String? = nil) {
        self.store = store
        self.refusing = refusing
    }

    var ingestConcurrency: Int { store.ingestConcurrency }
    var transactions: Int { state.withLock { $0.transactions } }
    var waiting: Int { state.withLock { $0.waiting.count } }

    func hold() { state.withLock { $0.held = true } }

    func release() {
        let waiting = state.withLock { state in
            state.held = false
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in waiting { waiter.resume() }
    }

    func withIngestTransaction<T: Sendable>(_ body: @escaping @Sendable (any IngestTransaction) async throws -> T) async throws -> T {
        await withCheckedContinuation { continuation in
            let go = state.withLock { state -> Bool in
                state.transactions += 1
                if state.held { state.waiting.append(continuation) }
                return !state.held
            }
            if go { continuation.resume() }
        }
        let refusing = self.refusing
        return try await store.withIngestTransaction { transaction in
            try await body(RefusingTransaction(base: transaction, refusing: refusing))
        }
    }
}

/// Passes every call through; `insertMessages` fails, as a database would, when its batch holds
/// the refused MessageId.
private struct RefusingTransaction: IngestTransaction {
    let base: any IngestTransaction
    let refusing: String?

    func insertMessages(_ messages: [StoredMessage], previousRunsOf audits: [AuditNotification]) async throws -> InsertedMessages {
        if let refusing, messages.contains(where: { $0.messageID == refusing }) { throw StoreError.unavailable("refused \(refusing)") }
        return try await base.insertMessages(messages, previousRunsOf: audits)
    }
    func lockSeries(_ seriesKeys: [String]) async throws { try await base.lockSeries(seriesKeys) }
    func applySubscriptionEffects(_ changes: [SubscriptionChange]) async throws { try await base.applySubscriptionEffects(changes) }
    func insertAudits(_ audits: [NewAudit], changes: [StoredChange]) async throws -> [Bool] { try await base.insertAudits(audits, changes: changes) }
    func updateChanges(_ changes: [StoredChange]) async throws { try await base.updateChanges(changes) }
    func insertViolations(_ violations: [StoredViolation]) async throws -> [Bool] { try await base.insertViolations(violations) }
    func insertUnrecognized(_ notifications: [UnrecognizedNotification]) async throws { try await base.insertUnrecognized(notifications) }
    func recentlyQueued(_ queries: [RepeatQuery]) async throws -> [Bool] { try await base.recentlyQueued(queries) }
    func insertDeliveries(_ deliveries: [NewDelivery]) async throws { try await base.insertDeliveries(deliveries) }
    func activeSilences(since: Int64) async throws -> [Silence] { try await base.activeSilences(since: since) }
    func queueDetectGroupEvents(_ events: [DetectGroupEvent]) async throws { try await base.queueDetectGroupEvents(events) }
    func dueDetectGroups(now: Int64, limit: Int) async throws -> [DueDetectGroup] { try await base.dueDetectGroups(now: now, limit: limit) }
    func alarms(_ violationIDs: [String], before: Int64) async throws -> [String: (receivers: [String], startedAt: Int64?)] { try await base.alarms(violationIDs, before: before) }
    func recordAlarmReceivers(_ receivers: [(violationID: String, receiver: String)]) async throws { try await base.recordAlarmReceivers(receivers) }
    func forgetAlarms(_ violationIDs: [String]) async throws { try await base.forgetAlarms(violationIDs) }
    func finishDetectGroups(_ groups: [SentDetectGroup], at now: Int64) async throws { try await base.finishDetectGroups(groups, at: now) }
}

/// Polls `condition` every 5 ms for at most 30 s (the whole suite starts at once on two cores:
/// a task may wait seconds for a thread).
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestSetupError("a condition did not come true within 30 s") }
        try await Task.sleep(for: .milliseconds(5))
    }
}
