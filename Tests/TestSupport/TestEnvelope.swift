import Foundation
import SNS

/// Builds SNS envelopes field by field and signs them the way SNS does, so a test can sign a
/// message and then change exactly one thing.
public struct TestEnvelope: Sendable {
    public var fields: [String: String]

    public init(
        type: SNSMessageType,
        topicARN: String = "arn:aws:sns:us-east-1:123456789012:device-defender-audits",
        message: String = #"{"accountId":"123456789012","taskId":"4e2bcd1ccbc2a5dd15292a82ab80c380"}"#,
        messageID: String = UUID().uuidString.lowercased(),
        subject: String? = nil,
        timestamp: String = SNSInstant(date: Date()).description,
        signatureVersion: String = "2",
        certificateURL: String = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
    ) {
        fields = [
            "Type": type.rawValue,
            "MessageId": messageID,
            "TopicArn": topicARN,
            "Message": message,
            "Timestamp": timestamp,
            "SignatureVersion": signatureVersion,
            "SigningCertURL": certificateURL,
        ]
        if let subject { fields["Subject"] = subject }
        switch type {
        case .notification:
            fields["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=\(topicARN):5f0e3b0c-1111-2222-3333-444455556666"
        case .subscriptionConfirmation, .unsubscribeConfirmation:
            let token = "2336412f37fb687f5d51e6e2425929f52e8e353134fd0284" + String(messageID.filter(\.isHexDigit).prefix(16))
            fields["Token"] = token
            fields["SubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=\(topicARN)&Token=\(token)"
            fields["Message"] = "You have chosen to subscribe to the topic \(topicARN).\nTo confirm the subscription, visit the SubscribeURL included in this message."
        }
    }

    public var messageID: String { fields["MessageId"]! }

    /// Signs the current fields with `identity` and stores the signature.
    public mutating func sign(with identity: TestSigningIdentity = .shared) throws {
        if fields["Signature"] == nil { fields["Signature"] = "placeholder" }
        let message = try SNSMessage.parse(body: body)
        fields["Signature"] = try identity.sign(message.stringToSign, signatureVersion: fields["SignatureVersion"] ?? "2")
    }

    public func signed(with identity: TestSigningIdentity = .shared) throws -> TestEnvelope {
        var copy = self
        try copy.sign(with: identity)
        return copy
    }

    /// The JSON body as SNS posts it.
    public var body: [UInt8] {
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        return Array(data)
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
