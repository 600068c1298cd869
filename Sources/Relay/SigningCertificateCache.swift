import Curl
import Logging
import SNS
import Synchronization

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
/// A hit is a dictionary lookup under a lock: every SNS message asks, and an actor hop per
/// message cost a thread switch under load.
///
/// Callers must have checked the URL against `SigningCertificateURLPolicy`; the cache checks it
/// again before connecting, so no code path can fetch a URL the policy refuses.
public final class SigningCertificateCache: Sendable {
    public typealias Outcome = Result<SigningCertificate, CertificateFetchFailure>

    private struct Entry {
        var result: Outcome
        var expiresAt: ContinuousClock.Instant
        var lastUsed: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// URLs being fetched, with the callers waiting for that fetch.
        var waiters: [String: [CheckedContinuation<Outcome, Never>]] = [:]
        var useCounter: UInt64 = 0
    }

    private let curl: CurlClient
    private let urlPolicy: SigningCertificateURLPolicy
    private let acceptedNames: [AmazonHostPattern]
    private let capacity: Int
    private let lifetime: Duration
    private let negativeLifetime: Duration
    private let logger: Logger
    private let state = Mutex(State())

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

    public func certificate(for url: String) async -> Outcome {
        enum Step { case known(Outcome), wait, fetch }
        let now = ContinuousClock.now
        let step = state.withLock { state -> Step in
            state.useCounter += 1
            if var entry = state.entries[url], entry.expiresAt > now {
                entry.lastUsed = state.useCounter
                state.entries[url] = entry
                return .known(entry.result)
            }
            if state.waiters[url] != nil { return .wait }
            state.waiters[url] = []
            return .fetch
        }
        switch step {
        case .known(let result):
            return result
        case .wait:
            return await withCheckedContinuation { continuation in
                // The fetch may have finished since: then its result is stored (or, when the
                // host was unavailable, nothing is, and this caller tries again).
                let ready = state.withLock { state -> Outcome?? in
                    if state.waiters[url] != nil {
                        state.waiters[url]!.append(continuation)
                        return nil
                    }
                    return .some(state.entries[url]?.result)
                }
                if let ready { continuation.resume(returning: ready ?? .failure(.unavailable("the signing certificate could not be fetched; SNS will retry"))) }
            }
        case .fetch:
            let result = await fetch(url)
            let waiting = state.withLock { state -> [CheckedContinuation<Outcome, Never>] in
                switch result {
                case .success:
                    store(url, result, for: lifetime, in: &state)
                case .failure(.rejected):
                    store(url, result, for: negativeLifetime, in: &state)
                case .failure(.unavailable):
                    state.entries[url] = nil
                }
                return state.waiters.removeValue(forKey: url) ?? []
            }
            for waiter in waiting { waiter.resume(returning: result) }
            return result
        }
    }

    private func store(_ url: String, _ result: Outcome, for duration: Duration, in state: inout State) {
        if state.entries[url] == nil, state.entries.count >= capacity,
           let oldest = state.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            state.entries[oldest] = nil
        }
        state.entries[url] = Entry(result: result, expiresAt: .now + duration, lastUsed: state.useCounter)
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
