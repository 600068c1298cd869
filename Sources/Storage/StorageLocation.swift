/// Where `storage.url` points.
public enum StorageLocation: Sendable, Equatable {
    /// `sqlite://data/relay.sqlite` (relative) or `sqlite:///var/lib/relay.sqlite` (absolute).
    case sqlite(path: String)

    public init(url: String) throws(StoreError) {
        let prefix = "sqlite://"
        guard url.hasPrefix(prefix), url.count > prefix.count else { throw .unsupportedURL(url) }
        self = .sqlite(path: String(url.dropFirst(prefix.count)))
    }
}
