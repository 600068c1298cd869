import Curl
import Logging
import SNS

/// Why no signing certificate could be had for a URL.
public enum CertificateFetchFailure: Error, Sendable, Equatable {
    /// The URL or what it served is not acceptable: the message is refused (403).
    case rejected(SNSRejection)
    /// The certificate host is unreachable, slow or failing: SNS should retry (503).
    case unavailable(String)
}

/// Fetches SNS signing certificates through `Curl` and keeps them, bounded and per URL, so that
/// a burst of messages costs one fetch. Concurrent misses for one URL share a single fetch.
///
/// Callers must have checked the URL against `SigningCertificateURLPolicy`; the cache checks it
/// again before connecting, so no code path can fetch a URL the policy refuses.
public actor SigningCertificateCache {
    private struct Entry {
        var result: Result<SigningCertificate, CertificateFetchFailure>
        var expiresAt: ContinuousClock.Instant
        var lastUsed: UInt64
    }

    private let curl: CurlClient
    private let urlPolicy: SigningCertificateURLPolicy
    private let acceptedNames: [AmazonHostPattern]
    private let capacity: Int
    private let lifetime: Duration
    private let negativeLifetime: Duration
    private let logger: Logger
    private var entries: [String: Entry] = [:]
    private var waiters: [String: [CheckedContinuation<Result<SigningCertificate, CertificateFetchFailure>, Never>]] = [:]
    private var useCounter: UInt64 = 0

    /// The largest certificate document accepted; real ones are about 2 KiB.
    public static let maxCertificateBytes = 16 * 1024

    public init(
        curl: CurlClient, urlPolicy: SigningCertificateURLPolicy, acceptedNames: [AmazonHostPattern],
        capacity: Int = 64, lifetime: Duration = .seconds(24 * 3600), negativeLifetime: Duration = .seconds(60),
        logger: Logger
    ) {
        self.curl = curl
        self.urlPolicy = urlPolicy
        self.acceptedNames = acceptedNames
        self.capacity = capacity
        self.lifetime = lifetime
        self.negativeLifetime = negativeLifetime
        self.logger = logger
    }

    public func certificate(for url: String) async -> Result<SigningCertificate, CertificateFetchFailure> {
        useCounter += 1
        if var entry = entries[url], entry.expiresAt > .now {
            entry.lastUsed = useCounter
            entries[url] = entry
            return entry.result
        }
        if waiters[url] != nil {
            return await withCheckedContinuation { continuation in
                waiters[url, default: []].append(continuation)
            }
        }
        waiters[url] = []
        let result = await fetch(url)
        switch result {
        case .success:
            store(url, result, for: lifetime)
        case .failure(.rejected):
            store(url, result, for: negativeLifetime)
        case .failure(.unavailable):
            entries[url] = nil
        }
        for waiter in waiters.removeValue(forKey: url) ?? [] {
            waiter.resume(returning: result)
        }
        return result
    }

    private func store(_ url: String, _ result: Result<SigningCertificate, CertificateFetchFailure>, for duration: Duration) {
        if entries[url] == nil, entries.count >= capacity,
           let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            entries[oldest] = nil
        }
        entries[url] = Entry(result: result, expiresAt: .now + duration, lastUsed: useCounter)
    }

    private func fetch(_ url: String) async -> Result<SigningCertificate, CertificateFetchFailure> {
        if let violation = urlPolicy.check(url) {
            return .failure(.rejected(.certificateURLRejected(url: url, reason: violation)))
        }
        let response: CurlResponse
        do {
            response = try await curl.perform(CurlRequest(url: url, maxResponseBytes: Self.maxCertificateBytes))
        } catch .responseTooLarge(let limit) {
            return .failure(.rejected(.certificateUnusable(reason: "the certificate document is larger than \(limit) bytes")))
        } catch {
            logger.warning("signing certificate fetch failed", metadata: ["cert_url": "\(url)", "error": "\(error)"])
            return .failure(.unavailable("fetching the signing certificate failed: \(error)"))
        }
        switch response.status {
        case 200:
            return SigningCertificate.parse(pem: response.bodyText, acceptedNames: acceptedNames)
                .mapError { .rejected($0) }
        case 500...599, 429, 408:
            return .failure(.unavailable("the certificate host answered HTTP \(response.status)"))
        default:
            return .failure(.rejected(.certificateUnusable(reason: "the certificate host answered HTTP \(response.status)")))
        }
    }
}
