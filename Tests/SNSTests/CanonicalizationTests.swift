import Foundation
import SNS
import TestSupport
import Testing

/// The string to sign joins `Name\nValue\n` lines without escaping. These tests re-cut a
/// message signed for an attacker's own topic into one that names ours, byte-identical to sign,
/// and show where it is stopped: at parse, because no signed field but Message may hold a newline.
struct CanonicalizationTests {
    static let victimTopics = AllowedTopics(["arn:aws:sns:eu-west-1:123456789012:*"])
    static let attackerTopic = "arn:aws:sns:eu-west-1:999999999999:attacker"

    /// The genuine delivery the attacker receives from their own topic, and the forgery cut from it.
    static func genuineAndForged() throws -> (genuine: TestEnvelope, forged: TestEnvelope) {
        let now = SNSInstant(date: Date()).description
        let audit = #"{"accountId":"123456789012","taskId":"forged-audit","taskType":"ON_DEMAND_AUDIT_TASK","taskStatus":"COMPLETED"}"#
        let forgedID = "f0f0f0f0-0000-4000-8000-000000000001"
        let victimPrefix = "arn:aws:sns:eu-west-1:123456789012:x"
        let smuggled = audit + "\nMessageId\n" + forgedID + "\nTimestamp\n" + now + "\nTopicArn\n" + victimPrefix
        let genuine = try TestEnvelope(
            type: .notification, topicARN: attackerTopic, message: smuggled, timestamp: now,
            certificateURL: "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
        ).signed()

        var forged = genuine
        forged.fields["Message"] = audit
        forged.fields["MessageId"] = forgedID
        forged.fields["TopicArn"] = victimPrefix + "\nMessageId\n" + genuine.messageID + "\nTimestamp\n" + now + "\nTopicArn\n" + attackerTopic
        return (genuine, forged)
    }

    /// The forgery as an `SNSMessage` built field by field, the way a lax parser would read it.
    static func laxMessage(_ envelope: TestEnvelope) -> SNSMessage {
        let timestamp = envelope.fields["Timestamp"]!
        return SNSMessage(
            type: .notification, messageID: envelope.fields["MessageId"]!, topicARN: envelope.fields["TopicArn"]!,
            message: envelope.fields["Message"]!, timestamp: timestamp, sentAt: SNSInstant(iso8601: timestamp)!,
            signatureVersion: envelope.fields["SignatureVersion"]!, signature: envelope.fields["Signature"]!,
            signingCertURL: envelope.fields["SigningCertURL"]!
        )
    }

    @Test func theRecutForgeryHasTheGenuineStringToSign() throws {
        let (genuine, forged) = try Self.genuineAndForged()
        let genuineMessage = try SNSMessage.parse(body: genuine.body)
        let lax = Self.laxMessage(forged)
        // The precondition of the attack: same bytes signed, so the signature alone cannot tell.
        #expect(lax.stringToSign == genuineMessage.stringToSign)
        let verifier = SNSMessageVerifier(policy: .init(allowedTopics: AllowedTopics(["arn:aws:sns:*:*:*"]), certificateURLPolicy: .standard))
        #expect(verifier.verifySignature(lax, certificate: TestSigningIdentity.shared.signingCertificate(), now: lax.sentAt) == .genuine)
    }

