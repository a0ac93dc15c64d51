import BulwarkEnforcement
import BulwarkJSON
import BulwarkOrganization
import BulwarkRuntime
import BulwarkStore
import BulwarkWorkspace
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web console (issue 22): a page and its assets at `/console/`, served by the binary
/// (no other host), and the few endpoints the page needs besides the management and decision
/// APIs. Docs: docs/console.md.
extension PDPServer {
    /// Headers of every console answer: a strict Content-Security-Policy (scripts, styles and
    /// connections to this server only, no inline code, no framing), no sniffing, no referrer,
    /// no caching.
    static let consoleHeaders: [(HTTPField.Name, String)] = [
        (
            .contentSecurityPolicy,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"), (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"), (.cacheControl, "no-store"),
    ]

    func addConsoleRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/console/"]) }
        // `/console` and `/console/` are one route to the router: both serve the page.
        router.get("/console/") { _, _ in try Self.asset("index.html", type: "text/html; charset=utf-8") }
        router.get("/console/app.js") { _, _ in try Self.asset("app.js", type: "text/javascript; charset=utf-8") }
        router.get("/console/app.css") { _, _ in try Self.asset("app.css", type: "text/css; charset=utf-8") }

        // Who is signed in: the page asks on load. The CSRF token is readable by this origin's
        // scripts only (no CORS), never by another site's.
        router.get("/console/api/session") { request, _ in
            guard let (_, session) = self.consoleSessions.session(of: request.headers) else {
                return Self.consoleJSON(#"{"signedIn":false}"#)
            }
            return Self.signedIn(csrf: session.csrf)
        }
        router.post("/console/api/login") { request, _ in try await self.signIn(request) }
        router.post("/console/api/logout") { request, _ in
            guard let (id, session) = self.consoleSessions.session(of: request.headers) else {
                throw APIError(status: 401, code: "unauthorized", message: "not signed in")
            }
            guard ConsoleSessions.csrfMatches(session, request.headers) else {
                throw APIError(status: 403, code: "csrf", message: "a write from the console needs its X-CSRF-Token")
            }
            self.consoleSessions.end(id)
            var response = Self.consoleJSON(#"{"signedIn":false}"#)
            response.headers[.setCookie] = ConsoleSessions.setCookie("", secure: self.configuration.tls != nil, maxAge: 0)
            return response
        }

        // What the page shows beyond the management API: signed in (or the admin token) only.
        let api = router.group("/console/api").add(
            middleware: BearerTokenMiddleware(token: configuration.adminToken, realm: "console", sessions: consoleSessions))
        api.get("access") { request, _ in
            guard let urn = try Self.query(request, "principal"), !urn.isEmpty else {
                throw APIError.badRequest("GET /console/api/access needs ?principal=URN")
            }
            return Self.consoleJSON(try self.access(of: urn))
        }
        api.post("diff") { request, _ in
            let bytes = Array(try await request.body.collect(upTo: self.configuration.maxBodyBytes).readableBytesView)
            return Self.consoleJSON(String(decoding: try self.accessAnalyzer.compare(bytes), as: UTF8.self))
        }
        api.get("decisions") { request, _ in
            func filter(_ name: String) throws(APIError) -> String? { try Self.query(request, name).flatMap { $0.isEmpty ? nil : $0 } }
            let limit = min(Int(try Self.query(request, "limit") ?? "") ?? 100, self.recentDecisions.capacity)
            let (principal, action, outcome) = (try filter("principal"), try filter("action"), try filter("outcome"))
            var json = JSONWriter()
            json.beginObject()
            json.key("decisions")
            json.beginArray()
            var written = 0
            for entry in self.recentDecisions.all() where written < limit {
                let r = entry.record
                if let principal, !(r.principal ?? "").localizedCaseInsensitiveContains(principal) { continue }
                if let action, !r.action.localizedCaseInsensitiveContains(action) { continue }
                if let outcome, r.decision != outcome { continue }
                json.beginObject()
                json.field("time", entry.time)
                json.field("decisionId", r.decisionID)
                json.field("endpoint", r.endpoint)
                json.field("principal", r.principal)
                json.field("action", r.action)
                json.field("resource", r.resource)
                json.field("decision", r.decision)
                json.field("reason", r.reason)
                json.endObject()
                written += 1
            }
            json.endArray()
            json.endObject()
            return Self.consoleJSON(json.text)
        }
    }

    /// `POST /console/api/login {"token"}`: the admin token makes a session. Only a JSON body is
    /// read, so a plain HTML form on another site cannot sign a browser in (login CSRF).
    private func signIn(_ request: Request) async throws -> Response {
        guard let adminToken = configuration.adminToken else {
            throw APIError(status: 503, code: "no_admin_token", message: "the server has no admin token; the console needs one to sign in")
        }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw APIError(status: 415, code: "unsupported_media_type", message: "sign in with a JSON body {\"token\": …}")
        }
        // Checked before the token: during a burst of failures even the right token waits, so
        // guessing cannot continue past the limit.
        guard consoleSessions.signInOpen() else {
            logger.warning("console sign-in closed: too many failures in the last minute")
            throw APIError(
                status: 429, code: "too_many_sign_ins",
                message: "more than \(consoleSessions.failuresPerMinute) failed sign-ins in the last minute; try again in a minute")
        }
        let bytes = Array(try await request.body.collect(upTo: 64 << 10).readableBytesView)
        let body = try RequestBody(bytes, allowed: ["token"])
        let token = try body.requiredString("token")
        guard ConstantTime.equal(Array(token.utf8), Array(adminToken.utf8)) else {
            // A pause makes guessing slow; the token is compared in constant time either way.
            consoleSessions.recordFailure()
            try await Task.sleep(for: .milliseconds(300))
            logger.notice("console sign-in refused")
            throw APIError(status: 401, code: "unauthorized", message: "that is not the admin token")
        }
        let (id, csrf) = consoleSessions.create()
        logger.info("console sign-in")
        var response = Self.signedIn(csrf: csrf)
        response.headers[.setCookie] = ConsoleSessions.setCookie(
            id, secure: configuration.tls != nil, maxAge: Int(consoleSessions.idleLimit.components.seconds))
        return response
    }

