extension AuditNotification {
    /// Disagreements between the summary's counts and its `auditDetails`: worth flagging to a
    /// person, never a reason to reject the audit (AWS is the source of truth for both).
    public var consistencyWarnings: [String] {
        var warnings: [String] = []
        func compare(_ name: String, _ header: Int, _ details: Int) {
            if header != details {
                warnings.append("\(name) is \(header) but auditDetails has \(details)")
            }
        }
        compare("totalChecksCount", totalChecksCount, checks.count)
        compare("nonCompliantChecksCount", nonCompliantChecksCount, checks.filter { $0.runStatus == .nonCompliant }.count)
        compare("compliantChecksCount", compliantChecksCount, checks.filter { $0.runStatus == .compliant }.count)
        compare("failedChecksCount", failedChecksCount, checks.filter { $0.runStatus == .failed }.count)
        compare("canceledChecksCount", canceledChecksCount, checks.filter { $0.runStatus == .canceled }.count)
        for check in checks where check.nonCompliantResourcesCount > check.totalResourcesCount {
            warnings.append("\(check.checkName) has \(check.nonCompliantResourcesCount) non-compliant of \(check.totalResourcesCount) resources")
        }
        var seen = Set<String>()
        for check in checks where !seen.insert(check.checkName).inserted {
            warnings.append("\(check.checkName) appears more than once")
        }
        return warnings
    }
}
