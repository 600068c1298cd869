import ArgumentParser
import RelayConfig
import Foundation
import Relay

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a configuration file, or print the reference of every key.",
        subcommands: [Check.self, Reference.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every problem of a configuration file; exit 1 when there is an error.",
            discussion: "Reads environment variables and ${file:...} secrets as `serve` would. Warnings (a receiver no route uses, an empty sns.allowed_topics) do not change the exit status. Nothing is contacted: reachability of the store and the receivers is not checked."
        )

        @Argument(help: "The YAML configuration file.") var file: String

        func run() throws {
            let report: ConfigurationCheck
            do {
                report = try RelayConfiguration.check(path: file, environment: ProcessInfo.processInfo.environment)
            } catch {
                print("error: \(error)")
                throw ExitCode.failure
            }
            var errors = report.errors.map { "\($0)" }
            if let configuration = report.configuration {
                // Templates are read and parsed as `serve` would.
                do {
                    _ = try buildPlanner(configuration: configuration)
                } catch {
                    errors.append("a receiver's template cannot be used: \(error)")
                }
            }
            for error in errors {
                print("error: \(error)")
            }
            for warning in report.warnings {
                print("warning: \(warning)")
            }
            guard errors.isEmpty else {
                print("\(file): \(errors.count) error(s), \(report.warnings.count) warning(s)")
                throw ExitCode.failure
            }
            print("\(file): OK" + (report.warnings.isEmpty ? "" : " (\(report.warnings.count) warning(s))"))
        }
    }

    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the configuration reference (docs/CONFIGURATION.md) as Markdown.")

        func run() {
            print(ConfigurationReference.markdown, terminator: "")
        }
    }
}
