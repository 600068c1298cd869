import Foundation
import TestSupport

/// A real HTTPS server (fake_chat.py) playing Slack, Teams, Discord, Google Chat and webhooks.
final class FakeChat: Sendable {
    struct Request: Decodable {
        let time: Double
        let host: String
        let path: String
        /// The client's source port: equal ports mean one kept-alive connection.
        let client_port: Int
        let headers: [String: String]
        let body: String

        var bytes: [UInt8] { Array(Data(base64Encoded: body) ?? Data()) }
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] }
    }

    static let hostnames = ["hooks.slack.com", "prod-00.westus.logic.azure.com", "discord.com", "chat.googleapis.com", "hooks.example.com", "events.pagerduty.com"]

    let directory: URL
    let port: Int
    private let process: TestProcess

    static func start(pki: TestPKI) async throws -> FakeChat {
        let directory = try makeTemporaryDirectory("fake-chat")
        let portFile = directory.appendingPathComponent("port")
        let process = try TestProcess(executable: "python3", arguments: [
            supportFile("fake_chat.py"), "--cert", pki.serverCertificateFile, "--key", pki.serverKeyFile,
            "--log", directory.appendingPathComponent("requests.log").path, "--port-file", portFile.path,
            "--down-file", directory.appendingPathComponent("down").path,
        ], outputFile: directory.appendingPathComponent("output.log"))
        let port = try await eventually("the fake chat server to listen") { () -> Int? in
            if !process.isRunning { throw TestSetupError("fake_chat.py exited: \(process.output)") }
            return (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
        }
        return FakeChat(directory: directory, port: port, process: process)
    }

    private init(directory: URL, port: Int, process: TestProcess) {
        self.directory = directory
        self.port = port
        self.process = process
    }

    var connectTo: [String] { Self.hostnames.map { "\($0):443:127.0.0.1:\(port)" } }

    func requests() -> [Request] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("requests.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    func requests(to path: String) -> [Request] { requests().filter { $0.path.hasPrefix(path) } }

    /// While down, every request gets 503.
    func setDown(_ down: Bool) throws {
        let file = directory.appendingPathComponent("down")
        if down { try Data().write(to: file) } else { try? FileManager.default.removeItem(at: file) }
    }

    func stop() { process.terminate() }
}

/// A real SMTP server (fake_smtp.py on aiosmtpd), optionally with required STARTTLS and AUTH.
final class FakeSMTP: Sendable {
    struct Mail: Decodable {
        let mail_from: String
        let rcpt_tos: [String]
        let content: String
        let tls: Bool
    }

    let directory: URL
    let port: Int
    private let process: TestProcess

    /// `implicitTLS`: TLS from the first byte (`smtps://`) instead of STARTTLS.
    static func start(tls pki: TestPKI?, implicitTLS: Bool = false) async throws -> FakeSMTP {
        let directory = try makeTemporaryDirectory("fake-smtp")
        let portFile = directory.appendingPathComponent("port")
        var arguments = [supportFile("fake_smtp.py"), "--log", directory.appendingPathComponent("mail.log").path, "--port-file", portFile.path]
        if let pki { arguments += ["--cert", pki.serverCertificateFile, "--key", pki.serverKeyFile] }
        if implicitTLS { arguments.append("--implicit-tls") }
        let process = try TestProcess(executable: "python3", arguments: arguments, outputFile: directory.appendingPathComponent("output.log"))
        let port = try await eventually("the SMTP server to listen") { () -> Int? in
            if !process.isRunning { throw TestSetupError("fake_smtp.py exited: \(process.output)") }
            return (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
        }
        return FakeSMTP(directory: directory, port: port, process: process)
    }

    private init(directory: URL, port: Int, process: TestProcess) {
        self.directory = directory
        self.port = port
        self.process = process
    }

    func mails() -> [Mail] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("mail.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Mail.self, from: Data($0.utf8)) }
    }

    func stop() { process.terminate() }
}
