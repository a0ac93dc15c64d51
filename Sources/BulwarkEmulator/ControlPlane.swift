import BulwarkEnforcement
public import Foundation
import GRDB

/// A call as it arrived: what its signature covers.
public struct SignedCall: Sendable {
    public let method: String
    public let path: String
    public let query: String
    /// Every header, `Host` included.
    public let headers: [(String, String)]
    public let authorization: String?
    public let body: [UInt8]

    public init(method: String, path: String, query: String, headers: [(String, String)], authorization: String?, body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.authorization = authorization
        self.body = body
    }
}

extension Emulator {
    /// Paths of the emulated control plane: IAM v5, Organizations and CTS.
    static func isControlPlane(_ path: String) -> Bool {
        path.hasPrefix("/v5/") || path == "/v1/organizations" || path.hasPrefix("/v1/organizations/") || path.hasPrefix("/v1/received-handshakes")
            || path.hasPrefix("/v3/")
    }

    /// Every account and user named by the credentials exists from the start (SPEC §13).
    func prepareControlPlane() throws {
        try queue.write { db in
            var state = try Self.loadState(db)
            for entry in credentials?.all ?? [] {
                guard let caller = Self.caller(entry) else { continue }
                var account = state.account(caller.account)
                let parts = entry.principal.split(separator: ":", omittingEmptySubsequences: false)
                if parts.count == 5, parts[3] == "user", account.user(named: String(parts[4])) == nil {
                    let user = CloudUser(id: state.newID(), name: String(parts[4]), description: "", enabled: true, createdAt: Self.now())
                    account.users[user.id] = user
                }
                state.accounts[account.id] = account
            }
            try Self.saveState(db, state)
        }
    }

    /// The account a key acts in: its principal's (`iam::ACCOUNT:user:NAME`).
    static func caller(_ entry: CredentialStore.Entry) -> CloudCaller? {
        let parts = entry.principal.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "iam" || parts[0] == "sts", !parts[2].isEmpty else { return nil }
        return CloudCaller(accessKey: entry.accessKey, principal: entry.principal, account: String(parts[2]))
    }

    /// Checks the call's SDK-HMAC-SHA256 signature against the emulator's keys.
    func authenticate(_ call: SignedCall, now: Date) throws(CloudFailure) -> CloudCaller {
        guard let credentials else {
            throw CloudFailure(401, "IAM.0001", "the emulator was started without credentials: it refuses every signed API call")
        }
        do {
            let (header, credential) = try RequestSignature.authenticateHeaders(
                authorization: call.authorization, headers: call.headers, credentials: credentials, now: now)
            try RequestSignature.verify(
                header, secretKey: credential.secretKey, method: call.method, path: call.path, query: call.query, headers: call.headers,
                body: call.body, now: now)
            guard let caller = Self.caller(credential) else {
                throw CloudFailure(
                    401, "IAM.0002", "access key \(credential.accessKey) stands for \(credential.principal), not an account's principal")
            }
            return caller
        } catch {
            throw CloudFailure(401, "IAM.0002", "the request is not signed for this emulator: \(error)")
        }
    }

    /// IAM v5, Organizations and CTS as the official SDKs call them: every call signed by a key
    /// of `credentials` (401 otherwise), answered with Huawei's paths, JSON and paging, and
    /// recorded as a CTS trace of the caller's account.
    public func handleControlPlane(_ call: SignedCall, now: Date = Date()) async -> Response {
        let caller: CloudCaller
        do { caller = try authenticate(call, now: now) } catch { return Self.failure(error) }
        let segments = call.path.split(separator: "/").map(String.init)
        // IAM's authorization schemas are read-only documents, served as written.
        if segments.count >= 2, segments[0] == "v5", segments[1] == "authorization-schemas" {
            let answer = schemaAnswer(call, segments: segments)
            await record(call, caller: caller, status: answer.status, service: "IAM", now: now)
            return answer
        }
        let service = segments.first == "v5" ? "IAM" : segments.first == "v3" ? "CTS" : "Organizations"
        let nowText = now.formatted(.iso8601)
        let answer: Response
        do {
            answer = try await queue.write { db -> Response in
                let body: [String: Any]
                if call.body.isEmpty {
                    body = [:]
                } else {
                    // Objects, except DeleteResourceTagsV5's list of keys (read as `tag_keys`).
                    let parsed = try? JSONSerialization.jsonObject(with: Data(call.body))
                    if let object = parsed as? [String: Any] {
                        body = object
                    } else if let keys = parsed as? [String] {
                        body = ["tag_keys": keys]
                    } else {
                        return Self.error(400, "EMU.0400", "the body is not a JSON object")
                    }
                }
                let request = CloudRequest(
                    method: call.method, segments: segments, query: Self.queryItems(call.query), body: body, caller: caller, now: nowText)
                if service == "CTS" { return try self.listTraces(db, request) }
                var state = try Self.loadState(db)
                let result: (status: Int, body: Any)?
                do {
                    result = service == "IAM" ? try state.iam(request) : try state.organizations(request)
                } catch let failure as CloudFailure {
                    return Self.failure(failure)
                }
                guard let result else { return Self.error(404, "EMU.0404", "the emulator has no API \(call.method) \(call.path)") }
                if call.method != "GET" { try Self.saveState(db, state) }
                if result.status == 204 { return Response(status: 204, body: []) }
                return Response(status: result.status, body: Self.ok(result.body).body)
            }
        } catch {
            return Self.error(500, "EMU.0500", "emulator failure: \(error)")
        }
        await record(call, caller: caller, status: answer.status, service: service, now: now)
        return answer
    }

