// Where the time of one SNS message goes, stage by stage, without HTTP: the same functions the
// endpoint calls, each timed over the same set of distinct signed audit notifications.
//
//   swift build -c release --product ingest-stages && .build/release/ingest-stages [COUNT]
//
// Prints a Markdown table of microseconds per message for parse, precheck, certificate (a
// cache miss: parsing the PEM), verify, decode, store (SQLite with synchronous=FULL, one
// message at a time and 32 at a time through group commit) and plan alerts (one Slack receiver).
import Alerts
import RelayConfig
import DeviceDefender
import Foundation
import Ingest
import Logging
import Relay
import SNS
import Storage
import TestSupport

let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 2000
let topic = "arn:aws:sns:us-east-1:123456789012:device-defender-audits"
let identity = TestSigningIdentity.shared
let checkNames = Array(CheckCatalog.known.definitions.map(\.name).sorted().prefix(17))

/// An audit with 1 to 17 checks, as Device Defender publishes them.
func auditJSON(_ index: Int) -> String {
    let checks = (0..<(1 + index % 17)).map { position -> String in
        let failing = (index + position) % 3 == 0
        return #"{"checkName":"\#(checkNames[position])","checkRunStatus":"\#(failing ? "COMPLETED_NON_COMPLIANT" : "COMPLETED_COMPLIANT")","nonCompliantResourcesCount":\#(failing ? 1 + position : 0),"totalResourcesCount":\#(100 + position)}"#
    }
    let failing = checks.filter { $0.contains("NON_COMPLIANT") }.count
    return #"{"accountId":"123456789012","taskId":"\#(String(format: "%032x", index))","taskStatus":"COMPLETED","taskType":"SCHEDULED_AUDIT_TASK","scheduledAuditName":"dailyAudit","failedChecksCount":0,"canceledChecksCount":0,"nonCompliantChecksCount":\#(failing),"compliantChecksCount":\#(checks.count - failing),"totalChecksCount":\#(checks.count),"taskStartTime":\#(1_764_000_000_000 + Int64(index) * 60_000),"auditDetails":[\#(checks.joined(separator: ","))]}"#
}

let bodies: [[UInt8]] = try (0..<count).map { index in
    try TestEnvelope(type: .notification, topicARN: topic, message: auditJSON(index)).signed(with: identity).body
}
var configuration = RelayConfiguration()
configuration.sns.allowedTopics = [topic]
let verifier = try configuration.sns.verifier()
var slack = RelayConfiguration.Receiver(name: "ops", kind: .slack)
slack.url = "https://hooks.slack.com/services/T000/B000/XXXX"
configuration.receivers = [slack]
configuration.alerts.defaultReceivers = ["ops"]
let planner = try AlertPlanner(configuration: configuration)
let now = SNSInstant(date: Date())

/// Runs `body` once per message and returns microseconds per message.
func measure<T>(_ body: (Int) throws -> T) rethrows -> (Double, [T]) {
    var results: [T] = []
    results.reserveCapacity(count)
    let start = ContinuousClock.now
    for index in 0..<count { results.append(try body(index)) }
    let elapsed = ContinuousClock.now - start
    return (Double(elapsed.components.attoseconds) / 1e12 / Double(count) + Double(elapsed.components.seconds) * 1e6 / Double(count), results)
}

