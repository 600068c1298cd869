import ArgumentParser
import RelayConfig
import Curl
import Foundation
import Logging
import Relay
import SNS

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a saved SNS message offline and say whether it is genuine.",
        discussion: """
            FILE is the JSON envelope exactly as SNS posted it. Without --cert the signing certificate \
            is fetched from its SigningCertURL (after the URL policy). Exit status 0 means genuine, 1 not.
            """
    )

    @Argument(help: "The saved SNS message (JSON envelope).")
    var file: String

    @Option(help: "A PEM file with the signing certificate, instead of fetching it.")
    var cert: String?

    @Option(help: "Judge certificate validity and message age as of this ISO 8601 time (default: now).")
    var now: String?

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try options.load()
        let instant: SNSInstant
        if let now {
            guard let parsed = SNSInstant(iso8601: now) else { throw ValidationError("--now '\(now)' is not an ISO 8601 UTC time such as 2026-03-06T20:05:00Z") }
            instant = parsed
        } else {
            instant = RelayClock.now()
        }
        let decision = await decide(configuration: configuration, now: instant)
        print(decision.text)
        if !decision.genuine { throw ExitCode(1) }
    }

    private func decide(configuration: RelayConfiguration, now: SNSInstant) async -> (genuine: Bool, text: String) {
        guard let body = FileManager.default.contents(atPath: file) else {
            return (false, "NOT VERIFIED: cannot read \(file)")
        }
        let message: SNSMessage
        do {
            message = try SNSMessage.parse(body: Array(body))
        } catch {
            return (false, "NOT GENUINE (\(error.code)): \(error.detail)")
        }
        let verifier: SNSMessageVerifier
        let names: [WholeMatchPattern]
        do {
            verifier = try configuration.sns.verifier(allowedTopics: .anyTopic)
            names = try configuration.sns.certificateNamePatterns()
        } catch {
            return (false, "NOT VERIFIED: invalid sns.cert_url_hosts or sns.cert_names: \(error)")
        }
        let urlPolicy = verifier.policy.certificateURLPolicy
        if let rejection = verifier.precheck(message, now: now) {
            return (false, "NOT GENUINE (\(rejection.code)): \(rejection.detail)")
        }

        let certificate: Result<SigningCertificate, CertificateFetchFailure>
        if let cert {
            guard let pem = try? String(contentsOfFile: cert, encoding: .utf8) else {
                return (false, "NOT VERIFIED: cannot read certificate file \(cert)")
            }
            certificate = SigningCertificate.parse(pem: pem, acceptedNames: names).mapError { .rejected($0) }
        } else {
            let curl = CurlClient(configuration: CurlConfiguration(configuration.outbound))
            let cache = SigningCertificateCache(curl: curl, urlPolicy: urlPolicy, acceptedNames: names, logger: Logger(label: "defender-relay.verify"))
            certificate = await cache.certificate(for: message.signingCertURL)
            await curl.shutdown()
        }
        switch certificate {
        case .failure(.rejected(let rejection)):
            return (false, "NOT GENUINE (\(rejection.code)): \(rejection.detail)")
        case .failure(.unavailable(let reason)), .failure(.busy(let reason)):
            return (false, "NOT VERIFIED (signing_cert_unavailable): \(reason)")
        case .success(let certificate):
            switch verifier.verifySignature(message, certificate: certificate, now: now) {
            case .rejected(let rejection):
                return (false, "NOT GENUINE (\(rejection.code)): \(rejection.detail)")
            case .genuine:
                return (true, """
                    GENUINE: \(message.type.rawValue) \(message.messageID) from \(message.topicARN)
                      SignatureVersion \(message.signatureVersion), signed \(message.timestamp), judged at \(now)
                      certificate \(certificate.names.first ?? "?") valid \(certificate.notValidBefore) .. \(certificate.notValidAfter)
                    """)
            }
        }
    }
}
