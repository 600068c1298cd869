/// Why a request body is not a usable SNS envelope. Every case is the sender's fault (HTTP 400):
/// SNS will not retry it, and the detail tells an operator what to change.
public enum SNSEnvelopeError: Error, Sendable, Equatable {
    /// Not a JSON object with SNS fields: the usual cause is raw message delivery.
    case notAnEnvelope
    case missingField(String)
    case illTypedField(String, expected: String)
    case unknownType(String)
    case malformedTimestamp(String)
    /// The `x-amz-sns-message-type` header names another type than the body.
    case typeHeaderMismatch(header: String, body: String)
    /// The body names one field twice: JSON readers disagree on which value counts, so SNS
    /// never sends it and the relay does not guess.
    case repeatedField(String)

    /// A stable code for JSON error bodies, logs and metric labels.
    public var code: String {
        switch self {
        case .notAnEnvelope: "raw_delivery_not_supported"
        case .missingField: "missing_field"
        case .illTypedField: "ill_typed_field"
        case .unknownType: "unknown_message_type"
        case .malformedTimestamp: "malformed_timestamp"
        case .typeHeaderMismatch: "message_type_mismatch"
        case .repeatedField: "repeated_field"
        }
    }

    /// A sentence for the person reading the error.
    public var detail: String {
        switch self {
        case .notAnEnvelope:
            "The body is not an SNS envelope, so it carries no signature to verify. This is what raw message delivery sends: turn raw message delivery off for this subscription (RawMessageDelivery=false)."
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
        case .repeatedField(let name):
            "The body names the field '\(name.prefix(64))' more than once; SNS never does, and readers disagree on which value would count."
        }
    }
}
