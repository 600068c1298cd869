import Synchronization

/// Remembers the answers a pure check gave for recent inputs, at most `capacity` of them: past
/// that it starts over, so an input that keeps changing costs a fresh check each time, never
/// memory. Every SNS message names the same few URLs and hosts; judging them again for each
/// message cost more than the rest of the pre-checks.
final class BoundedMemo<Value: Sendable>: Sendable {
    private let answers = Mutex<[String: Value]>([:])
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var count: Int { answers.withLock { $0.count } }

    /// The remembered answer for `input`, or the one `check` gives now (then remembered).
    func answer(for input: String, _ check: () -> Value) -> Value {
        if let known = answers.withLock({ $0[input] }) { return known }
        let value = check()
        answers.withLock { answers in
            if answers.count >= capacity { answers.removeAll(keepingCapacity: true) }
            answers[input] = value
        }
        return value
    }
}
