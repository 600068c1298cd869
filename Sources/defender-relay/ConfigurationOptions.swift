import ArgumentParser
import Foundation
import Logging
import Relay

/// `--config FILE`, shared by every command that reads the configuration; falls back to
/// `DEFENDER_RELAY_CONFIG`, then to the defaults.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "The YAML configuration file (default: $DEFENDER_RELAY_CONFIG, else built-in defaults).")
    var config: String?

    func load() throws -> RelayConfiguration {
        let environment = ProcessInfo.processInfo.environment
        guard let path = config ?? environment["DEFENDER_RELAY_CONFIG"], !path.isEmpty else {
            return RelayConfiguration()
        }
        do {
            return try RelayConfiguration.load(path: path, environment: environment)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

enum RelayLogging {
    /// Logs go to standard error; `LOG_LEVEL` (trace ... critical) sets the level, info by default.
    static func bootstrap() -> Logger {
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in RelayLogHandler(label: label, level: level) }
        return Logger(label: "defender-relay")
    }

    /// For one-shot commands whose output is their result: only errors are logged.
    static func quiet() -> Logger {
        var logger = Logger(label: "defender-relay")
        logger.logLevel = .error
        return logger
    }
}

/// A command that ran but could not do what was asked; printed as `Error: <sentence>`, exit 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
