import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// An SNS signing certificate that passed every check that does not depend on time: exactly one
/// PEM certificate, an RSA key of 2048 bits or more, and a subject CN or DNS SAN that is an SNS
/// signing name. Its validity period is judged per message, at verification time.
public struct SigningCertificate: Sendable {
    public let certificate: Certificate
    public let publicKey: _RSA.Signing.PublicKey
    public let notValidBefore: SNSInstant
    public let notValidAfter: SNSInstant
    /// Subject common names and DNS subject alternative names.
    public let names: [String]

    /// The smallest RSA key accepted. AWS moved off 1024-bit keys in 2014.
    public static let minimumKeyBits = 2048

    public static func parse(pem: String, acceptedNames: [WholeMatchPattern]) -> Result<SigningCertificate, SNSRejection> {
        func unusable(_ reason: String) -> Result<SigningCertificate, SNSRejection> {
            .failure(.certificateUnusable(reason: reason))
        }
        let trimmed = pem.trimmingCharacters(in: .whitespacesAndNewlines)
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        guard trimmed.hasPrefix(begin), trimmed.hasSuffix(end),
              trimmed.components(separatedBy: "-----BEGIN ").count == 2,
              trimmed.components(separatedBy: "-----END ").count == 2
        else { return unusable("the document is not exactly one PEM certificate") }

        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: trimmed)
        } catch {
            return unusable("it does not parse as an X.509 certificate with a supported key (RSA keys need at least 2048 bits): \(String(describing: error).prefix(160))")
        }
        guard let publicKey = _RSA.Signing.PublicKey(certificate.publicKey) else {
            return unusable("its key is not an RSA key")
        }
        guard publicKey.keySizeInBits >= minimumKeyBits else {
            return unusable("its RSA key has \(publicKey.keySizeInBits) bits, fewer than \(minimumKeyBits)")
        }

        var names: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                names.append(String(describing: attribute.value))
            }
        }
        if let alternativeNames = try? certificate.extensions.subjectAlternativeNames {
            for name in alternativeNames {
                if case .dnsName(let dnsName) = name { names.append(dnsName) }
            }
        }
        guard names.contains(where: { name in acceptedNames.anyMatches(name.lowercased()) }) else {
            return unusable("its names (\(names.joined(separator: ", ").prefix(200))) are not SNS signing names (sns.cert_names)")
        }
        return .success(SigningCertificate(
            certificate: certificate,
            publicKey: publicKey,
            notValidBefore: SNSInstant(date: certificate.notValidBefore),
            notValidAfter: SNSInstant(date: certificate.notValidAfter),
            names: names
        ))
    }

    /// Nil when `now` lies inside the certificate's validity period.
    public func checkValidity(at now: SNSInstant) -> SNSRejection? {
        if now < notValidBefore {
            return .certificateUnusable(reason: "it is not valid before \(notValidBefore)")
        }
        if now > notValidAfter {
            return .certificateUnusable(reason: "it expired at \(notValidAfter)")
        }
        return nil
    }
}

extension SNSInstant {
    public init(date: Date) {
        self.init(millisecondsSince1970: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    public var date: Date {
        Date(timeIntervalSince1970: Double(millisecondsSince1970) / 1000)
    }
}
