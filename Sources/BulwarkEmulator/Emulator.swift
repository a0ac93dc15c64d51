public import BulwarkEnforcement
import Foundation
import GRDB
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore

/// A test double for the cloud, not the product: enough of the IMS and SWR APIs (images
/// and their members and tags; namespaces, repositories, tags and access domains) on SQLite
/// for local trials and for the SDK tests. It records every call it receives, so tests can
/// prove that nothing denied reached it. Its IMS and SWR parts check no credentials (the gateway
/// in front does) unless it is strict; its control plane (IAM v5, Organizations, CTS — see
/// ControlPlane.swift) answers signed calls only.
public final class Emulator: Sendable {
    let queue: DatabaseQueue
    /// The account the emulated cloud belongs to (owner of what is created).
    private let account: String
    /// IAM's authorization schemas it serves, by service code (SPEC §12).
    let schemas: [String: [UInt8]]
    /// Who may call the control plane (and IMS and SWR when strict); without it the control
    /// plane refuses every call.
    let credentials: CredentialStore?
    /// IMS and SWR calls must be signed by a key of `credentials` (SPEC §13: what a gateway
    /// re-signs passes, what it forwards unchanged does not).
    let strict: Bool

    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
    }

    /// A call the emulator received.
    public typealias Received = InProcessUpstream.Call

    /// The account the gateway's emulator belongs to when none is named.
    public static let defaultAccount = "0a1b2c"

    /// A new SQLite file in the temporary folder.
    public static func temporaryPath() -> String { NSTemporaryDirectory() + "bulwark-emulator-\(UUID().uuidString).sqlite" }

    /// `schemas` (service code → document) are served by IAM's authorization-schema API to
    /// callers whose signature `credentials` verify; the IMS and SWR parts check no credentials.
    public init(
        path: String, account: String, schemas: [String: [UInt8]] = [:], credentials: CredentialStore? = nil, strict: Bool = false
    ) throws {
        self.schemas = schemas
        self.credentials = credentials
        self.strict = strict
        // A test double: speed over durability, so measurements are about the gateway.
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA journal_mode = MEMORY")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        self.account = account
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key));
                    CREATE TABLE IF NOT EXISTS received (seq INTEGER PRIMARY KEY AUTOINCREMENT, method TEXT, path TEXT, body TEXT);
                    """)
        }
        try prepareControlPlane()
    }

    /// Every call received, oldest first.
    public func received() throws -> [Received] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT method, path, body FROM received ORDER BY seq").map {
                Received(method: $0["method"], path: $0["path"], body: $0["body"])
            }
        }
    }

    /// Answers one call as the cloud would (for the implemented APIs).
    public func handle(method: String, path: String, query: String, body: [UInt8]) async -> Response {
        let text = String(decoding: body, as: UTF8.self)
        do {
            return try await queue.write { db in
                try db.execute(sql: "INSERT INTO received (method, path, body) VALUES (?, ?, ?)", arguments: [method, path, text])
                // The test double reads bodies leniently, as a service might; it decides nothing.
                let json = body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
                return try self.route(db, method: method, segments: path.split(separator: "/").map(String.init), query: query, json: json)
            }
        } catch {
            return Self.error(500, "EMU.0500", "emulator failure: \(error)")
        }
    }

    // MARK: Routing

    private func route(_ db: Database, method: String, segments s: [String], query: String, json: Any?) throws -> Response {
        let body = json as? [String: Any] ?? [:]
        /// The path parameters when `pattern` (segments, `*` for a parameter) matches this call.
        func match(_ verb: String, _ pattern: String) -> [String]? {
            let parts = pattern.split(separator: "/").map(String.init)
            guard verb == method, parts.count == s.count else { return nil }
            var parameters: [String] = []
            for (part, segment) in zip(parts, s) {
                if part == "*" { parameters.append(segment) } else if part != segment { return nil }
            }
            return parameters
        }
        // IMS
        if match("GET", "v2/cloudimages") != nil {
            return Self.ok(["images": try all(db, "image")])
        }
        if match("POST", "v2/cloudimages/action") ?? match("POST", "v2/cloudimages/quickimport/action")
            ?? match("POST", "v1/cloudimages/dataimages/action") ?? match("POST", "v1/cloudimages/wholeimages/action") != nil
        {
            let id = UUID().uuidString.lowercased()
            var image: [String: Any] = [
                "id": id, "name": body["name"] as? String ?? "image", "status": "active", "visibility": "private",
                "owner": account, "__imagetype": "private", "min_disk": 40, "disk_format": "zvhd2",
            ]
            if let tags = body["image_tags"] ?? body["tags"] { image["tags"] = tags }
            try put(db, "image", id, image)
            return Self.ok(["job_id": "job-" + id])
        }
        if let p = match("GET", "v2/images/*") {
            let id = p[0]
            guard let image = try get(db, "image", id) else { return Self.notFound("image", id) }
            return Self.ok(image)
        }
        if let p = match("PATCH", "v2/cloudimages/*") ?? match("PATCH", "v2/images/*") {
            let id = p[0]
            guard var image = try get(db, "image", id) else { return Self.notFound("image", id) }
            for op in json as? [[String: Any]] ?? [] {
                if let p = op["path"] as? String, op["op"] as? String != "remove" { image[String(p.dropFirst())] = op["value"] }
            }
            try put(db, "image", id, image)
            return Self.ok(image)
        }
        if let p = match("DELETE", "v2/images/*") {
            let id = p[0]
            guard try delete(db, "image", id) else { return Self.notFound("image", id) }
            return Response(status: 204, body: [])
        }
        if let p = match("POST", "v2/images/*/members") {
            let id = p[0]
            guard try get(db, "image", id) != nil else { return Self.notFound("image", id) }
            let member = body["member"] as? String ?? ""
            let record: [String: Any] = [
                "image_id": id, "member_id": member, "status": "pending", "schema": "/v2/schemas/member",
                "created_at": Self.now(), "updated_at": Self.now(),
            ]
            try put(db, "member", "\(id)/\(member)", record)
            return Self.ok(record)
        }
        if let p = match("GET", "v2/images/*/members") {
            let id = p[0]
            return Self.ok(["members": try all(db, "member", prefix: id + "/"), "schema": "/v2/schemas/members"])
        }
        if match("POST", "v1/cloudimages/members") != nil {
            for image in body["images"] as? [String] ?? [] {
                for project in body["projects"] as? [String] ?? [] {
                    try put(db, "member", "\(image)/\(project)", ["image_id": image, "member_id": project, "status": "pending"])
                }
            }
            return Self.ok(["job_id": "job-" + UUID().uuidString.lowercased()])
        }
        if match("GET", "v1/cloudimages/tags") != nil {
            return Self.ok(["tags": []])
        }
        if match("GET", "v1/cloudimages/quota") != nil {
            return Self.ok(["quotas": ["resources": [["type": "image", "used": try all(db, "image").count, "quota": 100, "min": 1, "max": 100]]]])
        }
        if let p = match("GET", "v1/cloudimages/job/*") {
            let job = p[0]
            return Self.ok(["job_id": job, "status": "SUCCESS", "job_type": "createImageByInstance"])
            // SWR
        }
        if match("POST", "v2/manage/namespaces") != nil {
            guard let name = body["namespace"] as? String else { return Self.error(400, "SVCSTG.SWR.4001000", "namespace is required") }
            if try get(db, "namespace", name) != nil { return Self.error(409, "SVCSTG.SWR.4091001", "namespace \(name) exists") }
            try put(db, "namespace", name, ["id": try all(db, "namespace").count + 1, "name": name, "creator_name": account, "auth": 7])
            return Response(status: 201, body: [])
        }
        if match("GET", "v2/manage/namespaces") != nil {
            return Self.ok(["namespaces": try all(db, "namespace")])
        }
        if let p = match("GET", "v2/manage/namespaces/*") {
            let ns = p[0]
            guard let namespace = try get(db, "namespace", ns) else { return Self.notFound("namespace", ns) }
            return Self.ok(namespace)
        }
        if let p = match("DELETE", "v2/manage/namespaces/*") {
            let ns = p[0]
            guard try delete(db, "namespace", ns) else { return Self.notFound("namespace", ns) }
            return Response(status: 204, body: [])
        }
        if let p = match("POST", "v2/manage/namespaces/*/repos") {
            let ns = p[0]
            guard try get(db, "namespace", ns) != nil else { return Self.notFound("namespace", ns) }
            guard let repo = body["repository"] as? String else { return Self.error(400, "SVCSTG.SWR.4001000", "repository is required") }
            try put(
                db, "repo", "\(ns)/\(repo)",
                [
                    "name": repo, "namespace": ns, "category": body["category"] as? String ?? "other",
                    "description": body["description"] as? String ?? "", "is_public": body["is_public"] as? Bool ?? false,
                    "num_images": 0, "num_download": 0, "path": "swr.example/\(ns)/\(repo)", "tags": [String](),
                ])
            return Response(status: 201, body: [])
        }
        if match("GET", "v2/manage/repos") != nil {
            let namespace: String?
            do { namespace = try CallTarget(path: "/v2/manage/repos", query: query).queryValue("namespace") } catch {
                return Self.error(400, "EMU.0400", error.description)
            }
            return Self.ok(try all(db, "repo", prefix: namespace.map { $0 + "/" } ?? ""))
        }
        if let p = match("GET", "v2/manage/namespaces/*/repos/*") {
            let ns = p[0]
            let repo = p[1]
            guard let record = try get(db, "repo", "\(ns)/\(repo)") else { return Self.notFound("repository", "\(ns)/\(repo)") }
            return Self.ok(record)
        }
        if let p = match("DELETE", "v2/manage/namespaces/*/repos/*") {
            let ns = p[0]
            let repo = p[1]
            guard try delete(db, "repo", "\(ns)/\(repo)") else { return Self.notFound("repository", "\(ns)/\(repo)") }
            return Response(status: 204, body: [])
        }
        if let p = match("GET", "v2/manage/namespaces/*/repos/*/tags") {
            let ns = p[0]
            let repo = p[1]
            return Self.ok(try all(db, "tag", prefix: "\(ns)/\(repo)/"))
        }
        if let p = match("POST", "v2/manage/namespaces/*/repositories/*/access-domains") {
            let ns = p[0]
            let repo = p[1]
            guard try get(db, "repo", "\(ns)/\(repo)") != nil else { return Self.notFound("repository", "\(ns)/\(repo)") }
            let domain = body["access_domain"] as? String ?? ""
            try put(
                db, "domain", "\(ns)/\(repo)/\(domain)",
                [
                    "namespace": ns, "repository": repo, "exist": true, "access_domain": domain,
                    "permit": body["permit"] as? String ?? "read", "deadline": body["deadline"] as? String ?? "forever",
                    "description": body["description"] as? String ?? "", "creator_id": account, "creator_name": account,
                    "created": Self.now(), "updated": Self.now(), "status": true,
                ])
            return Response(status: 201, body: [])
        }
        if let p = match("GET", "v2/manage/namespaces/*/repositories/*/access-domains") {
            let ns = p[0]
            let repo = p[1]
            return Self.ok(try all(db, "domain", prefix: "\(ns)/\(repo)/"))

        }
        return Self.error(501, "EMU.0501", "the emulator does not implement \(method) /\(s.joined(separator: "/"))")
    }

    // MARK: Storage

    private func put(_ db: Database, _ kind: String, _ key: String, _ value: Any) throws {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
        try db.execute(sql: "INSERT OR REPLACE INTO objects (kind, key, body) VALUES (?, ?, ?)", arguments: [kind, key, body])
    }

    private func get(_ db: Database, _ kind: String, _ key: String) throws -> [String: Any]? {
        guard let text = try String.fetchOne(db, sql: "SELECT body FROM objects WHERE kind = ? AND key = ?", arguments: [kind, key]) else {
            return nil
        }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    private func all(_ db: Database, _ kind: String, prefix: String = "") throws -> [Any] {
        try String.fetchAll(
            db, sql: "SELECT body FROM objects WHERE kind = ? AND substr(key, 1, ?) = ? ORDER BY key", arguments: [kind, prefix.count, prefix]
        )
        .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) }
    }

    private func delete(_ db: Database, _ kind: String, _ key: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM objects WHERE kind = ? AND key = ?", arguments: [kind, key])
        return db.changesCount > 0
    }

    static func ok(_ value: Any) -> Response {
        // Its own dictionaries of strings and numbers: serialization cannot fail.
        Response(status: 200, body: Array((try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data("{}".utf8)))
    }

    // Its own strings: serialization cannot fail.
    static func error(_ status: Int, _ code: String, _ message: String) -> Response {
        Response(status: status, body: Array((try? JSONSerialization.data(withJSONObject: ["error_code": code, "error_msg": message])) ?? Data()))
    }

    private static func notFound(_ what: String, _ key: String) -> Response {
        error(404, "EMU.0404", "no \(what) \(key)")
    }

    static func now() -> String { Date().formatted(.iso8601) }
}

extension Emulator {
    /// The emulator on its own HTTP port (`bulwark emulator`), to stand behind a gateway as a
    /// URL upstream or to measure what the gateway adds.
    public func application(host: String, port: Int, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        let router = Router()
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("**", method: method) { (request: Request, _: BasicRequestContext) -> Hummingbird.Response in
                let body = Array(try await request.body.collect(upTo: 64 << 20).readableBytesView)
                // HTTPTypes keeps Host as the request's authority, not among the header fields.
                var headers = request.headers.map { ($0.name.rawName, $0.value) }
                if let authority = request.head.authority { headers.append(("Host", authority)) }
                let call = SignedCall(
                    method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "", headers: headers,
                    authorization: request.headers[.authorization], body: body)
                let answer: Response
                if request.uri.path == "/-/healthz" {
                    answer = Self.ok(["status": "ok"])
                } else if Self.isControlPlane(request.uri.path) {
                    answer = await self.handleControlPlane(call)
                } else if self.strict {
                    answer = await self.handleStrict(call)
                } else {
                    answer = await self.handle(method: call.method, path: call.path, query: call.query, body: body)
                }
                return Hummingbird.Response(
                    status: .init(code: answer.status), headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "bulwark-emulator"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) }, logger: logger)
    }
}

extension Emulator {
    /// The emulator as the gateway's in-process upstream (`--upstream SERVICE=emulator`).
    public var upstream: InProcessUpstream {
        InProcessUpstream(
            handle: { method, path, query, body in
                let answer = await self.handle(method: method, path: path, query: query, body: body)
                return (answer.status, answer.body)
            },
            received: { try self.received() })
    }
}
