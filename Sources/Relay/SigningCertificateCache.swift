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
        /// URLs remembered as having verified a genuine message.
        public var genuineURLCapacity = 1024

        public init() {}
    }

    private struct Known {
        var certificate: SigningCertificate
        var expiresAt: ContinuousClock.Instant
        var lastUsed: UInt64
        /// It verified a genuine message: evicted only when every entry has.
        var verifiedMessages = false
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
        /// Fetches admitted and not finished, running or waiting for a slot: what the bound
        /// `maxConcurrentFetches + maxQueuedFetches` counts (taken when admitted, under the same
        /// lock, so concurrent callers cannot overshoot it).
        var fetches = 0
        /// Recent URLs as sent, with their canonical spelling and host.
        var spellings: [String: (key: String, host: String)] = [:]
        /// Canonical URLs whose certificate verified a genuine message (`confirmGenuine`).
        var genuine: Set<String> = []
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
    private let metrics: RelayMetrics?
    private let state = Mutex(State())

    /// The largest certificate document accepted; real ones are about 2 KiB.
    public static let maxCertificateBytes = 16 * 1024

    /// What a caller may show to whoever sent the message when the host could not be reached.
    public static let unavailableSentence = "The signing certificate could not be fetched from AWS just now; SNS will retry."

    public init(
        curl: CurlClient, urlPolicy: SigningCertificateURLPolicy, acceptedNames: [WholeMatchPattern],
        limits: Limits = Limits(), metrics: RelayMetrics? = nil, logger: Logger
    ) {
        self.metrics = metrics
        self.curl = curl
        self.urlPolicy = urlPolicy
        self.acceptedNames = acceptedNames
        self.limits = limits
        self.logger = logger
    }

    /// The certificate `url` names. `url` is judged by the policy again and read in its
    /// canonical spelling (`AWSEndpointURL.canonical`), so `HTTPS://SNS...:443/x` and
    /// `https://sns.../x` are one entry and one fetch.
    public func certificate(for url: String) async -> Outcome {
        if let violation = urlPolicy.check(url) {
            return .failure(.rejected(.certificateURLRejected(url: url, reason: violation)))
        }
        guard let (key, host) = canonical(url) else {
            return .failure(.rejected(.certificateURLRejected(url: url, reason: .malformed)))
        }
        return await certificate(key: key, host: host)
    }

    /// The canonical spelling and host of `url`, remembered for recent URLs (every message
    /// names one, nearly always the same).
    private func canonical(_ url: String) -> (key: String, host: String)? {
        if let known = state.withLock({ $0.spellings[url] }) { return known }
        guard case .success(let parsed) = AWSEndpointURL.parse(url) else { return nil }
        let value = (parsed.canonical, parsed.host)
        state.withLock { state in
            if state.spellings.count >= limits.failureCapacity { state.spellings.removeAll(keepingCapacity: true) }
            state.spellings[url] = value
        }
        return value
    }

    /// Marks the certificate of `url` as one that verified a genuine message: it is evicted
    /// last, and fetched again when it expires whatever the budget for new URLs says.
    public func confirmGenuine(_ url: String) {
        guard let (key, _) = canonical(url) else { return }
        state.withLock { state in
            guard state.known[key]?.verifiedMessages != true else { return }
            state.known[key]?.verifiedMessages = true
            if state.genuine.count >= limits.genuineURLCapacity, !state.genuine.contains(key) { state.genuine.removeAll() }
            state.genuine.insert(key)
        }
    }

    private func certificate(key: String, host: String) async -> Outcome {
        enum Step { case fresh(SigningCertificate), known(Outcome), wait, fetch(stale: SigningCertificate?) }
        let now = ContinuousClock.now
        let step = state.withLock { state -> Step in
            state.useCounter += 1
            var stale: SigningCertificate?
            if var entry = state.known[key] {
                entry.lastUsed = state.useCounter
                state.known[key] = entry
                if entry.expiresAt > now { return .fresh(entry.certificate) }
                // Expired: fetched again below, but while that cannot happen the certificate
                // we had still serves (its validity is judged per message anyway).
                stale = entry.certificate
            }
            if let failure = state.failures[key], failure.expiresAt > now {
                return .known(stale.map { .success($0) } ?? .failure(failure.failure))
            }
            if state.waiters[key] != nil { return .wait }
            let known = stale != nil || state.genuine.contains(key)
            if let refusal = admit(host: host, known: known, now: now, in: &state) {
                return .known(stale.map { .success($0) } ?? .failure(refusal))
            }
            state.waiters[key] = []
            return .fetch(stale: stale)
        }
        if case .fresh(let certificate) = step {
            metrics?.recordCertificateLookup(hit: true)
            return .success(certificate)
        }
        metrics?.recordCertificateLookup(hit: false)
        switch step {
        case .fresh(let certificate):
            return .success(certificate)
        case .known(let result):
            return result
        case .wait:
            return await withCheckedContinuation { continuation in
                // The fetch may have finished since: then its outcome is stored.
                let ready = state.withLock { state -> Outcome? in
                    if state.waiters[key] != nil {
                        state.waiters[key]!.append(continuation)
                        return nil
                    }
                    if let known = state.known[key] { return .success(known.certificate) }
                    return .failure(state.failures[key]?.failure ?? .unavailable("the fetch ended without an outcome"))
                }
                if let ready { continuation.resume(returning: ready) }
            }
        case .fetch(let stale):
            await acquireSlot()
            var result = await fetch(key)
            releaseSlot()
            if case .success = result { metrics?.recordCertificateFetch(succeeded: true) } else { metrics?.recordCertificateFetch(succeeded: false) }
            let waiting = state.withLock { state -> [CheckedContinuation<Outcome, Never>] in
                let now = ContinuousClock.now
                switch result {
                case .success(let certificate):
                    remember(key, certificate, now: now, in: &state)
                case .failure(let failure):
                    let lifetime: Duration
                    switch failure {
                    case .rejected: lifetime = limits.rejectedLifetime
                    case .unavailable, .busy: lifetime = limits.unavailableLifetime
                    }
                    state.failures.makeRoom(for: key, capacity: limits.failureCapacity) { $0.expiresAt > now }
                    state.failures[key] = Failure(failure: failure, expiresAt: now + lifetime)
                    if let stale { result = .success(stale) }
                }
                return state.waiters.removeValue(forKey: key) ?? []
            }
            for waiter in waiting { waiter.resume(returning: result) }
            return result
        }
    }

    /// Whether a fetch may start now: nil, yes; else why not. A URL whose certificate verified
    /// a genuine message (`known`) needs a slot but no share of the budget for new URLs: a
    /// sender spending that budget cannot keep the relay from fetching the real certificate
    /// again.
    private func admit(host: String, known: Bool, now: ContinuousClock.Instant, in state: inout State) -> CertificateFetchFailure? {
        guard state.fetches < limits.maxConcurrentFetches + limits.maxQueuedFetches else {
            return .busy("\(state.fetches) certificate fetches are running or waiting")
        }
        if known {
            state.fetches += 1
            return nil
        }
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
        state.perHost.makeRoom(for: host, capacity: limits.trackedHosts) { now - $0.startedAt < .seconds(60) }
        state.perHost[host] = window
        state.fetches += 1
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
            state.fetches -= 1
            if state.queue.isEmpty {
                state.running -= 1
                return nil
            }
            return state.queue.removeFirst()
        }
        next?.resume()
    }

    private func remember(_ url: String, _ certificate: SigningCertificate, now: ContinuousClock.Instant, in state: inout State) {
        if state.known[url] == nil, state.known.count >= limits.capacity {
            // The least recently used entry that never verified a message goes first: genuine
            // certificates an attacker has the relay fetch cannot push out the one in use.
            let candidates = state.known.filter { !$0.value.verifiedMessages }
            let pool = candidates.isEmpty ? state.known : candidates
            if let oldest = pool.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key { state.known[oldest] = nil }
        }
        state.failures[url] = nil
        let verified = state.known[url]?.verifiedMessages ?? state.genuine.contains(url)
        state.known[url] = Known(certificate: certificate, expiresAt: now + limits.lifetime, lastUsed: state.useCounter, verifiedMessages: verified)
    }

    /// How many certificates and failures are remembered (for tests).
    public var counts: (certificates: Int, failures: Int) {
        state.withLock { ($0.known.count, $0.failures.count) }
    }

    private func fetch(_ url: String) async -> Outcome {
        // Judged again right before connecting: no path reaches libcurl with a refused URL.
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

extension Dictionary {
    /// Makes room for `key` in a table of at most `capacity` entries: the entries no longer
    /// `live` go first, then, if that was not enough, any one.
    fileprivate mutating func makeRoom(for key: Key, capacity: Int, keeping live: (Value) -> Bool) {
        guard self[key] == nil, count >= capacity else { return }
        self = filter { live($0.value) }
        if count >= capacity, let any = first?.key { self[any] = nil }
    }
}
