extension AuditNotification {
    /// Decodes an audit summary as the published schema defines it: every required key present
    /// with its type, and taskStatus, taskType and checkRunStatus inside their enums. Check
    /// names are open-ended: aliases are normalised, unknown names kept with severity unknown.
    public static func decode(_ message: String, catalog: CheckCatalog = .known) throws(PayloadDecodingError) -> AuditNotification {
        try decode(PayloadFields.parse(message), catalog: catalog)
    }

    static func decode(_ fields: PayloadFields, catalog: CheckCatalog) throws(PayloadDecodingError) -> AuditNotification {
        let accountID = try fields.string("accountId")
        let taskID = try fields.string("taskId")
        let statusText = try fields.string("taskStatus")
        let typeText = try fields.string("taskType")
        let scheduledAuditName = try fields.optionalString("scheduledAuditName")
        let failed = try fields.int("failedChecksCount")
        let canceled = try fields.int("canceledChecksCount")
        let nonCompliant = try fields.int("nonCompliantChecksCount")
        let compliant = try fields.int("compliantChecksCount")
        let total = try fields.int("totalChecksCount")
        let startTime = try fields.int64("taskStartTime")
        let details = try fields.objects("auditDetails")

        guard let status = TaskStatus(rawValue: statusText) else {
            throw .valueOutsideSchema(key: "taskStatus", value: statusText)
        }
        guard let type = TaskType(rawValue: typeText) else {
            throw .valueOutsideSchema(key: "taskType", value: typeText)
        }
        var checks: [AuditCheckResult] = []
        checks.reserveCapacity(details.count)
        for detail in details {
            let name = try detail.string("checkName")
            let runStatusText = try detail.string("checkRunStatus")
            let nonCompliantResources = try detail.int("nonCompliantResourcesCount")
            let totalResources = try detail.int("totalResourcesCount")
            let message = try detail.optionalString("message")
            let errorCode = try detail.optionalString("errorCode")
            guard let runStatus = AuditCheckResult.RunStatus(rawValue: runStatusText) else {
                throw .valueOutsideSchema(key: detail.keyPath("checkRunStatus"), value: runStatusText)
            }
            guard !name.isEmpty else { throw .missingKey(detail.keyPath("checkName")) }
            checks.append(AuditCheckResult(
                checkName: catalog.canonicalName(name),
                runStatus: runStatus,
                nonCompliantResourcesCount: nonCompliantResources,
                totalResourcesCount: totalResources,
                message: message.map { String($0.prefix(2048)) },
                errorCode: errorCode,
                severity: catalog.severity(of: name)
            ))
        }
        guard !taskID.isEmpty else { throw .missingKey("taskId") }
        return AuditNotification(
            accountID: accountID, taskID: taskID, taskStatus: status, taskType: type,
            scheduledAuditName: scheduledAuditName, failedChecksCount: failed,
            canceledChecksCount: canceled, nonCompliantChecksCount: nonCompliant,
            compliantChecksCount: compliant, totalChecksCount: total,
            taskStartTime: startTime, checks: checks
        )
    }
}
