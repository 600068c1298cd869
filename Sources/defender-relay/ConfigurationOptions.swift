import ArgumentParser
import RelayConfig
import Foundation
import Logging
import Relay

/// `--config FILE`, shared by every command that reads the configuration; falls back to
/// `DEFENDER_RELAY_CONFIG`, then to the defaults.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "The YAML configuration file (default: $DEFENDER_RELAY_CONFIG, else built-in defaults).")
    var config: String?

    /// The file in use, if any.
    var path: String? {
        guard let path = config ?? ProcessInfo.processInfo.environment["DEFENDER_RELAY_CONFIG"], !path.isEmpty else { return nil }
        return path
    }

    func load() throws -> RelayConfiguration {
        try loadChecked().configuration
    }

    /// The configuration with the warnings `config check` would give (a receiver no route
    /// uses, ...), from one reading of the file.
    func loadChecked() throws -> (configuration: RelayConfiguration, warnings: [ConfigurationWarning]) {
        guard let path else { return (RelayConfiguration(), []) }
        do throws(ConfigurationError) {
            let report = try RelayConfiguration.check(path: path, environment: ProcessInfo.processInfo.environment)
            if let error = ConfigurationError.combining(report.errors) { throw error }
            return (report.configuration ?? RelayConfiguration(), report.warnings)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}

enum RelayLogging {
    /// Logs go to standard error as `log.format` and `log.level` say; `LOG_FORMAT` and
    /// `LOG_LEVEL` override them.
    static func bootstrap(_ settings: RelayConfiguration.Log) -> Logger {
        let log = settings.overridden(by: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { label in RelayLogHandler(label: label, level: log.level, format: log.format) }
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
