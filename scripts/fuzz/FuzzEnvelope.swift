// libFuzzer entry point over what the relay does with an untrusted request body, in the order it
// does it: the strict JSON reader, the SNS envelope parser, the string to sign, the URL and topic
// policies, and Device Defender payload classification. Built and run by scripts/fuzz.sh (swiftc
// -sanitize=fuzzer,address, Linux); no I/O happens here.
//
// A finding is either a crash in the code under test (trap, ASan report, timeout, OOM) or one of
// the invariants below failing, which traps with a message starting "FUZZ INVARIANT".

import DeviceDefender
import JSON
import SNS

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Fixed configuration (built once; the relay's policies are long-lived too)

private let certificateURLPolicy = SigningCertificateURLPolicy.standard
private let subscribeURLPolicy = SubscribeURLPolicy(allowedHosts: SigningCertificateURLPolicy.standard.allowedHosts)
private let allowedTopics = AllowedTopics([
    "arn:aws:sns:us-west-2:131990247566:dongie-standard-topic",
    "arn:aws:sns:*:123456789012:*",
    "arn:aws-cn:sns:cn-*:123456789012:DDD_*",
])

// MARK: - Entry point

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)

    // (b) The JSON reader on the raw bytes, and the writer's output read back.
    let document = try? JSONValue.parse(bytes)
    checkWriterRoundTrip(text)

    // (a) The envelope, the string to sign and the policies applied to its URLs and topic.
    switch Result(catching: { () throws(SNSEnvelopeError) -> SNSMessage in try SNSMessage.parse(body: bytes) }) {
    case .success(let message):
        checkEnvelope(message, bytes: bytes, document: document)
        checkPolicies(message)
        // (c) What the relay does next with a Notification's Message.
        exercise(DefenderPayload.classify(message.message))
    case .failure(let error):
        _ = error.code
        _ = error.detail
    }

    // (c) The body itself as a payload (raw message delivery sends exactly that).
    exercise(DefenderPayload.classify(text))

    // The URL parser, topic glob and timestamp reader straight on the input, for depth.
    if size <= 4096 {
        checkURL(text)
        _ = allowedTopics.allows(text)
        if let arn = TopicARN(text), !sameBytes(arn.description, text) {
            finding("TopicARN \(show(text)) renders as \(show(arn.description))")
        }
        checkInstant(text)
    }
    return 0
}

// MARK: - Invariants

private func finding(_ what: String) -> Never {
    fatalError("FUZZ INVARIANT: \(what)")
}

/// A short, escaped rendering of a value for a finding's message.
private func show(_ value: String?) -> String {
    guard let value else { return "nil" }
    return String(reflecting: String(value.prefix(120)))
}

private func hasNewline(_ value: String?) -> Bool {
    // Bytes, not Characters: "\r\n" is one Character that is not equal to "\n".
    value?.utf8.contains(0x0A) ?? false
}

private func sameBytes(_ lhs: String?, _ rhs: String?) -> Bool {
    switch (lhs, rhs) {
    case (nil, nil): return true
    case (let l?, let r?): return l.utf8.elementsEqual(r.utf8)
    default: return false
    }
}

/// Swift's `==` on strings is canonical equivalence; signatures are over bytes.
private func sameBytes(_ lhs: SNSMessage, _ rhs: SNSMessage) -> Bool {
    lhs == rhs && lhs.type == rhs.type && lhs.sentAt == rhs.sentAt
        && lhs.hasMessageAttributes == rhs.hasMessageAttributes
        && sameBytes(lhs.messageID, rhs.messageID) && sameBytes(lhs.topicARN, rhs.topicARN)
        && sameBytes(lhs.subject, rhs.subject) && sameBytes(lhs.message, rhs.message)
        && sameBytes(lhs.timestamp, rhs.timestamp) && sameBytes(lhs.signatureVersion, rhs.signatureVersion)
        && sameBytes(lhs.signature, rhs.signature) && sameBytes(lhs.signingCertURL, rhs.signingCertURL)
        && sameBytes(lhs.subscribeURL, rhs.subscribeURL) && sameBytes(lhs.token, rhs.token)
        && sameBytes(lhs.unsubscribeURL, rhs.unsubscribeURL)
}

