import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The web console's server side (issue 22): sign-in only with the admin token and a JSON
/// body, an HttpOnly SameSite=Strict cookie, every write from a session needing its CSRF
/// token, a strict Content-Security-Policy, and the page's own endpoints. (The page itself is
/// tested in Chromium: tests/console/test_console.py.)
@Suite struct ConsoleTests {
    struct Answer {
        let status: Int
        let headers: HTTPFields
        let text: String
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    }

    static func call(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, cookie: String? = nil,
        csrf: String? = nil, contentType: String = "application/json"
    ) async throws -> Answer {
        var headers: HTTPFields = [.contentType: contentType]
        if let cookie { headers[.cookie] = cookie }
        if let csrf { headers[HTTPField.Name("X-CSRF-Token")!] = csrf }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Answer(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    @Test func aSessionReadsAndWritesOnlyWithItsCSRFToken() async throws {
        try await TestServer().run { http in
            try await Fixture.build(http)
            let client = http.client
            // Sign-in: the admin token, as JSON only.
            #expect(
                try await Self.call(
                    client, .post, "/console/api/login", "token=\(TestServer.adminToken)", contentType: "application/x-www-form-urlencoded"
                ).status == 415)
            #expect(try await Self.call(client, .post, "/console/api/login", #"{"token":"nope"}"#).status == 401)
            let login = try await Self.call(client, .post, "/console/api/login", #"{"token":"\#(TestServer.adminToken)"}"#)
            #expect(login.status == 200)
            let setCookie = try #require(login.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/"))
            #expect(!setCookie.contains("Secure"))  // plain HTTP here; with TLS it is Secure
            let cookie = String(setCookie.split(separator: ";")[0])
            let csrf = try #require(login.object["csrf"] as? String)
            #expect(csrf.count == 64)

            let session = try await Self.call(client, .get, "/console/api/session", cookie: cookie)
            #expect(session.object["signedIn"] as? Bool == true && session.object["csrf"] as? String == csrf)
            #expect(try await Self.call(client, .get, "/console/api/session").object["signedIn"] as? Bool == false)

            // Reads need the session; writes also its CSRF token.
            #expect(try await Self.call(client, .get, "/v1/policies").status == 401)
            #expect(try await Self.call(client, .get, "/v1/policies", cookie: cookie).status == 200)
            let version = #"{"document":\#(Fixture.readImages)}"#
            let noToken = try await Self.call(client, .post, "/v1/policies/read-images/versions", version, cookie: cookie)
            #expect(noToken.status == 403 && noToken.text.contains(#""code":"csrf""#))
            #expect(
                try await Self.call(
                    client, .post, "/v1/policies/read-images/versions", version, cookie: cookie, csrf: String(repeating: "0", count: 64)
                ).status == 403)
            #expect(try await Self.call(client, .post, "/v1/policies/read-images/versions", version, cookie: cookie, csrf: csrf).status == 201)
            // A cookie header naming the session twice is not guessed between.
            #expect(try await Self.call(client, .get, "/v1/policies", cookie: "\(cookie); \(cookie)").status == 401)

            // The page's endpoints.
            let access = try await Self.call(client, .get, "/console/api/access?principal=iam::0a1b2c:user:alice", cookie: cookie)
            #expect(access.status == 200)
            #expect(access.text.contains(#""action":"ims:images:get""#))
            let simulate = try await Self.call(
                client, .post, "/v1/simulate", #"{"principal":"iam::0a1b2c:user:alice","request":{"action":"ims:images:share"}}"#, cookie: cookie,
                csrf: csrf)
            #expect(simulate.object["decision"] as? String == "deny")
            let decisions = try await Self.call(client, .get, "/console/api/decisions?outcome=deny", cookie: cookie)
            let rows = try #require(decisions.object["decisions"] as? [[String: Any]])
            #expect(rows.map { $0["action"] as? String } == ["ims:images:share"])
            let diff = try await Self.call(
                client, .post, "/console/api/diff",
                #"{"old":\#(Self.quoted(Fixture.readImages)),"new":\#(Self.quoted(Fixture.denyShareSCP)),"type":"identity"}"#, cookie: cookie,
                csrf: csrf)
            #expect(diff.object["result"] as? String == "different")

            // Sign-out ends the session: the same cookie reads nothing.
            #expect(try await Self.call(client, .post, "/console/api/logout", "{}", cookie: cookie).status == 403)
            let logout = try await Self.call(client, .post, "/console/api/logout", "{}", cookie: cookie, csrf: csrf)
            #expect(logout.status == 200 && logout.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await Self.call(client, .get, "/v1/policies", cookie: cookie).status == 401)
        }
    }

    @Test func aBurstOfFailedSignInsClosesSignInForEveryone() async throws {
        try await TestServer(configure: { $0.consoleSignInFailuresPerMinute = 3 }).run { http in
            for _ in 0..<3 { #expect(try await Self.call(http.client, .post, "/console/api/login", #"{"token":"guess"}"#).status == 401) }
            // Closed now, even for the right token; the bearer API is unaffected.
            let closed = try await Self.call(http.client, .post, "/console/api/login", #"{"token":"\#(TestServer.adminToken)"}"#)
            #expect(closed.status == 429 && closed.text.contains("too_many_sign_ins"))
            #expect(try await http.get("/v1/policies").status == 200)
        }
    }

    @Test func thePageIsServedWithAStrictContentSecurityPolicy() async throws {
        try await TestServer().run { http in
            let root = try await Self.call(http.client, .get, "/")
            #expect(root.status == 303 && root.headers[.location] == "/console/")
            for (path, type) in [("/console/", "text/html"), ("/console/app.js", "text/javascript"), ("/console/app.css", "text/css")] {
                let page = try await Self.call(http.client, .get, path)
                #expect(page.status == 200, "\(path)")
                #expect(page.headers[.contentType]?.hasPrefix(type) == true)
                let csp = try #require(page.headers[.contentSecurityPolicy])
                #expect(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe"))
                #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            }
            let html = try await Self.call(http.client, .get, "/console/")
            // No inline script or style, no other host.
            #expect(!html.text.contains("<script>") && !html.text.contains("style=") && !html.text.contains("http"))
            for id in [
                "login-token", "login-submit", "org-tree", "principal-access", "policy-editor", "findings", "policy-save", "simulate-principal",
                "simulate-action", "simulate-resource", "simulate-submit", "decision", "sign-out",
            ] {
                #expect(html.text.contains(#"data-testid="\#(id)""#), "\(id)")
            }
            let script = try await Self.call(http.client, .get, "/console/app.js")
            #expect(script.text.contains(#""data-testid": "org-node""#) && script.text.contains(#""data-testid": "diff-region""#))
            #expect(script.text.contains(#""data-testid": "finding""#) && !script.text.contains("innerHTML"))
        }
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self)
    }
}
