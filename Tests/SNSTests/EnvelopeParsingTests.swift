import SNS
import TestSupport
import Testing

struct EnvelopeParsingTests {
    func parse(_ envelope: TestEnvelope, header: String? = nil) -> SNSEnvelopeError? {
        var envelope = envelope
        if envelope.fields["Signature"] == nil, envelope.fields["Type"] != nil { envelope.fields["Signature"] = "c2ln" }
        do {
            _ = try SNSMessage.parse(body: envelope.body, headers: SNSDeliveryHeaders(messageType: header))
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: SNSMessageType.allCases)
    func requiresEveryFieldItsTypeSigns(_ type: SNSMessageType) {
        var required = ["MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"]
        if type != .notification { required += ["SubscribeURL", "Token"] }
        for field in required {
            var envelope = TestEnvelope(type: type)
            envelope.fields["Signature"] = "c2ln"
            envelope.fields[field] = nil
            #expect(throws: SNSEnvelopeError.missingField(field), "missing \(field)") {
                try SNSMessage.parse(body: envelope.body)
            }
        }
    }

    @Test func namesIllTypedFields() throws {
        var fields = TestEnvelope(type: .notification).fields
        fields["Signature"] = "c2ln"
        var json = try JSONSerialization.jsonObject(with: Data(TestEnvelope(type: .notification).body)) as! [String: Any]
        json["Signature"] = "c2ln"
        json["MessageId"] = 42
        let body = Array(try JSONSerialization.data(withJSONObject: json))
        #expect(throws: SNSEnvelopeError.illTypedField("MessageId", expected: "a string, not a number")) {
            try SNSMessage.parse(body: body)
        }
        json["MessageId"] = "id"
        json["MessageAttributes"] = "x"
        #expect(throws: SNSEnvelopeError.illTypedField("MessageAttributes", expected: "an object, not a string")) {
            try SNSMessage.parse(body: Array(try JSONSerialization.data(withJSONObject: json)))
        }
    }

    @Test func refusesUnknownTypesAndHeaderMismatch() {
        var envelope = TestEnvelope(type: .notification)
        envelope.fields["Type"] = "Publish"
        #expect(parse(envelope) == .unknownType("Publish"))
        #expect(parse(TestEnvelope(type: .notification), header: "SubscriptionConfirmation")
            == .typeHeaderMismatch(header: "SubscriptionConfirmation", body: "Notification"))
        #expect(parse(TestEnvelope(type: .notification), header: "Notification") == nil)
    }

    @Test(arguments: [
        #"{"accountId":"123456789012","taskId":"abc","taskStatus":"COMPLETED"}"#,
        "plain text payload",
        "",
        "[1,2,3]",
    ])
    func rawDeliveryIsNotAnEnvelope(_ body: String) {
        #expect(throws: SNSEnvelopeError.notAnEnvelope) { try SNSMessage.parse(body: Array(body.utf8)) }
    }

    /// A body that starts as a JSON object but is not one was meant as an envelope: the answer
    /// says what is wrong with it rather than suggesting raw delivery.
    @Test func aBrokenObjectIsMalformedJSON() {
        #expect(throws: SNSEnvelopeError.malformedJSON("unexpected end of input at byte 9")) { try SNSMessage.parse(body: Array(#"{"Type": "#.utf8)) }
    }

    /// A field named twice could mean one value to this reader and another to the signer's:
    /// refused, naming the field, even inside a nested object.
    @Test func refusesFieldsNamedTwice() {
        let envelope = String(decoding: TestEnvelope(type: .notification).body, as: UTF8.self)
        let twice = envelope.replacingOccurrences(of: "{", with: #"{"TopicArn":"arn:aws:sns:us-east-1:123456789012:other","#, options: .anchored)
        #expect(throws: SNSEnvelopeError.repeatedField("TopicArn")) { try SNSMessage.parse(body: Array(twice.utf8)) }
        #expect(SNSEnvelopeError.repeatedField("TopicArn").code == "repeated_field")
        let nested = #"{"Type":"Notification","MessageAttributes":{"a":{"Type":"String","Type":"Binary"}}}"#
        #expect(throws: SNSEnvelopeError.repeatedField("Type")) { try SNSMessage.parse(body: Array(nested.utf8)) }
    }

    @Test func keepsTimestampsAndMessagesVerbatim() throws {
        let base = SNSInstant(iso8601: "2026-03-06T20:02:25Z")!.millisecondsSince1970
        let expectedMillis = [
            "2026-03-06T20:02:25.03Z": 30, "2026-03-06T20:02:25.038Z": 38, "2026-03-06T20:02:25.0380000Z": 38, "2026-03-06T20:02:25Z": 0,
        ]
        for (timestamp, millis) in expectedMillis {
            var envelope = TestEnvelope(type: .notification, message: "line one\nline \"two\" \u{1F6A8} \\ /", timestamp: timestamp)
            envelope.fields["Signature"] = "c2ln"
            let message = try SNSMessage.parse(body: envelope.body)
            #expect(message.timestamp == timestamp)
            #expect(message.message == "line one\nline \"two\" \u{1F6A8} \\ /")
            #expect(message.sentAt.millisecondsSince1970 == base + Int64(millis))
        }
        var bad = TestEnvelope(type: .notification, timestamp: "yesterday")
        bad.fields["Signature"] = "c2ln"
        #expect(parse(bad) == .malformedTimestamp("yesterday"))
    }
}

import Foundation
