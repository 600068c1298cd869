import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Relay
import RelayConfig
import SNS
import Storage
import Synchronization
import TestSupport
import Testing

/// The attack table of docs/SECURITY.md, run against the relay on a live loopback socket.
///
/// Every outbound connection the relay makes, whatever its host or port, is routed to one fake
/// AWS server (`connect_to ::127.0.0.1:PORT`) that logs each TCP connection and the TLS server
/// name it asked for: a hole in the URL policy shows up as a counted connection, not as a DNS
/// failure that would hide it. For each attack the suite records the answer, whether anything
/// was stored, and the connections to any host but the expected certificate host; the table in
/// docs/SECURITY.md must equal what was measured.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct AttackSuiteTests {
    static let topic = "arn:aws:sns:us-east-1:123456789012:device-defender-audits"
    static let expectedHost = "sns.us-east-1.amazonaws.com"

    @Test func everyAttackIsAnsweredAsTheTableSays() async throws {
        let fake = try await FakeAWS.start()
        defer { fake.stop() }
        let kit = try AttackKit(fake: fake)
        var configuration = RelayHarness.configuration(fakeAWS: fake) {
            $0.sns.allowedTopics = ["arn:aws:sns:us-east-1:123456789012:*"]
            $0.outbound.connectTo = fake.connectEverythingHere
            $0.outbound.timeoutSeconds = 2
        }
        configuration.server.maxBodyBytes = 65_536
        var setup = try RelayHarness(configuration: configuration)
        // Each row names a certificate URL of its own; the per-host budget for new URLs is
        // tested by itself (CertificateCacheBoundsTests).
        setup.certificateLimits.newURLsPerMinute = 10_000
        setup.certificateLimits.newURLsPerMinuteTotal = 10_000
        let harness = setup
        let cases = AttackCase.all
        let rows = try await harness.run { client in
            var rows: [String] = []
            for (index, attack) in cases.enumerated() {
                let request = try attack.make(kit)
                let storedBefore = try await harness.store.messageCount()
                let before = fake.connections(expectedHost: Self.expectedHost)
                let requestsBefore = fake.requests().count { $0.host != Self.expectedHost }
                let response = try await client.executeRequest(uri: "/sns", method: .post, headers: request.headers, body: ByteBuffer(bytes: request.body))
                let after = fake.connections(expectedHost: Self.expectedHost)
                let stored = try await harness.store.messageCount() - storedBefore
                // New connections that asked for another host, or requests for another host on
                // a connection already open: either is a fetch the policy should have stopped.
                let unexpected = max(
                    (after.all - before.all) - (after.expected - before.expected),
                    fake.requests().count { $0.host != Self.expectedHost } - requestsBefore
                )
                let answer = "\(response.status.code) \(response.code ?? "-")"
                #expect(answer == attack.expected, "\(attack.name): \(response.detail ?? "")")
                #expect(stored == (attack.stores ? 1 : 0), "\(attack.name) stored \(stored)")
                #expect(unexpected == 0, "\(attack.name) made \(unexpected) connections to unexpected hosts")
                rows.append("| \(index + 1) | \(attack.name) | \(answer) | \(stored > 0 ? "yes" : "no") | \(unexpected) |")
            }
            return rows
        }
        #expect(rows.count >= 60)
        let table = rows.joined(separator: "\n")
        try table.write(toFile: FileManager.default.temporaryDirectory.appendingPathComponent("attack-table.md").path, atomically: true, encoding: .utf8)
        let document = try String(contentsOfFile: repositoryFile("docs/SECURITY.md"), encoding: .utf8)
        let documented = document.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.dropFirst(2).first?.isNumber == true }.joined(separator: "\n")
        #expect(documented == table, "docs/SECURITY.md's attack table differs from what was measured (written to \(FileManager.default.temporaryDirectory.path)/attack-table.md)")
    }
}

/// One request an attacker sends.
struct AttackRequest: Sendable {
    var body: [UInt8]
    var headers: HTTPFields
}

/// What the attacks are made of: the genuine certificate, a few bad ones, and envelopes signed
/// as SNS signs them.
final class AttackKit: Sendable {
    let fake: FakeAWS
    /// The genuine signing certificate's URL.
    let certificateURL: String
    /// The control notification, to deliver it again.
    let delivered = Mutex<AttackRequest?>(nil)