/// The string to sign as AWS documents it, built here independently of `stringToSign`:
/// `Name\nValue\n` for each signed field in byte order of its name.
private func documentedStringToSign(_ message: SNSMessage) -> [UInt8] {
    var fields: [(String, String?)] = [("Message", message.message), ("MessageId", message.messageID)]
    switch message.type {
    case .notification:
        fields += [("Subject", message.subject), ("Timestamp", message.timestamp)]
    case .subscriptionConfirmation, .unsubscribeConfirmation:
        fields += [("SubscribeURL", message.subscribeURL), ("Timestamp", message.timestamp), ("Token", message.token)]
    }
    fields += [("TopicArn", message.topicARN), ("Type", message.type.rawValue)]
    var bytes: [UInt8] = []
    for (name, value) in fields {
        guard let value else { continue }
        bytes += name.utf8
        bytes.append(0x0A)
        bytes += value.utf8
        bytes.append(0x0A)
    }
    return bytes
}

private func checkEnvelope(_ message: SNSMessage, bytes: [UInt8], document: JSONValue?) {
    // Deterministic: the same bytes parse to the same message, byte for byte.
    guard let again = try? SNSMessage.parse(body: bytes) else { finding("a second parse of the same bytes failed") }
    guard sameBytes(message, again) else { finding("two parses of the same bytes differ") }

    // The x-amz-sns-* headers: the body's own values give the same message; another type or
    // topic is refused as a mismatch.
    let ownHeaders = SNSDeliveryHeaders(messageType: message.type.rawValue, topicARN: message.topicARN, messageID: message.messageID)
    guard let withHeaders = try? SNSMessage.parse(body: bytes, headers: ownHeaders), sameBytes(message, withHeaders) else {
        finding("parse with the body's own values as headers differs or fails")
    }
    let otherType = SNSMessageType.allCases.first { $0 != message.type }!
    do throws(SNSEnvelopeError) {
        _ = try SNSMessage.parse(body: bytes, headers: SNSDeliveryHeaders(messageType: otherType.rawValue))
        finding("a type header naming \(otherType.rawValue) for a \(message.type.rawValue) body was accepted")
    } catch {
        guard case .typeHeaderMismatch = error else { finding("type header mismatch reported as \(error)") }
    }
    do throws(SNSEnvelopeError) {
        _ = try SNSMessage.parse(body: bytes, headers: SNSDeliveryHeaders(topicARN: message.topicARN + "x"))
        finding("a topic header naming another topic was accepted")
    } catch {
        guard case .headerMismatch = error else { finding("topic header mismatch reported as \(error)") }
    }

    // No signed field but Message and Subject may contain the separator of the string to sign.
    // (SignatureVersion is not signed; anything but "1" and "2" is refused by the verifier.)
    let signed: [(String, String?)] = [
        ("MessageId", message.messageID), ("TopicArn", message.topicARN), ("Timestamp", message.timestamp),
        ("Token", message.token), ("SubscribeURL", message.subscribeURL),
    ]
    for (name, value) in signed where hasNewline(value) {
        finding("\(name) contains a newline after a successful parse: \(show(value))")
    }

    // An accepted TopicArn is an SNS topic ARN, and reads back as itself.
    guard let arn = TopicARN(message.topicARN), sameBytes(arn.description, message.topicARN) else {
        finding("accepted TopicArn \(show(message.topicARN)) is not a TopicARN that renders as itself")
    }

    // The parser keeps every signed value exactly as the JSON reader read it.
    guard case .object(let fields)? = document else { finding("an envelope was parsed from a body that is no JSON object") }
    let raw: [(String, String?)] = [
        ("Type", message.type.rawValue), ("MessageId", message.messageID), ("TopicArn", message.topicARN),
        ("Subject", message.subject), ("Message", message.message), ("Timestamp", message.timestamp),
        ("SignatureVersion", message.signatureVersion), ("Signature", message.signature),
        ("SigningCertURL", message.signingCertURL), ("UnsubscribeURL", message.unsubscribeURL),
        ("SubscribeURL", message.subscribeURL), ("Token", message.token),
    ]
    for (name, value) in raw {
        let expected: String? = fields[name]?.stringValue
        if name == "SubscribeURL" || name == "Token", message.type == .notification {
            guard value == nil else { finding("\(name) kept on a Notification") }
            continue
        }
        guard sameBytes(value, expected) else { finding("\(name) is \(show(value)) but the JSON says \(show(expected))") }
    }

    // The string to sign is exactly the documented one, and the same every time it is built.
    let stringToSign = Array(message.stringToSign.utf8)
    guard stringToSign == documentedStringToSign(message) else {
        finding("stringToSign differs from the documented construction for a \(message.type.rawValue)")
    }
    guard stringToSign.elementsEqual(again.stringToSign.utf8) else { finding("stringToSign not deterministic") }

    // The instant the Timestamp denotes.
    guard let instant = SNSInstant(iso8601: message.timestamp), instant == message.sentAt else {
        finding("sentAt disagrees with SNSInstant(iso8601: Timestamp) for \(show(message.timestamp))")
    }
}

