import BulwarkAnalysis
import BulwarkCatalog
import BulwarkCloud
import BulwarkEmulator
import BulwarkEnforcement
import BulwarkEngine
import BulwarkGateway
import BulwarkOrganization
import BulwarkPolicy
import BulwarkWorkspace
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// `bulwark pull` and `bulwark plan` (SPEC §13) against the emulated control plane on a real
/// socket, calls signed by `SignedClient` and verified by the emulator. (The same APIs are
/// driven with Huawei's own SDK clients in tests/sdk/test_cloud.py.)
@Suite struct CloudTests {
    static let management = CloudCredentials(accessKey: "AKMGMT", secretKey: "mgmt-secret", account: "1a2b3c")
    static let dev = CloudCredentials(accessKey: "AKDEV", secretKey: "dev-secret", account: "4d5e6f")
    static let keys = CredentialStore([
        CredentialStore.Entry(accessKey: "AKMGMT", secretKey: "mgmt-secret", principal: "iam::1a2b3c:user:admin"),
        CredentialStore.Entry(accessKey: "AKDEV", secretKey: "dev-secret", principal: "iam::4d5e6f:user:admin"),
    ])

    static func emulator(strict: Bool = false) throws -> Emulator {
        try Emulator(path: Emulator.temporaryPath(), account: "4d5e6f", credentials: keys, strict: strict)
    }

    static func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    static func body(_ object: [String: Any]) throws -> [UInt8] { Array(try JSONSerialization.data(withJSONObject: object)) }

    static let readers = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get"],"Resource":["*"]}]}"#

