import BulwarkEnforcement
import BulwarkJSON
import BulwarkRuntime
import BulwarkStore
import BulwarkWorkspace
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1

extension PDPServer {
    /// Every route of SPEC §7. Handlers only move bytes: read the body, call a service, answer.
    func router() throws -> Router<BasicRequestContext> {
        let routes = try OpenAPIDocument.routes()
        let router = Router()
        router.add(middleware: ErrorAndMetricsMiddleware(metrics: metrics, logger: logger, maxBodyBytes: configuration.maxBodyBytes, routes: routes))

        // Operations: open, they reveal nothing about policies.
        router.get("/healthz") { _, _ in Self.json(Array("{\"status\":\"ok\"}\n".utf8)) }
        router.get("/readyz") { _, _ in
            guard let revision = self.keeper.revision else {
                throw APIError(status: 503, code: "not_ready", message: "the store has not been loaded yet")
            }
            let unreadable = self.keeper.unreadable
            guard unreadable.isEmpty else {
                let serving = self.keeper.snapshot?.revision ?? revision
                let names = unreadable.map { "\($0.isSCP ? "SCP" : "policy") \(Excerpt.quoted($0.id))" }.joined(separator: ", ")
                throw APIError(
                    status: 503, code: "unreadable_policies",
                    message: "revision \(revision) has stored policies that do not parse: \(names); "
                        + (serving == revision
                            ? "principals that need them are refused"
                            : "decisions stay on revision \(serving) until they are fixed"))
            }
            return Self.json(Array("{\"status\":\"ready\",\"revision\":\(revision)}\n".utf8))
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.render())))
        }
        router.get("/openapi.json") { _, _ in Self.json(try OpenAPIDocument.bytes()) }

        // Decisions.
        let decide = router.group("/v1").add(
            middleware: BearerTokenMiddleware(token: configuration.decisionToken, realm: "decisions", sessions: consoleSessions))
        decide.post("authorize") { request, context in
            try await self.decide(request, context) { body, snapshot, id in
                try self.decisions.authorize(body, batchOnly: false, explain: Self.flag(request, "explain"), snapshot: snapshot, decisionID: id)
            }
        }
        decide.post("authorize/batch") { request, context in
            try await self.decide(request, context) { body, snapshot, id in
                try self.decisions.authorize(body, batchOnly: true, explain: Self.flag(request, "explain"), snapshot: snapshot, decisionID: id)
            }
        }
        decide.post("authorize-api") { request, context in
            try await self.decide(request, context) { body, snapshot, id in try self.decisions.authorizeAPI(body, snapshot: snapshot, decisionID: id)
            }
        }
        decide.post("simulate") { request, context in
            try await self.decide(request, context) { body, snapshot, id in try self.decisions.simulate(body, snapshot: snapshot, decisionID: id) }
        }
        decide.post("validate") { request, _ in
            Self.json(try self.decisions.validate(try await self.body(request)))
        }

        // Huawei IAM Access Analyzer's policy checks (SPEC §14): open like the health checks, as
        // they read only the documents sent (the SDK signs with AK/SK, not a bearer token).
        router.post("/v5/policies/validate") { request, _ in
            let limit = try Self.query(request, "limit").map { text throws(APIError) in
                guard let value = Int(text) else { throw APIError.badRequest("limit must be an integer, not \(Excerpt.quoted(text))") }
                return value
            }
            return Self.json(
                try self.accessAnalyzer.validatePolicy(try await self.body(request), limit: limit, marker: try Self.query(request, "marker")))
        }
        router.post("/v5/policies/check-no-new-access") { request, _ in
            Self.json(try self.accessAnalyzer.checkNoNewAccess(try await self.body(request)))
        }

        // Management.
        let manage = router.group("/v1").add(
            middleware: BearerTokenMiddleware(token: configuration.adminToken, realm: "management", sessions: consoleSessions))
        manage.get("organization") { _, _ in
            let (state, revision) = try self.state()
            return Self.json(ManagementService.organization(state, revision: revision))
        }
        manage.put("organization") { request, _ in try await self.write(ManagementService.setOrganization(try await self.body(request))) }
        manage.put("organization/import") { request, _ in try await self.importOrganization(request) }
        manage.get("organization/nodes") { _, _ in Self.json(ManagementService.nodes(try self.state().0)) }
        manage.post("organization/nodes") { request, _ in try await self.write(ManagementService.addNode(try await self.body(request))) }
        manage.get("organization/nodes/:name") { _, context in
            Self.json(try ManagementService.node(try Self.parameter(context, "name"), try self.state().0))
        }
        manage.patch("organization/nodes/:name") { request, context in
            try await self.write(ManagementService.moveNode(try Self.parameter(context, "name"), try await self.body(request)))
        }
        manage.delete("organization/nodes/:name") { _, context in try await self.write(.removeNode(name: try Self.parameter(context, "name"))) }

        manage.get("policies") { request, _ in
            Self.json(ManagementService.policies(try self.state().0, account: try Self.query(request, "account")))
        }
        manage.post("policies") { request, _ in try await self.write(ManagementService.createPolicy(try await self.body(request))) }
        manage.get("policies/:id") { _, context in Self.json(try ManagementService.policy(try Self.parameter(context, "id"), try self.state().0)) }
        manage.delete("policies/:id") { _, context in try await self.write(.deletePolicy(id: try Self.parameter(context, "id"))) }
        manage.get("policies/:id/versions") { _, context in
            Self.json(try ManagementService.versions(try Self.parameter(context, "id"), try self.state().0))
        }
        manage.post("policies/:id/versions") { request, context in
            try await self.write(ManagementService.createPolicyVersion(try Self.parameter(context, "id"), try await self.body(request)))
        }
        manage.get("policies/:id/versions/:version") { _, context in
            Self.json(try ManagementService.version(try Self.parameter(context, "id"), try Self.parameter(context, "version"), try self.state().0))
        }
        manage.delete("policies/:id/versions/:version") { _, context in
            try await self.write(.deletePolicyVersion(policy: try Self.parameter(context, "id"), version: try Self.parameter(context, "version")))
        }
        manage.put("policies/:id/default-version") { request, context in
            try await self.write(ManagementService.setDefaultVersion(try Self.parameter(context, "id"), try await self.body(request)))
        }

        manage.get("scps") { _, _ in Self.json(ManagementService.scps(try self.state().0)) }
        manage.post("scps") { request, _ in try await self.write(ManagementService.createSCP(try await self.body(request))) }
        manage.get("scps/:id") { _, context in Self.json(try ManagementService.scp(try Self.parameter(context, "id"), try self.state().0)) }
        manage.put("scps/:id") { request, context in
            try await self.write(ManagementService.updateSCP(try Self.parameter(context, "id"), try await self.body(request)))
        }
        manage.delete("scps/:id") { _, context in try await self.write(.deleteSCP(id: try Self.parameter(context, "id"))) }

        manage.get("principals") { request, _ in
            Self.json(ManagementService.principals(try self.state().0, account: try Self.query(request, "account")))
        }
        manage.post("principals") { request, _ in try await self.write(ManagementService.addPrincipal(try await self.body(request))) }
        manage.get("principals/:urn") { _, context in
            Self.json(try ManagementService.principal(try Self.parameter(context, "urn"), try self.state().0))
        }
        manage.delete("principals/:urn") { _, context in try await self.write(.removePrincipal(urn: try Self.parameter(context, "urn"))) }
        manage.put("principals/:urn/groups") { request, context in
            try await self.write(ManagementService.setGroups(try Self.parameter(context, "urn"), try await self.body(request)))
        }
        manage.put("principals/:urn/settings") { request, context in
            try await self.write(ManagementService.setSettings(try Self.parameter(context, "urn"), try await self.body(request)))
        }

        manage.get("attachments") { request, _ in
            Self.json(
                ManagementService.attachments(
                    try self.state().0, policy: try Self.query(request, "policy"), target: try Self.query(request, "target")))
        }
        manage.post("attachments") { request, _ in try await self.write(ManagementService.attach(try await self.body(request))) }
        manage.delete("attachments") { request, _ in
            guard let policy = try Self.query(request, "policy"), let target = try Self.query(request, "target") else {
                throw APIError.badRequest("DELETE /v1/attachments needs ?policy=ID&target=TARGET")
            }
            return try await self.write(.detach(policy: policy, target: target))
        }
        addConsoleRoutes(to: router)
        return router
    }

    // MARK: Handler helpers

    /// Reads the body, decides against the current snapshot, logs and counts the decisions.
    private func decide(
        _ request: Request, _ context: BasicRequestContext,
        _ run: ([UInt8], DecisionSnapshot, String) throws -> DecisionService.Reply
    ) async throws -> Response {
        let bytes = try await body(request)
        guard let snapshot = keeper.snapshot else {
            throw APIError(status: 503, code: "not_ready", message: "the store has not been loaded yet")
        }
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try run(bytes, snapshot, Self.decisionID())
        metrics.recordDecisions(reply.records, duration: clock.now - start)
        let time = Date().formatted(.iso8601)
        decisionLog?.record(reply.records, time: time)
        recentDecisions.append(reply.records, time: time)
        return Self.json(reply.body)
    }

    private func write(_ command: ManagementCommand) async throws -> Response {
        let (outcome, state): (CommandOutcome, OrganizationState)
        do { (outcome, state) = try await keeper.apply(command) } catch { throw APIError.write(error) }
        let rendered = ManagementService.render(outcome, in: state)
        logger.info("management write", metadata: ["revision": "\(keeper.revision ?? 0)", "command": "\(Self.name(of: command))"])
        return Self.json(rendered, status: outcome.created ? .created : .ok)
    }

    /// `PUT /v1/organization/import`: the workspace in the body replaces the organization, as one revision.
    private func importOrganization(_ request: Request) async throws -> Response {
        let bytes: [UInt8]
        do {
            bytes = Array(try await request.body.collect(upTo: configuration.maxImportBytes).readableBytesView)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(
                status: 413, code: "body_too_large",
                message: "the body is larger than the limit of \(configuration.maxImportBytes) bytes (--max-import-bytes)")
        }
        let files = try ManagementService.importFiles(bytes)
        let context = keeper.commandContext()
        let catalog = self.catalog
        let built = await offloaded {
            Result { () throws(OrganizationImport.Failure) in
                try OrganizationImport.state(of: Workspace.load(files: files, catalog: catalog), context: context)
            }
        }
        let imported: OrganizationImport.Result
        do { imported = try built.get() } catch { throw APIError.invalidWorkspace(error) }
        let revision: Int64
        do { revision = try await keeper.replace(with: imported.state) } catch { throw APIError.write(error) }
        logger.info("management write", metadata: ["revision": "\(revision)", "command": "import"])
        return Self.json(ManagementService.imported(imported, revision: revision))
    }

    /// The newest stored state (not the snapshot decisions use, which may be an older good one).
    private func state() throws(APIError) -> (OrganizationState, Int64) {
        guard let latest = keeper.latest else {
            throw APIError(status: 503, code: "not_ready", message: "the store has not been loaded yet")
        }
        return latest
    }

    private func body(_ request: Request) async throws -> [UInt8] {
        let buffer = try await request.body.collect(upTo: configuration.maxBodyBytes)
        return Array(buffer.readableBytesView)
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private static func parameter(_ context: BasicRequestContext, _ name: String) throws(APIError) -> String {
        guard let raw = context.parameters.get(name) else { throw APIError.badRequest("missing path parameter \(name)") }
        guard raw.contains("%") else { return raw }
        guard let decoded = raw.removingPercentEncoding else {
            throw APIError.badRequest("path parameter \(name) has a malformed percent escape: \(Excerpt.quoted(raw))")
        }
        return decoded
    }

    static func query(_ request: Request, _ name: String) throws(APIError) -> String? {
        guard let raw = request.uri.queryParameters.get(name) else { return nil }
        guard let decoded = raw.removingPercentEncoding else {
            throw APIError.badRequest("query parameter \(name) has a malformed percent escape: \(Excerpt.quoted(raw))")
        }
        return decoded
    }

    private static func flag(_ request: Request, _ name: String) -> Bool {
        guard let value = request.uri.queryParameters.get(name) else { return false }
        return value == "" || value == "true" || value == "1"
    }

    private static func decisionID() -> String { DecisionIDs.shared.next() }

    private static func name(of command: ManagementCommand) -> String {
        String(describing: command).split(separator: "(").first.map(String.init) ?? "command"
    }
}

