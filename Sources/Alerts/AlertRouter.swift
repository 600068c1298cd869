/// Decides which receivers an alert reaches: routes in order, first match wins unless it says
/// `continue`; when nothing matched, the default receivers. An audit with nothing to say (every
/// check compliant, nothing resolved) reaches only routes that ask for it with
/// `noncompliant: false`.
public struct AlertRouter: Sendable {
    /// Where one alert goes, and under which rule.
    public struct Decision: Sendable, Equatable {
        public var receiver: String
        /// Index of the route in `routes`, or nil for the default route.
        public var routeIndex: Int?
        public var repeatIntervalSeconds: Int64?
        /// True when a mute window of the route covers `now`: nothing is sent.
        public var muted: Bool

        public init(receiver: String, routeIndex: Int?, repeatIntervalSeconds: Int64?, muted: Bool) {
            self.receiver = receiver
            self.routeIndex = routeIndex
            self.repeatIntervalSeconds = repeatIntervalSeconds
            self.muted = muted
        }
    }

    public var routes: [AlertRoute]
    public var defaultReceivers: [String]

    public init(routes: [AlertRoute], defaultReceivers: [String] = []) {
        self.routes = routes
        self.defaultReceivers = defaultReceivers
    }

    public func decide(_ alert: Alert, now: Int64) -> [Decision] {
        var decisions: [Decision] = []
        var seen = Set<String>()
        func add(_ receiver: String, route: Int?, repeatInterval: Int64?, muted: Bool) {
            guard seen.insert(receiver).inserted else { return }
            decisions.append(Decision(receiver: receiver, routeIndex: route, repeatIntervalSeconds: repeatInterval, muted: muted))
        }
        let quiet = alert.isQuiet
        for (index, route) in routes.enumerated() where route.match.matches(alert) {
            if quiet, route.match.nonCompliant != false { continue }
            let muted = route.mute.contains { $0.contains(now) }
            for receiver in route.receivers { add(receiver, route: index, repeatInterval: route.repeatIntervalSeconds, muted: muted) }
            if !route.continue { return decisions }
        }
        if decisions.isEmpty, !quiet {
            for receiver in defaultReceivers { add(receiver, route: nil, repeatInterval: nil, muted: false) }
        }
        return decisions
    }
}
