import RelayConfig
import Curl
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Relay
import SNS
import TestSupport
import Testing

/// What an unauthenticated caller can learn or make the relay do beyond the SNS path: the query
/// API and metrics, the text of 503 answers, the proxy outbound requests take, and the
/// configuration that would expose them.
@Suite(.timeLimit(.minutes(2)))
struct ExposureTests {
    @Test func refusesToListenBeyondLoopbackWithoutAnAPIToken() async throws {
        let directory = try makeTemporaryDirectory("exposure")
        let config = directory.appendingPathComponent("relay.yaml")
        try "server: {host: 0.0.0.0, port: 0}\nstorage: {url: \"sqlite://\(directory.path)/relay.sqlite\"}\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let result = try await RelayProcess.command(["serve", "--config", config.path])
        #expect(result.status != 0)
        #expect(result.output.contains("api.token"), "\(result.output)")
        #expect(result.output.contains("0.0.0.0"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("relay.sqlite").path), "the store was opened")
        // Loopback needs none.
        #expect(throws: Never.self) { try RelayConfiguration.parse(yaml: "server: {host: 127.0.0.1}", environment: [:]) }
        #expect(throws: Never.self) { try RelayConfiguration.parse(yaml: "server: {host: 0.0.0.0}\napi: {token: 0123456789abcdef0123}", environment: [:]) }
    }

