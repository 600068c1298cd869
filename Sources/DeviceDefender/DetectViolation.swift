import JSON

/// A Device Defender Detect security-profile violation event, as published to SNS.
public struct DetectViolation: Sendable, Equatable {
    public enum EventType: String, Sendable, CaseIterable, Codable {
        case inAlarm = "in-alarm"
        case alarmCleared = "alarm-cleared"
        case alarmInvalidated = "alarm-invalidated"
    }

    public var violationID: String
    public var thingName: String
    public var securityProfileName: String
    public var eventType: EventType
    /// Milliseconds since the Unix epoch (SNS sends milliseconds; seconds are converted).
    public var eventTime: Int64
    public var behaviorName: String
    public var metric: String?
    /// The behavior's criteria in words, e.g. "greater-than 5000" or "ML confidence HIGH".
    public var criteria: String?
    /// The observed value in words, e.g. "26" or "10.0.0.1/32, 10.0.0.2/32".
    public var metricValue: String?
    public var verificationState: String?

    public init(
        violationID: String, thingName: String, securityProfileName: String, eventType: EventType, eventTime: Int64,
        behaviorName: String, metric: String? = nil, criteria: String? = nil, metricValue: String? = nil, verificationState: String? = nil
    ) {
        self.violationID = violationID
        self.thingName = thingName
        self.securityProfileName = securityProfileName
        self.eventType = eventType
        self.eventTime = eventTime
        self.behaviorName = behaviorName
        self.metric = metric
        self.criteria = criteria
        self.metricValue = metricValue
        self.verificationState = verificationState
    }
}

extension DetectViolation {
    /// Decodes a Detect violation event; `violationEventType` must be one of the three AWS defines.
    public static func decode(_ message: String) throws(PayloadDecodingError) -> DetectViolation {
        try decode(PayloadFields.parse(message))
    }

    static func decode(_ fields: PayloadFields) throws(PayloadDecodingError) -> DetectViolation {
        let violationID = try fields.string("violationId")
        let thingName = try fields.string("thingName")
        let profile = try fields.string("securityProfileName")
        let eventTypeText = try fields.string("violationEventType")
        let eventTime = try fields.double("violationEventTime")
        let behavior = try fields.object("behavior")
        let behaviorName = try behavior.string("name")
        let metric = try behavior.optionalString("metric")
        let criteria = try behavior.optionalObject("criteria").map { criteria throws(PayloadDecodingError) in try criteriaText(criteria) } ?? nil
        let metricValue = try fields.optionalObject("metricValue").map { value throws(PayloadDecodingError) in try valueText(value) } ?? nil
        let verificationState = try fields.optionalString("verificationState")
        guard let eventType = EventType(rawValue: eventTypeText) else {
            throw .valueOutsideSchema(key: "violationEventType", value: eventTypeText)
        }
        // SNS carries milliseconds; the API's seconds (with a fraction) are below 1e11.
        let time = eventTime < 100_000_000_000 ? eventTime * 1000 : eventTime
        guard let milliseconds = Int64(exactly: time.rounded()) else {
            throw .wrongType(key: "violationEventTime", expected: "a time in milliseconds")
        }
        return DetectViolation(
            violationID: violationID, thingName: thingName, securityProfileName: profile,
            eventType: eventType, eventTime: milliseconds, behaviorName: behaviorName,
            metric: metric, criteria: criteria, metricValue: metricValue, verificationState: verificationState
        )
    }

    /// A metric value in words: a count, a number, or a list (numbers, CIDRs, ports, strings).
    private static func valueText(_ value: PayloadFields) throws(PayloadDecodingError) -> String? {
        if let count = try value.optionalInt64("count") { return String(count) }
        if let number = try value.optionalDouble("number") { return format(number) }
        if let numbers = try value.optionalArray("numbers", expected: "a number", { $0.numberValue?.double }) {
            return numbers.map(format).joined(separator: ", ")
        }
        if let cidrs = try value.optionalArray("cidrs", expected: "a string", \.stringValue) { return cidrs.joined(separator: ", ") }
        if let ports = try value.optionalArray("ports", expected: "an integer", { $0.numberValue?.int64 }) {
            return ports.map(String.init).joined(separator: ", ")
        }
        if let strings = try value.optionalArray("strings", expected: "a string", \.stringValue) { return strings.joined(separator: ", ") }
        return nil
    }

    private static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private static func criteriaText(_ criteria: PayloadFields) throws(PayloadDecodingError) -> String? {
        let comparison = try criteria.optionalString("comparisonOperator")
        let value = try criteria.optionalObject("value").map { value throws(PayloadDecodingError) in try valueText(value) } ?? nil
        let duration = try criteria.optionalInt64("durationSeconds")
        let statistical = try criteria.optionalStringMap("statisticalThreshold")
        let mlDetection = try criteria.optionalStringMap("mlDetectionConfig")
        if let confidence = mlDetection?["confidenceLevel"] {
            return "ML confidence \(confidence)"
        }
        var parts: [String] = []
        if let comparison { parts.append(comparison) }
        if let value { parts.append(value) }
        if let statistic = statistical?["statistic"] { parts.append("statistic \(statistic)") }
        if let duration { parts.append("for \(duration) s") }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
}
