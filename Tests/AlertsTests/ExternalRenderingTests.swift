import Alerts
import DeviceDefender
import Foundation
import Testing

/// The rendered messages as programs outside the package judge them: every Teams message against
/// the official Adaptive Card schema (scripts/validate-adaptive-card.py), and the email's HTML
/// part as headless Chromium loads and draws it (scripts/render-html.sh). Both need the test
/// dependencies (scripts/install-dependencies.sh --test); a missing program fails the test and
/// names what to install, it never skips. Serialized because each Chromium run takes a whole
/// core of a small machine.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ExternalRenderingTests {
    /// The repository root: this file is Tests/AlertsTests/ExternalRenderingTests.swift.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let validator = repository.appendingPathComponent("scripts/validate-adaptive-card.py").path
    static let renderHTML = repository.appendingPathComponent("scripts/render-html.sh").path
    static let installHint = "install the test dependencies: scripts/install-dependencies.sh --test"

    @Test func teamsMessagesMatchTheAdaptiveCardSchema() async throws {
        try #require(findProgram(["python3"]) != nil, "python3 is not on PATH; \(Self.installHint)")
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }

        // Three things in alarm for one profile and behavior: one grouped message.
        let violations = ["gateway-eu-17", "gateway-eu-18", "sensor-hall-3"].enumerated().map { index, thing in
            DetectViolation(
                violationID: "group-violation-\(index)", thingName: thing, securityProfileName: "NormalHTTPTraffic", eventType: .inAlarm,
                eventTime: 1_795_000_100_000 + Int64(index) * 60_000, behaviorName: "PacketsOut", metric: "aws:all-packets-out",
                criteria: "greater-than 100 for 300 s", metricValue: "\(2914 + index)"
            )
        }
        let grouped = try #require(AlertBuilder().detect(violations, topicARN: AlertFixtures.topic))
        let messages: [(String, [UInt8])] = [
            ("reviewed-audit.json", TeamsMessage.render(AlertFixtures.reviewedAudit)),
            ("reviewed-audit-mention.json", TeamsMessage.render(AlertFixtures.reviewedAudit, mentions: ["Ops On Call <ops@example.com>"])),
            ("detect.json", TeamsMessage.render(AlertFixtures.detect)),
            ("many-findings-60.json", TeamsMessage.render(AlertFixtures.manyFindings(60))),
            ("detect-grouped.json", TeamsMessage.render(grouped)),
        ]
        var files: [String] = []
        for (name, bytes) in messages {
            let file = directory.appendingPathComponent(name)
            try Data(bytes).write(to: file)
            files.append(file.path)
        }
        let mentioned = String(decoding: messages[1].1, as: UTF8.self)
        #expect(mentioned.contains("<at>Ops On Call</at>"), "the mention fixture must carry a mention for the schema check to cover it")

        let valid = try await runProgram("python3", [Self.validator] + files)
        #expect(valid.status == 0, "validate-adaptive-card.py exited \(valid.status):\n\(valid.output)")
        for file in files {
            #expect(valid.output.contains("OK \(file) "), "no OK line for \(file):\n\(valid.output)")
        }

        // The negative control: the same card with a weight the schema does not allow must fail,
        // which shows that the check above can fail at all.
        let reviewed = try JSONSerialization.jsonObject(with: Data(messages[0].1))
        let broken = directory.appendingPathComponent("reviewed-audit-boldest.json")
        try JSONSerialization.data(withJSONObject: settingTextBlockWeight(reviewed, to: "Boldest")).write(to: broken)
        let invalid = try await runProgram("python3", [Self.validator, broken.path])
        #expect(invalid.status == 1, "validate-adaptive-card.py accepted \"weight\": \"Boldest\" (exit \(invalid.status)):\n\(invalid.output)")
        #expect(invalid.output.contains(".weight: 'Boldest'"), "the validator did not name the bad weight:\n\(invalid.output)")
    }

    @Test func emailHTMLLoadsAndRendersInChromium() async throws {
        try requireChromium()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let alert = AlertFixtures.reviewedAudit
        let page = directory.appendingPathComponent("email-audit.html")
        try EmailMessage.render(alert).html.write(to: page, atomically: true, encoding: .utf8)

        let dom = try await runProgram("bash", [Self.renderHTML, "--dump-dom", page.path])
        try #require(dom.status == 0, "render-html.sh --dump-dom exited \(dom.status):\n\(dom.output)")
        // The readable titles of the reviewed audit's five findings (Snapshots/email-audit.txt).
        let titles = ["Device certificate shared", "AWS IoT policies overly permissive", "Device certificate expiring", "CA certificate expiring", "Logging disabled"]
        for title in titles {
            #expect(dom.output.contains("<strong>\(title)</strong>"), "the rendered email lacks the finding \(title):\n\(dom.output)")
        }
        let link = try #require(alert.link)
        #expect(dom.output.contains("href=\"\(link)\""), "the rendered email lacks a link to \(link):\n\(dom.output)")
        #expect(dom.output.contains(">Open in AWS IoT console</a>"), "the rendered email lacks the console link's label:\n\(dom.output)")
        #expect(!dom.output.lowercased().contains("<script"), "the rendered email holds a script element:\n\(dom.output)")

        let picture = directory.appendingPathComponent("email-audit.png")
        let shot = try await runProgram("bash", [Self.renderHTML, page.path, picture.path])
        try #require(shot.status == 0, "render-html.sh exited \(shot.status):\n\(shot.output)")
        let png = try Data(contentsOf: picture)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(picture.path) is not a PNG")
        // A blank or nearly blank page compresses to far less than 5 KB.
        #expect(png.count > 5 * 1024, "the screenshot is only \(png.count) bytes: the page looks blank")
    }

    @Test func hostileAccountAliasStaysTextInTheEmail() async throws {
        try requireChromium()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let hostile = "<script>alert(1)</script>"
        let audit = AlertFixtures.audit("hostile-alias", [("DEVICE_CERTIFICATE_SHARED_CHECK", .nonCompliant, 3, 1200)])
        let alert: Alert = AlertBuilder(accountAliases: ["123456789012": hostile])
            .audit(audit, change: AuditChange.between(previous: nil, current: audit), topicARN: AlertFixtures.topic)
        let html = EmailMessage.render(alert).html
        #expect(html.contains(hostile) == false, "the alias reached the HTML unescaped")
        let page = directory.appendingPathComponent("email-hostile.html")
        try html.write(to: page, atomically: true, encoding: .utf8)

        let dom = try await runProgram("bash", [Self.renderHTML, "--dump-dom", page.path])
        try #require(dom.status == 0, "render-html.sh --dump-dom exited \(dom.status):\n\(dom.output)")
        #expect(!dom.output.lowercased().contains("<script"), "the account alias became a script element:\n\(dom.output)")
        // Chromium serialises text with < and > escaped: the alias is there, as text.
        #expect(dom.output.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the account alias is missing from the rendered email:\n\(dom.output)")
    }

    private func requireChromium() throws {
        try #require(findProgram(["python3"]) != nil, "python3 is not on PATH (render-html.sh needs it); \(Self.installHint)")
        let configured = ProcessInfo.processInfo.environment["CHROMIUM"].map { [$0] } ?? []
        try #require(findProgram(configured + ["chromium", "chromium-browser"]) != nil, "chromium is not on PATH and CHROMIUM names none; \(Self.installHint)")
    }
}

