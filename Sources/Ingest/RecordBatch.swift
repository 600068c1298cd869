import Alerts
import DeviceDefender
import Storage

/// The ingest transaction, written once for both stores: store a batch of verified messages,
/// what their payloads mean, what changed since each audit's previous run, and the alerts that
/// follow, all in the one transaction the caller opened (`IngestStore.withIngestTransaction`),
/// so that nothing is stored without its alerts and no alert without what caused it.
///
/// The store is told what to write and answers what it found; every decision is made here,
/// between its calls. A batch stores exactly what storing its messages one after another would
/// store, with one difference for the better: audits of one series in the same batch are
/// compared with each other in start-time order, whatever order they arrived in. Each audit's
/// change is known before its row is written, so the row is written once.
public enum RecordBatch {
    /// Stores `items` and returns, for each, whether it was new (`recorded`) or its MessageId
    /// was stored already, before or earlier in the batch (`duplicate`).
    public static func record(_ items: [IngestItem], planner: AlertPlanner?, in transaction: any IngestTransaction) async throws -> [RecordOutcome] {
        // One message per MessageId: the first copy in the batch is the one stored. Ids are
        // compared byte for byte, as the database's unique index does.
        var seen = Set<BytesKey>()
        let unique = items.indices.filter { seen.insert(BytesKey(items[$0].message.messageID)).inserted }
        // The previous runs of the audits these messages carry are asked for with the messages
        // (PostgreSQL answers both in one round trip): as stored before this transaction.
        let carried = unique.compactMap { index -> (index: Int, audit: AuditNotification)? in
            guard case .audit(let audit)? = items[index].payload else { return nil }
            return (index, audit)
        }
        // Runs of one series are stored one transaction at a time, so that what is read here as
        // a run's neighbours stays so until this transaction commits.
        if !carried.isEmpty { try await transaction.lockSeries(carried.map(\.audit.seriesKey)) }
        let first = try await transaction.insertMessages(unique.map { items[$0].message }, previousRunsOf: carried.map(\.audit))
        var storedRuns: [Int: StoredRun] = [:]
        var followingRuns: [Int: StoredRun] = [:]
        for ((index, _), (run, next)) in zip(carried, zip(first.previousRuns, first.nextRuns)) {
            storedRuns[index] = run
            followingRuns[index] = next
        }
        let new = zip(unique, first.inserted).filter(\.1).map(\.0)
        var outcomes = [RecordOutcome](repeating: .duplicate, count: items.count)
        for index in new { outcomes[index] = .recorded }
        guard !new.isEmpty else { return outcomes }

        // A notification's own effect (its topic is known) came with its insert.
        let subscriptionChanges = new.map { items[$0] }.filter { $0.effect != .notificationDelivered }.map {
            SubscriptionChange(topicARN: $0.message.topicARN, effect: $0.effect, at: $0.message.receivedAt)
        }
        if !subscriptionChanges.isEmpty { try await transaction.applySubscriptionEffects(subscriptionChanges) }

        // What each new message's payload is, stored once per taskId / Detect event.
        var events: [Int: RecordedEvent] = [:]
        for index in new { events[index] = items[index].effect.recordedEvent }
        var audits: [(index: Int, row: NewAudit)] = []
        var violations: [(index: Int, row: StoredViolation)] = []
        var unrecognized: [UnrecognizedNotification] = []
        var taskIDs = Set<BytesKey>()
        var violationKeys = Set<ViolationKey>()
        for index in new {
            let message = items[index].message
            switch items[index].payload {
            case .audit?:
                // Another MessageId carrying the same taskId: one audit, stored (and alerted) once.
                if let row = items[index].audit, taskIDs.insert(BytesKey(row.audit.taskID)).inserted {
                    audits.append((index, row))
                }
            case .detect(let violation)?:
                if violationKeys.insert(ViolationKey(violation)).inserted {
                    violations.append((index, StoredViolation(messageID: message.messageID, violation: violation, receivedAt: message.receivedAt)))
                }
            case .unrecognized(let reason)?:
                unrecognized.append(UnrecognizedNotification(message: message, reason: reason))
                events[index] = .unrecognized(reason: reason)
            case nil:
                break
            }
        }
        if !audits.isEmpty {
            // Each audit is compared with the run just before it in its series: stored before
            // this transaction, or earlier in this batch, whichever started later.
            let stored = audits.map { storedRuns[$0.index] }
            let inBatch = previousInBatch(audits.map(\.row))
            var changes: [StoredChange] = []
            changes.reserveCapacity(audits.count)
            for ((_, row), (fromStore, fromBatch)) in zip(audits, zip(stored, inBatch)) {
                let previous: StoredRun? = switch (fromStore, fromBatch) {
                case (let store?, let batch?): (store.taskStartTime, store.taskID) < (batch.taskStartTime, batch.taskID) ? batch : store
                case (let store?, nil): store
                case (nil, let batch?): batch
                case (nil, nil): nil
                }
                changes.append(StoredChange(taskID: row.audit.taskID, change: AuditChange.between(previous: previous.map { $0.asNotification(of: row.audit) }, current: row.audit)))
            }
            let inserted = try await transaction.insertAudits(audits.map(\.row), changes: changes)
            for ((index, row), (change, inserted)) in zip(audits, zip(changes, inserted)) where inserted {
                events[index] = .audit(row.audit, change.change)
            }
            // A late run (one older than a stored run of its series) is the new previous run of
            // the stored run after it: that run's change is compared again and replaced, and
            // alerts nobody again (its alerts went out when it arrived).
            let recomputed = changesOfFollowingRuns(
                audits: audits.map(\.row), inserted: inserted, following: audits.map { followingRuns[$0.index] }
            )
            if !recomputed.isEmpty { try await transaction.updateChanges(recomputed) }
        }
        if !violations.isEmpty {
            for (violation, stored) in zip(violations, try await transaction.insertViolations(violations.map(\.row))) where stored {
                events[violation.index] = .detect(violation.row.violation)
            }
        }
        if !unrecognized.isEmpty { try await transaction.insertUnrecognized(unrecognized) }

        if let planner, planner.isEnabled {
            // Silences apply to audit findings: read once per batch, only when it has audits.
            let hasAudits = new.contains { if case .audit? = events[$0] { true } else { false } }
            let silences = hasAudits ? try await transaction.activeSilences(since: new.map { items[$0].message.receivedAt }.min() ?? 0) : []
            var entries: [NewDelivery] = []
            var grouped: [DetectGroupEvent] = []
            let grouping = planner.detectGrouping
            for index in new {
                guard let event = events[index] else { continue }
                let message = items[index].message
                if case .detect(let violation) = event {
                    // Detect events wait in their group; DetectGroupSender sends the group.
                    grouped.append(DetectGroupEvent(
                        messageID: message.messageID, groupKey: grouping.key(of: violation, topicARN: message.topicARN), topicARN: message.topicARN,
                        receivedAt: message.receivedAt, waitMilliseconds: grouping.waitSeconds * 1000, intervalMilliseconds: grouping.intervalSeconds * 1000
                    ))
                    continue
                }
                entries += planner.plan(message, event, silences: silences).map { NewDelivery(entry: $0, at: message.receivedAt) }
            }
            if !grouped.isEmpty { try await transaction.queueDetectGroupEvents(grouped) }
            try await queue(entries, in: transaction)
        }
        return outcomes
    }

