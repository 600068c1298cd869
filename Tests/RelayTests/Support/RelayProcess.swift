import Foundation

/// The built `defender-relay` binary run as a separate process, as an operator runs it.
final class RelayProcess: Sendable {
    let process: TestProcess
    let port: Int

    /// The executable built next to the test bundle (or `DEFENDER_RELAY_BIN`).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["DEFENDER_RELAY_BIN"] { return path }
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("defender-relay")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests.path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../.build/debug/defender-relay").standardized.path
    }

    /// Runs a one-shot command (`verify`, `subscriptions ...`) and returns its exit status and output.
    static func command(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        try await run(binary, arguments, in: try makeTemporaryDirectory("relay-cli"), environment: environment)
    }

    /// Runs any program to completion.
    static func run(_ executable: String, _ arguments: [String], in directory: URL, environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        let process = try TestProcess(executable: executable, arguments: arguments, environment: environment, outputFile: directory.appendingPathComponent("run-\(UUID().uuidString.prefix(6)).log"))
        guard let status = await process.waitForExit(timeout: .seconds(60)) else {
            throw TestTimeout(what: "\(executable) \(arguments.joined(separator: " "))")
        }
        return (status, process.output)
    }

    /// Starts `defender-relay serve` with `configurationYAML` and waits until it listens.
    /// `wrapper` runs the relay under another program (`strace -f -o FILE`).
    static func serve(configurationYAML: String, in directory: URL, environment: [String: String] = [:], wrapper: [String] = []) async throws -> RelayProcess {
        let configFile = directory.appendingPathComponent("relay-\(UUID().uuidString.prefix(6)).yaml")
        try configurationYAML.write(to: configFile, atomically: true, encoding: .utf8)
        let command = wrapper + [binary, "serve", "--config", configFile.path]
        let process = try TestProcess(
            executable: command[0], arguments: Array(command.dropFirst()), environment: environment,
            outputFile: directory.appendingPathComponent("serve-\(UUID().uuidString.prefix(6)).log")
        )
        let port = try await eventually("the relay to listen") { () -> Int? in
            if !process.isRunning { throw TestTimeout(what: "the relay, which exited: \(process.output)") }
            // Text logs say address=127.0.0.1:PORT, JSON logs "address":"127.0.0.1:PORT".
            guard let range = process.output.range(of: #"address(=|":")127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return nil }
            return Int(process.output[range].split(separator: ":").last!)
        }
        return RelayProcess(process: process, port: port)
    }

    private init(process: TestProcess, port: Int) {
        self.process = process
        self.port = port
    }

    var output: String { process.output }
}
