import RelayConfig
import Curl
import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import HummingbirdTesting
import Logging
import Relay
import SNS
import Storage
import TestSupport

/// The relay running for real on a loopback port, in this process, with a real SQLite file and
/// the real libcurl client pointed at a `FakeAWS`.
struct RelayHarness {
    let configuration: RelayConfiguration
    let store: SQLiteStore
    let databasePath: String
    /// The certificate cache's bounds (the attack suite names many certificate URLs at once).
    var certificateLimits = SigningCertificateCache.Limits()

    static let topic = "arn:aws:sns:us-east-1:123456789012:device-defender-audits"

    static func configuration(fakeAWS: FakeAWS, _ adjust: (inout RelayConfiguration) -> Void = { _ in }) -> RelayConfiguration {
        var configuration = RelayConfiguration()
        configuration.server.port = 0
        configuration.sns.allowedTopics = [topic]
        configuration.outbound.caFile = fakeAWS.pki.caFile
        configuration.outbound.connectTo = fakeAWS.connectTo
        configuration.outbound.timeoutSeconds = 3
        adjust(&configuration)
        return configuration
    }

    init(configuration: RelayConfiguration) throws {
        self.configuration = configuration
        let directory = try makeTemporaryDirectory("relay-store")
        databasePath = directory.appendingPathComponent("relay.sqlite").path
        store = try SQLiteStore(path: databasePath)
    }

    /// Runs the relay on a live socket for the duration of `body`.
    func run<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        var logger = Logger(label: "relay-test")
        logger.logLevel = ProcessInfo.processInfo.environment["RELAY_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        // The same two clients `serve` uses, shut down before returning (as `serve` does): a
        // transfer still running when the test process exits would run into the process's own
        // teardown (OpenSSL's atexit cleanup) and corrupt the heap.
        let clients = OutboundClients(configuration.outbound, certificateLimits: certificateLimits)
        do {
            let app = try buildApplication(configuration: configuration, dependencies: RelayDependencies(
                store: store, curl: clients.alerts, awsCurl: clients.aws, certificateLimits: certificateLimits, logger: logger
            ))
            let result = try await app.test(.live) { client in try await body(client) }
            await clients.shutdown()
            return result
        } catch {
            await clients.shutdown()
            throw error
        }
    }
}

extension TestClientProtocol {
    /// POSTs an SNS envelope the way SNS does (text/plain, with its message-type header).
    func postSNS(_ envelope: TestEnvelope, path: String = "/sns", extraHeaders: HTTPFields = [:]) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "text/plain; charset=UTF-8"]
        if let type = envelope.fields["Type"] { headers[HTTPField.Name("x-amz-sns-message-type")!] = type }
        headers[HTTPField.Name("x-amz-sns-message-id")!] = envelope.fields["MessageId"] ?? ""
        headers.append(contentsOf: extraHeaders)
        return try await executeRequest(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: envelope.body))
    }

    func get(_ path: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await executeRequest(uri: path, method: .get, headers: headers, body: nil)
    }

    func post(_ path: String, headers: HTTPFields = [:], body: [UInt8]) async throws -> TestResponse {
        try await executeRequest(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }
}

extension TestResponse {
    /// The `error` (or `status`) code of a JSON answer.
    var code: String? {
        let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        return (object?["error"] ?? object?["status"]) as? String
    }

    var detail: String? {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])?["detail"] as? String
    }
}