    init(fake: FakeAWS) throws {
        self.fake = fake
        certificateURL = try fake.publish(.shared, name: FakeAWS.certificateName())
    }

    /// A notification for the allowed topic, `prepare`d then signed, then `tamper`ed.
    func notification(prepare: (inout TestEnvelope) -> Void = { _ in }, tamper: (inout TestEnvelope) -> Void = { _ in }) throws -> AttackRequest {
        try signed(TestEnvelope(type: .notification, topicARN: AttackSuiteTests.topic, certificateURL: certificateURL), prepare: prepare, tamper: tamper)
    }

    func confirmation(prepare: (inout TestEnvelope) -> Void = { _ in }, tamper: (inout TestEnvelope) -> Void = { _ in }) throws -> AttackRequest {
        try signed(TestEnvelope(type: .subscriptionConfirmation, topicARN: AttackSuiteTests.topic, certificateURL: certificateURL), prepare: prepare, tamper: tamper)
    }

    /// A notification whose certificate is `document`, served under a fresh name (with `status`
    /// and `delay`), signed by `identity`.
    func withCertificate(_ document: String, status: Int? = nil, location: String? = nil, delaySeconds: Double? = nil, identity: TestSigningIdentity = .shared) throws -> AttackRequest {
        let url = try fake.publish(document: document, name: FakeAWS.certificateName(), status: status, location: location, delaySeconds: delaySeconds)
        return try signed(
            TestEnvelope(type: .notification, topicARN: AttackSuiteTests.topic, certificateURL: url), identity: identity, prepare: { _ in }, tamper: { _ in }
        )
    }

    /// A notification that names `url` as its certificate.
    func certificateURL(_ url: String) throws -> AttackRequest {
        try notification(prepare: { $0.fields["SigningCertURL"] = url })
    }

    func signed(
        _ envelope: TestEnvelope, identity: TestSigningIdentity = .shared, prepare: (inout TestEnvelope) -> Void, tamper: (inout TestEnvelope) -> Void
    ) throws -> AttackRequest {
        var envelope = envelope
        prepare(&envelope)
        envelope.fields["Signature"] = "placeholder"
        if let message = try? SNSMessage.parse(body: envelope.body) {
            envelope.fields["Signature"] = try identity.sign(message.stringToSign, signatureVersion: envelope.fields["SignatureVersion"] ?? "2")
        } else {
            // A field the parser refuses: sign the lines as SNS would have, had it sent them.
            envelope.fields["Signature"] = try identity.sign(Self.linesToSign(envelope.fields), signatureVersion: "2")
        }
        tamper(&envelope)
        return AttackRequest(body: envelope.body, headers: Self.headers(envelope.fields))
    }

    /// What SNS sends with a body: its content type and the `x-amz-sns-*` headers.
    static func headers(_ fields: [String: String]) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "text/plain; charset=UTF-8"]
        if let type = fields["Type"] { headers[HTTPField.Name("x-amz-sns-message-type")!] = type }
        if let topic = fields["TopicArn"], !topic.contains("\n") { headers[HTTPField.Name("x-amz-sns-topic-arn")!] = topic }
        if let id = fields["MessageId"], !id.contains("\n") { headers[HTTPField.Name("x-amz-sns-message-id")!] = id }
        return headers
    }

    static func linesToSign(_ fields: [String: String]) -> String {
        let names = fields["Type"] == "Notification"
            ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
            : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        return names.compactMap { name in fields[name].map { "\(name)\n\($0)\n" } }.joined()
    }

    /// A body given as text, with SNS's headers.
    static func raw(_ text: String, headers: HTTPFields = [.contentType: "text/plain; charset=UTF-8"]) -> AttackRequest {
        AttackRequest(body: Array(text.utf8), headers: headers)
    }

    /// A genuine notification's JSON with `replace` applied to its text.
    func editedText(_ replace: (String) -> String) throws -> AttackRequest {
        let request = try notification()
        return AttackRequest(body: Array(replace(String(decoding: request.body, as: UTF8.self)).utf8), headers: request.headers)
    }

    // MARK: Certificates that must not be accepted

    static let expired = try! TestSigningIdentity(commonName: "sns.amazonaws.com", notValidBefore: Date().addingTimeInterval(-86_400 * 30), notValidAfter: Date().addingTimeInterval(-86_400))
    static let notYetValid = try! TestSigningIdentity(commonName: "sns.amazonaws.com", notValidBefore: Date().addingTimeInterval(86_400), notValidAfter: Date().addingTimeInterval(86_400 * 30))
    static let wrongName = try! TestSigningIdentity(commonName: "sns.evil.example")
    static let otherKey = try! TestSigningIdentity(commonName: "sns.amazonaws.com")

    /// A self-signed certificate made by the openssl command (`rsa:1024`, `ec`, ...).
    static func opensslCertificate(_ keyArguments: [String]) -> String {
        let directory = try! makeTemporaryDirectory("openssl")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=sns.amazonaws.com",
                             "-keyout", directory.appendingPathComponent("key.pem").path, "-out", directory.appendingPathComponent("cert.pem").path] + keyArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try! process.run()
        process.waitUntilExit()
        return try! String(contentsOf: directory.appendingPathComponent("cert.pem"), encoding: .utf8)
    }

    static let rsa1024 = opensslCertificate(["-newkey", "rsa:1024"])
    static let ecdsa = opensslCertificate(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
}

