/// Why a request body is not a usable SNS envelope. Every case is the sender's fault (HTTP 400):
/// SNS will not retry it, and the detail tells an operator what to change.
public enum SNSEnvelopeError: Error, Sendable, Equatable {
    /// Not a JSON object with SNS fields: the usual cause is raw message delivery.
    case notAnEnvelope
    /// The body starts as a JSON object but is not valid JSON as the relay reads it (invalid
    /// UTF-8, a lone surrogate, nesting deeper than 64, a number longer than 64 characters ...).
    case malformedJSON(String)
    case missingField(String)
    case illTypedField(String, expected: String)
    case unknownType(String)
    case malformedTimestamp(String)
    /// The `x-amz-sns-message-type` header names another type than the body.
    case typeHeaderMismatch(header: String, body: String)
    /// `x-amz-sns-topic-arn` or `x-amz-sns-message-id` names another value than the body.
    case headerMismatch(name: String, header: String, body: String)
    /// The body names one field twice: JSON readers disagree on which value counts, so SNS
    /// never sends it and the relay does not guess.
    case repeatedField(String)
    /// A signed field breaks its syntax (`SignedFieldSyntax`): a TopicArn that is no ARN, a
    /// MessageId or Token with a control character. Such a field is how a message signed for
    /// one topic would be re-cut into one that names another.
    case malformedField(String, reason: String)

    /// A stable code for JSON error bodies, logs and metric labels.
    public var code: String {
        switch self {
        case .notAnEnvelope: "raw_delivery_not_supported"
        case .malformedJSON: "malformed_json"
        case .missingField: "missing_field"
        case .illTypedField: "ill_typed_field"
        case .unknownType: "unknown_message_type"
        case .malformedTimestamp: "malformed_timestamp"
        case .typeHeaderMismatch: "message_type_mismatch"
        case .headerMismatch: "header_mismatch"
        case .repeatedField: "repeated_field"
        case .malformedField: "malformed_field"
        }
    }

    /// A sentence for the person reading the error.
    public var detail: String {
        switch self {
        case .notAnEnvelope:
            "The body is not an SNS envelope, so it carries no signature to verify. This is what raw message delivery sends: turn raw message delivery off for this subscription (RawMessageDelivery=false)."
        case .malformedJSON(let reason):
            "The body is not a JSON document the relay accepts: \(reason.prefix(200))."
        case .missingField(let name):
            "The SNS envelope has no \(name) field, which this message type requires."
        case .illTypedField(let name, let expected):
            "The SNS envelope field \(name) must be \(expected)."
        case .unknownType(let type):
            "The SNS message Type '\(type.prefix(64))' is not one of Notification, SubscriptionConfirmation, UnsubscribeConfirmation."
        case .malformedTimestamp(let value):
            "The SNS Timestamp '\(value.prefix(64))' is not an ISO 8601 UTC time."
        case .typeHeaderMismatch(let header, let body):
            "The x-amz-sns-message-type header says '\(header.prefix(64))' but the body's Type is '\(body.prefix(64))'."
        case .headerMismatch(let name, let header, let body):
            "The \(name) header says '\(header.prefix(128))' but the body says '\(body.prefix(128))'; SNS always sends them equal."
        case .repeatedField(let name):
            "The body names the field '\(name.prefix(64))' more than once; SNS never does, and readers disagree on which value would count."
        case .malformedField(let name, let reason):
            "The SNS envelope field \(name) is malformed: \(reason)."
        }
    }
}
