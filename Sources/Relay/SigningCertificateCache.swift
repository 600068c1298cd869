import Curl
import Logging
import SNS
import Synchronization

/// Why no signing certificate could be had for a URL.
public enum CertificateFetchFailure: Error, Sendable, Equatable {
    /// The URL or what it served is not acceptable: the message is refused (403).
    case rejected(SNSRejection)
    /// The certificate host is unreachable, slow or failing: SNS should retry (503). The reason
    /// is for the log only: it can hold libcurl's text (internal hosts, proxies).
    case unavailable(String)
    /// Too many certificate fetches are under way or waiting, or too many new certificate URLs
    /// were named lately: SNS should retry (503).
    case busy(String)
}

/// Fetches SNS signing certificates through its own `Curl` client and keeps them, so that a
/// burst of messages costs one fetch. Concurrent misses for one URL share a single fetch.
///
/// Before the signature is checked, all a sender has to get past is an unsigned TopicArn and
/// the URL policy, so everything a sender can make this cache spend is bounded:
/// - certificates that verified live in their own LRU (`capacity`), which failures never
///   touch: naming many bad URLs cannot evict the good certificate;
/// - failures are remembered briefly in a separate bounded table (`rejectedLifetime`,
///   `unavailableLifetime`), so repeating a bad URL costs no fetch;
/// - at most `maxConcurrentFetches` fetches run and `maxQueuedFetches` wait; past that the
///   answer is `busy` (503: SNS retries);
/// - URLs not seen before are admitted at `newURLsPerMinute` per host and
///   `newURLsPerMinuteTotal` overall.
///
/// A hit is a dictionary lookup under a lock: every SNS message asks, and an actor hop per
/// message cost a thread switch under load.
///
/// Callers must have checked the URL against `SigningCertificateURLPolicy`; the cache checks it
/// again before connecting, so no code path can fetch a URL the policy refuses.
public final class SigningCertificateCache: Sendable {
    public typealias Outcome = Result<SigningCertificate, CertificateFetchFailure>

    /// The bounds; the defaults suit one relay in front of any number of topics.
    public struct Limits: Sendable {
        public var capacity = 64
        public var lifetime: Duration = .seconds(24 * 3600)
        public var failureCapacity = 1024
        public var rejectedLifetime: Duration = .seconds(300)
        public var unavailableLifetime: Duration = .seconds(5)
        public var maxConcurrentFetches = 4
        public var maxQueuedFetches = 32
        public var newURLsPerMinute = 10
        public var newURLsPerMinuteTotal = 60
        /// Hosts whose rate is tracked at once; past that the oldest window is forgotten.
        public var trackedHosts = 256

        public init() {}
    }

    private struct Known {
        var certificate: SigningCertificate
        var expiresAt: ContinuousClock.Instant
        var lastUsed: UInt64
    }

    private struct Failure {
        var failure: CertificateFetchFailure
        var expiresAt: ContinuousClock.Instant
    }

    /// New URLs admitted in the current minute.
    private struct Window {
        var startedAt: ContinuousClock.Instant
        var count: Int
    }

    private struct State {
        var known: [String: Known] = [:]
        var failures: [String: Failure] = [:]
        /// URLs being fetched or queued, with the callers waiting for that fetch.
        var waiters: [String: [CheckedContinuation<Outcome, Never>]] = [:]
        var running = 0
        /// Fetches waiting for a slot, oldest first.
        var queue: [CheckedContinuation<Void, Never>] = []
        var perHost: [String: Window] = [:]
        var total = Window(startedAt: .now, count: 0)
        var useCounter: UInt64 = 0
    }

    private let curl: CurlClient
    private let urlPolicy: SigningCertificateURLPolicy
    private let acceptedNames: [WholeMatchPattern]
    private let limits: Limits
    private let logger: Logger
    private let state = Mutex(State())

    /// The largest certificate document accepted; real ones are about 2 KiB.
    public static let maxCertificateBytes = 16 * 1024

    /// What a caller may show to whoever sent the message when the host could not be reached.
    public static let unavailableSentence = "The signing certificate could not be fetched from AWS just now; SNS will retry."

    public init(
        curl: CurlClient, urlPolicy: SigningCertificateURLPolicy, acceptedNames: [WholeMatchPattern],
        limits: Limits = Limits(), logger: Logger
    ) {
        self.curl = curl
        self.urlPolicy = urlPolicy
        self.acceptedNames = acceptedNames
        self.limits = limits
        self.logger = logger
    }