var rows: [(String, Double, String)] = []
let (parseCost, messages) = try measure { try SNSMessage.parse(body: bodies[$0], headers: SNSDeliveryHeaders(messageType: "Notification")) }
rows.append(("parse", parseCost, "SNSMessage.parse: the envelope's JSON, field types"))
let (precheckCost, _) = measure { verifier.precheck(messages[$0], now: now) }
rows.append(("precheck", precheckCost, "topic, signature version, freshness, certificate URL policy"))
let (certificateCost, _) = measure { _ in SigningCertificate.parse(pem: identity.certificatePEM, acceptedNames: WholeMatchPattern.defaultCertificateNames.map { try! WholeMatchPattern($0) }) }
rows.append(("certificate (miss)", certificateCost, "PEM → X.509 → RSA key, once per URL; a hit is a dictionary lookup"))
let certificate = identity.signingCertificate()
let (verifyCost, verdicts) = measure { verifier.verifySignature(messages[$0], certificate: certificate, now: now) }
precondition(verdicts.allSatisfy { $0 == .genuine })
rows.append(("verify", verifyCost, "string to sign, SHA256, RSA-2048 PKCS#1 v1.5"))
let (decodeCost, payloads) = measure { DefenderPayload.classify(messages[$0].message) }
rows.append(("decode", decodeCost, "DefenderPayload.classify: keys, then the audit schema"))
let (planCost, _) = measure { index -> [OutboxEntry] in
    guard case .audit(let audit) = payloads[index] else { return [] }
    let stored = StoredMessage(messageID: messages[index].messageID, type: "Notification", topicARN: topic, subject: nil, message: messages[index].message, snsTimestamp: messages[index].timestamp, signatureVersion: "2", signingCertURL: messages[index].signingCertURL, rawEnvelope: bodies[index], receivedAt: now.millisecondsSince1970)
    return planner.plan(stored, .audit(audit, AuditChange.between(previous: nil, current: audit)))
}
let changes = payloads.map { payload -> AuditChange in
    guard case .audit(let audit) = payload else { return AuditChange() }
    return AuditChange.between(previous: nil, current: audit)
}
let (changeCost, _) = measure { changes[$0].jsonText }
rows.append(("change as JSON", changeCost, "the stored change summary, written before it reaches the writer"))
rows.append(("plan alerts", planCost, "build, route and render for one Slack receiver (not on the path without receivers)"))

func stored(_ index: Int) -> StoredMessage {
    StoredMessage(messageID: messages[index].messageID, type: "Notification", topicARN: topic, subject: nil, message: messages[index].message, snsTimestamp: messages[index].timestamp, signatureVersion: "2", signingCertURL: messages[index].signingCertURL, rawEnvelope: bodies[index], receivedAt: now.millisecondsSince1970)
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-stages-\(UUID().uuidString.prefix(8))")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }

let serialCount = min(count, 500)
let serialStore = try SQLiteStore(path: folder.appendingPathComponent("serial.sqlite").path)
let serialStart = ContinuousClock.now
for index in 0..<serialCount {
    _ = try await serialStore.record(stored(index), effect: .notificationDelivered, payload: payloads[index])
}
let serialElapsed = ContinuousClock.now - serialStart
await serialStore.close()
rows.append(("store, one at a time", Double(serialElapsed.components.seconds) * 1e6 / Double(serialCount) + Double(serialElapsed.components.attoseconds) / 1e12 / Double(serialCount), "one transaction and one fsync per message (\(serialCount) messages): latency, mostly waiting for the disk"))

let groupStore = try SQLiteStore(path: folder.appendingPathComponent("group.sqlite").path)
let recorder = MessageRecorder(store: groupStore, planner: nil, logger: Logger(label: "ingest-stages"))
let groupStart = ContinuousClock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await recorder.run() }
    try await withThrowingTaskGroup(of: Void.self) { writers in
        for lane in 0..<32 {
            writers.addTask {
                for index in stride(from: lane, to: count, by: 32) {
                    _ = try await recorder.record(IngestItem(message: stored(index), effect: .notificationDelivered, payload: payloads[index]))
                }
            }
        }
        try await writers.waitForAll()
    }
    group.cancelAll()
}
let groupElapsed = ContinuousClock.now - groupStart
await groupStore.close()
rows.append(("store, 32 at a time", Double(groupElapsed.components.seconds) * 1e6 / Double(count) + Double(groupElapsed.components.attoseconds) / 1e12 / Double(count), "MessageRecorder (group commit): wall time per message with 32 writers (audit row, checks, previous run, change)"))

let sizes = bodies.map(\.count)
print("\(count) distinct signed audit notifications, \(sizes.min()!)-\(sizes.max()!) bytes, \(ProcessInfo.processInfo.activeProcessorCount) cores")
print("")
print("| stage | µs per message | what it covers |")
print("|---|---:|---|")
for (stage, cost, what) in rows {
    print("| \(stage) | \(String(format: "%.1f", cost)) | \(what) |")
}
