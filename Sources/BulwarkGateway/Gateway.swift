import AsyncHTTPClient
import BulwarkAPI
public import BulwarkCatalog
public import BulwarkEnforcement
import BulwarkEngine
import BulwarkJSON
public import BulwarkOrganization
public import BulwarkPolicy
public import BulwarkRuntime
import BulwarkStore
public import Foundation
public import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// Where a service's allowed calls go.
public enum Upstream: Sendable {
    /// The in-process service of `GatewayConfiguration.emulator` (a test double for the cloud).
    case emulator
    /// A base URL such as `http://10.0.0.5:8080`; the call's path and query are appended.
    case url(String)
}

/// The gateway's own key for a URL upstream (`--upstream-credentials`): allowed calls are
/// re-signed with it, because a client's signature covers the gateway's host and a real
/// endpoint refuses it unchanged (SPEC §13).
public struct UpstreamKey: Sendable {
    public let accessKey: String
    public let secretKey: String
    public let securityToken: String?
    /// Sent as `X-Project-Id` in place of the client's, when given.
    public let projectID: String?

    public init(accessKey: String, secretKey: String, securityToken: String? = nil, projectID: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.securityToken = securityToken
        self.projectID = projectID
    }
}

/// Where the gateway's principals and policies come from.
public enum PolicySource: Sendable {
    /// A fixed organization (a workspace folder, loaded once).
    case organization(Organization)
    /// The server's store, followed as it changes (the same `StateKeeper` as `bulwark serve`).
    case store(StateKeeper)
}

/// How `bulwark gateway` runs.
public struct GatewayConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8443
    /// Region used in resource URNs (`ims:<region>:<account>:image:<id>`).
    public var region = "cn-north-4"
    /// Service name (`ims`, `swr`) → upstream.
    public var upstreams: [String: Upstream] = [:]
    /// Service name → the key its allowed calls are re-signed with (URL upstreams only).
    public var upstreamKeys: [String: UpstreamKey] = [:]
    /// Peers whose `X-Forwarded-For` is believed.
    public var trustedProxies: [IPAddressRange] = []
    /// Decision log: a file, `-`, or nil for none.
    public var decisionLog: String?
    /// The service answering calls whose upstream is `.emulator` (BulwarkEmulator provides one).
    public var emulator: InProcessUpstream?
    /// PEM certificate and key: listen with HTTPS; `g:SecureTransport` is then true.
    public var tls: TLSFiles?
    /// Largest request body accepted (`--max-body-bytes`, 8 MiB). A declared larger
    /// `Content-Length` is refused before anything is read.
    public var maxBodyBytes = 8 << 20
    /// Request bodies held in memory at once across all calls (`--max-inflight-body-bytes`,
    /// 64 MiB); past it a call is 503 until others finish.
    public var maxInflightBodyBytes = 64 << 20
    /// Connection limits and timeouts (`--max-connections`, `--header-timeout`, `--idle-timeout`).
    public var connections = ConnectionLimits()

    public init() {}
}

/// The policy enforcement point (SPEC §9): authenticates each call by its SDK-HMAC-SHA256
/// signature, maps it to the API rows of SPEC §4 with a context filled from the connection,
/// the principal and the body, and forwards it only when every required action is allowed.
public final class Gateway: Sendable {
    public let configuration: GatewayConfiguration
    private let catalog: Catalog
    private let credentials: CredentialStore
    private let source: PolicySource
    /// Routing and deciding calls (pure); its services are the upstreams', sorted.
    private let decider: CallDecider
    /// Fixed-organization mode: access key → the principal it stands for, compiled once.
    private let principals: [String: (resolved: ResolvedPrincipal, authorizer: Authorizer)]
    private let client: HTTPClient?
    private let decisionLog: DecisionLog?
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let bodyBudget: BodyBudget
    /// With --store: temporary access key → its session, compiled for one store revision.
    private let sessions = Mutex<[String: (revision: Int64, session: CompiledPrincipal)]>([:])

