import ArgumentParser
import RelayConfig
import Curl
import Foundation

/// The container's `HEALTHCHECK`: the image has no curl or wget, so the relay checks itself.
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GET /readyz of a running relay; exit 0 when it is ready, 1 otherwise.",
        discussion: "The port is --port, else the configuration's server.port (--config or DEFENDER_RELAY_CONFIG), else RELAY_PORT, else 8080: a configuration file edited with a mistake does not make a running relay unhealthy. The relay is reached on loopback. Nothing else is contacted."
    )

    @OptionGroup var options: ConfigurationOptions
    @Option(help: "The port on 127.0.0.1 to check.") var port: Int?
    @Option(help: "The URL to check instead (http, loopback or any host).") var url: String?
    @Option(help: "Seconds to wait for an answer.") var timeout = 5

    func run() async throws {
        let target: String
        if let url {
            target = url
        } else {
            let configured = port ?? (try? options.load())?.server.port
                ?? ProcessInfo.processInfo.environment["RELAY_PORT"].flatMap { Int($0) } ?? 8080
            target = "http://127.0.0.1:\(configured)/readyz"
        }
        let status: Int
        do {
            status = try await CurlClient.withClient(configuration: CurlConfiguration(timeoutSeconds: timeout, connectTimeoutSeconds: timeout, threads: 1, proxy: .none)) { client in
                try await client.perform(CurlRequest(url: target, timeoutSeconds: timeout, maxResponseBytes: 4096, allowedProtocols: "http,https")).status
            }
        } catch {
            print("unhealthy: \(target): \(error)")
            throw ExitCode.failure
        }
        guard status == 200 else {
            print("unhealthy: \(target) answered \(status)")
            throw ExitCode.failure
        }
        print("ready")
    }
}