    /// IMS and SWR in strict mode: only calls signed by one of the emulator's keys.
    public func handleStrict(_ call: SignedCall, now: Date = Date()) async -> Response {
        let caller: CloudCaller
        do { caller = try authenticate(call, now: now) } catch { return Self.failure(error) }
        let answer = await handle(method: call.method, path: call.path, query: call.query, body: call.body)
        let service = call.path.hasPrefix("/v2/manage") ? "SWR" : "IMS"
        await record(call, caller: caller, status: answer.status, service: service, now: now)
        return answer
    }

    private func schemaAnswer(_ call: SignedCall, segments: [String]) -> Response {
        guard call.method == "GET" else { return Self.error(405, "IAM.0003", "\(call.method) is not supported on \(call.path)") }
        if segments.count == 4, segments[2] == "services" {
            guard let document = schemas[segments[3]] else {
                return Self.error(404, "IAM.0004", "no authorization schema for service \(segments[3])")
            }
            return Response(status: 200, body: document)
        }
        if segments.count == 3, segments[2] == "registered-services" {
            let request = CloudRequest(
                method: "GET", segments: segments, query: Self.queryItems(call.query), body: [:],
                caller: CloudCaller(accessKey: "", principal: "", account: ""), now: "")
            do {
                let (page, next) = try request.page(schemas.keys.sorted(), key: { $0 })
                return Self.ok(["service_codes": page, "page_info": CloudRequest.pageInfo(page.count, next)])
            } catch {
                return Self.error(400, "IAM.0005", error.message)
            }
        }
        return Self.error(404, "IAM.0006", "no IAM API at \(call.path) in the emulator")
    }

    static func failure(_ failure: CloudFailure) -> Response { error(failure.status, failure.code, failure.message) }