    public func certificate(for url: String) async -> Outcome {
        enum Step { case known(Outcome), wait, fetch }
        let now = ContinuousClock.now
        let step = state.withLock { state -> Step in
            state.useCounter += 1
            if var entry = state.known[url], entry.expiresAt > now {
                entry.lastUsed = state.useCounter
                state.known[url] = entry
                return .known(.success(entry.certificate))
            }
            if let failure = state.failures[url], failure.expiresAt > now {
                return .known(.failure(failure.failure))
            }
            if state.waiters[url] != nil { return .wait }
            if let refusal = admit(url, now: now, in: &state) { return .known(.failure(refusal)) }
            state.waiters[url] = []
            return .fetch
        }
        switch step {
        case .known(let result):
            return result
        case .wait:
            return await withCheckedContinuation { continuation in
                // The fetch may have finished since: then its outcome is stored.
                let ready = state.withLock { state -> Outcome? in
                    if state.waiters[url] != nil {
                        state.waiters[url]!.append(continuation)
                        return nil
                    }
                    if let known = state.known[url] { return .success(known.certificate) }
                    return .failure(state.failures[url]?.failure ?? .unavailable("the fetch ended without an outcome"))
                }
                if let ready { continuation.resume(returning: ready) }
            }
        case .fetch:
            await acquireSlot()
            let result = await fetch(url)
            releaseSlot()
            let waiting = state.withLock { state -> [CheckedContinuation<Outcome, Never>] in
                let now = ContinuousClock.now
                switch result {
                case .success(let certificate):
                    remember(url, certificate, now: now, in: &state)
                case .failure(let failure):
                    let lifetime: Duration
                    switch failure {
                    case .rejected: lifetime = limits.rejectedLifetime
                    case .unavailable, .busy: lifetime = limits.unavailableLifetime
                    }
                    if state.failures[url] == nil, state.failures.count >= limits.failureCapacity {
                        state.failures = state.failures.filter { $0.value.expiresAt > now }
                        if state.failures.count >= limits.failureCapacity, let any = state.failures.first?.key {
                            state.failures[any] = nil
                        }
                    }
                    state.failures[url] = Failure(failure: failure, expiresAt: now + lifetime)
                }
                return state.waiters.removeValue(forKey: url) ?? []
            }
            for waiter in waiting { waiter.resume(returning: result) }
            return result
        }
    }

    /// Whether a URL not seen before may start a fetch now: nil, yes; else why not.
    private func admit(_ url: String, now: ContinuousClock.Instant, in state: inout State) -> CertificateFetchFailure? {
        guard state.running + state.queue.count < limits.maxConcurrentFetches + limits.maxQueuedFetches else {
            return .busy("\(state.running) certificate fetches are running and \(state.queue.count) waiting")
        }
        let host = AWSEndpointURL.host(of: url) ?? ""
        func fresh(_ window: Window) -> Window {
            now - window.startedAt >= .seconds(60) ? Window(startedAt: now, count: 0) : window
        }
        state.total = fresh(state.total)
        var window = fresh(state.perHost[host] ?? Window(startedAt: now, count: 0))
        guard state.total.count < limits.newURLsPerMinuteTotal else {
            return .busy("more than \(limits.newURLsPerMinuteTotal) new certificate URLs in a minute")
        }
        guard window.count < limits.newURLsPerMinute else {
            return .busy("more than \(limits.newURLsPerMinute) new certificate URLs on \(host.prefix(100)) in a minute")
        }
        window.count += 1
        state.total.count += 1
        if state.perHost[host] == nil, state.perHost.count >= limits.trackedHosts {
            state.perHost = state.perHost.filter { now - $0.value.startedAt < .seconds(60) }
            if state.perHost.count >= limits.trackedHosts, let any = state.perHost.first?.key { state.perHost[any] = nil }
        }
        state.perHost[host] = window
        return nil
    }

    private func acquireSlot() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let start = state.withLock { state -> Bool in
                if state.running < limits.maxConcurrentFetches {
                    state.running += 1
                    return true
                }
                state.queue.append(continuation)
                return false
            }
            if start { continuation.resume() }
        }
    }

    /// Hands the slot to the oldest queued fetch, if any.
    private func releaseSlot() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.queue.isEmpty {
                state.running -= 1
                return nil
            }
            return state.queue.removeFirst()
        }
        next?.resume()
    }

    private func remember(_ url: String, _ certificate: SigningCertificate, now: ContinuousClock.Instant, in state: inout State) {
        if state.known[url] == nil, state.known.count >= limits.capacity,
           let oldest = state.known.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            state.known[oldest] = nil
        }
        state.failures[url] = nil
        state.known[url] = Known(certificate: certificate, expiresAt: now + limits.lifetime, lastUsed: state.useCounter)
    }

    /// How many certificates and failures are remembered (for tests).
    public var counts: (certificates: Int, failures: Int) {
        state.withLock { ($0.known.count, $0.failures.count) }
    }

    private func fetch(_ url: String) async -> Outcome {
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
        case 300...399:
            // Redirects are never followed: a certificate is only ever taken from the URL the
            // policy judged.
            return .failure(.rejected(.certificateUnusable(reason: "the certificate host answered with a redirect (HTTP \(response.status)), which is never followed")))
        case 404, 410:
            // What AWS answers for a certificate it never issued: proof enough of a forgery.
            return .failure(.rejected(.certificateUnusable(reason: "the certificate host answered HTTP \(response.status)")))
        default:
            // 403, 429, 5xx ...: a throttled or misconfigured path to AWS is no proof that the
            // message is forged, so SNS is asked to retry.
            logger.warning("signing certificate fetch failed", metadata: ["cert_url": "\(url)", "status": "\(response.status)"])
            return .failure(.unavailable("the certificate host answered HTTP \(response.status)"))
        }
    }
}
