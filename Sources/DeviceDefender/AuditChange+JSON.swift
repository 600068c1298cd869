import JSON

extension AuditChange {
    /// The change as stored with its audit: the same document `JSONEncoder` with sorted keys
    /// writes for this type (absent optionals left out), written by hand because it is built
    /// for every stored audit. Read back with `JSONDecoder` like any `Codable` value.
    public var jsonText: String {
        var writer = JSONWriter(capacity: 128 + 96 * (newlyNonCompliant.count + worsened.count + improved.count + resolved.count + unchanged.count))
        writer.raw("{")
        writer.key("improved")
        Self.write(improved, to: &writer)
        writer.key("newlyNonCompliant")
        Self.write(newlyNonCompliant, to: &writer)
        if let previousTaskID {
            writer.key("previousTaskID")
            writer.string(previousTaskID)
        }
        if let previousTaskStartTime {
            writer.key("previousTaskStartTime")
            writer.integer(previousTaskStartTime)
        }
        writer.key("resolved")
        Self.write(resolved, to: &writer)
        writer.key("unchanged")
        Self.write(unchanged, to: &writer)
        writer.key("worsened")
        Self.write(worsened, to: &writer)
        writer.raw("}")
        return writer.text
    }

    private static func write(_ entries: [Entry], to writer: inout JSONWriter) {
        writer.raw("[")
        for (index, entry) in entries.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{")
            writer.key("checkName")
            writer.string(entry.checkName)
            writer.key("currentCount")
            writer.integer(entry.currentCount)
            if let previousCount = entry.previousCount {
                writer.key("previousCount")
                writer.integer(previousCount)
            }
            writer.key("severity")
            writer.string(entry.severity.rawValue)
            writer.raw("}")
        }
        writer.raw("]")
    }
}
