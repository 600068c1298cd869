import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway certificate authority and a TLS server certificate for AWS's SNS hostnames, so a
/// local HTTPS server can play AWS while the relay keeps full TLS verification on.
public struct TestPKI: Sendable {
    public let directory: URL
    public var caFile: String { directory.appendingPathComponent("ca.pem").path }
    public var serverCertificateFile: String { directory.appendingPathComponent("server.pem").path }
    public var serverKeyFile: String { directory.appendingPathComponent("server.key").path }

    /// AWS's hostnames, plus attacker hostnames: the test server answers for those too, so a
    /// relay that wrongly fetched from them would be caught in the server's request log.
    public static let awsHostnames = [
        "sns.us-east-1.amazonaws.com", "sns.us-west-2.amazonaws.com", "sns.eu-west-1.amazonaws.com",
        "evil.example", "sns.us-east-1.amazonaws.com.evil.example",
        // Chat services and webhooks, played by the delivery tests' server; and a mail server.
        "hooks.slack.com", "prod-00.westus.logic.azure.com", "discord.com", "chat.googleapis.com", "hooks.example.com", "events.pagerduty.com",
        "smtp.example.com",
    ]

    /// Writes ca.pem, server.pem and server.key into `directory`.
    public init(directory: URL, hostnames: [String] = TestPKI.awsHostnames) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("defender-relay test CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400 * 30),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey)
        )
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86_400 * 30),
            issuer: caName, subject: try DistinguishedName { CommonName(hostnames[0]) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(hostnames.map { .dnsName($0) })
            },
            issuerPrivateKey: .init(caKey)
        )
        try (try ca.serializeAsPEM().pemString + "\n").write(toFile: caFile, atomically: true, encoding: .utf8)
        try (try server.serializeAsPEM().pemString + "\n").write(toFile: serverCertificateFile, atomically: true, encoding: .utf8)
        try (serverKey.pemRepresentation + "\n").write(toFile: serverKeyFile, atomically: true, encoding: .utf8)
    }
}
