import Foundation

/// One rule from `sns.cert_url_hosts`, `sns.cert_url_paths` or `sns.cert_names`: a regular
/// expression that must match the whole host, path or name, never a part of it.
///
/// `NSRegularExpression` is immutable and documented as safe to share between threads, hence
/// the unchecked `Sendable`.
public struct WholeMatchPattern: @unchecked Sendable, CustomStringConvertible {
    public let description: String
    private let regex: NSRegularExpression
    private let verdicts = BoundedMemo<Bool>(capacity: WholeMatchPattern.rememberedHosts)

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

    /// A region name: `us-east-1`, `cn-north-1`, `us-gov-west-1`, `us-isob-east-1`.
    public static let regionPattern = #"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"#

    /// `sns.<region>.amazonaws.com` and `sns.cn-<...>.amazonaws.com.cn`: the SNS endpoint of
    /// every commercial, GovCloud and China region, and nothing else. A looser pattern such as
    /// `sns\.[a-z0-9-]+\.amazonaws\.com` also matches `sns.s3.amazonaws.com`: the endpoint of
    /// an S3 bucket named `sns`, whose owner could serve any certificate from it.
    public static let defaultCertificateHosts = [
        #"sns\."# + regionPattern + #"\.amazonaws\.com"#,
        #"sns\.cn-[a-z]+-[0-9]{1,2}\.amazonaws\.com\.cn"#,
    ]

    /// The path SNS names its certificates by: `/SimpleNotificationService-<32 hex digits>.pem`.
    public static let defaultCertificatePaths = [#"/SimpleNotificationService-[0-9a-f]{32}\.pem"#]

    /// The subject names SNS signing certificates carry: `sns.amazonaws.com` and
    /// `sns-signing.<region>.amazonaws.com`, with their China-partition variants.
    public static let defaultCertificateNames = [
        #"sns\.amazonaws\.com(\.cn)?"#,
        #"sns-signing\."# + regionPattern + #"\.amazonaws\.com(\.cn)?"#,
    ]
}

extension Array where Element == WholeMatchPattern {
    func anyMatches(_ host: String) -> Bool { contains { $0.matches(host) } }
}