    /// An organization: 4d5e6f invited into OU engineering, an SCP denying image deletion
    /// there; in 4d5e6f a group `developers` (alice) with `image-readers`, bob with `image-all`.
    static func build(_ endpoint: String) async throws -> [String: String] {
        let mgmt = try SignedClient(endpoint: endpoint, credentials: management, attempts: 1)
        let dev = try SignedClient(endpoint: endpoint, credentials: dev, attempts: 1)
        defer {
            Task {
                await mgmt.shutdown()
                await dev.shutdown()
            }
        }
        var ids: [String: String] = [:]
        _ = try await mgmt.send("POST", "/v1/organizations")
        let roots = try json(try await mgmt.get("/v1/organizations/roots"))["roots"] as! [[String: Any]]
        let root = roots[0]["id"] as! String
        _ = try await mgmt.send(
            "POST", "/v1/organizations/policies/enable", body: try body(["policy_type": "service_control_policy", "root_id": root]))
        let ou = try json(
            try await mgmt.send("POST", "/v1/organizations/organizational-units", body: try body(["name": "engineering", "parent_id": root])))
        ids["engineering"] = (ou["organizational_unit"] as! [String: Any])["id"] as? String
        let invite = try json(
            try await mgmt.send("POST", "/v1/organizations/accounts/invite", body: try body(["target": ["type": "account", "entity": "4d5e6f"]])))
        let handshake = (invite["handshake"] as! [String: Any])["id"] as! String
        _ = try await dev.send("POST", "/v1/received-handshakes/\(handshake)/accept")
        _ = try await mgmt.send(
            "POST", "/v1/organizations/accounts/4d5e6f/move",
            body: try body(["source_parent_id": root, "destination_parent_id": ids["engineering"]!]))
        let deny = #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":["ims:images:deleteImage"],"Resource":["*"]}]}"#
        let scp = try json(
            try await mgmt.send(
                "POST", "/v1/organizations/policies",
                body: try body(["name": "deny-image-delete", "type": "service_control_policy", "content": deny])))
        ids["scp"] = ((scp["policy"] as! [String: Any])["policy_summary"] as! [String: Any])["id"] as? String
        _ = try await mgmt.send("POST", "/v1/organizations/policies/\(ids["scp"]!)/attach", body: try body(["entity_id": ids["engineering"]!]))

        for name in ["alice", "bob"] {
            ids[name] =
                (try json(try await dev.send("POST", "/v5/users", body: try body(["name": name])))["user"] as! [String: Any])["user_id"] as? String
        }
        ids["developers"] =
            (try json(try await dev.send("POST", "/v5/groups", body: try body(["group_name": "developers"])))["group"] as! [String: Any])["group_id"]
            as? String
        _ = try await dev.send("POST", "/v5/groups/\(ids["developers"]!)/add-user", body: try body(["user_id": ids["alice"]!]))
        for (name, document) in [
            ("image-readers", readers),
            ("image-all", #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:*"],"Resource":["*"]}]}"#),
        ] {
            let created = try json(try await dev.send("POST", "/v5/policies", body: try body(["policy_name": name, "policy_document": document])))
            ids[name] = (created["policy"] as! [String: Any])["policy_id"] as? String
        }
        _ = try await dev.send("POST", "/v5/policies/\(ids["image-readers"]!)/attach-group", body: try body(["group_id": ids["developers"]!]))
        _ = try await dev.send("POST", "/v5/policies/\(ids["image-all"]!)/attach-user", body: try body(["user_id": ids["bob"]!]))
        let trust =
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:agencies:assume"],"Principal":{"IAM":["iam::4d5e6f:user:bob"]}}]}"#
        let agency = try json(
            try await dev.send(
                "POST", "/v5/agencies", body: try body(["agency_name": "deployer", "trust_policy": trust, "max_session_duration": 7200])))
        ids["deployer"] = (agency["agency"] as! [String: Any])["agency_id"] as? String
        _ = try await dev.send(
            "POST", "/v5/agency/\(ids["deployer"]!)/tags/create", body: try body(["tags": [["tag_key": "team", "tag_value": "web"]]]))
        return ids
    }

    static func pull(_ endpoint: String, keys: [CloudCredentials] = [management, dev]) async throws -> PulledOrganization {
        var endpoints = OrganizationPull.Endpoints()
        endpoints.iam = endpoint
        endpoints.organizations = endpoint
        return try await OrganizationPull.read(credentials: keys, endpoints: endpoints) { _ in }
    }

    /// The organization of `build`, pulled and written into `folder`: its ids, the files, and
    /// the workspace read back from the folder (the cloud's side of a plan).
    static func builtAndPulled(_ endpoint: String, into folder: String) async throws -> (
        ids: [String: String], files: [String: [UInt8]], cloud: Workspace
    ) {
        let ids = try await build(endpoint)
        let files = PulledWorkspace.files(of: try await pull(endpoint))
        try PulledWorkspace.write(files, into: folder)
        return (ids, files, Workspace.load(directory: folder, catalog: try Catalog.bundled()))
    }

    static func workspace(_ files: [String: [UInt8]]) throws -> Workspace {
        let workspace = Workspace.load(files: files, catalog: try Catalog.bundled())
        #expect(workspace.problems.isEmpty, "\(workspace.problems)")
        return workspace
    }

    static func decide(_ workspace: Workspace, _ principal: String, _ action: String) throws -> Decision {
        let resolved = try workspace.organization.resolve(principal: principal)
        return Authorizer(policies: resolved.policies, catalog: try Catalog.bundled()).authorize(AuthorizationRequest(action: action)).decision
    }

    @Test func pullWritesAWorkspaceThatDecidesWhatTheCloudHolds() async throws {
        let emulator = try Self.emulator()
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            let ids = try await Self.build(endpoint)
            let pulled = try await Self.pull(endpoint)
            #expect(pulled.unread.isEmpty)
            let files = PulledWorkspace.files(of: pulled)
            #expect(
                files.keys.sorted() == [
                    "accounts/1a2b3c/account.yaml", "accounts/4d5e6f/account.yaml", "accounts/4d5e6f/policies/image-all.json",
                    "accounts/4d5e6f/policies/image-readers.json", "accounts/4d5e6f/trust-policies/deployer.json", "organization.yaml",
                    "scps/deny-image-delete.json",
                ])
            let account = String(decoding: files["accounts/4d5e6f/account.yaml"]!, as: UTF8.self)
            #expect(account.contains("  - name: bob\n    id: \(YAMLQuoted(ids["bob"]!))\n    policies: [image-all]\n"))
            #expect(account.contains("    trustPolicy: deployer\n    maxSessionDuration: 7200\n    tags:\n      team: web\n"))
            #expect(account.contains("policyIds:\n  image-all: \(YAMLQuoted(ids["image-all"]!))\n"))
            // The same cloud state gives the same bytes.
            #expect(PulledWorkspace.files(of: try await Self.pull(endpoint)) == files)

            let workspace = try Self.workspace(files)
            #expect(try Self.decide(workspace, "iam::4d5e6f:user:alice", "ims:images:get") == .allow)
            #expect(try Self.decide(workspace, "iam::4d5e6f:user:alice", "ims:images:list") == .deny)
            #expect(try Self.decide(workspace, "iam::4d5e6f:user:bob", "ims:images:create") == .allow)
            // The SCP on engineering denies what bob's identity policy allows.
            #expect(try Self.decide(workspace, "iam::4d5e6f:user:bob", "ims:images:deleteImage") == .deny)
            let deployer = try workspace.organization.resolve(principal: "iam::4d5e6f:agency:deployer")
            #expect(deployer.principalContext["g:PrincipalTag/team"] == "web")
        }
    }

    @Test func planNamesTheAccessAChangeMakesAndTheCallsThatUndoIt() async throws {
        let emulator = try Self.emulator()
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            let ids = try await Self.build(endpoint)
            let before = try Self.workspace(PulledWorkspace.files(of: try await Self.pull(endpoint)))
            // Someone widens image-readers in the console, and attaches it to bob too.
            let dev = try SignedClient(endpoint: endpoint, credentials: Self.dev, attempts: 1)
            let wider = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get","ims:images:list"],"Resource":["*"]}]}"#
            _ = try await dev.send(
                "POST", "/v5/policies/\(ids["image-readers"]!)/versions", body: try Self.body(["policy_document": wider, "set_as_default": true]))
            await dev.shutdown()
            let folder = NSTemporaryDirectory() + "bulwark-plan-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try PulledWorkspace.write(PulledWorkspace.files(of: try await Self.pull(endpoint)), into: folder)
            let cloud = Workspace.load(directory: folder, catalog: try Catalog.bundled())
            #expect(cloud.problems.isEmpty)

            let changes = WorkspaceDiff.compare(
                old: cloud.organization, new: before.organization, analyzer: PolicyAnalyzer(catalog: try Catalog.bundled())
            ).filter { $0.difference.verdict != .equivalent }
            #expect(changes.map(\.principal) == ["iam::4d5e6f:user:alice"])
            #expect(changes[0].difference.added.isEmpty)
            #expect(changes[0].difference.removed.flatMap(\.actions) == ["ims:images:list"])

            let (calls, warnings) = WorkspacePlan.calls(from: cloud, to: before)
            #expect(warnings.isEmpty)
            #expect(calls.count == 1)
            #expect(calls.first?.path == "/v5/policies/\(ids["image-readers"]!)/versions")
            #expect(calls.first?.account == "4d5e6f")
            #expect(calls.first?.body == #"{"policy_document":\#(jsonString(Self.readers)),"set_as_default":true}"#)
            // The same workspace against itself: nothing to do.
            #expect(WorkspacePlan.calls(from: cloud, to: cloud).calls.isEmpty)
        }
    }

    @Test func planCreatesAttachesAndDeletesByNameWithPlaceholdersForNewThings() async throws {
        let emulator = try Self.emulator()
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            let folder = NSTemporaryDirectory() + "bulwark-plan-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var (ids, files, cloud) = try await Self.builtAndPulled(endpoint, into: folder)
            // A new policy for carol (a new user), bob loses image-all, which is then gone.
            var account = String(decoding: files["accounts/4d5e6f/account.yaml"]!, as: UTF8.self)
            account = account.replacingOccurrences(of: "    policies: [image-all]\n", with: "    policies: []\n")
            account = account.replacingOccurrences(of: "users:\n", with: "users:\n  - name: carol\n    policies: [swr-readers]\n")
            files["accounts/4d5e6f/account.yaml"] = Array(account.utf8)
            files["accounts/4d5e6f/policies/image-all.json"] = nil
            files["accounts/4d5e6f/policies/swr-readers.json"] = Array(
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["swr:repo:getRepo"],"Resource":["*"]}]}"#.utf8)
            let (calls, _) = WorkspacePlan.calls(from: cloud, to: try Self.workspace(files))
            #expect(
                calls.map { "\($0.method) \($0.path)" } == [
                    "POST /v5/policies", "POST /v5/users", "POST /v5/policies/{policy:swr-readers}/attach-user",
                    "POST /v5/policies/\(ids["image-all"]!)/detach-user", "DELETE /v5/policies/\(ids["image-all"]!)",
                ])
            #expect(calls[2].body == #"{"user_id":"{user:carol}"}"#)
            #expect(calls[3].body == #"{"user_id":"\#(ids["bob"]!)"}"#)
        }
    }

    @Test func temporaryCredentialsSendTheirSecurityToken() async throws {
        let store = CredentialStore([
            CredentialStore.Entry(accessKey: "AKTEMP", secretKey: "temp-secret", principal: "iam::4d5e6f:user:admin", securityToken: "token-7")
        ])
        let emulator = try Emulator(path: Emulator.temporaryPath(), account: "4d5e6f", credentials: store)
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            let temporary = CloudCredentials(accessKey: "AKTEMP", secretKey: "temp-secret", securityToken: "token-7", account: "4d5e6f")
            let pulled = try await Self.pull(endpoint, keys: [temporary])
            #expect(pulled.iam["4d5e6f"]?.users.map(\.name) == ["admin"])
            // The same key without its token is refused, and the call is named: a refused key is
            // never read as "no organization".
            let withoutToken = CloudCredentials(accessKey: "AKTEMP", secretKey: "temp-secret", account: "4d5e6f")
            await #expect {
                _ = try await Self.pull(endpoint, keys: [withoutToken])
            } throws: { error in
                "\(error)".hasPrefix("GET /v1/organizations: HTTP 401") && "\(error)".contains("the X-Security-Token header is missing")
            }
        }
    }

    @Test func listingsArePagedToTheEnd() async throws {
        let emulator = try Self.emulator()
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            let dev = try SignedClient(endpoint: endpoint, credentials: Self.dev, attempts: 1)
            // 230 users: three pages of IAM's default 100.
            for i in 0..<229 { _ = try await dev.send("POST", "/v5/users", body: try Self.body(["name": "user-\(i)"])) }
            await dev.shutdown()
            let pulled = try await Self.pull(endpoint, keys: [Self.dev])
            #expect(pulled.tree == nil)
            #expect(pulled.iam["4d5e6f"]?.users.count == 230)
            #expect(Set(pulled.iam["4d5e6f"]!.users.map(\.name)).count == 230)
        }
    }

    @Test func planChangesSCPsAttachingBeforeDetaching() async throws {
        let emulator = try Self.emulator()
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            let folder = NSTemporaryDirectory() + "bulwark-plan-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var (ids, files, cloud) = try await Self.builtAndPulled(endpoint, into: folder)
            // engineering trades FullAccess for a new read-only SCP; deny-image-delete also denies sharing.
            var organization = String(decoding: files["organization.yaml"]!, as: UTF8.self)
            organization = organization.replacingOccurrences(
                of: "scpAttachments:\n", with: "detachFullAccess: [engineering]\n\nscpAttachments:\n  - scp: read-only\n    targets: [engineering]\n")
            files["organization.yaml"] = Array(organization.utf8)
            files["scps/read-only.json"] = Array(
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get","ims:images:list"]}]}"#.utf8)
            let widened =
                #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":["ims:images:deleteImage","ims:images:share"],"Resource":["*"]}]}"#
            files["scps/deny-image-delete.json"] = Array(widened.utf8)
            let (calls, warnings) = WorkspacePlan.calls(from: cloud, to: try Self.workspace(files))
            #expect(warnings.isEmpty)
            let engineering = ids["engineering"]!
            #expect(
                calls.map { "\($0.method) \($0.path) \($0.body ?? "")" } == [
                    #"POST /v1/organizations/policies {"name":"read-only","type":"service_control_policy","content":"{\"Version\":\"5.0\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ims:images:get\",\"ims:images:list\"]}]}"}"#,
                    "PATCH /v1/organizations/policies/\(ids["scp"]!) {\"content\":\(jsonString(widened))}",
                    "POST /v1/organizations/policies/{scp:read-only}/attach {\"entity_id\":\"\(engineering)\"}",
                    "POST /v1/organizations/policies/p-fullaccess/detach {\"entity_id\":\"\(engineering)\"}",
                ])
        }
    }

    @Test func anAccountWithoutAKeyIsReportedAndTheRestIsRead() async throws {
        let emulator = try Self.emulator()
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            _ = try await Self.build(endpoint)
            let pulled = try await Self.pull(endpoint, keys: [Self.management])
            #expect(pulled.unread.map(\.account) == ["4d5e6f"])
            #expect(pulled.unread.first?.reason == "no key for account 4d5e6f (4d5e6f) in --credentials")
            let files = PulledWorkspace.files(of: pulled)
            #expect(String(decoding: files["organization.yaml"]!, as: UTF8.self).contains("# Not read: 4d5e6f: no key for account 4d5e6f"))
            #expect(files["accounts/1a2b3c/account.yaml"] != nil)
            // Without the management account's key the organization cannot be read: nothing is.
            await #expect {
                _ = try await Self.pull(endpoint, keys: [Self.dev])
            } throws: { error in
                (error as? CloudError)?.description.contains("the organization's management account is 1a2b3c") == true
            }
        }
    }

    @Test func theControlPlaneRefusesUnsignedAndForeignCallsAndKeepsTraces() async throws {
        let emulator = try Self.emulator()
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            _ = try await Self.build(endpoint)
            let stranger = try SignedClient(endpoint: endpoint, credentials: CloudCredentials(accessKey: "AKDEV", secretKey: "wrong"), attempts: 1)
            await #expect(throws: CloudError.self) { _ = try await stranger.get("/v5/users") }
            await stranger.shutdown()
            let unsigned = try await client.execute(uri: "/v1/organizations", method: .get)
            #expect(unsigned.status == .unauthorized)
            // A member account cannot change the organization.
            let dev = try SignedClient(endpoint: endpoint, credentials: Self.dev, attempts: 1)
            await #expect {
                _ = try await dev.send("POST", "/v1/organizations/organizational-units", body: try Self.body(["name": "x", "parent_id": "r-1"]))
            } throws: { ($0 as? CloudError)?.status == 403 }
            // An invalid policy is refused as IAM would.
            await #expect {
                _ = try await dev.send(
                    "POST", "/v5/policies", body: try Self.body(["policy_name": "bad", "policy_document": "{\"Version\":\"5.0\"}"]))
            } throws: { ($0 as? CloudError)?.status == 400 }
            let traces = try Self.json(try await dev.get("/v3/4d5e6f-cn-north-4/traces", query: [("limit", "3")]))
            await dev.shutdown()
            let list = try #require(traces["traces"] as? [[String: Any]])
            #expect(list.count == 3)
            #expect((list[0]["user"] as? [String: Any])?["principal_urn"] as? String == "iam::4d5e6f:user:admin")
            #expect(list[0]["code"] as? String == "400")  // newest first: the refused policy
            #expect((traces["meta_data"] as? [String: Any])?["marker"] != nil)
        }
    }

    @Test func aReSignedCallPassesTheStrictEmulatorAndAnUnchangedOneDoesNot() async throws {
        let emulator = try Self.emulator(strict: true)
        let now = Date()
        // A client signed its call for the gateway's host with its own key.
        let clientSigned = try RequestSignature.sign(
            method: "GET", host: "gateway.example:8443", path: "/v2/cloudimages", query: "limit=5", accessKey: "AKDEV", secretKey: "dev-secret",
            now: now)
        let incoming = [("Host", "gateway.example:8443"), ("Content-Type", "application/json")] + clientSigned
        let target = try CallTarget(path: "/v2/cloudimages", query: "limit=5")
        func upstreamCall(_ headers: [(String, String)]) -> SignedCall {
            SignedCall(
                method: "GET", path: "/v2/cloudimages", query: target.forwardedQuery, headers: headers,
                authorization: headers.first { $0.0.lowercased() == "authorization" }?.1, body: [])
        }
        let unchanged = try Gateway.outgoingHeaders(incoming, method: "GET", base: "http://ims.upstream:8600", target: target, body: [], key: nil)
        #expect(await emulator.handleStrict(upstreamCall(unchanged + [("Host", "ims.upstream:8600")]), now: now).status == 401)
        let key = UpstreamKey(accessKey: "AKMGMT", secretKey: "mgmt-secret", projectID: "project-1")
        let resigned = try Gateway.outgoingHeaders(
            incoming, method: "GET", base: "http://ims.upstream:8600", target: target, body: [], key: key, now: now)
        #expect(resigned.first! == ("Host", "ims.upstream:8600"))
        #expect(resigned.filter { $0.0 == "X-Project-Id" }.map(\.1) == ["project-1"])
        #expect(resigned.filter { $0.0.lowercased() == "authorization" }.count == 1)
        #expect(await emulator.handleStrict(upstreamCall(resigned), now: now).status == 200)
    }
}

