import Foundation

extension AuditNotification {
    private struct Wire: Decodable {
        struct Detail: Decodable {
            var checkName: String
            var checkRunStatus: String
            var nonCompliantResourcesCount: Int
            var totalResourcesCount: Int
            var message: String?
            var errorCode: String?
        }

        var accountId: String
        var taskId: String
        var taskStatus: String
        var taskType: String
        var scheduledAuditName: String?
        var failedChecksCount: Int
        var canceledChecksCount: Int
        var nonCompliantChecksCount: Int
        var compliantChecksCount: Int
        var totalChecksCount: Int
        var taskStartTime: Int64
        var auditDetails: [Detail]
    }

    /// Decodes an audit summary as the published schema defines it: every required key present
    /// with its type, and taskStatus, taskType and checkRunStatus inside their enums. Check
    /// names are open-ended: aliases are normalised, unknown names kept with severity unknown.
    public static func decode(_ message: String, catalog: CheckCatalog = .known) throws(PayloadDecodingError) -> AuditNotification {
        let wire: Wire = try PayloadJSON.decode(Wire.self, from: message)
        guard let status = TaskStatus(rawValue: wire.taskStatus) else {
            throw .valueOutsideSchema(key: "taskStatus", value: wire.taskStatus)
        }
        guard let type = TaskType(rawValue: wire.taskType) else {
            throw .valueOutsideSchema(key: "taskType", value: wire.taskType)
        }
        var checks: [AuditCheckResult] = []
        for (index, detail) in wire.auditDetails.enumerated() {
            guard let runStatus = AuditCheckResult.RunStatus(rawValue: detail.checkRunStatus) else {
                throw .valueOutsideSchema(key: "auditDetails[\(index)].checkRunStatus", value: detail.checkRunStatus)
            }
            guard !detail.checkName.isEmpty else { throw .missingKey("auditDetails[\(index)].checkName") }
            checks.append(AuditCheckResult(
                checkName: catalog.canonicalName(detail.checkName),
                runStatus: runStatus,
                nonCompliantResourcesCount: detail.nonCompliantResourcesCount,
                totalResourcesCount: detail.totalResourcesCount,
                message: detail.message.map { String($0.prefix(2048)) },
                errorCode: detail.errorCode,
                severity: catalog.severity(of: detail.checkName)
            ))
        }
        guard !wire.taskId.isEmpty else { throw .missingKey("taskId") }
        return AuditNotification(
            accountID: wire.accountId, taskID: wire.taskId, taskStatus: status, taskType: type,
            scheduledAuditName: wire.scheduledAuditName, failedChecksCount: wire.failedChecksCount,
            canceledChecksCount: wire.canceledChecksCount, nonCompliantChecksCount: wire.nonCompliantChecksCount,
            compliantChecksCount: wire.compliantChecksCount, totalChecksCount: wire.totalChecksCount,
            taskStartTime: wire.taskStartTime, checks: checks
        )
    }
}

/// JSON decoding that reports the failing key path instead of a generic error.
enum PayloadJSON {
    static func decode<T: Decodable>(_ type: T.Type, from message: String) throws(PayloadDecodingError) -> T {
        do {
            // One parse: text that is not JSON at all fails at the top level (empty coding path).
            return try JSONDecoder().decode(T.self, from: Data(message.utf8))
        } catch let DecodingError.keyNotFound(key, context) {
            throw .missingKey(path(context.codingPath + [key]))
        } catch let DecodingError.typeMismatch(expected, context) {
            if context.codingPath.isEmpty { throw .notAnObject }
            throw .wrongType(key: path(context.codingPath), expected: name(of: expected))
        } catch let DecodingError.valueNotFound(expected, context) {
            throw .wrongType(key: path(context.codingPath), expected: name(of: expected))
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty { throw .notJSON }
            throw .wrongType(key: path(context.codingPath), expected: "a valid value")
        } catch {
            throw .notJSON
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "\(type)".contains("Array") ? "an array" : "an object"
        }
    }
}
