/// A strictly parsed `https://host/path?query` URL.
///
/// Parsing is deliberately narrower than RFC 3986: a URL that two parsers could read
/// differently (backslashes, percent-encoding or spaces in the host, `@` anywhere before the
/// path, a port) is refused, so that the host we judge is the host libcurl connects to.
public struct AWSEndpointURL: Sendable, Equatable {
    /// Lowercased.
    public var host: String
    /// Starts with `/`.
    public var path: String
    public var query: String?

    /// Characters allowed anywhere in the URL: unreserved, sub-delims, `:/?@%` and `=&`.
    private static let allowedBytes: Set<UInt8> = Set(
        Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:/?@%".utf8)
    )

    public static func parse(_ text: String) -> Result<AWSEndpointURL, AWSURLViolation> {
        // Byte-level checks throughout: this runs for every message, and String's generic
        // `contains` and `lowercased` cost more than the rest of the parse.
        let scheme = Array("https://".utf8)
        let asciiLowercased = { (byte: UInt8) -> UInt8 in (65...90).contains(byte) ? byte + 32 : byte }
        guard text.utf8.count >= scheme.count, zip(text.utf8.prefix(scheme.count), scheme).allSatisfy({ asciiLowercased($0) == $1 }) else {
            return .failure(.notHTTPS)
        }
        guard text.utf8.count <= 2048, text.utf8.allSatisfy({ allowedBytes.contains($0) }) else {
            return text.utf8.contains(UInt8(ascii: "#")) ? .failure(.hasFragment) : .failure(.malformed)
        }
        let rest = text.dropFirst("https://".count)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[rest.startIndex..<authorityEnd]
        guard !authority.utf8.contains(UInt8(ascii: "@")) else { return .failure(.hasUserinfo) }
        var hostPart = Substring(authority)
        if let colon = authority.firstIndex(of: ":") {
            // Only an explicit default port is tolerated.
            guard authority[authority.index(after: colon)...] == "443" else { return .failure(.hasPort) }
            hostPart = authority[..<colon]
        }
        guard !hostPart.isEmpty,
              hostPart.utf8.allSatisfy({ byte in
                  (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57)
                      || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
              }),
              hostPart.utf8.last != UInt8(ascii: "."), hostPart.utf8.first != UInt8(ascii: "."),
              !zip(hostPart.utf8, hostPart.utf8.dropFirst()).contains(where: { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") })
        else { return .failure(.malformed) }
        let afterAuthority = rest[authorityEnd...]
        var path = "/"
        var query: String?
        if let questionMark = afterAuthority.firstIndex(of: "?") {
            let pathPart = afterAuthority[..<questionMark]
            path = pathPart.isEmpty ? "/" : String(pathPart)
            query = String(afterAuthority[afterAuthority.index(after: questionMark)...])
        } else if !afterAuthority.isEmpty {
            path = String(afterAuthority)
        }
        guard !path.utf8.contains(UInt8(ascii: "@")), !path.utf8.contains(UInt8(ascii: "%")),
              !path.split(separator: "/", omittingEmptySubsequences: false).contains("..")
        else {
            return .failure(.malformed)
        }
        return .success(AWSEndpointURL(host: hostPart.lowercased(), path: path, query: query))
    }

    /// One spelling per URL: scheme and host lower case, no default port. Two URLs that differ
    /// only in those name one resource, and must count as one (in a cache, in a budget).
    public var canonical: String {
        "https://" + host + path + (query.map { "?" + $0 } ?? "")
    }

    /// The region of an SNS endpoint host (`sns.REGION.amazonaws.com[.cn]`), else nil.
    public var snsRegion: String? {
        for suffix in [".amazonaws.com", ".amazonaws.com.cn"] where host.hasPrefix("sns.") && host.hasSuffix(suffix) {
            let region = host.dropFirst(4).dropLast(suffix.count)
            return region.isEmpty || region.contains(".") ? nil : String(region)
        }
        return nil
    }

    /// Nil unless `url` names an SNS regional endpoint of another region than the topic's. SNS
    /// always names its certificate and confirmation URLs on the topic's own endpoint; holding
    /// a sender to that leaves one certificate host per topic, not one per region (hosts that
    /// are not `sns.REGION.amazonaws.com`, allowed by a custom `sns.cert_url_hosts`, are not
    /// judged here).
    public static func regionMismatch(_ url: String, topicARN: String) -> AWSURLViolation? {
        guard case .success(let parsed) = parse(url), let hostRegion = parsed.snsRegion,
              let topic = TopicARN(topicARN), hostRegion != topic.region
        else { return nil }
        return .otherRegion(host: parsed.host, topicRegion: topic.region)
    }

    /// The query's parameters in order, with `+` and percent-escapes decoded.
    public var queryItems: [(name: String, value: String)] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? String(parts[1]) : ""
            return (AWSEndpointURL.percentDecoded(String(parts[0])), AWSEndpointURL.percentDecoded(value))
        }
    }

    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
