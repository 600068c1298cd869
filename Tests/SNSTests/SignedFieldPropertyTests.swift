import PropertyBased
import SNS
import TestSupport
import Testing

/// Any change to any signed field of a signed envelope (adding or removing one included), or
/// to its Type or SignatureVersion, fails: the parser refuses it, or the verifier does. Never
/// `.genuine`.
struct SignedFieldPropertyTests {
    static let envelopes: [TestEnvelope] = ["1", "2"].flatMap { version in
        [
            try! TestEnvelope(type: .notification, signatureVersion: version).signed(),
            try! TestEnvelope(type: .notification, subject: "Audit finished", signatureVersion: version).signed(),
            try! TestEnvelope(type: .subscriptionConfirmation, signatureVersion: version).signed(),
            try! TestEnvelope(type: .unsubscribeConfirmation, signatureVersion: version).signed(),
        ]
    }
    static let fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type", "SubscribeURL", "Token", "SignatureVersion"]
    static let verifier = SNSMessageVerifier(policy: .init(allowedTopics: AllowedTopics(["arn:aws:sns:*:*:*"]), certificateURLPolicy: .standard))
    static let certificate = TestSigningIdentity.shared.signingCertificate()

    /// `text` changed by `kind` at `position`: insert, replace a character, delete one, or
    /// replace the whole value.
    static func mutate(_ text: String, kind: Int, insert: String, position: Int) -> String {
        var characters = Array(text)
        let index = characters.isEmpty ? 0 : position % characters.count
        switch kind {
        case 0: characters.insert(contentsOf: insert, at: min(index, characters.count))
        case 1 where !characters.isEmpty: characters.replaceSubrange(index...index, with: insert)
        case 2 where !characters.isEmpty: characters.remove(at: index)
        default: return insert
        }
        return String(characters)
    }

    @Test func noChangeToASignedFieldVerifies() async throws {
        #expect(try Self.envelopes.allSatisfy { envelope in
            let message = try SNSMessage.parse(body: envelope.body)
            return Self.verifier.verify(message, certificate: Self.certificate, now: message.sentAt) == .genuine
        })
        await propertyCheck(
            count: 2000,
            input: Gen.int(in: 0...(Self.envelopes.count - 1)), Gen.int(in: 0...(Self.fields.count - 1)), Gen.int(in: 0...3),
            Gen.latin1.string(of: 1...4), Gen.int(in: 0...10_000)
        ) { envelopeIndex, fieldIndex, kind, insert, position in
            var envelope = Self.envelopes[envelopeIndex]
            let field = Self.fields[fieldIndex]
            // A Notification signs no SubscribeURL or Token, a confirmation no Subject.
            let unsigned: Set<String> = envelope.fields["Type"] == "Notification" ? ["SubscribeURL", "Token"] : ["Subject"]
            guard !unsigned.contains(field) else { return }
            let original = envelope.fields[field] ?? ""
            let changed = Self.mutate(original, kind: kind, insert: insert, position: position)
            guard changed != original else { return }
            envelope.fields[field] = changed
            guard let message = try? SNSMessage.parse(body: envelope.body) else { return }
            let verdict = Self.verifier.verify(message, certificate: Self.certificate, now: message.sentAt)
            #expect(verdict != .genuine, "\(field) changed from \(original.debugDescription) to \(changed.debugDescription) still verifies")
        }
    }
}