    /// Problems that stop the gateway from starting.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(
        configuration: GatewayConfiguration, catalog: Catalog, source: PolicySource, credentials: CredentialStore, logger: Logger
    ) throws {
        self.configuration = configuration
        self.catalog = catalog
        self.credentials = credentials
        self.source = source
        do {
            self.decider = try CallDecider(
                catalog: catalog, region: configuration.region, services: configuration.upstreams.keys.sorted(),
                trustedProxies: configuration.trustedProxies)
        } catch {
            throw StartError(description: error.description)
        }
        self.logger = logger
        var principals: [String: (ResolvedPrincipal, Authorizer)] = [:]
        if case .organization(let organization) = source {
            // A credential naming nobody is a mistake to catch at start, not at the first call.
            for entry in credentials.all {
                do {
                    var resolved = try organization.resolve(principal: entry.principal)
                    if let session = entry.session {
                        // A session the workspace does not let its caller assume is a start error.
                        let (step, assumed) = try organization.assume(session, by: resolved, catalog: catalog)
                        guard let assumed else {
                            throw StartError(description: "credential \(entry.accessKey): \(Self.refusedAssume(step, caller: resolved.urn))")
                        }
                        resolved = assumed
                    }
                    principals[entry.accessKey] = (resolved, Authorizer(policies: resolved.policies, catalog: catalog))
                } catch let error as PrincipalError {
                    throw StartError(description: "credential \(entry.accessKey): \(error.message)")
                }
            }
        }
        self.principals = principals
        for service in configuration.upstreams.keys where catalog.service(named: service) == nil {
            throw StartError(
                description:
                    "--upstream \(service)=…: no such service in the catalog (known: \(catalog.services.map(\.name).joined(separator: ", ")))")
        }
        if configuration.emulator == nil, configuration.upstreams.values.contains(where: { if case .emulator = $0 { true } else { false } }) {
            throw StartError(description: "an upstream is the emulator, but no emulator was given")
        }
        client =
            configuration.upstreams.values.contains(where: { if case .url = $0 { true } else { false } })
            ? HTTPClient(eventLoopGroupProvider: .singleton) : nil
        decisionLog = try configuration.decisionLog.map(DecisionLog.init(path:))
        metrics = GatewayMetrics()
        bodyBudget = BodyBudget(limit: configuration.maxInflightBodyBytes)
    }

    /// The Hummingbird application: every method and path goes through `handle`.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let router = Router(context: GatewayRequestContext.self)
        router.get("/-/healthz") { _, _ in try Self.json(200, ["status": "ok"]) }
        router.get("/-/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.render())))
        }
        router.get("/-/emulator/received") { _, context in
            // A test aid: what the emulator was sent. Only to a loopback peer.
            guard let emulator = self.configuration.emulator, Self.isLoopback(Self.peer(context)) else {
                return try Self.json(404, ["error_code": "BWK.0404", "error_msg": "no emulator"])
            }
            let calls = try emulator.received().map { ["method": $0.method, "path": $0.path, "body": $0.body] }
            return try Self.json(200, ["received": calls])
        }
        // Every method reaches `handle`, so an unsupported one is a 405 with Allow, not a guess.
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .head, .options, .trace, .connect] {
            router.on("**", method: method) { request, context in try await self.handle(request, context) }
        }
        return Application(
            router: router,
            server: try configuration.connections.serverBuilder(tls: configuration.tls),
            configuration: configuration.connections.applicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "bulwark-gateway", logger: logger),
            services: [BackgroundService(gateway: self)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    // MARK: One call

    /// One call, in an order that never decides without what it could not read: the path
    /// and the API row; the signature's headers, key and date (before any body is read); the
    /// body, bounded per call and in total; the signature over the bytes received; the
    /// principal; the body, parsed strictly; the decision; then forwarding exactly the
    /// segments, query and bytes that were authorized.
    func handle(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let decisionID = UUID().uuidString.lowercased()
        do {
            return try await process(request, context, decisionID: decisionID)
        } catch let refusal as CallRefusal {
            metrics.refused.increment()
            return Self.refusal(refusal, decisionID: decisionID)
        } catch let answer as EarlyAnswer {
            return answer.response
        }
    }

    /// A step's answer that ends the call before forwarding (401, 503), already counted and logged.
    private struct EarlyAnswer: Error {
        let response: Response
    }

    /// Who is calling and what decides for them.
    private struct Caller {
        let resolved: ResolvedPrincipal
        let authorizer: Authorizer
        let organization: Organization
        /// With --store: the policy versions and the store revision decided on, for the log.
        let policyVersions: [(policy: String, version: String)]
        let revision: Int64?
    }

    private func process(_ request: Request, _ context: GatewayRequestContext, decisionID: String) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        let method = request.method.rawValue

        // 1. What is called: one strict reading of the path and query, and the API row.
        let target = try CallTarget(path: request.uri.path, query: request.uri.query ?? "")
        let route = try decider.route(method: method, target: target)
        guard let upstream = configuration.upstreams[route.service] else { throw CallRefusal("no upstream for \(route.service)", status: 502) }
        for name in ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"] where request.headers[HTTPField.Name(name)!] != nil {
            throw CallRefusal("\(name) is refused: the gateway decides the method it sees")
        }

        // 2. Who is calling, from the headers alone: 401 before any body is read.
        let (header, credential, headers) = try authenticate(request, target: target, decisionID: decisionID)

        // 3. The body: bounded per call and across calls, held until the call is done.
        let (body, charged) = try await readBody(request)
        defer { bodyBudget.release(charged) }

        // 4. The signature over the bytes received (never a hash the client declares).
        do {
            try RequestSignature.verify(
                header, secretKey: credential.secretKey, method: method, target: target, headers: headers, body: body, now: Date())
        } catch {
            throw EarlyAnswer(response: unauthenticated(error, target: target, decisionID: decisionID))
        }

        // 5. The principal and its policies: a principal whose policies cannot be read is 503.
        let caller = try caller(header: header, credential: credential, target: target, decisionID: decisionID)

        // 6. Decide on the body read strictly: every required action and dependency, for
        // every resource the call names; log every check.
        let decision = try decider.decide(
            method: method, target: target, route: route, body: body,
            facts: CallFacts(peer: Self.peer(context), forwardedFor: Self.forwardedFor(request.headers), isTLS: configuration.tls != nil),
            principal: caller.resolved, authorizer: caller.authorizer, organization: caller.organization)
        log(decision, caller: caller, decisionID: decisionID)
        metrics.addedLatency.record(clock.now - start)  // what the gateway adds, without the upstream
        if let denied = decision.denied {
            metrics.denied.increment()
            return Self.huaweiError(403, "BWK.0403", Self.denialMessage(denied, principal: caller.resolved.urn), decisionID)
        }
        metrics.allowed.increment()

        // 7. Forward the segments, query and bytes that were authorized; return the answer.
        return await forward(
            method: method, target: target, headers: headers, body: body, to: upstream, service: route.service, decisionID: decisionID)
    }

    /// Step 2: the Authorization header, the access key and the date window; the signature
    /// itself is checked once the body is read.
    private func authenticate(
        _ request: Request, target: CallTarget, decisionID: String
    ) throws(EarlyAnswer) -> (RequestSignature.Header, CredentialStore.Entry, [(String, String)]) {
        // HTTPTypes keeps Host as the request's authority, not among the header fields.
        var headers = request.headers.map { ($0.name.rawName, $0.value) }
        if let authority = request.head.authority { headers.append(("Host", authority)) }
        do {
            let (header, credential) = try RequestSignature.authenticateHeaders(
                authorization: request.headers[.authorization], headers: headers, credentials: credentials, now: Date())
            return (header, credential, headers)
        } catch {
            throw EarlyAnswer(response: unauthenticated(error, target: target, decisionID: decisionID))
        }
    }

    /// Step 5: the principal the credential stands for, from the fixed organization or the
    /// store's newest good snapshot.
    private func caller(
        header: RequestSignature.Header, credential: CredentialStore.Entry, target: CallTarget, decisionID: String
    ) throws -> Caller {
        switch source {
        case .organization(let organization):
            // Every credential was resolved at start; a key without an entry was refused there.
            guard let compiled = principals[header.accessKey] else { throw CallRefusal("access key without a principal", status: 401) }
            return Caller(resolved: compiled.resolved, authorizer: compiled.authorizer, organization: organization, policyVersions: [], revision: nil)
        case .store(let keeper):
            guard let snapshot = keeper.snapshot else {
                throw EarlyAnswer(response: Self.huaweiError(503, "BWK.0503", "the policy store has not been loaded yet", decisionID))
            }
            do {
                var compiled = try snapshot.principal(credential.principal)
                if let session = credential.session {
                    compiled = try self.session(session, by: compiled, accessKey: header.accessKey, snapshot: snapshot, decisionID: decisionID)
                }
                return Caller(
                    resolved: compiled.resolved, authorizer: compiled.authorizer, organization: snapshot.organization,
                    policyVersions: compiled.policyVersions, revision: snapshot.revision)
            } catch let error as PrincipalError {
                switch error.kind {
                case .notFound, .invalidSession:
                    let failure = RequestSignature.Failure(
                        "access key \(header.accessKey) stands for \(credential.principal), which the store does not have")
                    throw EarlyAnswer(response: unauthenticated(failure, target: target, decisionID: decisionID))
                case .unavailable:
                    logger.error("principal refused: \(error.message)", metadata: ["decisionId": "\(decisionID)"])
                    throw EarlyAnswer(
                        response: Self.huaweiError(
                            503, "BWK.0503", "the policies of \(credential.principal) cannot be read; nothing is decided without them", decisionID))
                }
            }
        }
    }

    /// A temporary access key's session, decided again against each snapshot (a session whose
    /// caller may no longer assume the agency stops working) and compiled once per revision.
    private func session(
        _ request: SessionRequest, by caller: CompiledPrincipal, accessKey: String, snapshot: DecisionSnapshot, decisionID: String
    ) throws -> CompiledPrincipal {
        if let hit = sessions.withLock({ $0[accessKey] }), hit.revision == snapshot.revision { return hit.session }
        // The assume was decided when the credentials were issued: with the caller's keys, not this call's.
        let (step, assumed) = try snapshot.session(request, by: caller, context: RequestContext())
        guard let assumed else {
            throw EarlyAnswer(response: Self.huaweiError(403, "BWK.0403", Self.refusedAssume(step, caller: caller.resolved.urn), decisionID))
        }
        sessions.withLock { $0[accessKey] = (snapshot.revision, assumed) }
        return assumed
    }

    static func refusedAssume(_ step: AssumeStep, caller: String) -> String {
        "\(caller) may not assume \(step.agency) for the session \(step.session) (\(step.result.reason.rawValue))"
    }

    /// Step 6's record: one decision-log line per check.
    private func log(_ decision: CallDecision, caller: Caller, decisionID: String) {
        let records = decision.checks.enumerated().map { i, check in
            DecisionRecord(
                decisionID: "\(decisionID)/\(i)", endpoint: "gateway", principal: caller.resolved.urn,
                request: AuthorizationRequest(action: check.action, resource: check.resource, context: decision.context),
                result: check.result, policyVersions: caller.policyVersions, revision: caller.revision)
        }
        decisionLog?.record(records, time: Date().formatted(.iso8601))
    }

    /// Step 7: exactly the segments, query and bytes that were authorized, to the upstream.
    private func forward(
        method: String, target: CallTarget, headers: [(String, String)], body: [UInt8], to upstream: Upstream, service: String, decisionID: String
    ) async -> Response {
        switch upstream {
        case .emulator:
            guard let emulator = configuration.emulator else { return Self.huaweiError(502, "BWK.0502", "no emulator", decisionID) }
            let answer = await emulator.handle(method, target.forwardedPath, target.forwardedQuery, body)
            return Response(
                status: .init(code: answer.status), headers: [.contentType: "application/json", .init("X-Bulwark-Decision-Id")!: decisionID],
                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        case .url(let base):
            guard let client else { return Self.huaweiError(502, "BWK.0502", "no HTTP client", decisionID) }
            let query = target.forwardedQuery
            var outgoing = HTTPClientRequest(url: base + target.forwardedPath + (query.isEmpty ? "" : "?" + query))
            outgoing.method = .init(rawValue: method)
            let forwarded: [(String, String)]
            do {
                forwarded = try Self.outgoingHeaders(
                    headers, method: method, base: base, target: target, body: body, key: configuration.upstreamKeys[service])
            } catch {
                return Self.huaweiError(502, "BWK.0502", "cannot sign the call for the \(service) upstream: \(error)", decisionID)
            }
            for (name, value) in forwarded { outgoing.headers.add(name: name, value: value) }
            outgoing.body = .bytes(ByteBuffer(bytes: body))
            do {
                let answer = try await client.execute(outgoing, timeout: .seconds(60))
                var responseHeaders = HTTPFields()
                for header in answer.headers where !["content-length", "connection", "transfer-encoding"].contains(header.name.lowercased()) {
                    if let name = HTTPField.Name(header.name) { responseHeaders.append(HTTPField(name: name, value: header.value)) }
                }
                responseHeaders[.init("X-Bulwark-Decision-Id")!] = decisionID
                return Response(status: .init(code: Int(answer.status.code)), headers: responseHeaders, body: .init(asyncSequence: answer.body))
            } catch {
                return Self.huaweiError(502, "BWK.0502", "the \(service) upstream did not answer: \(error)", decisionID)
            }
        }
    }

    /// The headers sent upstream: the client's, less the hop-by-hop ones; with an upstream key,
    /// less the client's signature (and project id when the key has one), signed anew for the
    /// upstream's host with the gateway's key.
    public static func outgoingHeaders(
        _ headers: [(String, String)], method: String, base: String, target: CallTarget, body: [UInt8], key: UpstreamKey?, now: Date = Date()
    ) throws(RequestSignature.Failure) -> [(String, String)] {
        var dropped: Set<String> = ["host", "content-length", "connection", "transfer-encoding"]
        if key != nil { dropped.formUnion(["authorization", "x-sdk-date", "x-security-token", "x-sdk-content-sha256"]) }
        if key?.projectID != nil { dropped.insert("x-project-id") }
        var kept = headers.filter { !dropped.contains($0.0.lowercased()) }
        guard let key else { return kept }
        if let project = key.projectID { kept.append(("X-Project-Id", project)) }
        guard let url = URL(string: base), let host = url.host else { throw RequestSignature.Failure("\(base) has no host") }
        let defaultPort = (url.scheme == "https" && url.port == 443) || (url.scheme == "http" && url.port == 80)
        let hostHeader = url.port.map { defaultPort ? host : "\(host):\($0)" } ?? host
        // Only what the gateway vouches for is signed: the content type and project id, with host and date.
        let signedNames: Set<String> = ["content-type", "x-project-id"]
        let signed = try RequestSignature.sign(
            method: method, host: hostHeader, path: url.path + target.forwardedPath, query: target.forwardedQuery,
            headers: kept.filter { signedNames.contains($0.0.lowercased()) }, body: body, accessKey: key.accessKey, secretKey: key.secretKey,
            securityToken: key.securityToken, now: now)
        return [("Host", hostHeader)] + kept + signed
    }

    /// The whole body, refused past `maxBodyBytes` (413) or when bodies in flight would pass
    /// `maxInflightBodyBytes` (503). The budget is charged for the buffer's capacity, not
    /// just its count, so it bounds memory; the caller releases `capacity` when done.
    func readBody(_ request: Request) async throws(CallRefusal) -> (bytes: [UInt8], charged: Int) {
        let limit = configuration.maxBodyBytes
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > limit {
            throw CallRefusal("the body is \(declared) bytes; the limit is \(limit) (--max-body-bytes)", status: 413)
        }
        var bytes: [UInt8] = []
        var charged = 0
        func grow(to needed: Int) throws(CallRefusal) {
            guard needed > charged else { return }
            // Room for what is known to come (Content-Length), else doubling, never past the limit.
            let target = min(limit, max(needed, declared ?? 0, charged * 2))
            guard bodyBudget.reserve(target - charged) else {
                throw CallRefusal(
                    "the gateway holds \(configuration.maxInflightBodyBytes) bytes of bodies already (--max-inflight-body-bytes); retry", status: 503)
            }
            charged = target
            bytes.reserveCapacity(target)
        }
        do {
            for try await chunk in request.body {
                guard bytes.count + chunk.readableBytes <= limit else {
                    throw CallRefusal("the body is larger than \(limit) bytes (--max-body-bytes)", status: 413)
                }
                try grow(to: bytes.count + chunk.readableBytes)
                bytes.append(contentsOf: chunk.readableBytesView)
            }
        } catch {
            bodyBudget.release(charged)
            if let refusal = error as? CallRefusal { throw refusal }
            throw CallRefusal("the body could not be read: \(error)")
        }
        return (bytes, charged)
    }

    private func unauthenticated(_ error: any Error, target: CallTarget, decisionID: String) -> Response {
        metrics.unauthenticated.increment()
        logger.notice("unauthenticated call", metadata: ["path": "\(Excerpt.of(target.path))", "reason": "\(error)", "decisionId": "\(decisionID)"])
        return Self.huaweiError(401, "BWK.0401", "\(error)", decisionID)
    }

    static func refusal(_ refusal: CallRefusal, decisionID: String) -> Response {
        let code = "BWK.0\(refusal.status)"
        var response = huaweiError(refusal.status, code, refusal.description, decisionID)
        for (name, value) in refusal.headers {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
        return response
    }

    /// `denied: ims:images:share on ims:…:image:img-1 — explicitly denied by SCP "deny-share" (level 1)`.
    static func denialMessage(_ check: APICheck, principal: String) -> String {
        let result = check.result
        let why: String
        switch result.reason {
        case .explicitDeny:
            let statements = result.matched.map { s in
                let owner = s.scpLevel.map { "SCP \"\(s.policyID)\" (level \($0))" } ?? "identity policy \"\(s.policyID)\""
                return "\(owner) statement \(s.sid.map { "\"\($0)\"" } ?? String(s.statementIndex))"
            }
            let bySCP = result.matched.contains { $0.scpLevel != nil }
            why = "explicitly denied\(bySCP ? " by an SCP" : "") — \(statements.joined(separator: ", "))"
        case .scpNoAllow:
            why = "denied by an SCP: no SCP of level \(result.scpLevel ?? 0) allows it"
        case .noIdentityAllow:
            why = "no identity policy of \(principal) allows it"
        case .sessionNoAllow:
            why = "no session policy of \(principal) allows it"
        case .trustDenied, .notTrusted, .assumeDenied:
            why = "the session of \(principal) could not be assumed"
        case .allowed:
            why = "allowed"
        }
        let dependency = check.isDependency ? " (a dependency of \(check.requiredBy.label))" : ""
        return "denied: \(check.action) on \(check.resource)\(dependency): \(why)"
    }

    static func huaweiError(_ status: Int, _ code: String, _ message: String, _ decisionID: String) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.field("decision_id", decisionID)
        json.field("error_code", code)
        json.field("error_msg", Excerpt.message(message))
        json.endObject()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }

    static func json(_ status: Int, _ value: [String: Any]) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Every `X-Forwarded-For` line, in order, as one chain: a proxy may add its own line
    /// after the client's, and reading only the first would let the client name its address.
    public static func forwardedFor(_ headers: HTTPFields) -> String? {
        let lines = headers[values: HTTPField.Name("X-Forwarded-For")!]
        return lines.isEmpty ? nil : lines.joined(separator: ",")
    }

    static func peer(_ context: GatewayRequestContext) -> String {
        context.remoteAddress?.ipAddress ?? "0.0.0.0"
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address == "::ffff:127.0.0.1"
    }

    /// Follows the store (with `--store`), flushes the decision log, and at shutdown flushes
    /// it once more and closes the HTTP client.
    struct BackgroundService: Service {
        let gateway: Gateway

        func run() async throws {
            let log = gateway.decisionLog
            await withTaskGroup(of: Void.self) { group in
                if case .store(let keeper) = gateway.source { group.addTask { await keeper.run() } }
                if let log { group.addTask { await log.flushPeriodically() } }
                try? await gracefulShutdown()  // returns, or throws on cancellation: either way, stop
                group.cancelAll()
            }
            log?.flush()
            try? await gateway.client?.shutdown()  // at exit; nothing is decided after this
        }
    }
}