/// One row of the attack table.
struct AttackCase: Sendable {
    let name: String
    /// `STATUS code`.
    let expected: String
    var stores = false
    let make: @Sendable (AttackKit) throws -> AttackRequest

    static let cert32 = "SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
    static let stale = SNSInstant(date: Date().addingTimeInterval(-3700)).description

    static let all: [AttackCase] = [
        // Controls: what SNS itself sends passes.
        AttackCase(name: "Control: a genuine subscription confirmation", expected: "200 confirmed", stores: true) { try $0.confirmation() },
        AttackCase(name: "Control: a genuine notification", expected: "200 recorded", stores: true) { kit in
            let request = try kit.notification()
            kit.delivered.withLock { $0 = request }
            return request
        },
        AttackCase(name: "Control: the same notification delivered again (SNS retries)", expected: "200 duplicate") { kit in try #require(kit.delivered.withLock { $0 }) },

        // Canonicalization: a message signed for another topic re-cut into ours.
        AttackCase(name: "Re-cut forgery: another topic's signed message re-split so TopicArn names ours", expected: "400 malformed_field") { kit in
            let now = SNSInstant(date: Date()).description
            let prefix = "arn:aws:sns:us-east-1:123456789012:x"
            var genuine = try TestEnvelope(
                type: .notification, topicARN: "arn:aws:sns:us-east-1:999999999999:attacker",
                message: #"{"taskId":"forged"}"# + "\nMessageId\nforged-1\nTimestamp\n\(now)\nTopicArn\n\(prefix)", timestamp: now,
                certificateURL: kit.certificateURL
            ).signed()
            let original = genuine
            genuine.fields["Message"] = #"{"taskId":"forged"}"#
            genuine.fields["MessageId"] = "forged-1"
            genuine.fields["TopicArn"] = prefix + "\nMessageId\n\(original.messageID)\nTimestamp\n\(now)\nTopicArn\n\(original.fields["TopicArn"]!)"
            return AttackRequest(body: genuine.body, headers: AttackKit.headers(genuine.fields))
        },
        AttackCase(name: "TopicArn holding a newline", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["TopicArn"]! += "\nType" }) },
        AttackCase(name: "TopicArn that is not an ARN", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["TopicArn"] = "device-defender-audits" }) },
        AttackCase(name: "TopicArn of another service (sqs)", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["TopicArn"] = "arn:aws:sqs:us-east-1:123456789012:device-defender-audits" }) },
        AttackCase(name: "TopicArn with a seventh part", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["TopicArn"]! += ":extra" }) },
        AttackCase(name: "TopicArn whose region is not region-shaped", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["TopicArn"] = "arn:aws:sns:evil.example:123456789012:t" }) },
        AttackCase(name: "TopicArn of an account not allowed", expected: "403 topic_not_allowed") { try $0.notification(prepare: { $0.fields["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:device-defender-audits" }) },
        AttackCase(name: "TopicArn in a region the allow-list does not name", expected: "403 topic_not_allowed") { try $0.notification(prepare: { $0.fields["TopicArn"] = "arn:aws:sns:eu-west-1:123456789012:device-defender-audits" }) },
        AttackCase(name: "MessageId holding a newline", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["MessageId"]! += "\nTimestamp" }) },
        AttackCase(name: "MessageId holding a space", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["MessageId"]! += " x" }) },
        AttackCase(name: "MessageId of 200 characters", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["MessageId"] = String(repeating: "a", count: 200) }) },
        AttackCase(name: "Subject holding a newline", expected: "400 malformed_field") { try $0.notification(prepare: { $0.fields["Subject"] = "Audit\nTimestamp" }) },
        AttackCase(name: "Token holding a newline", expected: "400 malformed_field") { try $0.confirmation(prepare: { $0.fields["Token"]! += "\nTopicArn" }) },
        AttackCase(name: "SubscribeURL holding a newline", expected: "400 malformed_field") { try $0.confirmation(prepare: { $0.fields["SubscribeURL"]! += "\nToken" }) },

        // Headers that contradict the body.
        AttackCase(name: "x-amz-sns-topic-arn naming another topic than the body", expected: "400 header_mismatch") { kit in
            var request = try kit.notification()
            request.headers[HTTPField.Name("x-amz-sns-topic-arn")!] = "arn:aws:sns:us-east-1:123456789012:other"
            return request
        },
        AttackCase(name: "x-amz-sns-message-id naming another id than the body", expected: "400 header_mismatch") { kit in
            var request = try kit.notification()
            request.headers[HTTPField.Name("x-amz-sns-message-id")!] = "another-id"
            return request
        },
        AttackCase(name: "x-amz-sns-message-type naming another type than the body", expected: "400 message_type_mismatch") { kit in
            var request = try kit.notification()
            request.headers[HTTPField.Name("x-amz-sns-message-type")!] = "SubscriptionConfirmation"
            return request
        },

        // Every signed field tampered after signing.
        AttackCase(name: "Message tampered", expected: "403 signature_mismatch") { try $0.notification(tamper: { $0.fields["Message"] = #"{"taskId":"forged"}"# }) },
        AttackCase(name: "MessageId tampered (a replay under a new id)", expected: "403 signature_mismatch") { try $0.notification(tamper: { $0.fields["MessageId"] = UUID().uuidString.lowercased() }) },
        AttackCase(name: "Timestamp tampered (moved, still fresh)", expected: "403 signature_mismatch") { try $0.notification(tamper: { $0.fields["Timestamp"] = SNSInstant(date: Date().addingTimeInterval(-5)).description }) },
        AttackCase(name: "TopicArn tampered to another allowed topic", expected: "403 signature_mismatch") { try $0.notification(tamper: { $0.fields["TopicArn"] = "arn:aws:sns:us-east-1:123456789012:other-topic" }) },
        AttackCase(name: "Subject added", expected: "403 signature_mismatch") { try $0.notification(tamper: { $0.fields["Subject"] = "Audit" }) },
        AttackCase(name: "Subject removed", expected: "403 signature_mismatch") { try $0.notification(prepare: { $0.fields["Subject"] = "Audit" }, tamper: { $0.fields["Subject"] = nil }) },
        AttackCase(name: "Subject tampered", expected: "403 signature_mismatch") { try $0.notification(prepare: { $0.fields["Subject"] = "Audit" }, tamper: { $0.fields["Subject"] = "Audit!" }) },
        AttackCase(name: "Type tampered (SubscriptionConfirmation to UnsubscribeConfirmation)", expected: "403 signature_mismatch") { try $0.confirmation(tamper: { $0.fields["Type"] = "UnsubscribeConfirmation" }) },
        AttackCase(name: "Token tampered", expected: "403 signature_mismatch") { try $0.confirmation(tamper: { $0.fields["Token"]! += "0" }) },
        AttackCase(name: "SubscribeURL tampered (another token, still a valid confirmation URL)", expected: "403 signature_mismatch") { try $0.confirmation(tamper: { $0.fields["SubscribeURL"]! += "0" }) },
        AttackCase(name: "SignatureVersion switched from 2 to 1", expected: "403 signature_mismatch") { try $0.notification(tamper: { $0.fields["SignatureVersion"] = "1" }) },
        AttackCase(name: "Signed with another key than the certificate's", expected: "403 signature_mismatch") { kit in
            try kit.signed(TestEnvelope(type: .notification, topicARN: AttackSuiteTests.topic, certificateURL: kit.certificateURL), identity: AttackKit.otherKey, prepare: { _ in }, tamper: { _ in })
        },

        // The Signature field.
        AttackCase(name: "Signature empty", expected: "403 signature_malformed") { try $0.notification(tamper: { $0.fields["Signature"] = "" }) },
        AttackCase(name: "Signature truncated", expected: "403 signature_malformed") { try $0.notification(tamper: { $0.fields["Signature"] = String($0.fields["Signature"]!.dropLast(8)) }) },
        AttackCase(name: "Signature of the wrong length (bytes appended)", expected: "403 signature_malformed") { try $0.notification(tamper: { $0.fields["Signature"] = Data(Data(base64Encoded: $0.fields["Signature"]!)! + Data([1, 2, 3])).base64EncodedString() }) },
        AttackCase(name: "Signature not base64", expected: "403 signature_malformed") { try $0.notification(tamper: { $0.fields["Signature"] = "not base64!" }) },
        AttackCase(name: "Signature a number, not a string", expected: "400 ill_typed_field") { kit in
            try kit.editedText { text in text.replacingOccurrences(of: #""Signature":"[^"]*""#, with: #""Signature":12345"#, options: .regularExpression) }
        },
        AttackCase(name: "Signature missing", expected: "400 missing_field") { try $0.notification(tamper: { $0.fields["Signature"] = nil }) },

        // SignatureVersion.
        AttackCase(name: "SignatureVersion missing", expected: "400 missing_field") { try $0.notification(tamper: { $0.fields["SignatureVersion"] = nil }) },
        AttackCase(name: "SignatureVersion \"0\"", expected: "403 signature_version_not_accepted") { try $0.notification(tamper: { $0.fields["SignatureVersion"] = "0" }) },
        AttackCase(name: "SignatureVersion \"3\"", expected: "403 signature_version_not_accepted") { try $0.notification(tamper: { $0.fields["SignatureVersion"] = "3" }) },
        AttackCase(name: "SignatureVersion \" 2\"", expected: "403 signature_version_not_accepted") { try $0.notification(tamper: { $0.fields["SignatureVersion"] = " 2" }) },

        // The certificate the URL serves.
        AttackCase(name: "Certificate expired", expected: "403 signing_cert_unusable") { try $0.withCertificate(AttackKit.expired.certificatePEM, identity: AttackKit.expired) },
        AttackCase(name: "Certificate not yet valid", expected: "403 signing_cert_unusable") { try $0.withCertificate(AttackKit.notYetValid.certificatePEM, identity: AttackKit.notYetValid) },
        AttackCase(name: "Certificate whose key is not RSA (EC P-256)", expected: "403 signing_cert_unusable") { try $0.withCertificate(AttackKit.ecdsa) },
        AttackCase(name: "Certificate with an RSA-1024 key", expected: "403 signing_cert_unusable") { try $0.withCertificate(AttackKit.rsa1024) },
        AttackCase(name: "Certificate for another name (sns.evil.example)", expected: "403 signing_cert_unusable") { try $0.withCertificate(AttackKit.wrongName.certificatePEM, identity: AttackKit.wrongName) },
        AttackCase(name: "A chain of two certificates instead of one", expected: "403 signing_cert_unusable") { try $0.withCertificate(TestSigningIdentity.shared.certificatePEM + AttackKit.otherKey.certificatePEM) },
        AttackCase(name: "Certificate document of 100 KiB", expected: "403 signing_cert_unusable") { try $0.withCertificate(TestSigningIdentity.shared.certificatePEM + String(repeating: "A", count: 100 * 1024)) },
        AttackCase(name: "Certificate document empty", expected: "403 signing_cert_unusable") { try $0.withCertificate("") },
        AttackCase(name: "Certificate document that is not PEM", expected: "403 signing_cert_unusable") { try $0.withCertificate("<html>hello</html>") },
        AttackCase(name: "Certificate host slower than outbound.timeout_seconds", expected: "503 signing_cert_unavailable") { try $0.withCertificate(TestSigningIdentity.shared.certificatePEM, delaySeconds: 4) },
        AttackCase(name: "Certificate host answering 404", expected: "403 signing_cert_unusable") { try $0.withCertificate("", status: 404) },
        AttackCase(name: "Certificate host answering 403 (no proof of forgery: SNS retries)", expected: "503 signing_cert_unavailable") { try $0.withCertificate("", status: 403) },
        AttackCase(name: "Certificate host answering 429", expected: "503 signing_cert_unavailable") { try $0.withCertificate("", status: 429) },
        AttackCase(name: "Certificate host answering 500", expected: "503 signing_cert_unavailable") { try $0.withCertificate("", status: 500) },
        AttackCase(name: "Certificate host redirecting to another host (never followed)", expected: "403 signing_cert_unusable") {
            try $0.withCertificate("", status: 302, location: "https://evil.example/\(AttackCase.cert32)")
        },

        // SigningCertURL outside the policy: refused before any connection.
        AttackCase(name: "SigningCertURL over http", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("http://sns.us-east-1.amazonaws.com/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL on another host", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://evil.example/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL on an S3 bucket named sns (sns.s3.amazonaws.com)", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.s3.amazonaws.com/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL on sns.s3-external-1.amazonaws.com", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.s3-external-1.amazonaws.com/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL on sns.s3-accelerate.amazonaws.com", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.s3-accelerate.amazonaws.com/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL on another region's SNS endpoint than the topic's", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.eu-west-1.amazonaws.com/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL spelled in capitals with :443 (the same certificate)", expected: "200 recorded", stores: true) { kit in
            try kit.notification(prepare: { $0.fields["SigningCertURL"] = kit.certificateURL.replacingOccurrences(of: "https://sns.us-east-1.amazonaws.com", with: "HTTPS://SNS.US-EAST-1.AMAZONAWS.COM:443") })
        },
        AttackCase(name: "SigningCertURL on sns.us-east-1.amazonaws.com.evil.example", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com.evil.example/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL on an IPv4 literal", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://127.0.0.1/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL on an IPv6 literal", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://[::1]/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL with userinfo naming the SNS host", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com@evil.example/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL with userinfo before the SNS host", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://evil.example@sns.us-east-1.amazonaws.com/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL with a port", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com:8443/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL with a fragment", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://evil.example/x.pem#sns.us-east-1.amazonaws.com/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL with a percent-encoded host", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns%2eus-east-1.amazonaws.com/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL with a backslash before @", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com\\@evil.example/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL with a trailing dot on the host", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com./\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL path that is not an SNS certificate", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com/evil.pem") },
        AttackCase(name: "SigningCertURL path with ..", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com/x/../\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL path with percent-escapes", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com/%2e%2e/\(AttackCase.cert32)") },
        AttackCase(name: "SigningCertURL with a query", expected: "403 signing_cert_url_rejected") { try $0.certificateURL("https://sns.us-east-1.amazonaws.com/\(AttackCase.cert32)?x=1") },

        // SubscribeURL outside the policy: refused before any connection.
        AttackCase(name: "SubscribeURL on another host", expected: "403 subscribe_url_rejected") { try $0.confirmation(prepare: { $0.fields["SubscribeURL"] = $0.fields["SubscribeURL"]!.replacingOccurrences(of: "sns.us-east-1.amazonaws.com", with: "evil.example") }) },
        AttackCase(name: "SubscribeURL for another topic", expected: "403 subscribe_url_rejected") { try $0.confirmation(prepare: { $0.fields["SubscribeURL"] = $0.fields["SubscribeURL"]!.replacingOccurrences(of: "device-defender-audits&", with: "other&") }) },
        AttackCase(name: "SubscribeURL with another action (Unsubscribe)", expected: "403 subscribe_url_rejected") { try $0.confirmation(prepare: { $0.fields["SubscribeURL"] = $0.fields["SubscribeURL"]!.replacingOccurrences(of: "ConfirmSubscription", with: "Unsubscribe") }) },
        AttackCase(name: "SubscribeURL on another region's SNS endpoint", expected: "403 subscribe_url_rejected") { try $0.confirmation(prepare: { $0.fields["SubscribeURL"] = $0.fields["SubscribeURL"]!.replacingOccurrences(of: "sns.us-east-1.", with: "sns.eu-west-1.") }) },
        AttackCase(name: "SubscribeURL over http", expected: "403 subscribe_url_rejected") { try $0.confirmation(prepare: { $0.fields["SubscribeURL"] = $0.fields["SubscribeURL"]!.replacingOccurrences(of: "https://", with: "http://") }) },

        // Freshness and replays.
        AttackCase(name: "Replay after sns.max_message_age_seconds", expected: "403 message_too_old") { try $0.notification(prepare: { $0.fields["Timestamp"] = AttackCase.stale }) },
        AttackCase(name: "Timestamp ten minutes in the future", expected: "403 message_from_future") { try $0.notification(prepare: { $0.fields["Timestamp"] = SNSInstant(date: Date().addingTimeInterval(600)).description }) },
        AttackCase(name: "Timestamp not ISO 8601", expected: "400 malformed_timestamp") { try $0.notification(prepare: { $0.fields["Timestamp"] = "yesterday" }) },

        // The body itself.
        AttackCase(name: "Invalid UTF-8 in a string", expected: "400 malformed_json") { kit in
            var body = try kit.notification().body
            let index = body.firstIndex(of: UInt8(ascii: "t"))!
            body[index] = 0xFF
            return AttackRequest(body: body, headers: [.contentType: "text/plain; charset=UTF-8"])
        },
        AttackCase(name: "A lone surrogate escape (\\ud800)", expected: "400 malformed_json") { try $0.editedText { $0.replacingOccurrences(of: #""Message":""#, with: #""Message":"\ud800"#) } },
        AttackCase(name: "Duplicate JSON keys (TopicArn twice)", expected: "400 repeated_field") { try $0.editedText { $0.replacingOccurrences(of: #"{"Message""#, with: #"{"TopicArn":"arn:aws:sns:us-east-1:123456789012:x","Message""#) } },
        AttackCase(name: "JSON nested 10,000 levels deep", expected: "400 malformed_json") { _ in AttackKit.raw(#"{"Type":"#.appending(String(repeating: "[", count: 10_000)) + String(repeating: "]", count: 10_000) + "}") },
        AttackCase(name: "A number of 5,000 digits", expected: "400 malformed_json") { try $0.editedText { $0.replacingOccurrences(of: #"{"Message""#, with: #"{"Extra":"# + String(repeating: "9", count: 5000) + #","Message""#) } },
        AttackCase(name: "A number 1e999999 in the unsigned MessageAttributes (kept as sent, never read)", expected: "200 recorded", stores: true) {
            try $0.editedText { $0.replacingOccurrences(of: #"{"Message""#, with: #"{"MessageAttributes":{"n":1e999999},"Message""#) }
        },
        AttackCase(name: "Type unknown", expected: "400 unknown_message_type") { try $0.notification(prepare: { $0.fields["Type"] = "Notification2" }) },
        AttackCase(name: "Type missing", expected: "400 missing_field") { try $0.notification(tamper: { $0.fields["Type"] = nil }) },
        AttackCase(name: "A JSON array instead of an object", expected: "400 raw_delivery_not_supported") { _ in AttackKit.raw("[1,2,3]") },
        AttackCase(name: "An empty body", expected: "400 raw_delivery_not_supported") { _ in AttackKit.raw("") },
        AttackCase(name: "A raw delivery (x-amz-sns-rawdelivery: true)", expected: "400 raw_delivery_not_supported") { kit in
            var request = try kit.notification()
            request.headers[HTTPField.Name("x-amz-sns-rawdelivery")!] = "true"
            return request
        },
        AttackCase(name: "A body above server.max_body_bytes", expected: "413 body_too_large") { try $0.notification(prepare: { $0.fields["Message"] = String(repeating: "x", count: 70_000) }) },
        AttackCase(name: "MessageAttributes of the wrong type", expected: "400 ill_typed_field") { try $0.editedText { $0.replacingOccurrences(of: #"{"Message""#, with: #"{"MessageAttributes":"x","Message""#) } },
    ]
}

/// A file of this repository, by its path from the top.
func repositoryFile(_ path: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../\(path)").standardized.path
}
