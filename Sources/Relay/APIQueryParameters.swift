import DeviceDefender
import SNS
import Storage

/// Why a query parameter of the API cannot be used (400).
public struct APIParameterError: Error, Sendable, Equatable {
    public var parameter: String
    public var reason: String

    public var detail: String { "Query parameter '\(parameter)': \(reason)." }
}

/// Reads the API's query parameters into store queries; pure, so the rules are tested directly.
public enum APIQueryParameters {
    /// `GET /api/v1/audits?status=&check=&account=&region=&scheduled_audit=&since=&until=&noncompliant=true&limit=&cursor=`
    public static func auditQuery(_ parameters: [String: String]) throws(APIParameterError) -> AuditQuery {
        var query = AuditQuery()
        if let status = parameters["status"] {
            guard ["COMPLETED", "FAILED", "CANCELED"].contains(status) else {
                throw APIParameterError(parameter: "status", reason: "must be COMPLETED, FAILED or CANCELED")
            }
            query.taskStatus = status
        }
        if let check = parameters["check"] {
            // Check names are printable; a control character (U+001F separates the names an
            // audit stored) would match across two names.
            guard !check.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw APIParameterError(parameter: "check", reason: "must not contain control characters")
            }
            query.checkName = CheckCatalog.known.canonicalName(check)
        }
        query.accountID = parameters["account"]
        query.region = parameters["region"]
        query.scheduledAuditName = parameters["scheduled_audit"]
        query.since = try time(parameters, "since")
        query.until = try time(parameters, "until")
        if let flag = parameters["noncompliant"] {
            guard let value = Bool(flag) else { throw APIParameterError(parameter: "noncompliant", reason: "must be true or false") }
            query.nonCompliantOnly = value
        }
        query.limit = try limit(parameters, default: 50)
        if let cursor = parameters["cursor"] {
            guard let position = AuditCursor(token: cursor) else {
                throw APIParameterError(parameter: "cursor", reason: "is not a cursor this API returned")
            }
            query.after = position
        }
        return query
    }

    /// `GET /api/v1/violations?thing=&profile=&type=&since=&limit=`
    public static func violationQuery(_ parameters: [String: String]) throws(APIParameterError) -> ViolationQuery {
        var query = ViolationQuery()
        query.thingName = parameters["thing"]
        query.securityProfileName = parameters["profile"]
        if let type = parameters["type"] {
            guard ["in-alarm", "alarm-cleared", "alarm-invalidated"].contains(type) else {
                throw APIParameterError(parameter: "type", reason: "must be in-alarm, alarm-cleared or alarm-invalidated")
            }
            query.eventType = type
        }
        query.since = try time(parameters, "since")
        query.limit = try limit(parameters, default: 100)
        return query
    }

    /// `trend=` of `GET /api/v1/checks`: how many past audits each trend covers (1 to 100).
    public static func trendLength(_ parameters: [String: String]) throws(APIParameterError) -> Int {
        guard let text = parameters["trend"] else { return 10 }
        guard let value = Int(text), (1...100).contains(value) else {
            throw APIParameterError(parameter: "trend", reason: "must be a whole number from 1 to 100")
        }
        return value
    }

    static func limit(_ parameters: [String: String], default value: Int) throws(APIParameterError) -> Int {
        guard let text = parameters["limit"] else { return value }
        guard let limit = Int(text), (1...500).contains(limit) else {
            throw APIParameterError(parameter: "limit", reason: "must be a whole number from 1 to 500")
        }
        return limit
    }

    /// An ISO 8601 UTC time or milliseconds since the Unix epoch.
    static func time(_ parameters: [String: String], _ name: String) throws(APIParameterError) -> Int64? {
        guard let text = parameters[name] else { return nil }
        if let millis = Int64(text) { return millis }
        if let instant = SNSInstant(iso8601: text) { return instant.millisecondsSince1970 }
        if let instant = SNSInstant(iso8601: text + "T00:00:00Z") { return instant.millisecondsSince1970 }
        throw APIParameterError(parameter: name, reason: "must be an ISO 8601 UTC time (2026-11-26T08:00:00Z), a date, or epoch milliseconds")
    }
}