    /// Queues deliveries, leaving out, for a route with `repeat_interval`, any whose alert
    /// (same fingerprint) went to the same receiver within that interval, or is still waiting
    /// to go (queued earlier, or earlier in this same batch).
    public static func queue(_ deliveries: [NewDelivery], in transaction: any IngestTransaction) async throws {
        guard !deliveries.isEmpty else { return }
        let repeating = deliveries.indices.filter { deliveries[$0].entry.repeatIntervalSeconds != nil }
        let queries = repeating.map { index in
            let delivery = deliveries[index]
            return RepeatQuery(receiver: delivery.entry.receiver, fingerprint: delivery.entry.fingerprint, since: delivery.at - delivery.entry.repeatIntervalSeconds! * 1000)
        }
        var queuedBefore = Set<Int>()
        if !queries.isEmpty {
            for (index, found) in zip(repeating, try await transaction.recentlyQueued(queries)) where found { queuedBefore.insert(index) }
        }
        var kept: [NewDelivery] = []
        var queuedNow = Set<ReceiverFingerprint>()
        for (index, delivery) in deliveries.enumerated() {
            let key = ReceiverFingerprint(receiver: delivery.entry.receiver, fingerprint: delivery.entry.fingerprint)
            if delivery.entry.repeatIntervalSeconds != nil, queuedBefore.contains(index) || queuedNow.contains(key) { continue }
            kept.append(delivery)
            queuedNow.insert(key)
        }
        try await transaction.insertDeliveries(kept)
    }

