import BulwarkCatalog
import BulwarkEnforcement
import BulwarkGateway
import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy
import BulwarkWorkspace
import Foundation
import HTTPTypes
import Testing

/// The gateway's parts: SDK-HMAC-SHA256 against a vector made by Huawei's own Python SDK,
/// the credentials file, and the context built from a call.
@Suite struct GatewayTests {
    // Signed by huaweicloudsdkcore 3.1.219's Signer: POST /v2/images/img 1/members?b=x y&a=1,
    // key AK1 / SK-secret, headers below, body {"member":"7p7p7p"}.
    static let headers: [(String, String)] = [
        ("Content-Type", "application/json;charset=UTF-8"), ("X-Project-Id", "proj-1"),
        ("X-Sdk-Date", "20261123T165241Z"), ("Host", "127.0.0.1:18500"), ("User-Agent", "not signed"),
    ]
    static let authorization =
        "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=e7aa02f0329dac33be601b8cca61cafce9e0b6db9e1ad3f3d519600f4be4c54c"
    static let body = Array(#"{"member":"7p7p7p"}"#.utf8)
    static let signedAt = Date(timeIntervalSince1970: 1_795_452_761)  // 2026-11-23T16:52:41Z

    static func verify(
        method: String = "POST", path: String = "/v2/images/img%201/members", query: String = "a=1&b=x%20y",
        headers: [(String, String)] = headers, body: [UInt8] = body, now: Date = signedAt, secret: String = "SK-secret"
    ) throws {
        let header = try RequestSignature.parse(authorization: authorization)
        try RequestSignature.verify(header, secretKey: secret, method: method, path: path, query: query, headers: headers, body: body, now: now)
    }

    @Test func theSDKsSignatureVerifies() throws {
        try Self.verify()
        // Skew within 15 minutes either way is fine.
        try Self.verify(now: Self.signedAt.addingTimeInterval(14 * 60))
        try Self.verify(now: Self.signedAt.addingTimeInterval(-14 * 60))
        // Query order and encoding do not matter; values do.
        try Self.verify(query: "b=x+y&a=1")
    }

    @Test func anyChangeBreaksIt() {
        func fails(_ what: String, _ change: () throws -> Void) {
            #expect(throws: RequestSignature.Failure.self, "\(what) still verified") { try change() }
        }
        fails("method") { try Self.verify(method: "PUT") }
        fails("path") { try Self.verify(path: "/v2/images/img%202/members") }
        fails("query") { try Self.verify(query: "a=2&b=x%20y") }
        fails("body") { try Self.verify(body: Array(#"{"member":"9z9z9z"}"#.utf8)) }
        fails("signed header") { try Self.verify(headers: Self.headers.map { $0.0 == "X-Project-Id" ? ($0.0, "proj-2") : $0 }) }
        fails("host") { try Self.verify(headers: Self.headers.filter { $0.0 != "Host" }) }
        fails("secret") { try Self.verify(secret: "SK-other") }
        fails("late") { try Self.verify(now: Self.signedAt.addingTimeInterval(16 * 60)) }
        fails("early") { try Self.verify(now: Self.signedAt.addingTimeInterval(-16 * 60)) }
        fails("unsigned payload") { try Self.verify(headers: Self.headers + [("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")]) }
        // An unsigned header may change freely.
        #expect(throws: Never.self) { try Self.verify(headers: Self.headers.map { $0.0 == "User-Agent" ? ($0.0, "other") : $0 }) }
    }

    @Test func sdkDatesAreReadExactly() {
        #expect(RequestSignature.parseDate("20261123T165241Z") == Self.signedAt)
        #expect(RequestSignature.parseDate("20240229T235959Z") == Date(timeIntervalSince1970: 1_709_251_199))
        #expect(RequestSignature.parseDate("19700101T000000Z") == Date(timeIntervalSince1970: 0))
        for bad in ["20241301T000000Z", "20240229T240000Z", "2024-02-29T00:00:00Z", "20240229T000000", "2024022xT000000Z"] {
            #expect(RequestSignature.parseDate(bad) == nil, "\(bad)")
        }
    }

    @Test func malformedAuthorizationHeadersAreRefused() {
        for header in [
            "", "Bearer x", "SDK-HMAC-SHA256", "SDK-HMAC-SHA256 Access=AK1", "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=zz",
            "SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=" + String(repeating: "a", count: 64),
        ] {
            #expect(throws: RequestSignature.Failure.self, "\(header)") { try RequestSignature.parse(authorization: header) }
        }
        // SignedHeaders must cover host and the date.
        let noDate = try! RequestSignature.parse(
            authorization: "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=" + String(repeating: "a", count: 64))
        #expect(throws: RequestSignature.Failure.self) {
            try RequestSignature.verify(
                noDate, secretKey: "s", method: "GET", path: "/", query: "", headers: Self.headers, body: [], now: Self.signedAt)
        }
    }

    @Test func credentialsFilesMustBePrivateAndWellFormed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-creds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ name: String, _ text: String, mode: Int) -> String {
            let path = folder.appendingPathComponent(name).path
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
            return path
        }
        let good = "credentials:\n  - accessKey: AK1\n    secretKey: s1\n    principal: iam::0a1b2c:user:alice\n"
        let store = try CredentialStore.load(path: write("good.yaml", good, mode: 0o600))
        #expect(store["AK1"]?.principal == "iam::0a1b2c:user:alice")
        do {
            _ = try CredentialStore.load(path: write("open.yaml", good, mode: 0o644))
            Issue.record("a world-readable credentials file was accepted")
        } catch {
            #expect(error.description.contains("readable by others (mode 644); run chmod 600"))
        }
        do {
            _ = try CredentialStore.load(path: write("typo.yaml", good + "    secret: x\n", mode: 0o600))
            Issue.record("an unknown field was accepted")
        } catch {
            #expect(
                error.description.hasSuffix(
                    "typo.yaml:5:5: unknown field \"secret\"; expected accessKey, secretKey, principal, securityToken, session"))
        }
        // Temporary credentials: a token and a session, both, with a session that is well formed.
        let temporary = """
            credentials:
              - accessKey: AKT
                secretKey: s
                principal: iam::0a1b2c:user:ci
                securityToken: tok
                session:
                  agency: iam::0a1b2c:agency:ops
                  sessionName: run-1
                  tags: {team: web}
                  sessionPolicies:
                    - {Version: "5.0", Statement: [{Effect: Allow, Action: "ims:images:list"}]}

            """
        let session = try #require(try CredentialStore.load(path: write("temporary.yaml", temporary, mode: 0o600))["AKT"])
        #expect(session.securityToken == "tok" && session.session?.sessionName == "run-1")
        #expect(session.session?.tags == [SessionTag(key: "team", value: "web")] && session.session?.sessionPolicies?.count == 1)
        for (name, text, message) in [
            ("no-session.yaml", temporary.replacingOccurrences(of: "    session:", with: "    sessionx:"), "unknown field \"sessionx\""),
            ("no-token.yaml", temporary.replacingOccurrences(of: "    securityToken: tok\n", with: ""), "need both securityToken and session"),
            ("bad-name.yaml", temporary.replacingOccurrences(of: "run-1", with: "r"), "session: sessionName: must have 2 to 64 characters"),
            ("bad-policy.yaml", temporary.replacingOccurrences(of: "Version: \"5.0\"", with: "Version: \"4.0\""), "session policy 0:"),
        ] {
            do {
                _ = try CredentialStore.load(path: write(name, text, mode: 0o600))
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.description.contains(message), "\(name): \(error.description)")
            }
        }
        #expect(throws: CredentialStore.LoadError.self) {
            try CredentialStore.load(
                path: write("twice.yaml", good + "  - accessKey: AK1\n    secretKey: s2\n    principal: iam::0a1b2c:user:bob\n", mode: 0o600))
        }
    }

    @Test func aRequestFieldTheGatewayCannotReadStopsItFromStarting() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-fields-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("services"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"conditionKeys":[]}"#.write(to: dir.appendingPathComponent("global-keys.json"), atomically: true, encoding: .utf8)
        try #"""
        {"name":"xyz","title":"X","updated":"2026-01-01","resourceTypes":[],"conditionKeys":[],
         "actions":[{"name":"xyz:a:get","description":"d","accessLevel":"read","resourceTypes":[],"conditionKeys":[]}],
         "apis":[{"method":"GET","path":"/a","action":"xyz:a:get","dependencies":[]}],"referencedActions":[],
         "requestFields":[{"name":"secret_field","apis":["GET /a"]}]}
        """#.write(to: dir.appendingPathComponent("services/xyz.json"), atomically: true, encoding: .utf8)
        let catalog = try Catalog.load(directory: dir.path)
        #expect(catalog.issues.isEmpty)
        do {
            _ = try RequestFieldTable(catalog: catalog)
            Issue.record("a field the gateway cannot read was accepted")
        } catch {
            #expect(error.description.contains("request field \"secret_field\", which the gateway cannot read"))
        }
    }

    @Test func theContextComesFromTheConnectionThePrincipalAndTheBody() throws {
        let catalog = try Catalog.bundled()
        let workspace = Workspace.load(directory: packageRoot + "/examples/gateway/workspace", catalog: catalog)
        #expect(workspace.problems.isEmpty)
        let builder = CallContextBuilder(
            organization: workspace.organization, trustedProxies: [IPAddressRange("10.9.0.0/16")!], fields: try RequestFieldTable(catalog: catalog))
        func body(_ text: String) -> JSONNode {
            var reader = JSONReader(text: text)
            return try! reader.readDocument()
        }
        let root = try CallTarget(path: "/v2/cloudimages", query: "")
        func context(_ body: JSONNode?, _ row: String, facts: CallFacts = CallFacts(peer: "127.0.0.1")) throws -> RequestContext {
            try builder.context(for: facts, body: body, target: root, row: row)
        }
        // X-Forwarded-For counts only from a trusted proxy, and only its untrusted end.
        let direct = try context(nil, "GET /v2/cloudimages", facts: CallFacts(peer: "192.0.2.7", forwardedFor: "1.2.3.4"))
        #expect(direct["g:SourceIp"]?.map(\.text) == ["192.0.2.7"])
        let proxied = try context(nil, "GET /v2/cloudimages", facts: CallFacts(peer: "10.9.0.1", forwardedFor: "1.2.3.4, 10.9.0.5"))
        #expect(proxied["g:SourceIp"]?.map(\.text) == ["1.2.3.4"])
        #expect(direct["g:SecureTransport"]?.map(\.text) == ["false"])
        // A proxy that adds its own X-Forwarded-For line after the client's: both lines count,
        // so the client's own line cannot name its address.
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("X-Forwarded-For")!, value: "6.6.6.6"))
        fields.append(HTTPField(name: HTTPField.Name("X-Forwarded-For")!, value: "1.2.3.4"))
        let chain = Gateway.forwardedFor(fields)
        #expect(chain == "6.6.6.6,1.2.3.4")
        #expect(
            try context(nil, "GET /v2/cloudimages", facts: CallFacts(peer: "10.9.0.1", forwardedFor: chain))["g:SourceIp"]?.map(\.text) == ["1.2.3.4"]
        )

        let create = "POST /v2/cloudimages/action"
        let tagged = try context(body(#"{"name":"x","image_tags":[{"key":"env","value":"prod"}],"tags":["team.a"]}"#), create)
        #expect(tagged["g:RequestTag/env"]?.map(\.text) == ["prod"])
        #expect(tagged["g:RequestTag/team"]?.map(\.text) == ["a"])
        #expect(tagged["g:TagKeys"]?.map(\.text) == ["team", "env"])  // tags, then image_tags

        let inside = try context(body(#"{"member":"7p7p7p"}"#), "POST /v2/images/{image_id}/members")
        #expect(inside["ims:TargetOrgPaths"]?.map(\.text) == ["o-1/r-1/ou-sbx/7p7p7p"])
        let outside = try context(body(#"{"projects":["7p7p7p","9z9z9z"]}"#), "POST /v1/cloudimages/members")
        #expect(outside["ims:TargetOrgPaths"]?.map(\.text) == ["o-1/r-1/ou-sbx/7p7p7p", "external/9z9z9z"])
        let domain = try context(
            body(#"{"access_domain":"partner","permit":"read"}"#), "POST /v2/manage/namespaces/{namespace}/repositories/{repository}/access-domains")
        #expect(domain["swr:TargetAccountId"]?.map(\.text) == ["7p7p7p"])
        #expect(domain["swr:TargetOrgPath"]?.map(\.text) == ["o-1/r-1/ou-sbx/7p7p7p"])

        // Fields feed only the rows that document them: a member added to another call is no key.
        let elsewhere = try context(body(#"{"member":"7p7p7p","tags":["env.prod"],"access_domain":"partner"}"#), "DELETE /v2/images/{image_id}")
        #expect(elsewhere["ims:TargetOrgPaths"] == nil && elsewhere["g:RequestTag/env"] == nil && elsewhere["swr:TargetOrgPath"] == nil)
        // A documented field of the wrong shape, or a tag key twice, is refused.
        for (text, row) in [
            (#"{"member":7}"#, "POST /v2/images/{image_id}/members"), (#"{"projects":"7p7p7p"}"#, "POST /v1/cloudimages/members"),
            (#"{"tags":[{"key":"env","value":"a"},{"key":"ENV","value":"b"}]}"#, create), (#"{"tags":[{"value":"a"}]}"#, create),
            (#"{"tags":[1]}"#, create), (#"{"enterprise_project_id":1}"#, create),
        ] {
            #expect(throws: CallRefusal.self, "\(text)") { try context(body(text), row) }
        }
        // The query's enterprise_project_id counts for listing only.
        let listing = try CallTarget(path: "/v2/cloudimages", query: "enterprise_project_id=p-1")
        #expect(
            try builder.context(for: CallFacts(peer: "127.0.0.1"), body: nil, target: listing, row: "GET /v2/cloudimages")["g:EnterpriseProjectId"]?
                .map(\.text) == ["p-1"])
        #expect(
            try builder.context(for: CallFacts(peer: "127.0.0.1"), body: nil, target: listing, row: "GET /v1/cloudimages/quota")[
                "g:EnterpriseProjectId"] == nil)

        #expect(
            CallContextBuilder.cases(method: "POST", path: "/v2/cloudimages/quickimport/action", body: body(#"{"image_type":"DataImage"}"#)) == [
                "data-disk-import"
            ])
        #expect(
            CallContextBuilder.cases(
                method: "PATCH", path: "/v2/cloudimages/img-1", body: body(#"[{"op":"replace","path":"/enterprise_project_id","value":"p"}]"#)) == [
                    "enterprise-project-migration"
                ])
    }
}
