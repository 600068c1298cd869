/// The services an alert can be rendered for; each has its own message format and limits.
public enum ReceiverKind: String, Sendable, CaseIterable {
    case slack, teams, discord, googlechat, webhook, email, pagerduty
}
