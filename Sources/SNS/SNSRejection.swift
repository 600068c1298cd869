/// Why a well-formed envelope is refused as not genuine, not trusted or not fresh (HTTP 403).
///
/// Each case carries what an operator needs to act: the offending value (shortened) or the
/// rule that failed. `code` is stable for logs, metrics and JSON error bodies.
public enum SNSRejection: Error, Sendable, Equatable {
    case signatureVersionNotAccepted(String)
    case signatureMalformed
    case signatureMismatch
    case certificateURLRejected(url: String, reason: AWSURLViolation)
    case certificateUnusable(reason: String)
    case subscribeURLRejected(url: String, reason: AWSURLViolation)
    case topicNotAllowed(String)
    case messageTooOld(ageSeconds: Int64, limitSeconds: Int64)
    case messageFromFuture(aheadSeconds: Int64)

    public var code: String {
        switch self {
        case .signatureVersionNotAccepted: "signature_version_not_accepted"
        case .signatureMalformed: "signature_malformed"
        case .signatureMismatch: "signature_mismatch"
        case .certificateURLRejected: "signing_cert_url_rejected"
        case .certificateUnusable: "signing_cert_unusable"
        case .subscribeURLRejected: "subscribe_url_rejected"
        case .topicNotAllowed: "topic_not_allowed"
        case .messageTooOld: "message_too_old"
        case .messageFromFuture: "message_from_future"
        }
    }

    public var detail: String {
        switch self {
        case .signatureVersionNotAccepted(let version):
            "SignatureVersion '\(version.prefix(16))' is not accepted here (sns.signature_versions)."
        case .signatureMalformed:
            "The Signature field is not base64 of an RSA signature as long as the signing key."
        case .signatureMismatch:
            "The signature does not match the signed fields of this message under the signing certificate."
        case .certificateURLRejected(let url, let reason):
            "SigningCertURL '\(url.prefix(200))' is not an AWS SNS certificate URL: \(reason.sentence)\(reason.isHostRule ? " (sns.cert_url_hosts)" : "")."
        case .certificateUnusable(let reason):
            "The signing certificate cannot be used: \(reason)."
        case .subscribeURLRejected(let url, let reason):
            "SubscribeURL '\(url.prefix(120))…' is not an AWS SNS confirmation URL: \(reason.sentence)."
        case .topicNotAllowed(let topic):
            "Topic '\(topic.prefix(256))' is not in sns.allowed_topics."
        case .messageTooOld(let age, let limit):
            "The message Timestamp is \(age) s old, more than sns.max_message_age_seconds (\(limit) s): refused as a possible replay."
        case .messageFromFuture(let ahead):
            "The message Timestamp is \(ahead) s in the future (more than 300 s of clock skew)."
        }
    }
}