    @Test func theParserRefusesTheForgeryNamingTheField() throws {
        let (genuine, forged) = try Self.genuineAndForged()
        #expect(throws: SNSEnvelopeError.malformedField("TopicArn", reason: "it is not an SNS topic ARN (\(TopicARN.syntax))")) {
            try SNSMessage.parse(body: forged.body)
        }
        // The genuine delivery itself still parses: its Message may hold anything.
        #expect(try SNSMessage.parse(body: genuine.body).topicARN == Self.attackerTopic)
    }

    @Test func theAllowListGlobNoLongerMatchesTheForgedTopic() throws {
        let forgedTopic = try Self.genuineAndForged().forged.fields["TopicArn"]!
        #expect(!Self.victimTopics.allows(forgedTopic))
        #expect(!Self.victimTopics.allows("arn:aws:sns:eu-west-1:123456789012:a:b"))
        #expect(!Self.victimTopics.allows("arn:aws:sns:eu-west-1:123456789012:a\nb"))
        #expect(Self.victimTopics.allows("arn:aws:sns:eu-west-1:123456789012:device-defender-audits"))
    }

    @Test(arguments: [
        ("MessageId", "id\nTimestamp"), ("MessageId", "id with space"), ("MessageId", ""), ("MessageId", "é"),
        ("MessageId", String(repeating: "a", count: 129)),
        ("TopicArn", "device-defender-audits"), ("TopicArn", "arn:aws:sqs:us-east-1:123456789012:q"),
        ("TopicArn", "arn:aws:sns:us-east-1:12345678901:t"), ("TopicArn", "arn:aws:sns:s3:123456789012:t"),
        ("TopicArn", "arn:aws:sns:us-east-1:123456789012:t:extra"), ("TopicArn", "arn:aws:sns:us-east-1:123456789012:a b"),
        ("TopicArn", "arn:evil:sns:us-east-1:123456789012:t"), ("TopicArn", "arn:aws:sns:us-east-1:123456789012:"),
        ("Subject", "line\nbreak"), ("Subject", "tab\u{7F}"),
    ])
    func refusesMalformedSignedFields(field: String, value: String) throws {
        var envelope = TestEnvelope(type: .notification)
        envelope.fields["Signature"] = "c2ln"
        envelope.fields[field] = value
        #expect(throws: SNSEnvelopeError.self) { try SNSMessage.parse(body: envelope.body) }
        do {
            _ = try SNSMessage.parse(body: envelope.body)
        } catch {
            if case .malformedField(let name, _) = error { #expect(name == field) } else if field == "MessageId", value.isEmpty {
                #expect(error == .missingField("MessageId"))
            } else {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test(arguments: [("Token", "tok\nen"), ("Token", "tok en"), ("SubscribeURL", "https://sns.us-east-1.amazonaws.com/?a\nb")])
    func refusesMalformedConfirmationFields(field: String, value: String) throws {
        var envelope = TestEnvelope(type: .subscriptionConfirmation)
        envelope.fields["Signature"] = "c2ln"
        envelope.fields[field] = value
        #expect(throws: SNSEnvelopeError.self) { try SNSMessage.parse(body: envelope.body) }
    }
}

struct TopicARNTests {
    @Test(arguments: [
        "arn:aws:sns:us-east-1:123456789012:device-defender-audits", "arn:aws-cn:sns:cn-north-1:123456789012:t",
        "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t", "arn:aws-iso-b:sns:us-isob-east-1:123456789012:t",
        "arn:aws:sns:ap-southeast-5:123456789012:Audits_2", "arn:aws:sns:us-east-1:123456789012:orders.fifo",
        "arn:aws:sns:eu-west-1:382739154790:for_justeat_aws_specs",
    ])
    func acceptsTheARNsAWSIssues(_ text: String) {
        #expect(TopicARN(text)?.description == text)
    }

    @Test func splitsItsParts() throws {
        let arn = try #require(TopicARN("arn:aws:sns:eu-west-1:123456789012:audits"))
        #expect(arn.region == "eu-west-1")
        #expect(arn.accountID == "123456789012")
        #expect(arn.name == "audits")
    }

    @Test func allowListPatternsMustNameTheirAccount() {
        #expect(AllowedTopics.problem(with: "arn:aws:sns:*:123456789012:device-defender-*") == nil)
        #expect(AllowedTopics.problem(with: "arn:aws:sns:us-east-1:*:audits") != nil)
        #expect(AllowedTopics.problem(with: "*") != nil)
        #expect(AllowedTopics.problem(with: "arn:*:sns:us-east-1:123456789012:audits") != nil)
        #expect(AllowedTopics.problem(with: "arn:aws:sns:us-east-1:123456789012:a:b") != nil)
    }

    /// The glob against a regular expression that says the same: `*` is `[^:\x00-\x1f\x7f]*`.
    @Test func globAgreesWithItsRegularExpression() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab:*\n-".unicodeScalars)
        for _ in 0..<3000 {
            let pattern = String(String.UnicodeScalarView((0..<Int.random(in: 0...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
            let text = String(String.UnicodeScalarView((0..<Int.random(in: 0...7, using: &generator)).map { _ in alphabet.filter { $0 != "*" }.randomElement(using: &generator)! }))
            let regex = "\\A" + pattern.map { $0 == "*" ? "[^:\\x00-\\x1f\\x7f]*" : NSRegularExpression.escapedPattern(for: String($0)) }.joined() + "\\z"
            let expected = try NSRegularExpression(pattern: regex).firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            #expect(AllowedTopics([pattern]).allows(text) == expected, "pattern \(pattern.debugDescription) text \(text.debugDescription)")
        }
    }
}
