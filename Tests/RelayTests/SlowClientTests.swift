import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SNS
import TestSupport
import Testing

/// Slowloris against the built binary: hundreds of connections that drip a request one byte at
/// a time must neither keep SNS's messages from being answered nor hold memory, and each must
/// be closed once `server.request_timeout_seconds` has passed; connections past
/// `server.max_connections` are closed on arrival.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SlowClientTests {
    struct Report: Decodable {
        let opened: Int
        let refused: Int
        let closed_by_server: Int
        let max_seconds_to_close: Double?
        let median_seconds_to_close: Double?
    }

    func relay(in directory: URL, fake: FakeAWS, server: String) async throws -> RelayProcess {
        try await RelayProcess.serve(configurationYAML: """
            server: {port: 0, \(server)}
            sns:
              allowed_topics: ["\(RelayHarness.topic)"]
            storage: {url: "sqlite://\(directory.path)/relay.sqlite"}
            outbound:
              ca_file: \(fake.pki.caFile)
              connect_to: [\(fake.connectTo.map { "\"\($0)\"" }.joined(separator: ", "))]
            """, in: directory)
    }

    /// Starts the dripping clients and waits until all of them are connected.
    func drip(port: Int, count: Int, seconds: Double, mode: String = "drip", in directory: URL) async throws -> TestProcess {
        let ready = directory.appendingPathComponent("ready-\(UUID().uuidString.prefix(6))")
        let clients = try TestProcess(
            executable: "python3", arguments: [supportFile("slow_clients.py"), String(port), String(count), String(seconds), ready.path, mode],
            outputFile: directory.appendingPathComponent("slow-\(UUID().uuidString.prefix(6)).log")
        )
        _ = try await eventually("\(count) slow clients to connect") { () -> Bool? in
            if !clients.isRunning, !FileManager.default.fileExists(atPath: ready.path) { throw TestTimeout(what: "slow clients, which exited: \(clients.output)") }
            return FileManager.default.fileExists(atPath: ready.path) ? true : nil
        }
        return clients
    }

    func report(_ clients: TestProcess) async throws -> Report {
        _ = await clients.waitForExit(timeout: .seconds(60))
        let line = try #require(clients.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(clients.output)")
        return try JSONDecoder().decode(Report.self, from: Data(line.utf8))
    }

    /// Resident memory of a process, in KiB.
    func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Posts one genuine message and returns its status and how long the answer took.
    func post(_ envelope: TestEnvelope, port: Int) async throws -> (HTTPResponse.Status, Duration) {
        let start = ContinuousClock.now
        let status = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.execute(.init("/sns", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(bytes: envelope.body))).head.status
        }
        return (status, ContinuousClock.now - start)
    }

    @Test func fiveHundredSlowDripsNeitherBlockSNSNorHoldMemory() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("slowloris")
        let relay = try await relay(in: directory, fake: fake, server: "request_timeout_seconds: 4")
        defer { relay.process.terminate() }
        let pid = relay.process.process.processIdentifier
        // Warm up: the certificate is fetched and the store opened before measuring.
        #expect(try await post(try TestEnvelope(type: .notification, certificateURL: url).signed(), port: relay.port).0 == .ok)
        let baseline = residentKiB(pid)

        let clients = try await drip(port: relay.port, count: 500, seconds: 9, in: directory)
        var peak = residentKiB(pid)
        var answers: [Duration] = []
        for _ in 0..<5 {
            let (status, elapsed) = try await post(try TestEnvelope(type: .notification, certificateURL: url).signed(), port: relay.port)
            #expect(status == .ok)
            answers.append(elapsed)
            peak = max(peak, residentKiB(pid))
            try await Task.sleep(for: .milliseconds(300))
        }
        let slowest = answers.max() ?? .zero
        let report = try await report(clients)
        print("slowloris: \(report.opened) drips, \(report.closed_by_server) closed by the relay, max \(report.max_seconds_to_close ?? -1) s, median \(report.median_seconds_to_close ?? -1) s; genuine answered within \(slowest); RSS \(baseline) KiB before, \(peak) KiB peak")
        #expect(report.opened == 500)
        // The median says whether SNS waits behind the slow clients; the slowest one only that
        // none is stuck (the rest of the test suite loads both cores meanwhile, and the timing
        // includes the test process's own client).
        let median = answers.sorted()[answers.count / 2]
        #expect(median < .seconds(1), "genuine messages waited \(answers) behind the slow clients")
        #expect(slowest < .seconds(2), "a genuine message waited \(slowest) behind the slow clients")
        #expect(report.closed_by_server == 500, "connections outlived server.request_timeout_seconds")
        #expect((report.max_seconds_to_close ?? 99) < 4 + 2.5)
        #expect((report.median_seconds_to_close ?? 0) >= 3.5, "closed before the deadline")
        #expect(peak - baseline < 48 * 1024, "500 slow connections grew memory by \(peak - baseline) KiB")
    }

    /// An answer written before its request was read whole (here a GET that announced a body)
    /// must not leave the connection untimed: the next request, dripped, is cut off all the same.
    /// And a client that pipelines requests and never reads an answer is closed too.
    @Test(arguments: ["early-answer", "pipeline"])
    func noRequestPatternSwitchesTheDeadlineOff(_ mode: String) async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let directory = try makeTemporaryDirectory("deadline-\(mode)")
        let relay = try await relay(in: directory, fake: fake, server: "request_timeout_seconds: 2")
        defer { relay.process.terminate() }
        let clients = try await drip(port: relay.port, count: 20, seconds: 8, mode: mode, in: directory)
        let report = try await report(clients)
        #expect(report.opened == 20, "\(report)")
        #expect(report.closed_by_server == 20, "\(mode): connections outlived server.request_timeout_seconds: \(report)")
        #expect((report.max_seconds_to_close ?? 99) < 2 + 2.5, "\(report)")
    }

    @Test func connectionsPastTheCapAreClosedOnArrival() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let url = try fake.publish(.shared)
        let directory = try makeTemporaryDirectory("connection-cap")
        let relay = try await relay(in: directory, fake: fake, server: "max_connections: 20, request_timeout_seconds: 30")
        defer { relay.process.terminate() }

        let clients = try await drip(port: relay.port, count: 50, seconds: 3, in: directory)
        let report = try await report(clients)
        #expect(report.opened + report.refused == 50)
        #expect(report.refused + report.closed_by_server == 30, "\(report)")
        #expect((report.median_seconds_to_close ?? 99) < 1)
        // Once the slow clients are gone, there is room again.
        let (status, _) = try await post(try TestEnvelope(type: .notification, certificateURL: url).signed(), port: relay.port)
        #expect(status == .ok)
    }
}
