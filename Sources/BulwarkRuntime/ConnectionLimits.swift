import HTTPTypes
public import Hummingbird
public import HummingbirdCore
public import Logging
import NIOCore
import NIOHTTPTypes

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    public import Darwin
#endif

/// How many connections a listener holds and how long it waits for them (SPEC §7: every
/// limit a flag with a safe default). Shared by `bulwark serve` and `bulwark gateway`.
public struct ConnectionLimits: Sendable {
    /// Connections open at once (`--max-connections`). Past it the listener stops accepting
    /// until one closes; new clients wait in the kernel's backlog instead of taking file
    /// descriptors the process needs for its store and logs.
    public var maxConnections = 4096
    /// Time to deliver a request head (`--header-timeout`), counted from the connection's
    /// opening or from the end of the previous response; a connection that has not sent a
    /// whole head by then is closed. Bounds slow-header attacks and idle keep-alive sockets.
    public var headerTimeout: Duration = .seconds(10)
    /// Time a connection with a request in progress may send nothing (`--idle-timeout`),
    /// e.g. a body that stalls.
    public var idleTimeout: Duration = .seconds(30)

    public init() {}

    /// The HTTP/1.1 server with these timeouts, wrapped in TLS when files are given.
    public func serverBuilder(tls files: TLSFiles?) throws -> HTTPServerBuilder {
        let header = TimeAmount(headerTimeout)
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [HeaderTimeoutHandler(timeout: header)], idleTimeout: TimeAmount(idleTimeout)))
        return try TLSFiles.serverBuilder(files, base: http1)
    }

    /// The application configuration with the connection cap, lowered to what the process's
    /// file-descriptor limit allows (after raising the soft limit to the hard one).
    public func applicationConfiguration(address: BindAddress, serverName: String, logger: Logger) -> ApplicationConfiguration {
        let cap = Self.connectionCap(wanted: maxConnections, logger: logger)
        return ApplicationConfiguration(
            address: address, serverName: serverName, availableConnectionsDelegate: MaximumAvailableConnections(cap, logger: logger))
    }

    /// File descriptors kept back for the store, logs, TLS files and upstream connections.
    static let reservedDescriptors = 256

    static func connectionCap(wanted: Int, logger: Logger) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return wanted }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let available = Int(clamping: limit.rlim_cur) - reservedDescriptors
        guard available < wanted else { return wanted }
        let cap = max(16, available)
        logger.warning("--max-connections \(wanted) exceeds the open-file limit (\(limit.rlim_cur)); holding at most \(cap) connections")
        return cap
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Closes a connection that does not deliver a whole request head within `timeout` of
/// opening, or of the end of its last response. Requests in progress are not timed here.
final class HeaderTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// Request heads read minus responses finished: the timer runs only at zero.
    private var outstanding = 0

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            outstanding += 1
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            outstanding -= 1
            if outstanding == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            if outstanding == 0 { context.close(promise: nil) }
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