private func checkPolicies(_ message: SNSMessage) {
    checkURL(message.signingCertURL)
    if let subscribeURL = message.subscribeURL {
        checkURL(subscribeURL)
        _ = subscribeURLPolicy.check(subscribeURL, topicARN: message.topicARN)?.sentence
    }
    if let unsubscribeURL = message.unsubscribeURL { checkURL(unsubscribeURL) }
    _ = allowedTopics.allows(message.topicARN)
}

/// The URL parser's documented postconditions, and the certificate URL policy's memo never
/// changing a verdict (a fresh policy, whose memo is empty, must judge alike).
private func checkURL(_ url: String) {
    if case .success(let parsed) = AWSEndpointURL.parse(url) {
        guard !parsed.host.isEmpty, parsed.host.utf8.allSatisfy({ byte in
            (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }) else { finding("AWSEndpointURL host is not lowercase letters, digits, '-' and '.': \(show(parsed.host))") }
        guard parsed.path.utf8.first == UInt8(ascii: "/") else { finding("AWSEndpointURL path does not start with '/': \(show(parsed.path))") }
        _ = parsed.queryItems
    }
    let remembered = certificateURLPolicy.check(url)
    let fresh = SigningCertificateURLPolicy(allowedHosts: certificateURLPolicy.allowedHosts, allowedPaths: certificateURLPolicy.allowedPaths)
        .check(url)
    guard remembered == fresh else {
        finding("certificate URL verdict \(String(describing: remembered)) from the memo, \(String(describing: fresh)) fresh, for \(show(url))")
    }
    _ = remembered?.sentence
}

/// A parsed instant reads back as itself from its own rendering (years past 9999 do not render
/// in four digits and are skipped).
private func checkInstant(_ text: String) {
    guard let instant = SNSInstant(iso8601: text) else { return }
    if let back = SNSInstant(iso8601: instant.description), back != instant {
        finding("SNSInstant \(show(text)) renders as \(instant.description), which reads back as another instant")
    }
}

/// What the relay writes as a JSON string, its own reader reads back as the same bytes.
private func checkWriterRoundTrip(_ text: String) {
    var writer = JSONWriter(capacity: text.utf8.count + 2)
    writer.string(text)
    guard case .string(let back)? = try? JSONValue.parse(writer.bytes), sameBytes(back, text) else {
        finding("JSONWriter.string output does not read back as the same string")
    }
}

/// Uses a classified payload the way ingest does: consistency warnings and the stored change.
private func exercise(_ payload: DefenderPayload) {
    _ = payload.kind
    switch payload {
    case .audit(let audit):
        _ = audit.consistencyWarnings
        for change in [AuditChange.between(previous: nil, current: audit), AuditChange.between(previous: audit, current: audit)] {
            // What the relay stores, its own reader must accept.
            let json = change.jsonText
            guard (try? JSONValue.parse(json)) != nil else { finding("AuditChange.jsonText is not JSON: \(show(json))") }
        }
    case .detect(let violation):
        _ = violation.eventType
    case .unrecognized(let reason):
        _ = reason.utf8.count
    }
}
