import SNS
import TestSupport
import Testing

/// Envelopes signed in the test with a generated key: every type with both signature versions
/// verifies, and any single change to a signed field, the SignatureVersion or the Signature fails.
struct SignatureTamperTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let type: SNSMessageType
        let version: String
        let subject: String?
        var testDescription: String { "\(type.rawValue) v\(version)\(subject == nil ? "" : " with Subject")" }
    }

    static let cases: [Case] = SNSMessageType.allCases.flatMap { type in
        ["1", "2"].flatMap { version in
            type == .notification
                ? [Case(type: type, version: version, subject: nil), Case(type: type, version: version, subject: "Audit finished")]
                : [Case(type: type, version: version, subject: nil)]
        }
    }

    static let verifier = SNSMessageVerifier(policy: .init(
        allowedTopics: AllowedTopics(["arn:aws:sns:*:123456789012:*"]),
        certificateURLPolicy: .standard
    ))

    func verdict(_ envelope: TestEnvelope) throws -> SNSVerdict {
        let message = try SNSMessage.parse(body: envelope.body)
        return Self.verifier.verify(message, certificate: TestSigningIdentity.shared.signingCertificate(), now: message.sentAt.adding(seconds: 1))
    }

    @Test(arguments: cases)
    func acceptsEveryTypeAndVersion(_ testCase: Case) throws {
        let envelope = try TestEnvelope(type: testCase.type, subject: testCase.subject, signatureVersion: testCase.version).signed()
        #expect(try verdict(envelope) == .genuine)
    }

    @Test(arguments: cases)
    func rejectsEverySingleFieldTamper(_ testCase: Case) throws {
        let envelope = try TestEnvelope(type: testCase.type, subject: testCase.subject, signatureVersion: testCase.version).signed()
        var signedFields = ["Message", "MessageId", "Timestamp", "TopicArn"]
        if testCase.type == .notification {
            if testCase.subject != nil { signedFields.append("Subject") }
        } else {
            signedFields += ["SubscribeURL", "Token"]
        }
        for field in signedFields {
            var tampered = envelope
            let value = tampered.fields[field]!
            // Keep the value well-formed where the parser checks it (Timestamp).
            tampered.fields[field] = field == "Timestamp" ? value.replacingOccurrences(of: "Z", with: "1Z") : value + "x"
            // A confirmation's SubscribeURL must name its own topic: a changed TopicArn is caught
            // by that rule before the signature is even checked.
            let expected: SNSVerdict = field == "TopicArn" && testCase.type != .notification
                ? .rejected(.subscribeURLRejected(url: tampered.fields["SubscribeURL"]!, reason: .notAConfirmationRequest))
                : .rejected(.signatureMismatch)
            #expect(try verdict(tampered) == expected, "tampered \(field) was accepted")
        }

        var otherVersion = envelope
        otherVersion.fields["SignatureVersion"] = testCase.version == "1" ? "2" : "1"
        #expect(try verdict(otherVersion) == .rejected(.signatureMismatch))

        var flippedSignature = envelope
        var bytes = Array(Data(base64Encoded: envelope.fields["Signature"]!)!)
        bytes[bytes.count / 2] ^= 0x01
        flippedSignature.fields["Signature"] = Data(bytes).base64EncodedString()
        #expect(try verdict(flippedSignature) == .rejected(.signatureMismatch))

        var garbage = envelope
        garbage.fields["Signature"] = "not base64 at all!"
        #expect(try verdict(garbage) == .rejected(.signatureMalformed))

        var otherType = envelope
        otherType.fields["Type"] = testCase.type == .subscriptionConfirmation ? "UnsubscribeConfirmation" : "SubscriptionConfirmation"
        if otherType.fields["Token"] != nil {
            #expect(try verdict(otherType) == .rejected(.signatureMismatch))
        }
    }

    @Test func addingOrRemovingASubjectBreaksTheSignature() throws {
        let withSubject = try TestEnvelope(type: .notification, subject: "Audit").signed()
        var removed = withSubject
        removed.fields["Subject"] = nil
        #expect(try verdict(removed) == .rejected(.signatureMismatch))

        let withoutSubject = try TestEnvelope(type: .notification).signed()
        var added = withoutSubject
        added.fields["Subject"] = "Audit"
        #expect(try verdict(added) == .rejected(.signatureMismatch))
    }

    @Test func unsignedFieldsDoNotAffectTheVerdict() throws {
        var envelope = try TestEnvelope(type: .notification).signed()
        envelope.fields["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=other"
        envelope.fields["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-ffffffffffffffffffffffffffffffff.pem"
        #expect(try verdict(envelope) == .genuine)
    }

    @Test func anotherKeyCannotSign() throws {
        let impostor = try TestSigningIdentity(commonName: "sns.amazonaws.com")
        let envelope = try TestEnvelope(type: .notification).signed(with: impostor)
        #expect(try verdict(envelope) == .rejected(.signatureMismatch))
    }

    @Test func signatureVersionOneCanBeTurnedOff() throws {
        let verifier = SNSMessageVerifier(policy: .init(
            signatureVersions: ["2"],
            allowedTopics: AllowedTopics(["arn:aws:sns:*:123456789012:*"]),
            certificateURLPolicy: Self.verifier.policy.certificateURLPolicy
        ))
        let message = try SNSMessage.parse(body: try TestEnvelope(type: .notification, signatureVersion: "1").signed().body)
        #expect(verifier.precheck(message, now: message.sentAt) == .signatureVersionNotAccepted("1"))
        var unknown = message
        unknown.signatureVersion = "3"
        #expect(Self.verifier.precheck(unknown, now: message.sentAt) == .signatureVersionNotAccepted("3"))
    }
}

import Foundation