    @Test func metricsRequireTheirTokenWhenOneIsSet() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let metricsToken = "metrics-token-0123456789"
        let apiToken = "api-token-0123456789abcd"
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) {
            $0.metrics.token = metricsToken
            $0.api.token = apiToken
        })
        try await harness.run { client in
            let anonymous = try await client.get("/metrics")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.detail?.contains("metrics.token") == true)
            #expect(try await client.get("/metrics", headers: [.authorization: "Bearer \(apiToken)"]).status == .unauthorized)
            let allowed = try await client.get("/metrics", headers: [.authorization: "Bearer \(metricsToken)"])
            #expect(allowed.status == .ok)
            #expect(String(buffer: allowed.body).contains("defender_"))
            #expect(try await client.get("/api/v1/audits", headers: [.authorization: "Bearer \(metricsToken)"]).status == .unauthorized)
            #expect(try await client.get("/healthz").status == .ok)
        }
    }

    @Test func answersGiveFixedSentencesNotInternalErrors() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let otherRegion = "arn:aws:sns:ap-south-1:123456789012:device-defender-audits"
        let harness = try RelayHarness(configuration: RelayHarness.configuration(fakeAWS: fake) { $0.sns.allowedTopics.append(otherRegion) })
        try await harness.run { client in
            // A certificate host that cannot be resolved: libcurl's text names the host and the resolver.
            let url = "https://sns.ap-south-1.amazonaws.com/\(FakeAWS.certificateName())"
            let unreachable = try await client.postSNS(try TestEnvelope(type: .notification, topicARN: otherRegion, certificateURL: url).signed())
            #expect(unreachable.status == .serviceUnavailable)
            #expect(unreachable.detail == SigningCertificateCache.unavailableSentence)

            let saboteur = try DatabaseQueue(path: harness.databasePath)
            try await saboteur.write { db in try db.execute(sql: "DROP TABLE sns_messages") }
            try saboteur.close()
            let ready = try await client.get("/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.detail == "The store cannot be reached; the reason is in the relay's log.")
            let metrics = try await client.get("/metrics")
            for response in [ready, metrics] {
                let text = String(buffer: response.body)
                // The store's own error (SQLite names the dropped table) never reaches the caller.
                #expect(!text.contains("no such table") && !text.contains("table sns_messages") && !text.lowercased().contains("sqlite"), "\(text)")
            }
        }
    }

    /// libcurl honours `https_proxy` from the environment: `outbound.proxy: none` turns that off,
    /// a URL sends every request there, and the start-up log says which proxy is in use.
    @Test func outboundRequestsUseTheConfiguredProxyOnly() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let directory = try makeTemporaryDirectory("proxy")
        let portFile = directory.appendingPathComponent("proxy.port")
        let log = directory.appendingPathComponent("proxy.log")
        let proxy = try TestProcess(executable: "python3", arguments: [supportFile("count_connections.py"), portFile.path, log.path], outputFile: directory.appendingPathComponent("proxy.out"))
        defer { proxy.terminate() }
        let proxyPort = try await eventually("the proxy to listen") { (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) } }
        let proxyURL = "http://127.0.0.1:\(proxyPort)"
        let connections = { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").count }

        let message = directory.appendingPathComponent("message.json")
        try Data(try TestEnvelope(type: .notification, certificateURL: try fake.publish(.shared)).signed().body).write(to: message)
        func verify(proxySetting: String?, environment: [String: String]) async throws -> Int32 {
            let config = directory.appendingPathComponent("config-\(UUID().uuidString.prefix(6)).yaml")
            try """
                outbound:
                  ca_file: \(fake.pki.caFile)
                  connect_to: [\(fake.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
                \(proxySetting.map { "  proxy: \($0)" } ?? "")
                """.write(to: config, atomically: true, encoding: .utf8)
            return try await RelayProcess.command(["verify", message.path, "--config", config.path], environment: environment).status
        }

        #expect(try await verify(proxySetting: "none", environment: ["https_proxy": proxyURL, "ALL_PROXY": proxyURL]) == 0)
        #expect(connections() == 0, "outbound.proxy: none still used the environment's proxy")

        #expect(try await verify(proxySetting: nil, environment: ["https_proxy": proxyURL]) != 0)
        #expect(connections() == 1, "unset outbound.proxy did not follow https_proxy")

        #expect(try await verify(proxySetting: proxyURL, environment: [:]) != 0)
        let lines = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.last?.hasPrefix("CONNECT ") == true, "\(lines)")

        let relay = try await RelayProcess.serve(
            configurationYAML: "server: {port: 0}\nstorage: {url: \"sqlite://\(directory.path)/relay.sqlite\"}\noutbound: {proxy: none}\n",
            in: directory, environment: ["https_proxy": proxyURL]
        )
        defer { relay.process.terminate() }
        #expect(relay.output.contains("outbound requests use proxy: none (outbound.proxy: none)"))
    }

    @Test func verifyRefusesTheConfirmationsServeRefuses() async throws {
        let directory = try makeTemporaryDirectory("verify-confirmation")
        var envelope = TestEnvelope(type: .subscriptionConfirmation)
        envelope.fields["SubscribeURL"] = "https://evil.example/?Action=ConfirmSubscription&TopicArn=\(RelayHarness.topic)&Token=\(envelope.fields["Token"]!)"
        try envelope.sign()
        let message = directory.appendingPathComponent("confirmation.json")
        try Data(envelope.body).write(to: message)
        let certificate = directory.appendingPathComponent("cert.pem")
        try TestSigningIdentity.shared.certificatePEM.write(to: certificate, atomically: true, encoding: .utf8)
        let result = try await RelayProcess.command(["verify", message.path, "--cert", certificate.path])
        #expect(result.status != 0)
        #expect(result.output.contains("NOT GENUINE (subscribe_url_rejected)"), "\(result.output)")
    }
}

/// The start-up log names the proxy without its credentials, however the URL is written.
struct ProxyDescriptionTests {
    @Test(arguments: ["http://user:p@ss@proxy.internal:3128", "user:p@ss@proxy.internal:3128", "socks5h://user:p@ss@proxy.internal:1080/"])
    func credentialsNeverReachTheLog(_ url: String) {
        let line = CurlProxy.fromEnvironment.describe(environment: ["https_proxy": url])
        #expect(line.contains("proxy.internal"))
        #expect(!line.contains("user") && !line.contains("p@ss") && !line.contains("ss@"), "\(line)")
        #expect(!CurlProxy.url(url).describe(environment: [:]).contains("p@ss"))
    }
}
