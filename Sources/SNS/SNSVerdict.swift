/// The outcome of verifying one message: a verdict, not an exception, so that a refusal carries
/// its reason to the edge where it becomes an HTTP status.
public enum SNSVerdict: Sendable, Equatable {
    case genuine
    case rejected(SNSRejection)
}
