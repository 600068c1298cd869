import Foundation
import TestSupport

/// A real HTTPS server (fake_aws.py) that plays SNS's certificate and subscription hosts, with
/// a certificate from a test CA. The relay reaches it through `outbound.ca_file` and
/// `outbound.connect_to`, so its host policy and TLS checks run unchanged.
final class FakeAWS: Sendable {
    struct Request: Decodable, Equatable {
        let method: String
        let path: String
        let host: String
    }

    let directory: URL
    let pki: TestPKI
    let port: Int
    private let process: TestProcess

    static func start(moto: String? = nil) async throws -> FakeAWS {
        let directory = try makeTemporaryDirectory("fake-aws")
        let pki = try TestPKI(directory: directory.appendingPathComponent("pki"))
        let files = directory.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port")
        var arguments = [
            supportFile("fake_aws.py"), "--cert", pki.serverCertificateFile, "--key", pki.serverKeyFile,
            "--files", files.path, "--log", directory.appendingPathComponent("requests.log").path, "--port-file", portFile.path,
            "--connections", directory.appendingPathComponent("connections.log").path,
        ]
        if let moto { arguments += ["--moto", moto] }
        let process = try TestProcess(executable: "python3", arguments: arguments, outputFile: directory.appendingPathComponent("output.log"))
        let port = try await eventually("fake AWS to listen") { () -> Int? in
            if !process.isRunning { throw TestTimeout(what: "fake AWS, which exited: \(process.output)") }
            return (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
        }
        return FakeAWS(directory: directory, pki: pki, port: port, process: process)
    }

    private init(directory: URL, pki: TestPKI, port: Int, process: TestProcess) {
        self.directory = directory
        self.pki = pki
        self.port = port
        self.process = process
    }

    /// `connect_to` entries pointing every test AWS hostname at this server.
    var connectTo: [String] {
        TestPKI.awsHostnames.filter { $0.hasPrefix("sns.") || $0.contains("evil") }.map { "\($0):443:127.0.0.1:\(port)" }
            + ["sns.us-east-1.amazonaws.com:8443:127.0.0.1:\(port)"]
    }

    /// One `connect_to` entry that sends every outbound connection, whatever its host and port,
    /// to this server: a hole in the relay's URL policy then shows up as a logged connection
    /// rather than as a DNS failure.
    var connectEverythingHere: [String] { ["::127.0.0.1:\(port)"] }

    /// Makes `identity`'s certificate downloadable and returns the SigningCertURL that names it.
    func publish(_ identity: TestSigningIdentity, name: String = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", host: String = "sns.us-east-1.amazonaws.com") throws -> String {
        try publish(document: identity.certificatePEM, name: name, host: host)
    }

    /// Serves `document` as certificate file `name`; `status` answers that status instead (with
    /// `location`), after `delaySeconds`.
    func publish(document: String, name: String, host: String = "sns.us-east-1.amazonaws.com", status: Int? = nil, location: String? = nil, delaySeconds: Double? = nil) throws -> String {
        let file = directory.appendingPathComponent("files").appendingPathComponent(name)
        try document.write(to: file, atomically: true, encoding: .utf8)
        if let status {
            try ([String(status)] + (location.map { [$0] } ?? [])).joined(separator: "\n").write(toFile: file.path + ".status", atomically: true, encoding: .utf8)
        }
        if let delaySeconds {
            try String(delaySeconds).write(toFile: file.path + ".delay", atomically: true, encoding: .utf8)
        }
        return "https://\(host)/\(name)"
    }

    /// A certificate file name of the shape SNS uses, unique to this call.
    static func certificateName() -> String {
        "SimpleNotificationService-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() + ".pem"
    }

    /// Connections accepted so far, and those whose TLS server name was `expectedHost`.
    func connections(expectedHost: String) -> (all: Int, expected: Int) {
        let text = (try? String(contentsOf: directory.appendingPathComponent("connections.log"), encoding: .utf8)) ?? ""
        var all = 0
        var expected = 0
        for line in text.split(separator: "\n") {
            if line.contains(#""event": "accept""#) { all += 1 }
            if line.contains(#""name": "\#(expectedHost)""#) { expected += 1 }
        }
        return (all, expected)
    }

    /// Every request the server received so far.
    func requests() -> [Request] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("requests.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    func stop() {
        process.terminate()
    }
}
