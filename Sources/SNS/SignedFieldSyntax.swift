/// The syntax of the signed envelope fields other than Message, checked when the envelope is
/// parsed, before anything else looks at them.
///
/// SNS signs `Name\nValue\n` lines joined without escaping, so the signature alone does not
/// tell where one field ends: only Message may hold a newline, and every other signed field
/// must be unable to. Each check names the field and the rule, for the 400 answer.
enum SignedFieldSyntax {
    /// The longest MessageId accepted: SNS sends UUIDs (36 characters).
    static let maxMessageIDBytes = 128
    /// The longest Token accepted: SNS sends 256 hexadecimal digits or so.
    static let maxTokenBytes = 2048

    /// Nil when `value` is acceptable for the signed field `name`; else why not.
    static func problem(field name: String, value: String) -> String? {
        switch name {
        case "TopicArn":
            return TopicARN(value) == nil ? "it is not an SNS topic ARN (\(TopicARN.syntax))" : nil
        case "MessageId":
            return visibleASCII(value, max: maxMessageIDBytes)
        case "Token":
            return visibleASCII(value, max: maxTokenBytes)
        case "SubscribeURL":
            return visibleASCII(value, max: 4096)
        case "Subject":
            // AWS refuses line breaks and control characters in a Subject at publish time.
            return value.utf8.contains(where: isControl) ? "it contains a line break or control character" : nil
        default:
            return nil
        }
    }

    /// Printable ASCII without spaces, 1 to `max` bytes.
    private static func visibleASCII(_ value: String, max: Int) -> String? {
        guard !value.isEmpty else { return "it is empty" }
        guard value.utf8.count <= max else { return "it is longer than \(max) bytes" }
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return "it contains a space, control character or non-ASCII byte"
        }
        return nil
    }

    static func isControl(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7F }
}
