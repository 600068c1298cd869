import RelayConfig
import Foundation
import Logging
import Synchronization

/// Writes log lines to standard error, as text (exactly swift-log's `StreamLogHandler` line) or
/// as one JSON object per line (`log.format: json`) for log collectors. Metadata is kept as it
/// is set and rendered only when a line is written.
///
/// `StreamLogHandler` renders all of its metadata into a string each time one key is set; the
/// HTTP server sets a request id on every request's logger, so each SNS message paid for
/// rendering metadata that is almost never logged.
public struct RelayLogHandler: LogHandler {
    private let stream: StreamLogHandler
    private let format: RelayConfiguration.Log.Format
    private let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level

    public init(label: String, level: Logger.Level, format: RelayConfiguration.Log.Format = .text) {
        stream = StreamLogHandler.standardError(label: label)
        metadataProvider = stream.metadataProvider
        logLevel = level
        self.format = format
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        switch format {
        case .text:
            var handler = stream
            handler.logLevel = logLevel
            handler.metadataProvider = metadataProvider
            handler.metadata = metadata
            handler.log(event: event)
        case .json:
            var all = metadata
            if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
            if let extra = event.metadata { all.merge(extra) { $1 } }
            let line = Self.jsonLine(
                time: Date(), level: event.level, label: label, message: "\(event.message)", metadata: all, source: event.source
            )
            JSONLogOutput.write(line)
        }
    }

    /// `{"time":"…","level":"info","label":"…","message":"…", …metadata}`; metadata keys that
    /// would overwrite those four are prefixed with `meta_`.
    static func jsonLine(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, source: String) -> String {
        var line = "{\"time\":\"\(time.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)))\""
        line += ",\"level\":\(quoted(level.rawValue)),\"label\":\(quoted(label)),\"message\":\(quoted(message))"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            let name = ["time", "level", "label", "message"].contains(key) ? "meta_" + key : key
            line += ",\(quoted(name)):\(quoted("\(value)"))"
        }
        return line + "}\n"
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value):
                result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// Whole lines, one writer at a time, so lines from concurrent tasks never interleave.
enum JSONLogOutput {
    private static let lock = Mutex(())

    static func write(_ line: String) {
        lock.withLock { _ in
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }
}
