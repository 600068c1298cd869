import Foundation

/// Where `storage.url` points.
public enum StorageLocation: Sendable, Equatable {
    /// `sqlite://data/relay.sqlite` (relative) or `sqlite:///var/lib/relay.sqlite` (absolute).
    case sqlite(path: String)
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=disable|prefer|require]`.
    case postgres(PostgresLocation)

    public init(url: String) throws(StoreError) {
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw .unsupportedURL(url) }
            self = .sqlite(path: path)
        } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(url: url))
        } else {
            // Only the scheme is repeated: a URL the relay does not understand may still carry
            // a password (`Postgres://`, `postgresql+asyncpg://`).
            let scheme = url.range(of: "://").map { String(url[..<$0.lowerBound].prefix(32)) + "://…" } ?? "(no scheme)"
            throw .unsupportedURL(scheme)
        }
    }
}

/// A PostgreSQL server and database, parsed from a `postgres://` URL.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(url: String) throws(StoreError) {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty,
              let username = components.user, !username.isEmpty
        else { throw .unsupportedURL(PostgresLocation.redacted(url)) }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw .unsupportedURL(PostgresLocation.redacted(url)) }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard let tls = TLSMode(rawValue: mode) else { throw .unsupportedURL(PostgresLocation.redacted(url)) }
        self.tls = tls
    }

    /// Without the password: safe for logs and errors.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)" }

    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://") else { return url }
        return String(url[..<scheme.upperBound]) + "***" + String(url[at...])
    }
}
