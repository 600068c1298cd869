import JSON

extension SNSMessage {
    /// The fields whose presence marks a JSON object as an SNS envelope rather than a raw payload.
    private static let envelopeMarkers = ["Type", "Signature", "SigningCertURL", "SignatureVersion"]

    /// Parses the body SNS posted. The content type is ignored on purpose: SNS sends
    /// `text/plain; charset=UTF-8` by default and `application/json` when configured so.
    ///
    /// The body is read by the relay's strict JSON reader: invalid UTF-8, lone surrogates and
    /// repeated keys make it no envelope at all, so no field can mean one thing to this parser
    /// and another to the signer.
    ///
    /// - Parameter headers: the `x-amz-sns-*` headers sent with the body; each one present must
    ///   agree with its field.
    public static func parse(body: [UInt8], headers: SNSDeliveryHeaders = SNSDeliveryHeaders()) throws(SNSEnvelopeError) -> SNSMessage {
        let document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            if let key = error.repeatedKey { throw .repeatedField(key) }
            // A body that starts as a JSON object but is not one was meant as an envelope: say
            // what is wrong with it. Anything else is most likely a raw delivery.
            if body.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") {
                throw .malformedJSON(error.description)
            }
            throw .notAnEnvelope
        }
        guard case .object(let fields) = document, envelopeMarkers.contains(where: { fields[$0] != nil }) else {
            throw .notAnEnvelope
        }

        func string(_ name: String) throws(SNSEnvelopeError) -> String {
            guard let value = try optionalString(name) else { throw .missingField(name) }
            return value
        }
        func optionalString(_ name: String) throws(SNSEnvelopeError) -> String? {
            switch fields[name] {
            case .none, .null?: return nil
            case .string(let value)?: return value
            case let other?: throw .illTypedField(name, expected: "a string, not \(other.typeName)")
            }
        }

        let typeName = try string("Type")
        guard let type = SNSMessageType(rawValue: typeName) else { throw .unknownType(typeName) }
        if let typeHeader = headers.messageType, typeHeader != typeName {
            throw .typeHeaderMismatch(header: typeHeader, body: typeName)
        }
        let timestamp = try string("Timestamp")
        guard let sentAt = SNSInstant(iso8601: timestamp) else { throw .malformedTimestamp(timestamp) }
        let attributes = fields["MessageAttributes"]
        switch attributes {
        case .none, .object?, .null?: break
        case let other?: throw .illTypedField("MessageAttributes", expected: "an object, not \(other.typeName)")
        }

        var message = SNSMessage(
            type: type,
            messageID: try string("MessageId"),
            topicARN: try string("TopicArn"),
            // Only a Notification signs its Subject: on another type it would be an unsigned
            // value stored as if it were, so it is not read at all.
            subject: type == .notification ? try optionalString("Subject") : nil,
            message: try string("Message"),
            timestamp: timestamp,
            sentAt: sentAt,
            signatureVersion: try string("SignatureVersion"),
            signature: try string("Signature"),
            signingCertURL: try string("SigningCertURL"),
            unsubscribeURL: try optionalString("UnsubscribeURL"),
            hasMessageAttributes: attributes.map { $0 != .null } ?? false
        )
        switch type {
        case .notification:
            break
        case .subscriptionConfirmation, .unsubscribeConfirmation:
            message.subscribeURL = try string("SubscribeURL")
            message.token = try string("Token")
        }
        guard !message.messageID.isEmpty else { throw .missingField("MessageId") }
        guard !message.topicARN.isEmpty else { throw .missingField("TopicArn") }
        let signedFields: [(String, String?)] = [
            ("MessageId", message.messageID), ("TopicArn", message.topicARN), ("Subject", message.subject),
            ("SubscribeURL", message.subscribeURL), ("Token", message.token),
        ]
        for case let (name, value?) in signedFields {
            if let problem = SignedFieldSyntax.problem(field: name, value: value) {
                throw .malformedField(name, reason: problem)
            }
        }
        if let header = headers.topicARN, header != message.topicARN {
            throw .headerMismatch(name: "x-amz-sns-topic-arn", header: header, body: message.topicARN)
        }
        if let header = headers.messageID, header != message.messageID {
            throw .headerMismatch(name: "x-amz-sns-message-id", header: header, body: message.messageID)
        }
        return message
    }
}
