/// How one send attempt ended, as seen on the wire.
public enum SendResult: Sendable, Equatable {
    /// The service took it (2xx, or SMTP accepted).
    case accepted(status: Int)
    /// The service answered with a refusal or a fault; `retryAfterSeconds` from `Retry-After`.
    case refused(status: Int, retryAfterSeconds: Int64?, detail: String)
    /// No answer: connection refused or reset, TLS failure, timeout.
    case unreachable(String)
    /// Retrying cannot help (a URL the policy refuses, an SMTP 5xx, bad credentials).
    case invalid(String)
}

/// What happens after an attempt: delivered, retried later (exponential backoff with jitter,
/// honouring Retry-After), or dead-lettered. Retries: connection errors, timeouts, 5xx, 408,
/// 429, for as long as the delivery is younger than `maxAgeSeconds`: an outage of a chat
/// service delays alerts, it does not drop them. Other 4xx and invalid requests are permanent
/// at once. `maxAttempts` caps the attempts only when an operator sets it. Pure; the random
/// number is passed in.
public struct DeliveryRetryPolicy: Sendable, Equatable {
    public var baseDelaySeconds: Double
    public var maxDelaySeconds: Double
    /// Nil: no cap on attempts, only on age.
    public var maxAttempts: Int?
    public var maxAgeSeconds: Int64

    /// Two days: a weekend-long outage of a chat service still ends with its alerts delivered.
    public static let defaultMaxAgeSeconds: Int64 = 172_800

    public init(baseDelaySeconds: Double = 2, maxDelaySeconds: Double = 600, maxAttempts: Int? = nil, maxAgeSeconds: Int64 = DeliveryRetryPolicy.defaultMaxAgeSeconds) {
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.maxAttempts = maxAttempts
        self.maxAgeSeconds = maxAgeSeconds
    }

    public enum Decision: Sendable, Equatable {
        case delivered(status: Int)
        case retry(atMillis: Int64, reason: String, status: Int?)
        case dead(reason: String, status: Int?)
    }

    /// - Parameters:
    ///   - attemptsBefore: attempts already made before this one.
    ///   - jitter: a number in 0...1 (the delay is scaled into 50% ... 100% of the backoff).
    public func decide(_ result: SendResult, attemptsBefore: Int, createdAt: Int64, now: Int64, jitter: Double) -> Decision {
        let (retryable, status, reason, retryAfter): (Bool, Int?, String, Int64?)
        switch result {
        case .accepted(let status):
            return .delivered(status: status)
        case .refused(let code, let after, let detail):
            let transient = code >= 500 || code == 429 || code == 408
            (retryable, status, reason, retryAfter) = (transient, code, "HTTP \(code)\(detail.isEmpty ? "" : ": \(detail)")", after)
        case .unreachable(let detail):
            (retryable, status, reason, retryAfter) = (true, nil, detail, nil)
        case .invalid(let detail):
            (retryable, status, reason, retryAfter) = (false, nil, detail, nil)
        }
        guard retryable else { return .dead(reason: "permanent: \(reason)", status: status) }
        let attempts = attemptsBefore + 1
        if let maxAttempts, attempts >= maxAttempts {
            return .dead(reason: "gave up after \(attempts) attempts: \(reason)", status: status)
        }
        let exponent = Double(min(attempts - 1, 30))
        let backoff = min(maxDelaySeconds, baseDelaySeconds * pow2(exponent)) * (0.5 + 0.5 * min(max(jitter, 0), 1))
        let delay = max(backoff, Double(min(retryAfter ?? 0, Int64(maxDelaySeconds * 6))))
        let at = now + Int64(delay * 1000)
        if at - createdAt > maxAgeSeconds * 1000 {
            return .dead(reason: "gave up after \((now - createdAt) / 1000) s: \(reason)", status: status)
        }
        return .retry(atMillis: at, reason: reason, status: status)
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }
}
