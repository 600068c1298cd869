import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Relay
import SNS
import Storage
import Synchronization
import TestSupport
import Testing

/// The promise: nothing genuine that got a 200 is ever lost. The relay is killed with SIGKILL
/// in the middle of a burst, restarted on the same SQLite file, and every MessageId that was
/// answered 200 must be there.
@Suite(.timeLimit(.minutes(3)))
struct CrashDurabilityTests {
    @Test func everyMessageAnswered200SurvivesKillNine() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("crash")
        let database = directory.appendingPathComponent("relay.sqlite").path
        let yaml = """
            server: {port: 0}
            sns:
              allowed_topics: ["\(RelayHarness.topic)"]
            storage: {url: "sqlite://\(database)"}
            outbound:
              ca_file: \(fake.pki.caFile)
              connect_to: [\(fake.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
            """
        let relay = try await RelayProcess.serve(configurationYAML: yaml, in: directory)

        let envelopes = try (0..<2000).map { index in
            try TestEnvelope(type: .notification, message: #"{"taskId":"burst-\#(index)"}"#, certificateURL: url).signed()
        }
        let progress = BurstProgress()
        let senders = 8
        await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    try await TestClient.withClient(host: "127.0.0.1", port: relay.port, configuration: .init(timeout: .seconds(5))) { client in
                        for envelope in envelopes[(sender * envelopes.count / senders)..<((sender + 1) * envelopes.count / senders)] {
                            guard let response = try? await client.execute(.init(
                                "/sns", method: .post,
                                headers: [.contentType: "text/plain; charset=UTF-8", HTTPField.Name("x-amz-sns-message-type")!: "Notification"],
                                body: ByteBuffer(bytes: envelope.body)
                            )) else { return }
                            if response.head.status == .ok {
                                progress.acknowledge(envelope.messageID)
                            }
                        }
                    }
                }
            }
            group.addTask {
                // Kill once the burst is well under way, while requests are in flight.
                _ = try await eventually(timeout: .seconds(60), "200 acknowledgements") { progress.acknowledged.count >= 300 ? true : nil }
                relay.process.killHard()
                progress.markKilled()
            }
            while let _ = try? await group.next() {}
        }
        let wasKilled = progress.killed
        #expect(wasKilled)
        let acked = Set(progress.acknowledged)
        #expect(acked.count >= 300)
        #expect(acked.count < envelopes.count, "the kill came too late to interrupt the burst")

        let restarted = try await RelayProcess.serve(configurationYAML: yaml, in: directory)
        defer { restarted.process.terminate() }
        let ready = try await TestClient.withClient(host: "127.0.0.1", port: restarted.port) { client in
            try await client.get("/readyz").head.status
        }
        #expect(ready == .ok)

        let store = try SQLiteStore(path: database)
        let stored = try await store.storedMessageIDs()
        await store.close()
        let lost = acked.subtracting(stored)
        print("kill -9 burst: \(acked.count) answered 200, \(stored.count) stored, \(lost.count) lost")
        #expect(lost.isEmpty, "\(lost.count) messages answered 200 were lost")
    }
}

/// What the burst saw, shared by its sender tasks.
final class BurstProgress: Sendable {
    private let state = Mutex<(acknowledged: [String], killed: Bool)>(([], false))

    func acknowledge(_ messageID: String) { state.withLock { $0.acknowledged.append(messageID) } }
    func markKilled() { state.withLock { $0.killed = true } }
    var acknowledged: [String] { state.withLock { $0.acknowledged } }
    var killed: Bool { state.withLock { $0.killed } }
}
