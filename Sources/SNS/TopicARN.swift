/// An SNS topic ARN, `arn:PARTITION:sns:REGION:ACCOUNT:NAME`, parsed strictly.
///
/// The TopicArn is signed, but the signature covers `Name\nValue\n` lines joined without
/// escaping: a signed field that may hold a newline lets someone re-cut a message signed for
/// their own topic into one that names ours. A TopicArn that passes here holds no newline, no
/// control character and exactly six `:`-separated parts, so the string to sign has one reading.
public struct TopicARN: Sendable, Equatable, CustomStringConvertible {
    /// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`, ...
    public let partition: String
    /// Region-shaped: `us-east-1`, `cn-north-1`, `us-gov-west-1`, `us-isob-east-1`.
    public let region: String
    /// Twelve digits.
    public let accountID: String
    /// 1 to 256 of `A-Z a-z 0-9 _ -`, with `.fifo` at the end of a FIFO topic's name.
    public let name: String

    public var description: String { "arn:\(partition):sns:\(region):\(accountID):\(name)" }

    /// Nil unless `text` is an SNS topic ARN in the syntax AWS documents.
    public init?(_ text: String) {
        let parts = Array(text.utf8).split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map(Array.init)
        guard parts.count == 6, parts[0].elementsEqual("arn".utf8), parts[2].elementsEqual("sns".utf8),
              TopicARN.isPartition(parts[1]), TopicARN.isRegion(parts[3]), TopicARN.isAccountID(parts[4]),
              TopicARN.isTopicName(parts[5])
        else { return nil }
        partition = String(decoding: parts[1], as: UTF8.self)
        region = String(decoding: parts[3], as: UTF8.self)
        accountID = String(decoding: parts[4], as: UTF8.self)
        name = String(decoding: parts[5], as: UTF8.self)
    }

    /// What a TopicArn must look like, for error messages.
    public static let syntax = "arn:PARTITION:sns:REGION:ACCOUNT(12 digits):NAME"

    static func isLowercaseWord(_ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
    }

    /// `aws` optionally followed by up to two `-word` parts.
    static func isPartition(_ bytes: [UInt8]) -> Bool {
        let words = bytes.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false).map(Array.init)
        return (1...3).contains(words.count) && words[0].elementsEqual("aws".utf8) && words.allSatisfy { isLowercaseWord($0) }
    }

    /// `[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}`.
    public static func isRegion(_ bytes: [UInt8]) -> Bool {
        let words = bytes.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false).map(Array.init)
        guard words.count == 3 || words.count == 4,
              words[0].count == 2, isLowercaseWord(words[0]),
              isLowercaseWord(words[words.count - 2]),
              (1...2).contains(words[words.count - 1].count),
              words[words.count - 1].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return false }
        if words.count == 4 {
            let qualifier = words[1]
            let isISO = qualifier.starts(with: "iso".utf8) && qualifier.count <= 4 && isLowercaseWord(qualifier)
            guard qualifier.elementsEqual("gov".utf8) || isISO else { return false }
        }
        return true
    }

    static func isAccountID(_ bytes: [UInt8]) -> Bool {
        bytes.count == 12 && bytes.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// AWS: "Topic names must be made up of only uppercase and lowercase ASCII letters,
    /// numbers, underscores, and hyphens, and must be between 1 and 256 characters long";
    /// FIFO topic names end in `.fifo`.
    static func isTopicName(_ bytes: [UInt8]) -> Bool {
        var name = bytes
        if name.count > 5, name.suffix(5).elementsEqual(".fifo".utf8) { name.removeLast(5) }
        return (1...256).contains(name.count) && name.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}
