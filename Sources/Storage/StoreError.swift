/// Why the store could not do what was asked. Every case means "try again later" to SNS (503):
/// nothing here is the fault of the message.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The database could not be opened, written or read (disk full, locked, gone, schema broken).
    case unavailable(String)
    /// The database did not answer in time: it is down, restarting or unreachable, or every
    /// connection is busy. Nothing about the request is at fault, and retrying its parts one
    /// by one would only wait longer.
    case unreachable(String)
    /// `storage.url` names something this build cannot store into.
    case unsupportedURL(String)
    /// The schema could not be brought to the current version.
    case migrationFailed(String)
    /// More writes are waiting for the disk than the store queues; the caller should come back
    /// later (SNS retries a 503) instead of the queue growing without bound.
    case overloaded(String)
    /// The database would acknowledge commits that are not yet on disk; the store refuses to run.
    case notDurable(String)
    /// A row lacks a column this build reads, or holds what its schema cannot: the database was
    /// changed by hand or by another version.
    case schemaMismatch(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "store unavailable: \(reason)"
        case .unreachable(let reason): "store unreachable: \(reason)"
        case .unsupportedURL(let url): "storage.url '\(url)' is not supported: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE (schemes are lower case)"
        case .migrationFailed(let reason): "store migration failed: \(reason)"
        case .overloaded(let reason): "store overloaded: \(reason)"
        case .notDurable(let reason): "store not durable: \(reason)"
        case .schemaMismatch(let reason): "the database does not match this version's schema: \(reason)"
        }
    }
}
