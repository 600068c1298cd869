/// The topics whose messages are accepted (`sns.allowed_topics`): exact ARNs or globs where `*`
/// stands for any run of characters within one ARN part. Empty means nothing is accepted.
///
/// A `*` never matches `:` or a control character, so `arn:aws:sns:eu-west-1:123456789012:*`
/// means "any topic of that account in that region" and nothing else. Each pattern names its
/// partition, `sns` and its account exactly (`problem(with:)`): a wildcard account would
/// accept topics anyone can create.
public struct AllowedTopics: Sendable, Equatable {
    public let patterns: [String]

    public init(_ patterns: [String]) {
        self.patterns = patterns
    }

    /// Every topic of every account: for judging a message offline (`defender-relay verify`),
    /// never for serving.
    public static let anyTopic = AllowedTopics(["arn:*:sns:*:*:*"])

    public func allows(_ topicARN: String) -> Bool {
        patterns.contains { AllowedTopics.glob($0, matches: topicARN) }
    }

    /// Nil when `pattern` is a usable entry: `arn:PARTITION:sns:REGION:ACCOUNT:NAME` with an
    /// exact partition and 12-digit account, and `*` only in the region and the name.
    public static func problem(with pattern: String) -> String? {
        let parts = pattern.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sns" else {
            return "'\(pattern.prefix(256))' is not a topic ARN pattern (\(TopicARN.syntax), * allowed in REGION and NAME)"
        }
        guard TopicARN.isPartition(Array(parts[1].utf8)) else {
            return "'\(pattern.prefix(256))' names no exact partition (aws, aws-cn, aws-us-gov, ...)"
        }
        guard TopicARN.isAccountID(Array(parts[4].utf8)) else {
            return "'\(pattern.prefix(256))' must name its 12-digit account exactly: a wildcard account would accept topics anyone can create"
        }
        guard !pattern.utf8.contains(where: SignedFieldSyntax.isControl) else {
            return "'\(pattern.prefix(256))' contains a control character"
        }
        return nil
    }

    /// Iterative glob match with backtracking over the last `*`; linear in practice, no regex.
    /// A `*` matches no `:` and no control character.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        let star = UInt8(ascii: "*")
        var pi = 0
        var ti = 0
        var starIndex = -1
        var matchIndex = 0
        while ti < t.count {
            if pi < p.count, p[pi] != star, p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == star {
                starIndex = pi
                matchIndex = ti
                pi += 1
            } else if starIndex >= 0, t[matchIndex] != UInt8(ascii: ":"), !SignedFieldSyntax.isControl(t[matchIndex]) {
                // Let the last `*` swallow one more byte, unless that byte is one it may not match.
                pi = starIndex + 1
                matchIndex += 1
                ti = matchIndex
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == star { pi += 1 }
        return pi == p.count
    }
}