/// A YAML scalar as `PulledWorkspace` writes it: quoted when all digits or number-like.
private func YAMLQuoted(_ text: String) -> String {
    text.allSatisfy(\.isNumber) || Double(text) != nil || (text.first?.isNumber == true && text.contains { $0 == "e" || $0 == "E" })
        ? "\"\(text)\"" : text
}

private func jsonString(_ text: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes]), as: UTF8.self)
}

/// A cloud that answers each path with what a test scripts: malformed, truncated, throttled.
@Suite struct CloudFaultTests {
    /// Answers by path: each call takes the next scripted answer (the last repeats).
    static func run(
        _ script: [String: [(Int, String)]], _ test: @escaping @Sendable (String) async throws -> Void
    ) async throws {
        let calls = CallCounter()
        let router = Router()
        router.get("**") { request, _ -> Response in
            let answers = script[request.uri.path] ?? [(404, #"{"error_code":"X.404","error_msg":"no such API"}"#)]
            let n = calls.next(request.uri.path)
            let (status, body) = answers[min(n, answers.count - 1)]
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            try await test("http://127.0.0.1:\(client.port!)")
        }
    }

    static func pull(_ endpoint: String) async throws -> PulledOrganization {
        var endpoints = OrganizationPull.Endpoints()
        endpoints.iam = endpoint
        endpoints.organizations = endpoint
        return try await OrganizationPull.read(credentials: [CloudTests.management], endpoints: endpoints) { _ in }
    }

    static func failure(_ endpoint: String) async -> String? {
        do {
            _ = try await pull(endpoint)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static let organization = #"{"organization":{"id":"o-1","management_account_id":"1a2b3c","management_account_name":"1a2b3c"}}"#
    static let roots = #"{"roots":[{"id":"r-1","name":"root","policy_types":[]}],"page_info":{}}"#

    @Test func throttlingIsRetriedAndAMalformedAnswerNamesTheCall() async throws {
        try await Self.run([
            "/v1/organizations": [(429, "slow down"), (503, "busy"), (200, Self.organization)],
            "/v1/organizations/roots": [(200, Self.roots)],
            "/v1/organizations/organizational-units": [(200, #"{"organizational_units":[]}"#)],
            "/v1/organizations/accounts": [(200, #"{"accounts":[{"id":"1a2b3c","name":"main","unexpected":{"field":1}}]}"#)],
            "/v5/groups": [(200, #"{"groups":[], "page_info": {"next_marker": null}}"#)],
            "/v5/users": [(200, #"{"users":[{"user_id":"u1","user_name":"admin"}]}"#)],
            "/v5/users/u1": [(200, #"{"user":{"user_id":"u1","user_name":"admin","tags":[{"tag_key":"team","tag_value":"ops"}]}}"#)],
            "/v5/users/u1/attached-policies": [(200, #"{"attached_policies":[]}"#)],
            "/v5/agencies": [(200, #"{"agencies":[]}"#)],
            "/v5/policies": [(200, #"{"policies":[]}"#)],
        ]) { endpoint in
            let pulled = try await Self.pull(endpoint)
            #expect(pulled.unread.isEmpty)
            #expect(pulled.iam["1a2b3c"]?.users.first?.tags == ["team": "ops"])
            #expect(pulled.accountNames["1a2b3c"] == "main")
        }
        try await Self.run([
            "/v1/organizations": [(200, #"{"organization":{"id":"o-1","management_account_id":"1a2b3c""#)]
        ]) { endpoint in
            let message = await Self.failure(endpoint)
            #expect(message?.hasPrefix("GET /v1/organizations: the answer is not JSON") == true, "\(message ?? "")")
        }
        try await Self.run([
            "/v1/organizations": [(200, #"{"organization":{"id":"o-1","management_account_id":7}}"#)]
        ]) { endpoint in
            #expect(await Self.failure(endpoint) == "GET /v1/organizations: the answer's $.organization.management_account_id is not a string")
        }
        try await Self.run([
            "/v1/organizations": [(200, Self.organization)], "/v1/organizations/roots": [(500, "down")],
        ]) { endpoint in
            #expect(await Self.failure(endpoint) == "GET /v1/organizations/roots: HTTP 500 after 4 attempts: down")
        }
    }

    @Test func aKeyRefusedOrganizationsIsNotReadAsNoOrganization() async throws {
        try await Self.run(["/v1/organizations": [(403, #"{"error_msg":"no right"}"#)]]) { endpoint in
            let message = await Self.failure(endpoint)
            #expect(message?.contains("cannot tell whether the accounts are in an organization") == true, "\(message ?? "")")
        }
    }

    @Test func aMarkerThatComesBackIsRefusedAndAFailedAccountIsReported() async throws {
        try await Self.run([
            "/v1/organizations": [(200, Self.organization)], "/v1/organizations/roots": [(200, Self.roots)],
            "/v1/organizations/organizational-units": [(200, #"{"organizational_units":[],"page_info":{"next_marker":"AAAA"}}"#)],
        ]) { endpoint in
            #expect(await Self.failure(endpoint) == "GET /v1/organizations/organizational-units: the cloud gave marker AAAA twice; stopping")
        }
        try await Self.run([
            "/v1/organizations": [(200, Self.organization)], "/v1/organizations/roots": [(200, Self.roots)],
            "/v1/organizations/organizational-units": [(200, #"{"organizational_units":[]}"#)],
            "/v1/organizations/accounts": [(200, #"{"accounts":[{"id":"1a2b3c","name":"main"}]}"#)],
            "/v5/groups": [(403, #"{"error_msg":"no right"}"#)],
        ]) { endpoint in
            let pulled = try await Self.pull(endpoint)
            #expect(pulled.unread.map(\.account) == ["main"])
            #expect(pulled.unread.first?.reason == #"GET /v5/groups: HTTP 403: {"error_msg":"no right"}"#)
            #expect(PulledWorkspace.files(of: pulled).keys.sorted() == ["organization.yaml"])
        }
    }

    @Test func aCallWithoutAnswerTimesOutAndIsRetriedThenNamed() async throws {
        let router = Router()
        router.get("**") { _, _ -> Response in
            try await Task.sleep(for: .seconds(3))
            return Response(status: .ok)
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let signed = try SignedClient(
                endpoint: "http://127.0.0.1:\(client.port!)", credentials: CloudTests.management, attempts: 2, timeoutSeconds: 1)
            await #expect {
                _ = try await signed.get("/v1/organizations")
            } throws: { error in
                "\(error)" == "GET /v1/organizations: no answer within 1 s (after 2 attempts)"
            }
            await signed.shutdown()
        }
    }

    @Test func aPullReplacesWhatItOwnsAndKeepsTheUsersFiles() throws {
        let folder = NSTemporaryDirectory() + "bulwark-pulled-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let manager = FileManager.default
        for sub in ["accounts/gone", ".git", "tests", "catalogs"] {
            try manager.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true)
        }
        for (path, text) in [
            ("accounts/gone/account.yaml", "users: []\n"), (".git/HEAD", "ref: refs/heads/main\n"), ("tests/alice.yaml", "tests: []\n"),
            ("catalogs/evs.json", "{}"), ("organization.json", "{}"),
        ] {
            _ = manager.createFile(atPath: "\(folder)/\(path)", contents: Data(text.utf8))
        }
        try PulledWorkspace.write(
            ["organization.yaml": Array("organization:\n  id: o-1\n".utf8), "accounts/dev/account.yaml": Array("users: []\n".utf8)], into: folder)
        #expect(try manager.contentsOfDirectory(atPath: folder).sorted() == [".git", "accounts", "catalogs", "organization.yaml", "tests"])
        #expect(try manager.contentsOfDirectory(atPath: folder + "/accounts") == ["dev"])  // the stale account is gone
        #expect(manager.contents(atPath: folder + "/.git/HEAD") == Data("ref: refs/heads/main\n".utf8))
        #expect(manager.contents(atPath: folder + "/tests/alice.yaml") == Data("tests: []\n".utf8))
        let parent = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        #expect(try manager.contentsOfDirectory(atPath: parent).filter { $0.contains(".pull-") || $0.contains(".old-") }.isEmpty)
        // A folder that cannot be made: an error naming it, nothing half-written.
        #expect(throws: CloudError.self) { try PulledWorkspace.write(["a.yaml": []], into: "/proc/bulwark-cannot/ws") }
    }
}

/// Counts calls per path, across the server's tasks.
final class CallCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func next(_ path: String) -> Int {
        counts.withLock { counts in
            defer { counts[path, default: 0] += 1 }
            return counts[path, default: 0]
        }
    }
}

/// Names, tags and documents from the cloud are data: whatever their text, the pulled workspace
/// reads back to the same principals, groups, tags and policies, and no name becomes a path.
@Suite struct PulledWorkspacePropertyTests {
    /// Text that YAML and file systems treat specially, mixed at random.
    static let pieces = [
        "a", "Z", "0", "7", " ", ":", ": ", "#", " #", "-", "- ", "\"", "'", "\\", "\n", "\t", "/", ".", "..", "é", "中", "🙂", "{", "}", "[",
        "]", ",", "&", "*", "!", "|", ">", "%", "@", "`", "\u{1}", "\u{7f}", "\u{85}", "\u{2028}", "\u{2029}", "\u{feff}", "true", "null",
        "~", "1e3", "0x1F", "yes", "<<", "? ", "---", "...",
    ]

    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func text(max: Int = 6) -> String {
            (0...below(max)).map { _ in PulledWorkspacePropertyTests.pieces[below(PulledWorkspacePropertyTests.pieces.count)] }.joined()
        }
    }

    @Test func anyNameReadsBackAsItWasPulled() throws {
        let catalog = try Catalog.bundled()
        let document = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get"],"Resource":["*"]}]}"#
        for seed in 1...300 as ClosedRange<UInt64> {
            var g = Generator(state: seed &* 0x9E37_79B9_7F4A_7C15)
            var iam = PulledOrganization.IAM()
            var names: Set<String> = []
            func fresh() -> String {
                while true {
                    let name = g.text()
                    if names.insert(name).inserted { return name }
                }
            }
            for i in 0..<3 {
                iam.policies.append(.init(id: g.below(4) == 0 ? "../\(g.text())" : "p\(i)", name: fresh(), system: false, document: document))
            }
            for i in 0..<2 { iam.groups.append(.init(id: "g\(i)", name: fresh())) }
            for i in 0..<3 {
                var tags: [String: String] = [:]
                var keys: Set<String> = []
                for _ in 0..<g.below(3) {
                    let key = String(g.text(max: 3).prefix(30))
                    if keys.insert(key.lowercased()).inserted { tags[key] = String(g.text().prefix(100)) }
                }
                iam.users.append(.init(id: "u\(i)", name: fresh(), tags: tags, groups: g.below(2) == 0 ? ["g0"] : []))
                iam.attached["u\(i)"] = [iam.policies[g.below(3)].id]
            }
            iam.agencies.append(
                .init(
                    id: "../a", name: fresh(),
                    trustPolicy:
                        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:agencies:assume"],"Principal":{"IAM":["iam::1a2b3c:user:x"]}}]}"#,
                    maxSessionDuration: 3600))
            let account = g.text()
            var pulled = PulledOrganization()
            pulled.accountNames["1a2b3c"] = account
            pulled.iam["1a2b3c"] = iam
            let files = PulledWorkspace.files(of: pulled)
            for path in files.keys {
                #expect(!path.split(separator: "/").contains { $0 == ".." || $0 == "." || $0.isEmpty }, "seed \(seed): \(path)")
            }
            // YAML (libyaml) drops a byte-order mark that starts a value, even escaped: such a name
            // cannot be written faithfully, and the pull refuses instead of writing another name.
            let texts = iam.users.flatMap { [$0.name] + $0.tags.keys + $0.tags.values } + iam.agencies.map(\.name) + iam.groups.map(\.name)
            let lost = texts.contains { $0.unicodeScalars.first == "\u{feff}" }
            #expect(PulledWorkspace.mismatches(files, of: pulled, catalog: catalog).isEmpty == !lost, "seed \(seed)")
            if lost { continue }
            let workspace = Workspace.load(files: files, catalog: catalog)
            #expect(workspace.problems.isEmpty, "seed \(seed): \(workspace.problems.map(\.description))")
            let loaded = try #require(workspace.accounts.values.first, "seed \(seed)")
            #expect(Set(loaded.principals.map(\.name)) == Set(iam.users.map(\.name) + iam.agencies.map(\.name)), "seed \(seed)")
            #expect(Set(loaded.groups.keys) == Set(iam.groups.map(\.name)), "seed \(seed)")
            for user in iam.users {
                let read = try #require(loaded.principal(.user, named: user.name), "seed \(seed)")
                #expect(read.tags == user.tags, "seed \(seed): \(user.name)")
                #expect(read.id == user.id)
                #expect(read.groups == user.groups.map { _ in iam.groups[0].name }, "seed \(seed)")
                #expect(read.policies.count == 1 && loaded.policies[read.policies[0]] != nil, "seed \(seed)")
            }
        }
    }
}
