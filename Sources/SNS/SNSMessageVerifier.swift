import Crypto
import Foundation
import _CryptoExtras

/// Verifies SNS messages exactly as AWS specifies, in two steps so that nothing is fetched for
/// a message that can be refused on its face:
/// 1. `precheck`: accepted SignatureVersion, allowed topic, fresh Timestamp, SigningCertURL
///    policy and, for confirmations, SubscribeURL policy;
/// 2. `verifySignature`: certificate validity at `now`, then RSA PKCS#1 v1.5 with SHA1
///    (SignatureVersion 1) or SHA256 (2) over the string to sign.
public struct SNSMessageVerifier: Sendable {
    public struct Policy: Sendable {
        /// "1" and "2" by default; dropping "1" refuses SHA1 signatures.
        public var signatureVersions: Set<String>
        public var allowedTopics: AllowedTopics
        public var freshness: MessageFreshnessPolicy
        public var certificateURLPolicy: SigningCertificateURLPolicy
        /// The SubscribeURL a confirmation carries must pass this (it is visited to confirm, so
        /// it is an outbound URL like the certificate's), whoever asks: `serve` and `verify`
        /// judge a confirmation alike.
        public var subscribeURLPolicy: SubscribeURLPolicy

        /// `subscribeURLPolicy` defaults to the certificate URL's hosts.
        public init(
            signatureVersions: Set<String> = ["1", "2"],
            allowedTopics: AllowedTopics,
            freshness: MessageFreshnessPolicy = MessageFreshnessPolicy(),
            certificateURLPolicy: SigningCertificateURLPolicy,
            subscribeURLPolicy: SubscribeURLPolicy? = nil
        ) {
            self.signatureVersions = signatureVersions
            self.allowedTopics = allowedTopics
            self.freshness = freshness
            self.certificateURLPolicy = certificateURLPolicy
            self.subscribeURLPolicy = subscribeURLPolicy ?? SubscribeURLPolicy(allowedHosts: certificateURLPolicy.allowedHosts)
        }
    }

    public let policy: Policy

    public init(policy: Policy) {
        self.policy = policy
    }

    /// Every check that needs no certificate; nil when the certificate should be fetched.
    public func precheck(_ message: SNSMessage, now: SNSInstant) -> SNSRejection? {
        guard policy.allowedTopics.allows(message.topicARN) else {
            return .topicNotAllowed(message.topicARN)
        }
        guard SNSMessageVerifier.supportedVersions.contains(message.signatureVersion),
              policy.signatureVersions.contains(message.signatureVersion)
        else { return .signatureVersionNotAccepted(message.signatureVersion) }
        if let stale = policy.freshness.check(sentAt: message.sentAt, now: now) {
            return stale
        }
        if let violation = policy.certificateURLPolicy.check(message.signingCertURL) {
            return .certificateURLRejected(url: message.signingCertURL, reason: violation)
        }
        if let violation = AWSEndpointURL.regionMismatch(message.signingCertURL, topicARN: message.topicARN) {
            return .certificateURLRejected(url: message.signingCertURL, reason: violation)
        }
        if message.type != .notification, let url = message.subscribeURL,
           let violation = policy.subscribeURLPolicy.check(url, topicARN: message.topicARN) {
            return .subscribeURLRejected(url: url, reason: violation)
        }
        return nil
    }

    /// The signature check proper, with the certificate the message names.
    public func verifySignature(_ message: SNSMessage, certificate: SigningCertificate, now: SNSInstant) -> SNSVerdict {
        if let invalid = certificate.checkValidity(at: now) {
            return .rejected(invalid)
        }
        // An RSA signature is exactly as long as the key's modulus; anything else is no signature.
        guard let signatureBytes = Data(base64Encoded: message.signature),
              signatureBytes.count == (certificate.publicKey.keySizeInBits + 7) / 8
        else {
            return .rejected(.signatureMalformed)
        }
        let signature = _RSA.Signing.RSASignature(rawRepresentation: signatureBytes)
        let signed = Data(message.stringToSign.utf8)
        let valid: Bool
        switch message.signatureVersion {
        case "1":
            valid = certificate.publicKey.isValidSignature(signature, for: Insecure.SHA1.hash(data: signed), padding: .insecurePKCS1v1_5)
        case "2":
            valid = certificate.publicKey.isValidSignature(signature, for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5)
        default:
            return .rejected(.signatureVersionNotAccepted(message.signatureVersion))
        }
        return valid ? .genuine : .rejected(.signatureMismatch)
    }

    /// Both steps at once, for callers that already hold the certificate.
    public func verify(_ message: SNSMessage, certificate: SigningCertificate, now: SNSInstant) -> SNSVerdict {
        if let rejection = precheck(message, now: now) {
            return .rejected(rejection)
        }
        return verifySignature(message, certificate: certificate, now: now)
    }

    /// The versions AWS defines: 1 is SHA1withRSA, 2 is SHA256withRSA.
    public static let supportedVersions: Set<String> = ["1", "2"]
}
