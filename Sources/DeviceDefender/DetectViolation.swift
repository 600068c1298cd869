import Foundation

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
    private struct Wire: Decodable {
        struct Behavior: Decodable {
            struct Criteria: Decodable {
                var comparisonOperator: String?
                var value: MetricValue?
                var durationSeconds: Int?
                var statisticalThreshold: [String: String]?
                var mlDetectionConfig: [String: String]?
            }

            var name: String
            var metric: String?
            var criteria: Criteria?
        }

        struct MetricValue: Decodable {
            var count: Int64?
            var number: Double?
            var numbers: [Double]?
            var cidrs: [String]?
            var ports: [Int]?
            var strings: [String]?

            var text: String? {
                if let count { return String(count) }
                if let number { return Self.format(number) }
                if let numbers { return numbers.map(Self.format).joined(separator: ", ") }
                if let cidrs { return cidrs.joined(separator: ", ") }
                if let ports { return ports.map(String.init).joined(separator: ", ") }
                if let strings { return strings.joined(separator: ", ") }
                return nil
            }

            static func format(_ value: Double) -> String {
                value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            }
        }

        var violationId: String
        var thingName: String
        var securityProfileName: String
        var violationEventType: String
        var violationEventTime: Double
        var behavior: Behavior
        var metricValue: MetricValue?
        var verificationState: String?
    }

    /// Decodes a Detect violation event; `violationEventType` must be one of the three AWS defines.
    public static func decode(_ message: String) throws(PayloadDecodingError) -> DetectViolation {
        let wire: Wire = try PayloadJSON.decode(Wire.self, from: message)
        guard let eventType = EventType(rawValue: wire.violationEventType) else {
            throw .valueOutsideSchema(key: "violationEventType", value: wire.violationEventType)
        }
        // SNS carries milliseconds; the API's seconds (with a fraction) are below 1e11.
        let time = wire.violationEventTime < 100_000_000_000 ? wire.violationEventTime * 1000 : wire.violationEventTime
        return DetectViolation(
            violationID: wire.violationId, thingName: wire.thingName, securityProfileName: wire.securityProfileName,
            eventType: eventType, eventTime: Int64(time.rounded()), behaviorName: wire.behavior.name,
            metric: wire.behavior.metric, criteria: criteriaText(wire.behavior.criteria),
            metricValue: wire.metricValue?.text, verificationState: wire.verificationState
        )
    }

    private static func criteriaText(_ criteria: Wire.Behavior.Criteria?) -> String? {
        guard let criteria else { return nil }
        if let confidence = criteria.mlDetectionConfig?["confidenceLevel"] {
            return "ML confidence \(confidence)"
        }
        var parts: [String] = []
        if let comparison = criteria.comparisonOperator { parts.append(comparison) }
        if let value = criteria.value?.text { parts.append(value) }
        if let statistic = criteria.statisticalThreshold?["statistic"] { parts.append("statistic \(statistic)") }
        if let duration = criteria.durationSeconds { parts.append("for \(duration) s") }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
}
