import NIOCore
import NIOHTTPTypes
import Synchronization

/// Bounds what one client can hold on the HTTP server: every connection counts against
/// `server.max_connections` (past it, a new connection is closed at once); a request's
/// headers and body must arrive within `server.request_timeout_seconds` of the connection
/// being ready for it; a client that stops reading its answers gets as long to resume; at
/// most `maxPipelined` requests may wait for their answers. Past any of these, the
/// connection is closed.
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
    /// Requests received whole and not yet answered (more than one when a client pipelines).
    private var awaitingAnswer = 0
    /// Answers written before their request was read whole (a 404 or 413 that did not need
    /// the body): the end of such a request, when it comes, starts no wait for an answer.
    private var answeredEarly = 0
    /// Closes the connection when the client stops reading what it asked for.
    private var writeStall: Scheduled<Void>?

    /// Requests one connection may have received and not yet had answered.
    static let maxPipelined = 256

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
        switch unwrapInboundIn(data) {
        case .head:
            // A request starts: it has a deadline, whatever happened on this connection before.
            if deadline == nil { armDeadline(context) }
        case .body:
            break
        case .end:
            if answeredEarly > 0 {
                // Already answered: nothing to wait for, and the next request's clock runs on.
                answeredEarly -= 1
            } else {
                // The whole request is in: however long the answer takes is not the client's doing.
                awaitingAnswer += 1
                guard awaitingAnswer <= Self.maxPipelined else {
                    context.close(promise: nil)
                    return
                }
                deadline?.cancel()
                deadline = nil
            }
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            writeStall?.cancel()
            writeStall = nil
        } else if writeStall == nil {
            // Answers are piling up because the client does not read them: it gets as long to
            // start reading again as it had to send a request.
            let channel = context.channel
            writeStall = context.eventLoop.scheduleTask(in: requestTimeout) { channel.close(promise: nil) }
        }
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The answer is out: the next request on this connection gets a deadline of its own,
            // unless a request already received whole is still being answered. (An answer can
            // also go out before its request was read whole, a 413 for one: the rest of that
            // request then counts against the deadline too.)
            if awaitingAnswer > 0 {
                awaitingAnswer -= 1
            } else {
                answeredEarly += 1
            }
            if awaitingAnswer == 0 { armDeadline(context) }
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    /// Stops the timers and gives the connection's place back, once, whichever comes first.
    private func release() {
        deadline?.cancel()
        deadline = nil
        writeStall?.cancel()
        writeStall = nil
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
