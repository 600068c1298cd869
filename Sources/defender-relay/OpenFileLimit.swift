#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// The process's open-file limit, raised at start to fit `server.max_connections`: a soft limit
/// of 1024 (a common default) would run out of descriptors before the connection cap is reached,
/// and then certificate fetches and the store would fail too.
enum OpenFileLimit {
    /// Descriptors kept for everything that is not a client connection (store, outbound
    /// transfers, logs).
    static let reserve = 256

    static func raise(toFit connections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return }
        let needed = rlim_t(connections + reserve)
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(needed, limit.rlim_max)
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        if limit.rlim_cur < needed {
            logger.warning("the open-file limit is below server.max_connections plus \(reserve) descriptors for the rest: raise it (ulimit -n) or lower server.max_connections", metadata: [
                "open_file_limit": "\(limit.rlim_cur)", "max_connections": "\(connections)",
            ])
        }
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