/// What a program printed (standard output and standard error, interleaved) and its exit status.
private struct ProgramResult: Sendable {
    var status: Int32
    var output: String
}

/// Runs `program` (looked up on PATH) and waits for it without holding a thread of the Swift
/// concurrency pool: the process's termination handler resumes the caller. The output goes to a
/// temporary file rather than a pipe, so a program that prints more than a pipe buffer holds
/// cannot block on a reader that only reads after the exit. Each program bounds its own run
/// (render-html.sh stops Chromium after RENDER_TIMEOUT seconds).
private func runProgram(_ program: String, _ arguments: [String]) async throws -> ProgramResult {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("external-rendering-\(UUID().uuidString).log")
    guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
    defer { try? FileManager.default.removeItem(at: log) }
    let output = try FileHandle(forWritingTo: log)
    defer { try? output.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    process.currentDirectoryURL = ExternalRenderingTests.repository
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = output
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
        do {
            try process.run()
        } catch {
            // A process that never started has no termination to report.
            continuation.resume(throwing: error)
        }
    }
    let printed = try Data(contentsOf: log)
    return ProgramResult(status: status, output: String(decoding: printed, as: UTF8.self))
}

/// The first of `names` that is an executable file on PATH (or, given as a path, is one itself).
private func findProgram(_ names: [String]) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for name in names where !name.isEmpty {
        if name.contains("/") {
            if FileManager.default.isExecutableFile(atPath: name) { return name }
            continue
        }
        for folder in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
            return "\(folder)/\(name)"
        }
    }
    return nil
}

/// A fresh temporary folder for one test's files.
private func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("external-rendering-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A copy of a decoded JSON value in which every TextBlock has the given "weight".
private func settingTextBlockWeight(_ value: Any, to weight: String) -> Any {
    if var object = value as? [String: Any] {
        for (key, item) in object { object[key] = settingTextBlockWeight(item, to: weight) }
        if object["type"] as? String == "TextBlock" { object["weight"] = weight }
        return object
    }
    if let array = value as? [Any] { return array.map { settingTextBlockWeight($0, to: weight) } }
    return value
}
