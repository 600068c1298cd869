/// The version `defender-relay --version` prints and `defender_relay_build_info` carries. The
/// Dockerfile's `VERSION` argument (its OCI label) must say the same; the test command checks.
public enum RelayVersion {
    public static let current = "0.10.0"
}
