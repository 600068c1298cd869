import ServiceLifecycle

/// The loop of the relay's periodic services (retention, the overdue-audit watch, the Detect
/// group sender): one pass, then a wait that a graceful shutdown ends at once.
func repeatUntilShutdown(every interval: () -> Duration, _ pass: () async -> Void) async {
    while !Task.isCancelled, !Task.isShuttingDownGracefully {
        await pass()
        let wait = interval()
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
    }
}
