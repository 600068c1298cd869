import Foundation
import HummingbirdTesting
import Relay
import Storage
import TestSupport
import Testing

/// Interop with an SNS implementation nobody here wrote: moto creates the topic, subscribes the
/// relay and publishes audit notifications, signed with its own RSA key (SignatureVersion 2).
/// Its certificate URL names sns.us-east-1.amazonaws.com; a TLS front forwards that to moto.
@Suite(.timeLimit(.minutes(2)))
struct MotoInteropTests {
    @Test func theRelayVerifiesAndStoresWhatMotoPublishes() async throws {
        let directory = try makeTemporaryDirectory("moto")
        let portFile = directory.appendingPathComponent("moto.port")
        let moto = try TestProcess(executable: "python3", arguments: [supportFile("moto_sns.py"), "serve", portFile.path], outputFile: directory.appendingPathComponent("moto.log"))
        defer { moto.terminate() }
        let motoPort = try await eventually("moto_server to start") { () -> Int? in
            if !moto.isRunning { throw TestTimeout(what: "moto_server, which exited: \(moto.output)") }
            guard let port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap({ Int($0) }) else { return nil }
            return moto.output.contains("Running on") ? port : nil
        }
        let motoURL = "http://127.0.0.1:\(motoPort)"
        let fake = try await FakeAWS.start(moto: motoURL)
        defer { fake.stop() }
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake))

        try await harness.run { client in
            let endpoint = "http://127.0.0.1:\(client.port!)/sns"
            let publisher = try await RelayProcess.run(
                "python3", [supportFile("moto_sns.py"), "publish", motoURL, endpoint, "4"], in: directory
            )
            #expect(publisher.status == 0, "\(publisher.output)")
            let published = try JSONSerialization.jsonObject(with: Data(publisher.output.split(separator: "\n").last.map(String.init)!.utf8)) as! [String: Any]
            let ids = published["messageIds"] as! [String]
            #expect(ids.count == 4)
            #expect(published["topicArn"] as? String == RelayHarness.topic)

            for id in ids {
                let stored = try #require(try await harness.store.storedMessage(id: id), "moto's message \(id) was not stored")
                #expect(stored.signatureVersion == "2")
                #expect(stored.message.contains("DEVICE_CERTIFICATE_SHARED_CHECK"))
                #expect(stored.signingCertURL.hasPrefix("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-"))
            }
            // Each moto message names a fresh certificate, all fetched through the TLS front.
            #expect(fake.requests().filter { $0.path.hasSuffix(".pem") }.count == 4)
            #expect(try await harness.store.messageCount() == 4)
        }
    }
}
