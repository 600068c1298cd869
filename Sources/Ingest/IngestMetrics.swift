import CoreMetrics
import Metrics

/// What group commit reports: how long a batch's transaction took and how many messages it
/// carried. Handles from the relay's own metrics factory; `none` counts nothing.
public struct IngestMetrics: Sendable {
    public let writeDuration: Timer
    public let batchSize: Recorder

    public init(writeDuration: Timer, batchSize: Recorder) {
        self.writeDuration = writeDuration
        self.batchSize = batchSize
    }

    public static var none: IngestMetrics {
        IngestMetrics(
            writeDuration: Timer(label: "none", factory: NOOPMetricsHandler.instance),
            batchSize: Recorder(label: "none", factory: NOOPMetricsHandler.instance)
        )
    }
}