/// Management and (optionally) decision routes need `Authorization: Bearer TOKEN`, or the
/// web console's session cookie (made only with the admin token) and, for every write, its
/// CSRF token in `X-CSRF-Token`. The token is compared in constant time; a missing or wrong
/// one is 401, a write without its CSRF token 403, and nothing runs.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String?
    let realm: String
    let sessions: ConsoleSessions?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        if header.isEmpty, let sessions, let (_, session) = sessions.session(of: request.headers) {
            guard request.method == .get || request.method == .head || ConsoleSessions.csrfMatches(session, request.headers) else {
                throw APIError(status: 403, code: "csrf", message: "a write from the console needs its X-CSRF-Token")
            }
            return try await next(request, context)
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), ConstantTime.equal(Array(header.utf8.dropFirst(prefix.utf8.count)), Array(token.utf8)) else {
            throw APIError(
                status: 401, code: "unauthorized",
                message: header.isEmpty ? "the \(realm) API needs Authorization: Bearer TOKEN" : "the bearer token is not valid for the \(realm) API")
        }
        return try await next(request, context)
    }

}

/// Turns every error into the JSON error body of SPEC §7 (never an empty 500), and counts
/// requests by route and status.
struct ErrorAndMetricsMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServerMetrics
    let logger: Logger
    let maxBodyBytes: Int
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = error.response
        } catch let error as any HTTPResponseError {
            // Hummingbird's own errors: no route, wrong method, a body over the limit.
            if error.status == .notFound || error.status == .methodNotAllowed, let allowed = routes.methods(for: request.uri.path) {
                // The path exists with other methods.
                var apiError = APIError(
                    status: 405, code: "method_not_allowed",
                    message:
                        "\(Excerpt.of(request.method.rawValue)) is not allowed on \(Excerpt.of(request.uri.path)); allowed: \(allowed.joined(separator: ", "))"
                )
                apiError.allowedMethods = allowed
                response = apiError.response
            } else {
                response = translate(error.status, request).response
            }
        } catch let error as HTTPParserError {
            // Broken framing (an unknown Transfer-Encoding, a bad chunk) is the client's error;
            // a body cut short means the client went away: counted as 499, logged at debug.
            let hungUp = error == .invalidEOFState
            if hungUp { logger.debug("the client closed the connection mid-request", metadata: ["path": "\(Excerpt.of(request.uri.path))"]) }
            response = APIError(status: hungUp ? 499 : 400, code: "bad_framing", message: "the request's HTTP framing is broken: \(error)").response
        } catch {
            logger.error("unexpected error (\(type(of: error))): \(error)", metadata: ["path": "\(Excerpt.of(request.uri.path))"])
            response = APIError(status: 500, code: "internal", message: "internal error; see the server log").response
        }
        metrics.recordRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code)
        return response
    }

    private func translate(_ status: HTTPResponse.Status, _ request: Request) -> APIError {
        switch status {
        case .notFound:
            APIError(
                status: 404, code: "no_route",
                message: "no route \(Excerpt.of(request.method.rawValue)) \(Excerpt.of(request.uri.path)); see /openapi.json")
        case .contentTooLarge:
            APIError(status: 413, code: "body_too_large", message: "the body is larger than the limit of \(maxBodyBytes) bytes (--max-body-bytes)")
        case .methodNotAllowed:
            APIError(
                status: 405, code: "method_not_allowed",
                message: "\(Excerpt.of(request.method.rawValue)) is not allowed on \(Excerpt.of(request.uri.path)); see /openapi.json")
        default:
            APIError(status: status.code, code: "http_error", message: status.reasonPhrase)
        }
    }
}