    /// A principal's effective access (as `bulwark access --via-agencies --format json`) on the
    /// snapshot decisions use.
    private func access(of urn: String) throws(APIError) -> String {
        guard let snapshot = keeper.snapshot else {
            throw APIError(status: 503, code: "not_ready", message: "the store has not been loaded yet")
        }
        let compiled: CompiledPrincipal
        do { compiled = try snapshot.principal(urn) } catch {
            throw APIError(status: error.kind == .notFound ? 404 : 422, code: "principal", message: error.message)
        }
        let (reached, problems) = snapshot.organization.reachableAgencies(from: compiled.resolved, catalog: catalog)
        guard problems.isEmpty else { throw APIError(status: 422, code: "agencies", message: problems.joined(separator: "; ")) }
        return String(decoding: EffectiveAccess.json(principal: compiled.resolved, reached: reached, catalog: catalog), as: UTF8.self)
    }

    private static func asset(_ name: String, type: String) throws(APIError) -> Response {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "console"),
            let data = try? Data(contentsOf: url)
        else {
            throw APIError(status: 503, code: "console_missing", message: "the console's \(name) is not installed with this binary")
        }
        var headers = HTTPFields()
        headers[.contentType] = type
        for (name, value) in consoleHeaders { headers[name] = value }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"signedIn": true, "csrf": …}`: what the page keeps to send with its writes.
    private static func signedIn(csrf: String) -> Response {
        var json = JSONWriter()
        json.beginObject()
        json.field("signedIn", true)
        json.field("csrf", csrf)
        json.endObject()
        return consoleJSON(json.text)
    }

    static func consoleJSON(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        for (name, value) in consoleHeaders { headers[name] = value }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
