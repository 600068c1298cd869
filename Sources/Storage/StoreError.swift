/// Why the store could not do what was asked. Every case means "try again later" to SNS (503):
/// nothing here is the fault of the message.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The database could not be opened, written or read (disk full, locked, gone, schema broken).
    case unavailable(String)
    /// `storage.url` names something this build cannot store into.
    case unsupportedURL(String)
    /// The schema could not be brought to the current version.
    case migrationFailed(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "store unavailable: \(reason)"
        case .unsupportedURL(let url): "storage.url '\(url)' is not supported: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        case .migrationFailed(let reason): "store migration failed: \(reason)"
        }
    }
}
