import NIOCore
import NIOHTTPTypes
import Synchronization

/// Bounds what one client can hold on the HTTP server: every connection counts against
/// `server.max_connections` (past it, a new connection is closed at once), and a request's
/// headers and body must arrive within `server.request_timeout_seconds` of the connection
/// being ready for it, or the connection is closed.
///
/// The server's idle timeout alone is reset by every byte, so a client dripping one byte a
/// second could hold a connection (and its buffers) forever; many such clients would starve
/// SNS of connections.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The connections open now, shared by every connection's guard.
    final class Census: Sendable {
        let limit: Int
        private let open = Atomic<Int>(0)

        init(limit: Int) {
            self.limit = limit
        }

        var count: Int { open.load(ordering: .relaxed) }

        /// Counts a new connection; false when it is one too many (it is then not counted).
        func admit() -> Bool {
            let now = open.wrappingAdd(1, ordering: .relaxed).newValue
            if now > limit {
                open.wrappingSubtract(1, ordering: .relaxed)
                return false
            }
            return true
        }

        func leave() {
            open.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    private let census: Census
    private let requestTimeout: TimeAmount
    private var counted = false
    private var started = false
    private var deadline: Scheduled<Void>?

    init(census: Census, requestTimeout: TimeAmount) {
        self.census = census
        self.requestTimeout = requestTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard census.admit() else {
            context.close(promise: nil)
            return
        }
        counted = true
        armDeadline(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            // The whole request is in: however long the answer takes is not the client's doing.
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The answer is out: the next request on this connection gets a deadline of its own.
            armDeadline(context)
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if counted {
            counted = false
            census.leave()
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if counted {
            counted = false
            census.leave()
        }
    }

    private func armDeadline(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: requestTimeout) {
            channel.close(promise: nil)
        }
    }
}
