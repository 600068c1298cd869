import Logging

/// Writes log lines exactly as swift-log's `StreamLogHandler` does (to standard error), but
/// keeps metadata as it is set and renders it only when a line is written.
///
/// `StreamLogHandler` renders all of its metadata into a string each time one key is set; the
/// HTTP server sets a request id on every request's logger, so each SNS message paid for
/// rendering metadata that is almost never logged.
public struct RelayLogHandler: LogHandler {
    private let stream: StreamLogHandler
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level

    public init(label: String, level: Logger.Level) {
        stream = StreamLogHandler.standardError(label: label)
        metadataProvider = stream.metadataProvider
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var handler = stream
        handler.logLevel = logLevel
        handler.metadataProvider = metadataProvider
        handler.metadata = metadata
        handler.log(event: event)
    }
}
