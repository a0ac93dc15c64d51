/// A service answered inside the gateway's process: the emulator of IMS and SWR in trials
/// and tests (`BulwarkEmulator`), kept out of the gateway so the product does not ship it.
public struct InProcessUpstream: Sendable {
    /// One call the service received.
    public struct Call: Sendable {
        public let method: String
        public let path: String
        public let body: String

        public init(method: String, path: String, body: String) {
            self.method = method
            self.path = path
            self.body = body
        }
    }

    /// Answers a call: method, path, query and body in; status and JSON body out.
    public let handle: @Sendable (_ method: String, _ path: String, _ query: String, _ body: [UInt8]) async -> (status: Int, body: [UInt8])
    /// Every call received so far, oldest first (served to loopback peers at `/-/emulator/received`).
    public let received: @Sendable () throws -> [Call]

    public init(
        handle: @escaping @Sendable (_ method: String, _ path: String, _ query: String, _ body: [UInt8]) async -> (status: Int, body: [UInt8]),
        received: @escaping @Sendable () throws -> [Call]
    ) {
        self.handle = handle
        self.received = received
    }
}
