import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SNS
import Storage
import TestSupport
import Testing

/// The promise "nothing answered 200 is lost, not even to a power cut" needs every 200 to
/// follow an fsync of what it acknowledges. A kill -9 test cannot see a missing fsync (the page
/// cache survives the process), so these tests look at the system calls themselves: the built
/// relay runs under `strace`, and the syncs it makes are counted against the 200s it answers.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SyncedAcknowledgementTests {
    @Test func theWriterConnectionRunsSynchronousFull() async throws {
        let directory = try makeTemporaryDirectory("synchronous")
        let store = try SQLiteStore(path: directory.appendingPathComponent("relay.sqlite").path)
        let settings = try await store.writerSettings()
        await store.close()
        #expect(settings.synchronous == 2, "PRAGMA synchronous on the writer is \(settings.synchronous), not 2 (FULL)")
        #expect(settings.journalMode == "wal")
        #expect(settings.cacheSize == -SQLiteStore.writerCacheKiB)
        #expect(settings.journalSizeLimit == SQLiteStore.journalSizeLimitBytes, "the WAL is truncated after a large prune's checkpoint")
    }

    @Test func everyAcknowledgementFollowsAnFsyncWhenMessagesArriveOneAtATime() async throws {
        let run = try await TracedRelay.start()
        defer { run.stop() }
        let before = run.syncCount()
        let envelopes = try run.envelopes(20, prefix: "serial")
        let acknowledged = try await TestClient.withClient(host: "127.0.0.1", port: run.relay.port) { client in
            var acknowledged = 0
            for envelope in envelopes {
                if try await run.post(envelope, with: client) == .ok { acknowledged += 1 }
            }
            return acknowledged
        }
        #expect(acknowledged == envelopes.count)
        // strace writes its log as it goes; give it a moment to catch up with the last sync.
        let syncs = try await eventually(timeout: .seconds(5), "a sync per acknowledgement") { () -> Int? in
            let syncs = run.syncCount() - before
            return syncs >= acknowledged ? syncs : nil
        }
        print("one at a time: \(acknowledged) answered 200, \(syncs) fsync/fdatasync calls")
        #expect(syncs >= acknowledged)
    }

    @Test func concurrentMessagesShareSyncs() async throws {
        let run = try await TracedRelay.start()
        defer { run.stop() }
        let before = run.syncCount()
        let envelopes = try run.envelopes(400, prefix: "burst")
        let progress = BurstProgress()
        let senders = 32
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    try await TestClient.withClient(host: "127.0.0.1", port: run.relay.port, configuration: .init(timeout: .seconds(20))) { client in
                        for envelope in envelopes[(sender * envelopes.count / senders)..<((sender + 1) * envelopes.count / senders)] {
                            if try await run.post(envelope, with: client) == .ok { progress.acknowledge(envelope.messageID) }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let acks = progress.acknowledged.count
        try await Task.sleep(for: .milliseconds(500))
        let syncs = run.syncCount() - before
        print("32 concurrent senders: \(acks) answered 200, \(syncs) fsync/fdatasync calls")
        #expect(acks == envelopes.count)
        #expect(syncs >= 1)
        #expect(syncs < acks, "group commit should let one sync cover several acknowledgements")
    }
}

/// The built relay on SQLite under `strace -f`, tracing only fsync and fdatasync.
private struct TracedRelay: Sendable {
    let fake: FakeAWS
    let relay: RelayProcess
    let trace: URL
    let certificateURL: String

    static func start() async throws -> TracedRelay {
        let fake = try await FakeAWS.start()
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("strace")
        let trace = directory.appendingPathComponent("syncs.trace")
        let yaml = """
            server: {port: 0}
            sns:
              allowed_topics: ["\(RelayHarness.topic)"]
            storage: {url: "sqlite://\(directory.appendingPathComponent("relay.sqlite").path)"}
            outbound:
              ca_file: \(fake.pki.caFile)
              connect_to: [\(fake.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
            """
        do {
            let relay = try await RelayProcess.serve(
                configurationYAML: yaml, in: directory,
                wrapper: ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "signal=none", "-e", "trace=fsync,fdatasync", "-o", trace.path]
            )
            return TracedRelay(fake: fake, relay: relay, trace: trace, certificateURL: url)
        } catch {
            fake.stop()
            throw error
        }
    }

    func envelopes(_ count: Int, prefix: String) throws -> [TestEnvelope] {
        try (0..<count).map { index in
            try TestEnvelope(type: .notification, message: #"{"taskId":"\#(prefix)-\#(index)"}"#, certificateURL: certificateURL).signed()
        }
    }

    func post(_ envelope: TestEnvelope, with client: TestClient) async throws -> HTTPResponse.Status {
        try await client.execute(.init(
            "/sns", method: .post,
            headers: [.contentType: "text/plain; charset=UTF-8", HTTPField.Name("x-amz-sns-message-type")!: "Notification"],
            body: ByteBuffer(bytes: envelope.body)
        )).head.status
    }

    /// fsync and fdatasync calls so far (a call another thread interrupted shows as
    /// "<unfinished ...>" then "<... resumed>": the first line is the one counted).
    func syncCount() -> Int {
        let text = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains("fsync(") || $0.contains("fdatasync(") }.count
    }

    /// Ends the relay, then strace. strace detaches from the program it traces when it is told
    /// to stop, and a signal it is holding for the tracee can be lost on the way, so the relay
    /// (strace's child) gets SIGKILL, which no tracer can hold back.
    func stop() {
        let tracer = relay.process.process.processIdentifier
        for child in Self.children(of: tracer) { kill(child, SIGKILL) }
        relay.process.terminate()
        fake.stop()
    }

    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }
}