    /// The stored runs that a newly inserted audit now directly precedes, compared again with
    /// it. A stored run is recompared with the latest inserted audit before it, and only when no
    /// other audit of the batch comes between them.
    private static func changesOfFollowingRuns(audits: [NewAudit], inserted: [Bool], following: [StoredRun?]) -> [StoredChange] {
        let order = audits.indices.sorted {
            let (a, b) = (audits[$0].audit, audits[$1].audit)
            return (a.seriesKey, a.taskStartTime, a.taskID) < (b.seriesKey, b.taskStartTime, b.taskID)
        }
        var changes: [String: StoredChange] = [:]
        for (position, index) in order.enumerated() where inserted[index] {
            guard let next = following[index] else { continue }
            let audit = audits[index]
            if position + 1 < order.count {
                let later = audits[order[position + 1]].audit
                let sameSeries = later.seriesKey.utf8.elementsEqual(audit.audit.seriesKey.utf8)
                if sameSeries, (later.taskStartTime, later.taskID) < (next.taskStartTime, next.taskID) { continue }
            }
            let previous = StoredRun(taskID: audit.audit.taskID, taskStartTime: audit.audit.taskStartTime, checks: audit.storedChecks)
            let change = AuditChange.between(previous: previous.asNotification(of: audit.audit), current: next.asNotification(of: audit.audit))
            changes[next.taskID] = StoredChange(taskID: next.taskID, change: change)
        }
        return changes.keys.sorted().compactMap { changes[$0] }
    }

    /// For each audit, the latest audit of the same series in the batch that started before it
    /// (by start time, then taskId).
    private static func previousInBatch(_ audits: [NewAudit]) -> [StoredRun?] {
        var previous = [StoredRun?](repeating: nil, count: audits.count)
        let order = audits.indices.sorted {
            let (a, b) = (audits[$0].audit, audits[$1].audit)
            return (a.seriesKey, a.taskStartTime, a.taskID) < (b.seriesKey, b.taskStartTime, b.taskID)
        }
        for (position, index) in order.enumerated() where position > 0 {
            let earlier = audits[order[position - 1]]
            if earlier.audit.seriesKey.utf8.elementsEqual(audits[index].audit.seriesKey.utf8) {
                previous[index] = StoredRun(taskID: earlier.audit.taskID, taskStartTime: earlier.audit.taskStartTime, checks: earlier.storedChecks)
            }
        }
        return previous
    }

    /// A string compared by its bytes (Swift's `String` compares by canonical equivalence).
    private struct BytesKey: Hashable {
        let bytes: [UInt8]

        init(_ text: String) {
            bytes = Array(text.utf8)
        }
    }

    private struct ViolationKey: Hashable {
        let violationID: BytesKey
        let eventType: DetectViolation.EventType
        let eventTime: Int64

        init(_ violation: DetectViolation) {
            violationID = BytesKey(violation.violationID)
            eventType = violation.eventType
            eventTime = violation.eventTime
        }
    }

    private struct ReceiverFingerprint: Hashable {
        let receiver: String
        let fingerprint: String
    }
}

extension StoredRun {
    /// A stored run as far as comparing two runs needs it: its taskId and its checks.
    func asNotification(of current: AuditNotification) -> AuditNotification {
        AuditNotification(
            accountID: current.accountID, taskID: taskID, taskStatus: .completed, taskType: current.taskType,
            scheduledAuditName: current.scheduledAuditName, failedChecksCount: 0, canceledChecksCount: 0, nonCompliantChecksCount: 0,
            compliantChecksCount: 0, totalChecksCount: checks.count, taskStartTime: taskStartTime, checks: checks
        )
    }
}
