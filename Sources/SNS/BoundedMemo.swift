import Synchronization

/// Remembers the answers a pure check gave for recent inputs, at most `capacity` of them: past
/// that it starts over, so an input that keeps changing costs a fresh check each time, never
/// memory. Every SNS message names the same few URLs and hosts; judging them again for each
/// message cost more than the rest of the pre-checks.
///
/// Only short ASCII inputs are remembered. Swift compares strings by canonical equivalence
/// (";" equals U+037E), so a non-ASCII input could find the answer given to a different text;
/// ASCII strings are equal only when their bytes are. And a long input would hold memory that
/// a sender chose.
final class BoundedMemo<Value: Sendable>: Sendable {
    private let answers = Mutex<[String: Value]>([:])
    let capacity: Int
    /// The longest input remembered, in bytes.
    let maxInputBytes: Int

    init(capacity: Int, maxInputBytes: Int = 2048) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.maxInputBytes = maxInputBytes
    }

    var count: Int { answers.withLock { $0.count } }

    /// The remembered answer for `input`, or the one `check` gives now (then remembered).
    func answer(for input: String, _ check: () -> Value) -> Value {
        guard input.utf8.count <= maxInputBytes, input.utf8.allSatisfy({ $0 < 0x80 }) else { return check() }
        if let known = answers.withLock({ $0[input] }) { return known }
        let value = check()
        answers.withLock { answers in
            if answers.count >= capacity { answers.removeAll(keepingCapacity: true) }
            // updateValue, not a subscript: a Value that is itself an optional nil is an answer.
            answers.updateValue(value, forKey: input)
        }
        return value
    }
}
