import DeviceDefender
import JSON

/// An audit's check results as stored with the audit (`audit_tasks.checks`, a JSON array) and
/// the names they carry (`audit_tasks.check_names`, for the `check` filter).
///
/// One row per audit instead of one per check: each stored audit used to add a dozen rows to
/// two more B-trees (one keyed by a random taskId, one with a hot spot per check name), which
/// was most of what a message wrote. Whatever reads checks reads them with their audit anyway.
enum StoredChecks {
    /// Separates names in `check_names`; check names never contain it (a `check` filter that
    /// does is refused by the API).
    static let nameSeparator = "\u{1F}"

    /// The checks as stored: sorted by name, the first of two with one name kept.
    static func unique(_ checks: [AuditCheckResult]) -> [AuditCheckResult] {
        let sorted = checks.enumerated().sorted { ($0.element.checkName, $0.offset) < ($1.element.checkName, $1.offset) }
        var result: [AuditCheckResult] = []
        result.reserveCapacity(checks.count)
        for (_, check) in sorted where result.last?.checkName != check.checkName { result.append(check) }
        return result
    }

    static func json(_ checks: [AuditCheckResult]) -> String {
        var writer = JSONWriter(capacity: 64 + checks.count * 160)
        writer.raw("[")
        for (index, check) in checks.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{")
            writer.key("checkName")
            writer.string(check.checkName)
            writer.key("checkRunStatus")
            writer.string(check.runStatus.rawValue)
            writer.key("nonCompliantResourcesCount")
            writer.integer(check.nonCompliantResourcesCount)
            writer.key("totalResourcesCount")
            writer.integer(check.totalResourcesCount)
            if let message = check.message {
                writer.key("message")
                writer.string(message)
            }
            if let errorCode = check.errorCode {
                writer.key("errorCode")
                writer.string(errorCode)
            }
            writer.key("severity")
            writer.string(check.severity.rawValue)
            writer.raw("}")
        }
        writer.raw("]")
        return writer.text
    }

    /// `\u{1F}A\u{1F}B\u{1F}`: a name is searched as `\u{1F}NAME\u{1F}`.
    static func names(_ checks: [AuditCheckResult]) -> String {
        nameSeparator + checks.map(\.checkName).joined(separator: nameSeparator) + nameSeparator
    }

    /// The checks of a stored audit; `taskID` names it in the error.
    static func parse(_ text: String, taskID: String) throws(StoreError) -> [AuditCheckResult] {
        func mismatch(_ reason: String) -> StoreError {
            .schemaMismatch("audit_tasks.checks of \(taskID.prefix(100)): \(reason)")
        }
        guard case .array(let elements)? = try? JSONValue.parse(text) else { throw mismatch("not a JSON array") }
        var checks: [AuditCheckResult] = []
        checks.reserveCapacity(elements.count)
        for element in elements {
            guard case .object(let fields) = element,
                  case .string(let name)? = fields["checkName"],
                  case .string(let statusText)? = fields["checkRunStatus"],
                  let status = AuditCheckResult.RunStatus(rawValue: statusText),
                  let nonCompliant = fields["nonCompliantResourcesCount"]?.numberValue?.int64,
                  let total = fields["totalResourcesCount"]?.numberValue?.int64,
                  case .string(let severity)? = fields["severity"]
            else { throw mismatch("a check lacks a name, a run status, its counts or a severity") }
            checks.append(AuditCheckResult(
                checkName: name, runStatus: status, nonCompliantResourcesCount: Int(nonCompliant), totalResourcesCount: Int(total),
                message: fields["message"]?.stringValue, errorCode: fields["errorCode"]?.stringValue,
                // Severities come from the catalog of the build that stored them; one this
                // build does not know is unknown.
                severity: Severity(rawValue: severity) ?? .unknown
            ))
        }
        return checks
    }
}
