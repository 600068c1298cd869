/// What the SNS endpoint answers, decided without any HTTP types so that the whole pipeline can
/// be exercised directly. Status codes follow what SNS does with them: 2xx is delivered, any 4xx
/// is dropped for good, 5xx (and timeouts) are retried.
public struct IngestResult: Sendable, Equatable {
    public var status: Int
    /// `recorded`, `duplicate`, `confirmed`, ... on success; an error code otherwise.
    public var code: String
    public var detail: String?
    public var messageID: String?
    /// The envelope's `Type` once it parsed (`Notification`, `SubscriptionConfirmation`,
    /// `UnsubscribeConfirmation`); nil when the body was refused before that.
    public var messageType: String?

    public init(status: Int, code: String, detail: String? = nil, messageID: String? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.messageID = messageID
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}
