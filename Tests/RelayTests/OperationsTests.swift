import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Relay
import SNS
import Storage
import TestSupport
import Testing

/// What an operator does with the built binary: `--version`, `config check`, `healthcheck`,
/// SIGHUP to reload receivers and routes, SIGTERM to stop, and JSON access logs.
@Suite(.timeLimit(.minutes(2)))
struct OperationsTests {
    @Test func versionIsTheBuildsVersion() async throws {
        let result = try await RelayProcess.command(["--version"])
        #expect(result.status == 0)
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == RelayVersion.current)
    }

    @Test func configCheckExitsOneListingEveryProblemAndZeroOnAGoodFile() async throws {
        let directory = try makeTemporaryDirectory("config-check")
        let secret = directory.appendingPathComponent("hook_url")
        try "https://hooks.example.com/from-a-file\n".write(to: secret, atomically: true, encoding: .utf8)
        let good = directory.appendingPathComponent("good.yaml")
        try """
            sns: {allowed_topics: ["arn:aws:sns:eu-west-1:123456789012:audits"]}
            api: {token: "${RELAY_API_TOKEN}"}
            receivers: [{name: hook, type: webhook, url: "${file:\(secret.path)}"}]
            routes: [{match: {task_status: COMPLETED}, receivers: [hook]}]
            """.write(to: good, atomically: true, encoding: .utf8)
        let passed = try await RelayProcess.command(["config", "check", good.path], environment: ["RELAY_API_TOKEN": "0123456789abcdef0123"])
        #expect(passed.status == 0, "\(passed.output)")
        #expect(passed.output.contains("OK"))

        let missingVariable = try await RelayProcess.command(["config", "check", good.path], environment: ["RELAY_API_TOKEN": ""])
        #expect(missingVariable.status == 1)
        #expect(missingVariable.output.contains("environment variable RELAY_API_TOKEN, which is not set"))

        let bad = directory.appendingPathComponent("bad.yaml")
        try """
            server: {prot: 80}
            receivers:
              - {name: hook, type: webhook, url: "https://hooks.example.com/x", template: /nonexistent/template.mustache}
              - {name: spare, type: webhook, url: "https://hooks.example.com/y"}
            routes: [{match: {task_status: COMPLETE}, receivers: [hook, ghost]}]
            """.write(to: bad, atomically: true, encoding: .utf8)
        let failed = try await RelayProcess.command(["config", "check", bad.path])
        #expect(failed.status == 1)
        let errors = failed.output.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errors.count == 4, "\(failed.output)")
        #expect(failed.output.contains("'server.prot'"))
        #expect(failed.output.contains("'COMPLETE' can never match"))
        #expect(failed.output.contains("no receiver is named 'ghost'"))
        #expect(failed.output.contains("/nonexistent/template.mustache is not a readable file"))
        #expect(failed.output.contains("warning: 'receivers': no route and no alerts.default_receivers names 'spare'"))

        let unreadable = try await RelayProcess.command(["config", "check", directory.appendingPathComponent("absent.yaml").path])
        #expect(unreadable.status == 1)
    }

    @Test func healthcheckSaysWhetherTheRelayIsReady() async throws {
        let directory = try makeTemporaryDirectory("healthcheck")
        let nobody = try await RelayProcess.command(["healthcheck", "--url", "http://127.0.0.1:9/readyz", "--timeout", "2"])
        #expect(nobody.status == 1)
        #expect(nobody.output.hasPrefix("unhealthy"))
        let relay = try await RelayProcess.serve(configurationYAML: """
            server: {port: 0}
            storage: {url: "sqlite://\(directory.path)/relay.sqlite"}
            """, in: directory)
        defer { relay.process.terminate() }
        let ready = try await RelayProcess.command(["healthcheck", "--url", "http://127.0.0.1:\(relay.port)/readyz"])
        #expect(ready.status == 0, "\(ready.output)")
        // Without --url it reaches the configured port on loopback.
        let configured = directory.appendingPathComponent("probe.yaml")
        try "server: {port: \(relay.port)}\n".write(to: configured, atomically: true, encoding: .utf8)
        #expect(try await RelayProcess.command(["healthcheck", "--config", configured.path]).status == 0)
    }

    /// SIGHUP puts a new receiver and route in effect without a restart; a file with a problem
    /// changes nothing (alerts keep going where they went) and the log says why; SIGTERM exits
    /// 0. The JSON access log names each SNS message and never holds a body.
    @Test func sighupReloadsReceiversAndRoutesAndABadFileKeepsTheRunningOnes() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let chat = try await FakeChat.start(pki: fake.pki)
        defer { chat.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("sighup")
        let base = """
            server: {port: 0}
            log: {format: json}
            sns:
              allowed_topics: ["\(RelayHarness.topic)"]
            storage: {url: "sqlite://\(directory.path)/relay.sqlite"}
            outbound:
              ca_file: \(fake.pki.caFile)
              connect_to: [\(Set(fake.connectTo + chat.connectTo).map { "\"\($0)\"" }.joined(separator: ", "))]

            """
        let relay = try await RelayProcess.serve(configurationYAML: base, in: directory)
        defer { relay.process.terminate() }
        let configFile = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasPrefix("relay-") && $0.hasSuffix(".yaml") })
        let configPath = directory.appendingPathComponent(configFile).path

        func post(_ taskID: String) async throws -> (HTTPResponse.Status, TestEnvelope) {
            let envelope = try DeliveryTests.auditEnvelope(taskID, checks: DeliveryTests.checks, url: url)
            let status = try await TestClient.withClient(host: "127.0.0.1", port: relay.port) { client in
                try await client.execute(.init("/sns", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(bytes: envelope.body))).head.status
            }
            return (status, envelope)
        }
        func hangUp(waitingFor line: String, count: Int) async throws {
            kill(relay.process.process.processIdentifier, SIGHUP)
            _ = try await eventually("the relay to log \(line)") { relay.output.components(separatedBy: line).count - 1 >= count ? true : nil }
        }

        #expect(try await post("before-reload").0 == .ok)
        try (base + """
            receivers: [{name: hook, type: webhook, url: "https://hooks.example.com/reloaded"}]
            routes: [{receivers: [hook]}]
            """).write(toFile: configPath, atomically: true, encoding: .utf8)
        try await hangUp(waitingFor: "\"configuration reloaded\"", count: 1)
        let (status, envelope) = try await post("after-reload")
        #expect(status == .ok)
        _ = try await eventually("the alert to reach the reloaded receiver") { chat.requests(to: "/reloaded").isEmpty ? nil : true }
        #expect(chat.requests(to: "/reloaded").count == 1, "the audit stored before the reload planned no alert")

        try (base + "receivers: [{name: hook, type: pager}]\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        try await hangUp(waitingFor: "configuration not reloaded; the running configuration stays", count: 1)
        #expect(relay.output.contains("must be one of slack, teams, discord, googlechat, webhook, email"))
        #expect(try await post("after-bad-file").0 == .ok)
        _ = try await eventually("the alert to reach the receiver still in effect") { chat.requests(to: "/reloaded").count == 2 ? true : nil }

        relay.process.terminate()
        #expect(await relay.process.waitForExit(timeout: .seconds(15)) == 0, "\(relay.output.suffix(2_000))")

        // One JSON object per line; the access line of the SNS request names its message.
        let lines = relay.output.split(separator: "\n").filter { $0.hasPrefix("{") }
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count, "every JSON log line parses")
        let access = objects.filter { $0["message"] as? String == "request" && $0["path"] as? String == "/sns" }
        #expect(access.count == 3)
        #expect(access.contains { $0["message_id"] as? String == envelope.messageID && $0["status"] as? String == "200" && $0["method"] as? String == "POST" })
        #expect(access.allSatisfy { Double($0["duration_ms"] as? String ?? "") != nil })
        // Never a body or the signature.
        #expect(!relay.output.contains(envelope.fields["Signature"]!))
        #expect(!relay.output.contains("DEVICE_CERTIFICATE_SHARED_CHECK"))
    }

    /// A reload stops the old lanes as a shutdown would: a send still hanging after the grace is
    /// aborted through the shared libcurl client. The new lanes must still send.
    @Test func aReloadWhileASendHangsLeavesTheNewLanesSending() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let chat = try await FakeChat.start(pki: fake.pki)
        defer { chat.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("reload-hanging")
        let base = """
            server: {port: 0, shutdown_grace_seconds: 1}
            sns:
              allowed_topics: ["\(RelayHarness.topic)"]
            storage: {url: "sqlite://\(directory.path)/relay.sqlite"}
            outbound:
              timeout_seconds: 30
              ca_file: \(fake.pki.caFile)
              connect_to: [\(Set(fake.connectTo + chat.connectTo).map { "\"\($0)\"" }.joined(separator: ", "))]

            """
        let relay = try await RelayProcess.serve(configurationYAML: base + """
            receivers: [{name: stuck, type: webhook, url: "https://hooks.example.com/slow/hanging"}]
            routes: [{receivers: [stuck]}]
            """, in: directory)
        defer { relay.process.terminate() }
        let configFile = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasPrefix("relay-") && $0.hasSuffix(".yaml") })
        func post(_ taskID: String) async throws -> HTTPResponse.Status {
            let envelope = try DeliveryTests.auditEnvelope(taskID, checks: DeliveryTests.checks, url: url)
            return try await TestClient.withClient(host: "127.0.0.1", port: relay.port) { client in
                try await client.execute(.init("/sns", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(bytes: envelope.body))).head.status
            }
        }
        #expect(try await post("hanging-1") == .ok)
        _ = try await eventually("the send to hang") { chat.requests(to: "/slow/hanging").isEmpty ? nil : true }

        try (base + """
            receivers: [{name: fresh, type: webhook, url: "https://hooks.example.com/after-reload"}]
            routes: [{receivers: [fresh]}]
            """).write(toFile: directory.appendingPathComponent(configFile).path, atomically: true, encoding: .utf8)
        kill(relay.process.process.processIdentifier, SIGHUP)
        _ = try await eventually("the reload") { relay.output.contains("configuration reloaded") ? true : nil }
        #expect(try await post("after-reload") == .ok)
        _ = try await eventually(timeout: .seconds(15), "the new receiver to get its alert") { chat.requests(to: "/after-reload").isEmpty ? nil : true }
        #expect(relay.output.contains("aborted"), "the hanging send was aborted after the 1 s grace")
    }
}

