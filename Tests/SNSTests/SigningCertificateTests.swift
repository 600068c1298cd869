import Crypto
import Foundation
import SNS
import SwiftASN1
import TestSupport
import Testing
import X509

struct SigningCertificateTests {
    static let names = WholeMatchPattern.defaultCertificateNames.map { try! WholeMatchPattern($0) }

    func reason(_ pem: String) -> String? {
        if case .failure(.certificateUnusable(let reason)) = SigningCertificate.parse(pem: pem, acceptedNames: Self.names) {
            return reason
        }
        return nil
    }

    @Test func acceptsSNSSigningNames() throws {
        for name in ["sns.amazonaws.com", "sns-signing.eu-central-1.amazonaws.com", "sns.amazonaws.com.cn"] {
            let identity = try TestSigningIdentity(commonName: name, keyBits: 2048)
            #expect(reason(identity.certificatePEM) == nil, "\(name) refused")
        }
    }

    @Test func refusesOtherNames() throws {
        let identity = try TestSigningIdentity(commonName: "evil.example", dnsNames: ["sns.amazonaws.com.evil.example"])
        #expect(reason(identity.certificatePEM)?.contains("not SNS signing names") == true)
    }

    @Test func refusesNonRSAKeys() throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("sns.amazonaws.com") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date(), notValidAfter: Date().addingTimeInterval(3600), issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: .init(), issuerPrivateKey: .init(key)
        )
        #expect(reason(try certificate.serializeAsPEM().pemString)?.contains("not an RSA key") == true)
    }

    @Test func refusesAnythingButExactlyOnePEMCertificate() throws {
        let pem = TestSigningIdentity.shared.certificatePEM
        #expect(reason(pem + pem)?.contains("exactly one") == true)
        #expect(reason("<html>404</html>")?.contains("exactly one") == true)
        #expect(reason("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")?.contains("does not parse") == true)
        #expect(reason("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----") != nil)
    }

    @Test func judgesValidityAtTheGivenTime() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let identity = try TestSigningIdentity(commonName: "sns.amazonaws.com", notValidBefore: start, notValidAfter: start.addingTimeInterval(86_400))
        let certificate = try SigningCertificate.parse(pem: identity.certificatePEM, acceptedNames: Self.names).get()
        #expect(certificate.checkValidity(at: SNSInstant(date: start.addingTimeInterval(3600))) == nil)
        #expect(certificate.checkValidity(at: SNSInstant(date: start.addingTimeInterval(-1))) != nil)
        #expect(certificate.checkValidity(at: SNSInstant(date: start.addingTimeInterval(86_401))) != nil)
    }
}
