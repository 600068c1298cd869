import DeviceDefender

extension AlertBuilder {
    /// What `receivers test` sends: an audit alert shaped like a real one (one new LOW finding,
    /// context, links), marked as a test in its first line, title and summary so that nobody
    /// acts on it; LOW, so that it calls nobody (`mention:`) and pages nobody (PagerDuty info).
    public func test(receiver: String, at now: Int64) -> Alert {
        let audit = AuditNotification(
            accountID: "000000000000", taskID: "defender-relay-test-\(now)", taskStatus: .completed, taskType: .scheduled,
            scheduledAuditName: "defender-relay-test", failedChecksCount: 0, canceledChecksCount: 0, nonCompliantChecksCount: 1,
            compliantChecksCount: 0, totalChecksCount: 1, taskStartTime: now,
            checks: [AuditCheckResult(checkName: "LOGGING_DISABLED_CHECK", runStatus: .nonCompliant, nonCompliantResourcesCount: 1, totalResourcesCount: 1, severity: .low)],
            region: "us-east-1"
        )
        var alert = self.audit(audit, change: AuditChange.between(previous: nil, current: audit), topicARN: "arn:aws:sns:us-east-1:000000000000:defender-relay-test")
        alert.id = "test:\(receiver):\(now)"
        alert.headline = AlertText.truncate("TEST: defender-relay test alert for receiver \(receiver) · nothing is wrong", AlertHeadline.maxCharacters)
        alert.title = "defender-relay test alert (nothing is wrong)"
        alert.summary = "This is a test sent by `defender-relay receivers test \(receiver)`: the finding below is an example, not a real one."
        alert.link = nil
        alert.attributes.fingerprint = alert.id
        return alert
    }
}
