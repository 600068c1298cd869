import Foundation
import SNS
import Testing

/// Messages that AWS itself signed, with the certificates they name (see Fixtures/sns-genuine/SOURCE.txt).
/// Every certificate has expired, so each is judged at a time inside its validity.
struct GenuineAWSMessageTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let folder: String
        let file: String
        var testDescription: String { "\(folder)/\(file)" }
    }

    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/sns-genuine")

    static let cases: [Case] = {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return folders.sorted().flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(folder).path)) ?? [])
                .filter { $0.hasSuffix(".json") }.sorted().map { Case(folder: folder, file: $0) }
        }
    }()

    static let names = WholeMatchPattern.defaultCertificateNames.map { try! WholeMatchPattern($0) }

    static func load(_ testCase: Case) throws -> (message: SNSMessage, body: [UInt8], certificatePEM: String, stringToSign: String) {
        let folder = fixtures.appendingPathComponent(testCase.folder)
        let body = try Data(contentsOf: folder.appendingPathComponent(testCase.file))
        let pemFile = try FileManager.default.contentsOfDirectory(atPath: folder.path).first { $0.hasSuffix(".pem") }!
        let pem = try String(contentsOf: folder.appendingPathComponent(pemFile), encoding: .utf8)
        let expected = try String(contentsOf: folder.appendingPathComponent(testCase.file.replacingOccurrences(of: ".json", with: ".string-to-sign.txt")), encoding: .utf8)
        return (try SNSMessage.parse(body: Array(body)), Array(body), pem, expected)
    }

    static func verifier() -> SNSMessageVerifier {
        SNSMessageVerifier(policy: .init(
            allowedTopics: .anyTopic,
            certificateURLPolicy: SigningCertificateURLPolicy.standard
        ))
    }

    @Test func allThirteenFixturesArePresent() {
        #expect(Self.cases.count == 13)
    }

    @Test(arguments: cases)
    func buildsTheExactBytesAWSSigned(_ testCase: Case) throws {
        let fixture = try Self.load(testCase)
        #expect(fixture.message.stringToSign == fixture.stringToSign)
    }

    @Test(arguments: cases)
    func acceptsMessagesAWSSignedAndRejectsTampering(_ testCase: Case) throws {
        let fixture = try Self.load(testCase)
        let now = fixture.message.sentAt.adding(seconds: 60)
        let verifier = Self.verifier()
        guard testCase.folder != "aws-sdk-ruby-2012" else {
            // 1024-bit key: refused on purpose, with a reason that says so.
            guard case .failure(.certificateUnusable(let reason)) = SigningCertificate.parse(pem: fixture.certificatePEM, acceptedNames: Self.names) else {
                Issue.record("a 1024-bit signing certificate was accepted")
                return
            }
            #expect(reason.contains("2048"))
            return
        }
        let certificate = try SigningCertificate.parse(pem: fixture.certificatePEM, acceptedNames: Self.names).get()
        #expect(verifier.verify(fixture.message, certificate: certificate, now: now) == .genuine)

        var tampered = fixture.message
        tampered.message += " "
        #expect(verifier.verify(tampered, certificate: certificate, now: now) == .rejected(.signatureMismatch))

        var otherHash = fixture.message
        otherHash.signatureVersion = fixture.message.signatureVersion == "1" ? "2" : "1"
        #expect(verifier.verify(otherHash, certificate: certificate, now: now) == .rejected(.signatureMismatch))

        // Judged an hour and a half later, the same message is a possible replay.
        #expect(verifier.verify(fixture.message, certificate: certificate, now: fixture.message.sentAt.adding(seconds: 5400))
            == .rejected(.messageTooOld(ageSeconds: 5400, limitSeconds: 3600)))
    }

    @Test func expiredCertificateIsRejectedAtTodaysDate() throws {
        let fixture = try Self.load(Case(folder: "aws-sdk-java-v2-2026", file: "test-notification-signature-v2.json"))
        let certificate = try SigningCertificate.parse(pem: fixture.certificatePEM, acceptedNames: Self.names).get()
        let afterExpiry = SNSInstant(iso8601: "2026-10-15T00:00:00Z")!
        guard case .rejected(.certificateUnusable(let reason)) = Self.verifier().verifySignature(fixture.message, certificate: certificate, now: afterExpiry) else {
            Issue.record("an expired certificate was accepted")
            return
        }
        #expect(reason.contains("expired"))
    }

    @Test func messageAttributesAreNotSigned() throws {
        let fixture = try Self.load(Case(folder: "aws-sdk-java-v2-2015", file: "sample-message.json"))
        #expect(fixture.message.hasMessageAttributes)
        #expect(!fixture.message.stringToSign.contains("MessageAttributes"))
    }
}