    /// `a=1&b=x%2Fy` → `["a": "1", "b": "x/y"]` (the last value of a name given twice).
    static func queryItems(_ query: String) -> [String: String] {
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let name = parts[0].removingPercentEncoding else { continue }
            items[name] = parts.count == 2 ? (parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? parts[1]) : ""
        }
        return items
    }

    // MARK: State

    static func loadState(_ db: Database) throws -> CloudState {
        guard let text = try String.fetchOne(db, sql: "SELECT body FROM objects WHERE kind = 'cloud' AND key = 'state'") else {
            return CloudState()
        }
        return try JSONDecoder().decode(CloudState.self, from: Data(text.utf8))
    }

    static func saveState(_ db: Database, _ state: CloudState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(state), as: UTF8.self)
        try db.execute(sql: "INSERT OR REPLACE INTO objects (kind, key, body) VALUES ('cloud', 'state', ?)", arguments: [text])
    }

    // MARK: CTS

    /// Records a call as CTS would: a trace of the caller's account, with its principal, the
    /// call's method and URL, and its HTTP status.
    private func record(_ call: SignedCall, caller: CloudCaller, status: Int, service: String, now: Date) async {
        let host = call.headers.first { $0.0.lowercased() == "host" }?.1 ?? "localhost"
        let millis = Int64((now.timeIntervalSince1970 * 1000).rounded())
        let name = call.principal(of: caller)
        let segments = call.path.split(separator: "/")
        let trace: [String: Any] = [
            "trace_id": UUID().uuidString.lowercased(), "trace_name": segments.last.map(String.init) ?? "",
            "trace_rating": status < 400 ? "normal" : "warning", "trace_type": "ApiCall", "service_type": service,
            "code": String(status), "time": millis, "record_time": millis, "endpoint": host,
            "resource_url": "https://\(host)\(call.path)\(call.query.isEmpty ? "" : "?" + call.query)", "http_method": call.method,
            "read_only": call.method == "GET", "source_ip": "127.0.0.1", "api_version": String(segments.first ?? ""),
            "user": [
                "principal_urn": caller.principal, "account_id": caller.account, "access_key_id": caller.accessKey, "type": name.type,
                "name": name.name, "domain": ["id": caller.account, "name": caller.account],
            ],
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: trace, options: [.sortedKeys]) else { return }
        let body = String(decoding: data, as: UTF8.self)
        try? await queue.write { db in
            // One counter row: counting the traces on every call would grow with them.
            try db.execute(
                sql: """
                    INSERT INTO objects (kind, key, body) VALUES ('meta', 'traces', '1')
                    ON CONFLICT (kind, key) DO UPDATE SET body = CAST(body AS INTEGER) + 1
                    """)
            let seq = Int(try String.fetchOne(db, sql: "SELECT body FROM objects WHERE kind = 'meta' AND key = 'traces'") ?? "1") ?? 1
            let key = caller.account + "/" + String(repeating: "0", count: max(0, 12 - String(seq).count)) + String(seq)
            try db.execute(sql: "INSERT INTO objects (kind, key, body) VALUES ('trace', ?, ?)", arguments: [key, body])
        }
    }

    /// `GET /v3/{project_id}/traces`: the caller's account's traces, newest first, filtered by
    /// `service_type`, `user`, `trace_name`, `trace_id`, `from`/`to` (ms), paged by `limit`
    /// (1–200, default 10) and `next`.
    private func listTraces(_ db: Database, _ r: CloudRequest) throws -> Response {
        guard r.method == "GET", r.segments.count == 3, r.segments[2] == "traces" else {
            return Self.error(404, "CTS.0404", "the emulator has no CTS API \(r.method) /\(r.segments.joined(separator: "/"))")
        }
        if let type = r.query["trace_type"], type != "system" {
            return Self.error(400, "CTS.0400", "trace_type must be system: the emulator keeps management traces only")
        }
        var limit = 10
        if let text = r.query["limit"] {
            guard let value = Int(text), (1...200).contains(value) else { return Self.error(400, "CTS.0400", "limit must be 1 to 200") }
            limit = value
        }
        let from = r.query["from"].flatMap { Int64($0) }
        let to = r.query["to"].flatMap { Int64($0) }
        let prefix = r.caller.account + "/"
        var rows = try Row.fetchAll(
            db, sql: "SELECT key, body FROM objects WHERE kind = 'trace' AND substr(key, 1, ?) = ? ORDER BY key DESC",
            arguments: [prefix.count, prefix])
        if let next = r.query["next"] {
            rows = rows.filter { ($0["key"] as String) < prefix + next }
        }
        var page: [Any] = []
        var marker: String?
        var lastKey = ""
        for row in rows {
            guard let trace = try JSONSerialization.jsonObject(with: Data((row["body"] as String).utf8)) as? [String: Any] else { continue }
            let time = (trace["time"] as? NSNumber)?.int64Value ?? 0
            if let from, time < from { continue }
            if let to, time > to { continue }
            let user = trace["user"] as? [String: Any]
            let filters: [(String, String?)] = [
                ("service_type", trace["service_type"] as? String), ("trace_name", trace["trace_name"] as? String),
                ("trace_id", trace["trace_id"] as? String), ("user", user?["name"] as? String),
            ]
            if filters.contains(where: { name, value in r.query[name].map { $0 != value } ?? false }) { continue }
            if page.count == limit {
                marker = String(lastKey.dropFirst(prefix.count))
                break
            }
            page.append(trace)
            lastKey = row["key"]
        }
        var meta: [String: Any] = ["count": page.count]
        if let marker { meta["marker"] = marker }
        return Self.ok(["traces": page, "meta_data": meta])
    }
}

extension SignedCall {
    /// The principal's type and name as CTS shows them.
    func principal(of caller: CloudCaller) -> (type: String, name: String) {
        let parts = caller.principal.split(separator: ":")
        guard parts.count == 4 || parts.count == 5, let name = parts.last else { return ("User", caller.principal) }
        return (parts[parts.count - 2] == "agency" ? "Agency" : "User", String(name))
    }
}
