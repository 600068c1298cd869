import Foundation
import Ingest
import CoreMetrics
import Metrics
import Prometheus

/// The relay's metrics about itself, counted through swift-metrics into a Prometheus registry
/// of this relay's own (not the process-wide `MetricsSystem`: tests run several relays in one
/// process and assert exact values). `/metrics` renders the registry and, read from the store at
/// scrape time, the audit and outbox gauges, so that replicas agree on those.
public final class RelayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    /// Names, in the order `/metrics` documents them, with their HELP text (swift-metrics has no
    /// place for it; it is added when rendering).
    static let help: [String: String] = [
        "defender_relay_build_info": "Always 1; the version label says which build runs.",
        "defender_relay_sns_messages_total": "SNS requests by envelope type (unparsed: refused before the type was read) and outcome (accepted, duplicate, refused, deferred).",
        "defender_relay_sns_refusals_total": "SNS requests answered 4xx, by reason (the error code of the answer; bad_credentials: wrong server.basic_auth credentials). A burst of signature_mismatch, topic_not_allowed or bad_credentials is worth a look.",
        "defender_relay_sns_deferrals_total": "SNS requests answered 503 so that SNS retries them, by reason.",
        "defender_relay_certificate_cache_hits_total": "Signing certificate lookups answered from the cache.",
        "defender_relay_certificate_cache_misses_total": "Signing certificate lookups not answered by a cached certificate: fetched, joined a fetch under way, or refused by a remembered failure or the fetch budget.",
        "defender_relay_certificate_fetches_total": "Signing certificate downloads from AWS, by outcome (ok, failed).",
        "defender_relay_http_request_duration_seconds": "HTTP requests by route (the matched route pattern; unmatched for anything else) and status class.",
        "defender_relay_store_write_duration_seconds": "Time to commit one group-commit batch of SNS messages, alerts included (committed batches only).",
        "defender_relay_ingest_batch_size": "SNS messages committed together in one store transaction (committed batches only).",
        "defender_relay_delivery_attempts_total": "Alert delivery attempts whose outcome the outbox recorded, by receiver and outcome (delivered, retry, dead).",
        "defender_relay_delivery_latency_seconds": "Time from an alert being queued to its delivery, by receiver.",
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)]
        factory.durationHistogramBuckets = [
            "defender_relay_http_request_duration_seconds": fast,
            "defender_relay_store_write_duration_seconds": fast,
            "defender_relay_delivery_latency_seconds": [.milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3600), .seconds(14_400), .seconds(86_400)],
        ]
        factory.valueHistogramBuckets = ["defender_relay_ingest_batch_size": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]]
        self.factory = factory
        CoreMetrics.Gauge(label: "defender_relay_build_info", dimensions: [("version", RelayVersion.current)], factory: factory).record(1)
    }

    /// What the group committer reports.
    public var ingest: IngestMetrics {
        IngestMetrics(
            writeDuration: Timer(label: "defender_relay_store_write_duration_seconds", factory: factory),
            batchSize: Recorder(label: "defender_relay_ingest_batch_size", factory: factory)
        )
    }

    /// One answer of the SNS endpoint.
    func recordSNS(_ result: IngestResult) {
        let type = result.messageType ?? "unparsed"
        let outcome: String
        switch result.status {
        case 200..<300: outcome = result.code == "duplicate" ? "duplicate" : "accepted"
        case 500...: outcome = "deferred"
        default: outcome = "refused"
        }
        counter("defender_relay_sns_messages_total", [("type", type), ("outcome", outcome)]).increment()
        switch outcome {
        case "refused": counter("defender_relay_sns_refusals_total", [("reason", result.code)]).increment()
        case "deferred": counter("defender_relay_sns_deferrals_total", [("reason", result.code)]).increment()
        default: break
        }
    }

    func recordCertificateLookup(hit: Bool) {
        counter(hit ? "defender_relay_certificate_cache_hits_total" : "defender_relay_certificate_cache_misses_total", []).increment()
    }

    func recordCertificateFetch(succeeded: Bool) {
        counter("defender_relay_certificate_fetches_total", [("outcome", succeeded ? "ok" : "failed")]).increment()
    }

    func recordRequest(route: String, status: Int, nanoseconds: Int64) {
        Timer(label: "defender_relay_http_request_duration_seconds", dimensions: [("route", route), ("status_class", "\(status / 100)xx")], factory: factory)
            .recordNanoseconds(nanoseconds)
    }

    /// One attempt to deliver an alert; `queuedAt` and `now` in ms, for the latency of a delivered one.
    func recordDelivery(receiver: String, outcome: String, queuedAt: Int64, now: Int64) {
        counter("defender_relay_delivery_attempts_total", [("receiver", receiver), ("outcome", outcome)]).increment()
        if outcome == "delivered" {
            Timer(label: "defender_relay_delivery_latency_seconds", dimensions: [("receiver", receiver)], factory: factory)
                .recordMilliseconds(max(0, now - queuedAt))
        }
    }

    private func counter(_ name: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: name, dimensions: dimensions, factory: factory)
    }

    /// The registry in the text format, with a HELP line before each family.
    public func render() -> String {
        var lines: [String] = []
        for line in registry.emitToString().split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).split(separator: " ").first.map(String.init) ?? ""
                if let help = Self.help[name] { lines.append("# HELP \(name) \(help)") }
            }
            lines.append(String(line))
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}
