/// The replay guard: a message whose Timestamp is older than `maxAgeSeconds`, or further in the
/// future than `maxFutureSkewSeconds`, is refused whatever its signature says. Inside that window
/// a replay is caught by MessageId deduplication.
public struct MessageFreshnessPolicy: Sendable, Equatable {
    public var maxAgeSeconds: Int64
    public var maxFutureSkewSeconds: Int64

    public init(maxAgeSeconds: Int64 = 3600, maxFutureSkewSeconds: Int64 = 300) {
        self.maxAgeSeconds = maxAgeSeconds
        self.maxFutureSkewSeconds = maxFutureSkewSeconds
    }

    public func check(sentAt: SNSInstant, now: SNSInstant) -> SNSRejection? {
        let ageMillis = now.millisecondsSince1970 - sentAt.millisecondsSince1970
        if ageMillis > maxAgeSeconds * 1000 {
            return .messageTooOld(ageSeconds: ageMillis / 1000, limitSeconds: maxAgeSeconds)
        }
        if -ageMillis > maxFutureSkewSeconds * 1000 {
            return .messageFromFuture(aheadSeconds: -ageMillis / 1000)
        }
        return nil
    }
}
