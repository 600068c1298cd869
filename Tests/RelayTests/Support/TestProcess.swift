import Foundation

/// A child process for tests (python servers, the relay binary), with its output in files and
/// a guaranteed kill when the test ends.
final class TestProcess: @unchecked Sendable {
    let process = Process()
    let outputFile: URL

    init(executable: String, arguments: [String], environment: [String: String] = [:], outputFile: URL) throws {
        self.outputFile = outputFile
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    func terminate() {
        if process.isRunning { process.terminate() }
    }

    /// SIGKILL: no chance to flush or clean up, like a crash or an OOM kill.
    func killHard() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func waitForExit(timeout: Duration = .seconds(10)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    deinit {
        killHard()
    }
}

/// Polls until `condition` returns a value, or fails the test after `timeout`.
func eventually<T>(timeout: Duration = .seconds(20), _ what: String, _ condition: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await condition() { return value }
        if ContinuousClock.now > deadline { throw TestTimeout(what: what) }
        try await Task.sleep(for: .milliseconds(25))
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// A fresh temporary folder per test.
func makeTemporaryDirectory(_ name: String = "relay-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Files beside this one (python helpers).
func supportFile(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(name).path
}
