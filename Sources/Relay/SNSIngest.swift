import RelayConfig
import DeviceDefender
import Ingest
import Logging
import SNS
import Storage

/// The SNS endpoint's pipeline, in the order that keeps every promise:
/// parse (400) → precheck without I/O (403) → signing certificate (403, or 503 when AWS is
/// unreachable) → signature (403) → durable record (503 when the store fails) → subscription
/// lifecycle. Nothing is stored before the signature is verified, and 200 is only answered
/// after the message is committed (by `MessageRecorder`, which commits concurrent messages
/// together).
public struct SNSIngest: Sendable {
    let verifier: SNSMessageVerifier
    let certificates: SigningCertificateCache
    let confirmer: SubscriptionConfirmer
    let confirmationMode: RelayConfiguration.ConfirmationMode
    let store: any Store
    /// Stores each verified message, with its alerts, in a shared transaction.
    public let recorder: MessageRecorder
    let clock: @Sendable () -> SNSInstant
    let logger: Logger
    /// Plans alerts that follow a later step (a confirmed subscription); its planner is nil
    /// without receivers.
    let routing: AlertRouting

    public init(
        verifier: SNSMessageVerifier, certificates: SigningCertificateCache,
        confirmer: SubscriptionConfirmer, confirmationMode: RelayConfiguration.ConfirmationMode, store: any Store,
        recorder: MessageRecorder, clock: @escaping @Sendable () -> SNSInstant, logger: Logger, routing: AlertRouting = AlertRouting(nil)
    ) {
        self.routing = routing
        self.recorder = recorder
        self.verifier = verifier
        self.certificates = certificates
        self.confirmer = confirmer
        self.confirmationMode = confirmationMode
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// Handles one POSTed body with its `x-amz-sns-*` headers; `rawDelivery` is true when
    /// `x-amz-sns-rawdelivery: true` was sent.
    public func handle(body: [UInt8], headers: SNSDeliveryHeaders, rawDelivery: Bool) async -> IngestResult {
        let message: SNSMessage
        do throws(SNSEnvelopeError) {
            if rawDelivery { throw .notAnEnvelope }
            message = try SNSMessage.parse(body: body, headers: headers)
        } catch {
            logger.warning("sns message refused", metadata: ["outcome": "\(error.code)", "bytes": "\(body.count)"])
            return IngestResult(status: 400, code: error.code, detail: error.detail)
        }
        var result = await handle(message, body: body)
        result.messageType = message.type.rawValue
        return result
    }

    /// Everything after a successful parse.
    private func handle(_ message: SNSMessage, body: [UInt8]) async -> IngestResult {
        var logger = MessageLogger(base: logger, message: message)

        let now = clock()
        if let rejection = verifier.precheck(message, now: now) {
            return refuse(rejection, message, logger)
        }
        let certificate: SigningCertificate
        switch await certificates.certificate(for: message.signingCertURL) {
        case .success(let value):
            certificate = value
        case .failure(.rejected(let rejection)):
            return refuse(rejection, message, logger)
        case .failure(.unavailable(let reason)):
            // The reason (libcurl's text: internal hosts, proxies) goes to the log only.
            logger.warning("sns message deferred", metadata: ["outcome": "signing_cert_unavailable", "reason": "\(reason)"])
            return IngestResult(status: 503, code: "signing_cert_unavailable", detail: SigningCertificateCache.unavailableSentence, messageID: message.messageID)
        case .failure(.busy(let reason)):
            logger.warning("sns message deferred", metadata: ["outcome": "signing_cert_busy", "reason": "\(reason)"])
            return IngestResult(
                status: 503, code: "signing_cert_busy",
                detail: "Too many signing certificates are being fetched or were asked for lately; SNS will retry.", messageID: message.messageID
            )
        }
        if case .rejected(let rejection) = verifier.verifySignature(message, certificate: certificate, now: now) {
            return refuse(rejection, message, logger)
        }
        certificates.confirmGenuine(message.signingCertURL)

        // Decoding is pure and cannot fail the request: whatever the Message is, it is stored.
        let payload = message.type == .notification ? DefenderPayload.classify(message.message) : nil
        logger.payload = payload?.kind
        let item = IngestItem(message: StoredMessage(message, body: body, receivedAt: now), effect: effect(of: message), payload: payload)
        if let audit = item.audit, !audit.warnings.isEmpty {
            logger.warning("audit summary counts disagree with its details", metadata: [
                "task_id": "\(audit.audit.taskID)", "warnings": "\(audit.warnings.joined(separator: "; "))",
            ])
        }
        let outcome: RecordOutcome
        do throws(StoreError) {
            outcome = try await recorder.record(item)
        } catch .overloaded(let reason) {
            logger.warning("sns message deferred", metadata: ["outcome": "store_busy", "reason": "\(reason)"])
            return IngestResult(status: 503, code: "store_busy", detail: "Too many messages are waiting to be stored; SNS will retry it.", messageID: message.messageID)
        } catch {
            logger.error("sns message not stored", metadata: ["outcome": "store_unavailable", "error": "\(error)"])
            return IngestResult(status: 503, code: "store_unavailable", detail: "The message could not be stored; SNS will retry it.", messageID: message.messageID)
        }

        if message.type == .subscriptionConfirmation, confirmationMode == .auto {
            return await confirmIfPending(message, body: body, outcome: outcome, logger: logger)
        }
        let code = outcome == .recorded ? (message.type == .subscriptionConfirmation ? "pending_confirmation" : "recorded") : "duplicate"
        // Debug, not info: at thousands of messages a second a line per message would cost more
        // than storing it. Each one is in the store; refusals are logged as warnings.
        logger.debug("sns message accepted", metadata: ["outcome": "\(code)"])
        return IngestResult(status: 200, code: code, messageID: message.messageID)
    }

    private func effect(of message: SNSMessage) -> SubscriptionEffect {
        switch message.type {
        case .notification: .notificationDelivered
        case .subscriptionConfirmation: .confirmationRequested(subscribeURL: message.subscribeURL ?? "")
        case .unsubscribeConfirmation: .unsubscribed
        }
    }

    /// Visits the SubscribeURL while the topic's subscription is still pending on this very
    /// request. A transient failure answers 503 so that SNS re-delivers the confirmation; the
    /// re-delivery is a duplicate MessageId but the subscription is still pending, so it tries again.
    private func confirmIfPending(_ message: SNSMessage, body: [UInt8], outcome: RecordOutcome, logger: MessageLogger) async -> IngestResult {
        let subscription: Subscription?
        do {
            subscription = try await store.subscription(topicARN: message.topicARN)
        } catch {
            return IngestResult(status: 503, code: "store_unavailable", detail: "The subscription state could not be read; SNS will retry.", messageID: message.messageID)
        }
        guard let subscription, subscription.status == .pending, subscription.subscribeURL == message.subscribeURL,
              let subscribeURL = message.subscribeURL
        else {
            logger.debug("sns message accepted", metadata: ["outcome": "duplicate"])
            return IngestResult(status: 200, code: "duplicate", messageID: message.messageID)
        }
        let now = clock().millisecondsSince1970
        switch await confirmer.confirm(subscribeURL: subscribeURL, topicARN: message.topicARN) {
        case .confirmed(let subscriptionARN):
            var alerts: [OutboxEntry] = []
            if let planner = routing.planner, let alert = planner.alert(for: StoredMessage(message, body: body, receivedAt: clock()), event: .subscription(status: "confirmed")) {
                alerts = planner.entries(for: alert, now: now)
            }
            do {
                // The confirmation and its alert in one transaction: neither without the other.
                try await store.confirm(topicARN: message.topicARN, subscriptionARN: subscriptionARN, alerts: alerts, at: now)
            } catch {
                return IngestResult(status: 503, code: "store_unavailable", detail: "The confirmation could not be recorded; SNS will retry.", messageID: message.messageID)
            }
            logger.info("sns subscription confirmed", metadata: ["outcome": "confirmed", "subscription_arn": "\(subscriptionARN ?? "unknown")"])
            return IngestResult(status: 200, code: "confirmed", messageID: message.messageID)
        case .transientFailure(let reason):
            try? await store.markConfirmationFailed(topicARN: message.topicARN, reason: reason, at: now)
            logger.warning("sns subscription confirmation deferred", metadata: ["outcome": "confirm_retry", "reason": "\(reason)"])
            return IngestResult(
                status: 503, code: "subscription_confirm_unavailable",
                detail: "AWS could not be reached to confirm the subscription just now; SNS will retry.", messageID: message.messageID
            )
        case .permanentFailure(let reason):
            try? await store.markConfirmationFailed(topicARN: message.topicARN, reason: reason, at: now)
            logger.error("sns subscription confirmation failed", metadata: ["outcome": "confirm_failed", "reason": "\(reason)"])
            return IngestResult(
                status: 200, code: "pending_confirmation",
                detail: "AWS refused the confirmation; the reason is in the relay's log and in `defender-relay subscriptions list`.", messageID: message.messageID
            )
        }
    }

    private func refuse(_ rejection: SNSRejection, _ message: SNSMessage, _ logger: MessageLogger) -> IngestResult {
        logger.warning("sns message refused", metadata: ["outcome": "\(rejection.code)"])
        return IngestResult(status: 403, code: rejection.code, detail: rejection.detail, messageID: message.messageID)
    }
}

extension StoredMessage {
    init(_ message: SNSMessage, body: [UInt8], receivedAt: SNSInstant) {
        self.init(
            messageID: message.messageID, type: message.type.rawValue, topicARN: message.topicARN, subject: message.subject,
            message: message.message, snsTimestamp: message.timestamp, signatureVersion: message.signatureVersion,
            signingCertURL: message.signingCertURL, rawEnvelope: body, receivedAt: receivedAt.millisecondsSince1970
        )
    }
}

/// Logs about one message with its id, topic, type and payload kind attached. The metadata is
/// built only when a line is actually written: at thousands of messages a second, building it
/// for every message cost more than verifying the signature.
struct MessageLogger {
    let base: Logger
    let message: SNSMessage
    var payload: String?

    private func metadata(_ extra: Logger.Metadata) -> Logger.Metadata {
        var metadata = extra
        metadata["message_id"] = "\(message.messageID.prefix(100))"
        metadata["topic"] = "\(message.topicARN.prefix(256))"
        metadata["type"] = "\(message.type.rawValue)"
        if let payload { metadata["payload"] = "\(payload)" }
        return metadata
    }

    func debug(_ text: Logger.Message, metadata extra: @autoclosure () -> Logger.Metadata = [:]) {
        base.debug(text, metadata: metadata(extra()))
    }

    func info(_ text: Logger.Message, metadata extra: @autoclosure () -> Logger.Metadata = [:]) {
        base.info(text, metadata: metadata(extra()))
    }

    func warning(_ text: Logger.Message, metadata extra: @autoclosure () -> Logger.Metadata = [:]) {
        base.warning(text, metadata: metadata(extra()))
    }

    func error(_ text: Logger.Message, metadata extra: @autoclosure () -> Logger.Metadata = [:]) {
        base.error(text, metadata: metadata(extra()))
    }
}
