import Alerts
import RelayConfig
import Crypto
import Curl
import Foundation
import JSON
import SNS
import Storage

/// Sends one delivery through `Curl`: an HTTPS POST for chat services and webhooks, SMTP for
/// mail. Every URL is checked against the receiver's host policy before any connection.
public struct AlertSender: Sendable {
    let curl: CurlClient
    let receivers: [String: RelayConfiguration.Receiver]
    /// Each receiver's URL policy, built once (its host patterns are regular expressions).
    let policies: [String: ReceiverURLPolicy]
    let clock: @Sendable () -> SNSInstant

    public init(curl: CurlClient, receivers: [RelayConfiguration.Receiver], clock: @escaping @Sendable () -> SNSInstant) {
        self.curl = curl
        self.receivers = Dictionary(uniqueKeysWithValues: receivers.map { ($0.name, $0) })
        var policies: [String: ReceiverURLPolicy] = [:]
        for receiver in receivers {
            if let hosts = try? receiver.effectiveAllowedHosts.map(WholeMatchPattern.init) {
                policies[receiver.name] = ReceiverURLPolicy(allowedHosts: hosts)
            }
        }
        self.policies = policies
        self.clock = clock
    }

    public func send(_ delivery: Delivery) async -> SendResult {
        guard let receiver = receivers[delivery.receiver] else {
            return .invalid("receiver '\(delivery.receiver)' is no longer configured")
        }
        return receiver.kind == .email ? await sendMail(delivery, to: receiver) : await post(delivery, to: receiver)
    }

    private func post(_ delivery: Delivery, to receiver: RelayConfiguration.Receiver) async -> SendResult {
        guard let url = receiver.effectiveURL else { return .invalid("receiver has no url") }
        guard let policy = policies[receiver.name] else { return .invalid("invalid allowed_hosts") }
        if let violation = policy.check(url) {
            return .invalid("the receiver URL is refused: \(violation.sentence)")
        }
        let isJSON = (try? JSONValue.parse(delivery.body)) != nil
        var headers: [(name: String, value: String)] = [("Content-Type", isJSON ? "application/json; charset=utf-8" : "text/plain; charset=utf-8")]
        if receiver.kind == .webhook {
            headers.append(("Idempotency-Key", delivery.id))
            for (name, value) in receiver.headers.sorted(by: { $0.key < $1.key }) where !name.contains("\n") && !value.contains("\n") {
                headers.append((name, value))
            }
            if let secret = receiver.hmacSecret {
                let timestamp = String(clock().millisecondsSince1970 / 1000)
                headers.append(("X-Defender-Relay-Timestamp", timestamp))
                headers.append(("X-Defender-Relay-Signature", "sha256=" + Self.signature(secret: secret, timestamp: timestamp, body: delivery.body)))
            }
        }
        var body = delivery.body
        if receiver.kind == .pagerduty {
            guard let key = receiver.routingKey, body.first == UInt8(ascii: "{"), body.count > 2 else { return .invalid("the queued PagerDuty event cannot be read") }
            body = Self.withRoutingKey(key, body)
        }
        let response: CurlResponse
        do {
            response = try await curl.perform(CurlRequest(method: .post, url: url, headers: headers, body: body, maxResponseBytes: 64 * 1024))
        } catch {
            return .unreachable("\(error.shortDescription): \(Self.scrub(String(describing: error), url: url))")
        }
        if (200..<300).contains(response.status) { return .accepted(status: response.status) }
        let detail = String(response.bodyText.prefix(200)).replacingOccurrences(of: "\n", with: " ")
        return .refused(status: response.status, retryAfterSeconds: Self.retryAfter(response.header("retry-after"), now: clock()), detail: detail)
    }

    private func sendMail(_ delivery: Delivery, to receiver: RelayConfiguration.Receiver) async -> SendResult {
        guard let parts = try? JSONDecoder().decode([String: String].self, from: Data(delivery.body)),
              let subject = parts["subject"], let text = parts["text"], let html = parts["html"],
              let smtp = receiver.smtpURL, let from = receiver.from
        else { return .invalid("the queued mail cannot be read") }
        let mail = EmailMessage(subject: subject, text: text, html: html)
        let message = mail.mime(from: from, to: receiver.to, messageID: delivery.id, date: clock().date)
        do {
            let reply = try await curl.sendMail(CurlMailRequest(
                url: smtp, requireTLS: receiver.requireTLS && smtp.hasPrefix("smtp://"), username: receiver.username,
                password: receiver.password, from: from, recipients: receiver.to, message: message
            ))
            return .accepted(status: reply)
        } catch .transport(let code, let message) {
            // 67: login denied; an SMTP 5xx reply is a permanent refusal; 64: STARTTLS required but refused.
            if code == 67 || code == 64 || message.hasPrefix("SMTP 5") { return .invalid("curl \(code): \(message)") }
            return .unreachable("curl \(code): \(message)")
        } catch {
            return .unreachable(error.description)
        }
    }

    /// A queued PagerDuty event (a JSON object) with `routing_key` first: the key is added at
    /// send time, so the outbox and the API never hold it.
    static func withRoutingKey(_ key: String, _ event: [UInt8]) -> [UInt8] {
        var writer = JSONWriter(capacity: event.count + key.utf8.count + 20)
        writer.raw("{")
        writer.key("routing_key")
        writer.string(key)
        writer.raw(",")
        return writer.bytes + event.dropFirst()
    }

    /// Hex HMAC-SHA256 of `timestamp.body`: the receiving end recomputes it with the shared
    /// secret and rejects stale timestamps.
    public static func signature(secret: String, timestamp: String, body: [UInt8]) -> String {
        var signed = Array(timestamp.utf8)
        signed.append(UInt8(ascii: "."))
        signed += body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// `Retry-After` as seconds or an HTTP date.
    static func retryAfter(_ value: String?, now: SNSInstant) -> Int64? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int64(value) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, Int64(date.timeIntervalSince1970) - now.millisecondsSince1970 / 1000)
    }

    /// Webhook URLs are secrets (the token is in the path): never in an error or a log.
    static func scrub(_ text: String, url: String) -> String {
        text.replacingOccurrences(of: url, with: "<receiver url>")
    }
}
