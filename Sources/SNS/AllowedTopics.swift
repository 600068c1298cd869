/// The topics whose messages are accepted (`sns.allowed_topics`): exact ARNs or globs where `*`
/// stands for any run of characters. Empty means nothing is accepted.
public struct AllowedTopics: Sendable, Equatable {
    public let patterns: [String]

    public init(_ patterns: [String]) {
        self.patterns = patterns
    }

    public func allows(_ topicARN: String) -> Bool {
        patterns.contains { AllowedTopics.glob($0, matches: topicARN) }
    }

    /// Iterative glob match with backtracking over the last `*`; linear in practice, no regex.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        var pi = 0
        var ti = 0
        var starIndex = -1
        var matchIndex = 0
        while ti < t.count {
            if pi < p.count, p[pi] != UInt8(ascii: "*"), p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                starIndex = pi
                matchIndex = ti
                pi += 1
            } else if starIndex >= 0 {
                pi = starIndex + 1
                matchIndex += 1
                ti = matchIndex
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
