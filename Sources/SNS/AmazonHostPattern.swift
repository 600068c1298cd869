import Foundation

/// One allowed-host rule from `sns.cert_url_hosts` (or a certificate name from `sns.cert_names`):
/// a regular expression that must match the whole host, never a part of it.
///
/// `NSRegularExpression` is immutable and documented as safe to share between threads, hence
/// the unchecked `Sendable`.
public struct AmazonHostPattern: @unchecked Sendable, CustomStringConvertible {
    public let description: String
    private let regex: NSRegularExpression
    private let verdicts = BoundedMemo<Bool>(capacity: AmazonHostPattern.rememberedHosts)

    /// Throws when `pattern` is not a valid regular expression.
    public init(_ pattern: String) throws {
        self.description = pattern
        // A leading ^ and trailing $ are accepted but redundant: matching is always whole.
        self.regex = try NSRegularExpression(pattern: "^(?:\(pattern))$")
    }

    /// Whole-host match. Verdicts for recent hosts are remembered (every message names its
    /// certificate host, nearly always the same one, and a regular expression match costs more
    /// than the rest of the URL checks).
    public func matches(_ host: String) -> Bool {
        verdicts.answer(for: host) {
            let range = NSRange(host.startIndex..<host.endIndex, in: host)
            return regex.firstMatch(in: host, options: [.anchored], range: range)?.range == range
        }
    }

    /// How many verdicts are remembered at most: past that the memo starts over, so a sender
    /// naming ever new hosts costs a match each, never memory.
    public static let rememberedHosts = 256

    /// How many verdicts are remembered now (for tests).
    public var rememberedCount: Int { verdicts.count }

    /// `^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`: every commercial and China region.
    public static let defaultCertificateHosts = [#"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"#]

    /// The subject names SNS signing certificates carry: `sns.amazonaws.com` and
    /// `sns-signing.<region>.amazonaws.com`, with their China-partition variants.
    public static let defaultCertificateNames = [
        #"^sns\.amazonaws\.com(\.cn)?$"#,
        #"^sns-signing\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"#,
    ]
}

extension Array where Element == AmazonHostPattern {
    func anyMatches(_ host: String) -> Bool { contains { $0.matches(host) } }
}
