import BulwarkCatalog
import BulwarkEngine
import BulwarkOrganization
import BulwarkPolicy
import BulwarkRuntime
import BulwarkServer
import BulwarkStore
import BulwarkValidation
import BulwarkWorkspace
import Foundation
import Logging
import Testing

/// Bulk import (SPEC §7 "At scale"): a workspace in one transaction, as one revision.
@Suite struct ImportTests {
    static let exampleRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/workspace").path

    /// The example workspace as the files of an import body.
    static func exampleFiles() throws -> [String: String] {
        var files: [String: String] = [:]
        let root = URL(fileURLWithPath: exampleRoot)
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])!
        for case let url as URL in walker where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            files[relative] = try String(contentsOf: url, encoding: .utf8)
        }
        return files
    }

    static func body(_ files: [String: String]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: ["files": files], options: [.sortedKeys]), as: UTF8.self)
    }

    static func context(_ catalog: Catalog) -> CommandContext {
        CommandContext(validator: PolicyValidator(catalog: catalog), now: "2026-11-30T00:00:00Z")
    }

    @Test func theImportedExampleDecidesLikeTheWorkspace() throws {
        let catalog = try Catalog.bundled()
        let workspace = Workspace.load(directory: Self.exampleRoot, catalog: catalog)
        #expect(workspace.problems.isEmpty)
        let imported = try OrganizationImport.state(of: workspace, context: Self.context(catalog))
        let snapshot = DecisionSnapshot(state: imported.state, revision: 1, catalog: catalog)
        #expect(snapshot.unreadable.isEmpty)
        let actions = catalog.services.flatMap(\.actions).map(\.name)
        let resources = [
            "ims:cn-north-4:0a1b2c:image:img-1", "swr:cn-north-4:0a1b2c:repo:team-a/app", "swr:cn-north-4:0a1b2c:repo:other/app", "*",
        ]
        var compared = 0
        for (account, iam) in workspace.accounts {
            guard let node = workspace.nodes[account] else { continue }
            for principal in iam.principals {
                let urn = "iam::\(node.id):\(principal.kind.rawValue):\(principal.name)"
                let expected = try workspace.organization.resolve(principal: urn)
                let reference = Authorizer(policies: expected.policies, catalog: catalog)
                let stored = try snapshot.principal(urn)
                #expect(stored.resolved.principalContext == expected.principalContext, "\(urn)")
                for action in actions {
                    for resource in resources {
                        for orgID in ["o-1", "o-other"] {
                            let context = expected.context(adding: RequestContext(["g:ResourceOrgId": [.string(orgID)]]))
                            let request = AuthorizationRequest(action: action, resource: resource, context: context)
                            let want = reference.authorize(request)
                            let got = stored.authorizer.authorize(request)
                            #expect(got.decision == want.decision && got.reason == want.reason, "\(urn) \(action) \(resource) \(orgID)")
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared > 1000)
    }

    @Test func aPolicyNameUsedInTwoAccountsIsStoredUnderQualifiedIDs() throws {
        let catalog = try Catalog.bundled()
        var files = try Self.exampleFiles()
        files["accounts/playground/policies/image-readers.json"] = files["accounts/dev/policies/image-readers.json"]
        let workspace = Workspace.load(files: files.mapValues { Array($0.utf8) }, catalog: catalog)
        #expect(workspace.problems.isEmpty)
        let imported = try OrganizationImport.state(of: workspace, context: Self.context(catalog))
        #expect(
            imported.renamed == [
                "accounts/dev/policies/image-readers.json": "image-readers.dev",
                "accounts/playground/policies/image-readers.json": "image-readers.playground",
            ])
        #expect(imported.state.policies["image-readers"] == nil)
        #expect(imported.state.policies["image-readers.dev"] != nil)
        // Who held "image-readers" in dev holds the dev copy.
        #expect(imported.state.attachments.targets(of: "image-readers.dev") == ["iam::0a1b2c:user:bob"])
    }

    @Test func anImportReplacesTheOrganizationAsOneRevision() async throws {
        let server = try TestServer()
        let body = try Self.body(try Self.exampleFiles())
        try await server.run { http in
            try await Fixture.build(http)
            let before = try await http.get("/readyz").object["revision"] as? Int ?? -1
            let reply = try await http.put("/v1/organization/import", body)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.object["revision"] as? Int == before + 1)
            #expect((reply.object["imported"] as? [String: Any])?["principals"] as? Int == 7)
            #expect(try await http.get("/readyz").object["revision"] as? Int == before + 1)
            // The fixture's group is gone; the workspace's principals decide.
            let gone = try await http.get("/v1/principals/iam::0a1b2c:group:readers")
            #expect(gone.status == 404)
            let decision = try await http.post(
                "/v1/authorize",
                #"{"principal":"iam::0a1b2c:user:bob","request":{"action":"ims:images:get","resource":"ims:cn-north-4:0a1b2c:image:img-1"}}"#)
            #expect(decision.object["decision"] as? String == "allow", "\(decision.text)")
        }
    }

    @Test func aWorkspaceWithProblemsIsRefusedWithEveryProblemAndNothingWritten() async throws {
        let server = try TestServer()
        var files = try Self.exampleFiles()
        files["accounts/dev/account.yaml"] = "users:\n  - {name: eve, groups: [nobody]}\n"
        files["accounts/dev/policies/broken.json"] = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:nope"]}]}"#
        files["../escape.yaml"] = "x: 1\n"
        let body = try Self.body(files)
        try await server.run { http in
            try await Fixture.build(http)
            let before = try await http.get("/readyz").object["revision"] as? Int ?? -1
            let reply = try await http.put("/v1/organization/import", body)
            #expect(reply.status == 400)
            #expect(reply.errorCode == "invalid_workspace")
            let problems = (reply.object["error"] as? [String: Any])?["problems"] as? [String] ?? []
            #expect(problems.contains { $0.hasPrefix("../escape.yaml:1:1: not a file of the workspace layout") }, "\(problems)")
            #expect(problems.contains { $0.hasPrefix("accounts/dev/account.yaml:2:") && $0.contains("unknown group \"nobody\"") }, "\(problems)")
            #expect(problems.contains { $0.hasPrefix("accounts/dev/policies/broken.json:1:") }, "\(problems)")
            #expect(try await http.get("/readyz").object["revision"] as? Int == before)
            #expect(try await Fixture.aliceCanGet(http) == "allowed")
            let notFiles = try await http.put("/v1/organization/import", #"{"files":{"organization.yaml":3}}"#)
            #expect(notFiles.status == 400 && notFiles.errorPath == "$.files[\"organization.yaml\"]", "\(notFiles.text)")
        }
    }

    /// Tag keys ignore case the way condition keys do (simple one-to-one folding): "İd" and "id"
    /// name one `g:PrincipalTag/id`, so they are duplicates in a workspace and in a command.
    @Test func tagKeysThatFoldAlikeAreDuplicatesInWorkspacesAndCommands() throws {
        let catalog = try Catalog.bundled()
        var files = try Self.exampleFiles()
        files["accounts/playground/account.yaml"] = "users:\n  - {name: carol, tags: {\"\u{130}d\": a, id: b}}\n"
        let workspace = Workspace.load(files: files.mapValues { Array($0.utf8) }, catalog: catalog)
        #expect(workspace.problems.map(\.description).contains { $0.contains("duplicate tag \"id\"") }, "\(workspace.problems)")

        var state = try OrganizationImport.state(of: Workspace.load(directory: Self.exampleRoot, catalog: catalog), context: Self.context(catalog))
            .state
        state = try state.applying(.removePrincipal(urn: "iam::0a1b2c:user:alice"), context: Self.context(catalog)).state
        let refusal = #expect(throws: ManagementError.self) {
            try state.applying(
                .addPrincipal(
                    kind: .user, account: "0a1b2c", name: "dave", id: "dave", groups: [],
                    settings: PrincipalSettings(tags: ["\u{130}d": "a", "id": "b"])),
                context: Self.context(catalog))
        }
        #expect(refusal?.message.contains("differ only in case") == true, "\(String(describing: refusal))")
    }

    /// Two files for one name (`x.json` and `x.yaml`) are a problem wherever the layout reads
    /// files: never one of them silently read and the other left out.
    @Test func twoFilesForOneNameAreAProblem() throws {
        var files = try Self.exampleFiles()
        files["scps/sandbox-read-only.yaml"] = "Version: '5.0'\nStatement: [{Effect: Allow, Action: ['*']}]\n"
        files["organization.json"] = "{}"
        files["accounts/dev/account.json"] = "{}"
        files["accounts/dev/policies/image-readers.yaml"] = "Version: '5.0'\nStatement: [{Effect: Allow, Action: ['*']}]\n"
        let workspace = Workspace.load(files: files.mapValues { Array($0.utf8) }, catalog: try Catalog.bundled())
        let problems = workspace.problems.map(\.description)
        for (file, twin) in [
            ("scps/sandbox-read-only.yaml", "scps/sandbox-read-only.json"), ("organization.yaml", "organization.json"),
            ("accounts/dev/account.yaml", "accounts/dev/account.json"),
            ("accounts/dev/policies/image-readers.yaml", "accounts/dev/policies/image-readers.json"),
        ] {
            #expect(problems.contains { $0.hasPrefix("\(file):1:1: duplicate name") && $0.hasSuffix("\(twin) has it too") }, "\(file): \(problems)")
        }
    }

    @Test func anImportBodyOverItsLimitIs413NamingTheFlag() async throws {
        let server = try TestServer { $0.maxImportBytes = 1_000 }
        let body = try Self.body(try Self.exampleFiles())
        try await server.run { http in
            let reply = try await http.put("/v1/organization/import", body)
            #expect(reply.status == 413 && reply.errorCode == "body_too_large", "\(reply.text)")
            #expect(reply.text.contains("--max-import-bytes"))
            #expect(try await http.get("/readyz").object["revision"] as? Int == 0)
        }
    }

    @Test func serveImportWritesAnEmptyStoreOnceAndLeavesAManagedOneAlone() async throws {
        let catalog = try Catalog.bundled()
        let workspace = Workspace.load(directory: Self.exampleRoot, catalog: catalog)
        let imported = try OrganizationImport.state(of: workspace, context: Self.context(catalog)).state
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-import-\(UUID().uuidString)").path
        var logger = Logger(label: "bulwark-test")
        logger.logLevel = .critical
        func start(_ body: @escaping @Sendable (StateKeeper) async throws -> Void) async throws {
            let keeper = try StateKeeper(
                location: .sqlite(path: folder + "/bulwark.sqlite"), catalog: catalog, logger: logger, initialImport: imported)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await keeper.run() }
                for _ in 0..<500 where keeper.revision == nil { try await Task.sleep(for: .milliseconds(10)) }
                try await body(keeper)
                group.cancelAll()
            }
        }
        try await start { keeper in
            #expect(keeper.revision == 1)
            #expect(keeper.snapshot?.principalCount == 6)  // users and agencies; groups are not decided for
            _ = try await keeper.apply(.removePrincipal(urn: "iam::0a1b2c:user:alice"))
        }
        try await start { keeper in
            // Restarted with the same --import: the managed state stays.
            #expect(keeper.revision == 2)
            #expect(keeper.latest?.state.principals["iam::0a1b2c:user:alice"] == nil)
        }
    }
}