/// The request context with the peer's address, for `g:SourceIp`.
struct GatewayRequestContext: Hummingbird.RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Allowed, denied and unauthenticated calls, and the latency the gateway adds.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let allowed: Counter
    let denied: Counter
    let unauthenticated: Counter
    /// Refused before a decision: unreadable, unroutable, too large, or a wrong method.
    let refused: Counter
    let addedLatency: DurationHistogram

    init() {
        func name(_ n: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "bulwark_gateway", metricName: n, unitName: unit, helpText: help)
        }
        allowed = registry.makeCounter(descriptor: name("calls", "total", "Calls by outcome."), labels: [("outcome", "allowed")])
        denied = registry.makeCounter(descriptor: name("calls", "total", "Calls by outcome."), labels: [("outcome", "denied")])
        unauthenticated = registry.makeCounter(descriptor: name("calls", "total", "Calls by outcome."), labels: [("outcome", "unauthenticated")])
        refused = registry.makeCounter(descriptor: name("calls", "total", "Calls by outcome."), labels: [("outcome", "refused")])
        addedLatency = registry.makeDurationHistogram(
            descriptor: name("added_latency", "seconds", "Time from the call's arrival to the decision (authentication + authorization)."),
            buckets: [
                .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(75), .microseconds(100), .microseconds(150),
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(25),
            ])
    }

    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// Bytes of request bodies held in memory across all calls: a reservation past the limit
/// is refused, so a flood of large bodies costs at most `limit` bytes.
public final class BodyBudget: Sendable {
    public let limit: Int
    private let held = Atomic<Int>(0)

    public init(limit: Int) { self.limit = limit }

    /// Takes `count` bytes from the budget; false (and nothing taken) when they do not fit.
    public func reserve(_ count: Int) -> Bool {
        let after = held.wrappingAdd(count, ordering: .relaxed).newValue
        if after <= limit { return true }
        held.wrappingSubtract(count, ordering: .relaxed)
        return false
    }

    /// Gives back bytes taken by `reserve`.
    public func release(_ count: Int) {
        held.wrappingSubtract(count, ordering: .relaxed)
    }

    /// Bytes held now.
    public var inUse: Int { held.load(ordering: .relaxed) }
}
