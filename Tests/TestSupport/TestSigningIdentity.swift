import Crypto
import Foundation
import SNS
import SwiftASN1
import X509
import _CryptoExtras

/// An RSA key and a certificate that looks like an SNS signing certificate, made in code so
/// that tests can sign envelopes exactly as SNS does.
public struct TestSigningIdentity: Sendable {
    public let privateKey: _RSA.Signing.PrivateKey
    public let certificatePEM: String

    /// One 2048-bit identity per test process: RSA key generation is slow in debug builds.
    public static let shared: TestSigningIdentity = try! TestSigningIdentity(commonName: "sns.amazonaws.com")

    public init(
        commonName: String,
        dnsNames: [String]? = nil,
        keyBits: Int = 2048,
        notValidBefore: Date = Date().addingTimeInterval(-86_400),
        notValidAfter: Date = Date().addingTimeInterval(365 * 86_400)
    ) throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .init(bitCount: keyBits))
        self.privateKey = key
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            OrganizationName("Amazon.com, Inc.")
            CommonName(commonName)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: certificateKey.publicKey,
            notValidBefore: notValidBefore,
            notValidAfter: notValidAfter,
            issuer: name,
            subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames((dnsNames ?? [commonName]).map { GeneralName.dnsName($0) })
            },
            issuerPrivateKey: certificateKey
        )
        self.certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
    }

    /// The base64 signature SNS would send for `stringToSign` under `signatureVersion`.
    public func sign(_ stringToSign: String, signatureVersion: String) throws -> String {
        let data = Data(stringToSign.utf8)
        let signature = signatureVersion == "1"
            ? try privateKey.signature(for: Insecure.SHA1.hash(data: data), padding: .insecurePKCS1v1_5)
            : try privateKey.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
        return signature.rawRepresentation.base64EncodedString()
    }

    public func signingCertificate() -> SigningCertificate {
        try! SigningCertificate.parse(pem: certificatePEM, acceptedNames: WholeMatchPattern.defaultCertificateNames.map { try! WholeMatchPattern($0) }).get()
    }
}
