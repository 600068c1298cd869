/// Why a Message is not a Device Defender payload of a given kind. Not an error of the relay:
/// such a message is stored as unrecognized, with this as the reason.
public enum PayloadDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case notJSON
    case notAnObject
    case missingKey(String)
    case wrongType(key: String, expected: String)
    case valueOutsideSchema(key: String, value: String)

    public var description: String {
        switch self {
        case .notJSON: "the message is not JSON"
        case .notAnObject: "the message is not a JSON object"
        case .missingKey(let key): "required key \(key) is missing"
        case .wrongType(let key, let expected): "\(key) must be \(expected)"
        case .valueOutsideSchema(let key, let value): "\(key) '\(value.prefix(64))' is not a value the schema allows"
        }
    }
}
