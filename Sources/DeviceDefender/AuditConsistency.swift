extension AuditNotification {
    /// Disagreements between the summary's counts and its `auditDetails`: worth flagging to a
    /// person, never a reason to reject the audit (AWS is the source of truth for both).
    /// Computed for every audit stored, so in one pass and without allocating when all agree.
    public var consistencyWarnings: [String] {
        var nonCompliant = 0, compliant = 0, failed = 0, canceled = 0
        for check in checks {
            switch check.runStatus {
            case .nonCompliant: nonCompliant += 1
            case .compliant: compliant += 1
            case .failed: failed += 1
            case .canceled: canceled += 1
            }
        }
        var warnings: [String] = []
        func compare(_ name: String, _ header: Int, _ details: Int) {
            if header != details {
                warnings.append("\(name) is \(header) but auditDetails has \(details)")
            }
        }
        compare("totalChecksCount", totalChecksCount, checks.count)
        compare("nonCompliantChecksCount", nonCompliantChecksCount, nonCompliant)
        compare("compliantChecksCount", compliantChecksCount, compliant)
        compare("failedChecksCount", failedChecksCount, failed)
        compare("canceledChecksCount", canceledChecksCount, canceled)
        for check in checks where check.nonCompliantResourcesCount > check.totalResourcesCount {
            warnings.append("\(check.checkName) has \(check.nonCompliantResourcesCount) non-compliant of \(check.totalResourcesCount) resources")
        }
        // One warning per repeated occurrence. Pairwise below a few dozen checks (an audit has
        // about twenty at most), hashed above.
        if checks.count <= 32 {
            for (index, check) in checks.enumerated() where checks[..<index].contains(where: { $0.checkName == check.checkName }) {
                warnings.append("\(check.checkName) appears more than once")
            }
        } else {
            var seen = Set<String>()
            for check in checks where !seen.insert(check.checkName).inserted {
                warnings.append("\(check.checkName) appears more than once")
            }
        }
        return warnings
    }
}
