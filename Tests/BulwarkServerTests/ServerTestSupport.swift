import BulwarkCatalog
import BulwarkServer
import BulwarkStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// A server on a fresh SQLite store in a temporary folder, reached over a real socket.
struct TestServer {
    static let adminToken = "test-admin-token"

    let configuration: ServerConfiguration

    init(
        maxBodyBytes: Int = 8 << 20, decisionToken: String? = nil, store: StoreLocation? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-server-\(UUID().uuidString)").path
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.dataDirectory = folder
        configuration.adminToken = Self.adminToken
        configuration.decisionToken = decisionToken
        configuration.maxBodyBytes = maxBodyBytes
        configuration.store = store
        configuration.pollInterval = .milliseconds(500)
        configure(&configuration)
        _ = try configuration.prepare()
        self.configuration = configuration
    }

    var decisionLogPath: String { configuration.decisionLog! }

    /// Runs `body` against the started server once its snapshot is loaded (`/readyz` answers
    /// 200, or anything but "not loaded" when `ready` is false).
    func run<T: Sendable>(ready: Bool = true, _ body: @Sendable (HTTP) async throws -> T) async throws -> T {
        var logger = Logger(label: "bulwark-test")
        logger.logLevel = .critical
        let server = try PDPServer(configuration: configuration, catalog: try Catalog.bundled(), logger: logger)
        return try await server.application().test(.live) { client in
            let http = HTTP(client: client)
            for _ in 0..<200 {
                let readiness = try await http.get("/readyz")
                if readiness.status == 200 || (!ready && readiness.errorCode != "not_ready") { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            return try await body(http)
        }
    }
}

extension TestServer {
    /// Runs `body` with the server listening as `bulwark serve` does, given its port.
    /// (HummingbirdTesting's live mode rebuilds the application's configuration and drops the
    /// connection cap, so limits on connections are tested this way.)
    func runListening(_ body: @Sendable (Int) async throws -> Void) async throws {
        var logger = Logger(label: "bulwark-test")
        logger.logLevel = .critical
        let server = try PDPServer(configuration: configuration, catalog: try Catalog.bundled(), logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try server.application { port in continuation.yield(port) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { return }
            try await body(port)
            group.cancelAll()
        }
    }
}

/// A small client: JSON in, status and JSON out, admin token by default.
struct HTTP: Sendable {
    let client: any TestClientProtocol

    struct Reply: Sendable {
        let status: Int
        let text: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
        var errorPath: String? { (object["error"] as? [String: Any])?["path"] as? String }
    }

    func send(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, token: String? = TestServer.adminToken) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        headers[.contentType] = "application/json"
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Reply(status: Int(response.status.code), text: String(buffer: response.body))
    }

    func get(_ uri: String, token: String? = TestServer.adminToken) async throws -> Reply { try await send(.get, uri, token: token) }
    func post(_ uri: String, _ body: String, token: String? = TestServer.adminToken) async throws -> Reply {
        try await send(.post, uri, body, token: token)
    }
    func put(_ uri: String, _ body: String) async throws -> Reply { try await send(.put, uri, body) }
    func patch(_ uri: String, _ body: String) async throws -> Reply { try await send(.patch, uri, body) }
    func delete(_ uri: String) async throws -> Reply { try await send(.delete, uri) }
}

/// The organization most server tests start from: root → engineering → dev (0a1b2c) with
/// alice, who reads images through the group readers.
enum Fixture {
    static let readImages = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get","ims:images:list"]}]}"#
    static let denyShareSCP = #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":["ims:images:share"]}]}"#

    static func build(_ http: HTTP) async throws {
        let steps: [(HTTPRequest.Method, String, String)] = [
            (.put, "/v1/organization", #"{"id":"o-1","rootId":"r-1"}"#),
            (.post, "/v1/organization/nodes", #"{"kind":"ou","name":"engineering","id":"ou-eng"}"#),
            (.post, "/v1/organization/nodes", #"{"kind":"account","name":"dev","id":"0a1b2c","parent":"engineering"}"#),
            (.post, "/v1/policies", #"{"id":"read-images","account":"0a1b2c","document":\#(readImages)}"#),
            (.post, "/v1/principals", #"{"kind":"group","account":"0a1b2c","name":"readers","id":"g-readers"}"#),
            (.post, "/v1/principals", #"{"kind":"user","account":"0a1b2c","name":"alice","id":"u-alice","groups":["readers"]}"#),
            (.post, "/v1/attachments", #"{"policy":"read-images","target":"iam::0a1b2c:group:readers"}"#),
        ]
        for (method, uri, body) in steps {
            let reply = try await http.send(method, uri, body)
            #expect(reply.status == 201, "\(method) \(uri): \(reply.status) \(reply.text)")
        }
    }

    static func aliceCanGet(_ http: HTTP) async throws -> String? {
        let reply = try await http.post(
            "/v1/authorize",
            #"{"principal":"iam::0a1b2c:user:alice","request":{"action":"ims:images:get","resource":"ims:cn-north-4:0a1b2c:image:img-1"}}"#)
        return reply.object["reason"] as? String
    }
}
