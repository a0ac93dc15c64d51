import BulwarkAnalysis
import BulwarkCatalog
import BulwarkEngine
import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy
import BulwarkWorkspace
import Foundation
import Testing

@Suite("Workspaces (SPEC §5)")
struct WorkspaceTests {
    static let catalog = try! Catalog.bundled()
    static let example = packageRoot().appendingPathComponent("examples/workspace").path

    /// Writes files into a fresh temporary workspace.
    func makeWorkspace(_ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-ws-\(UUID().uuidString)")
        for (path, text) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return dir.path
    }

    @Test func exampleLoadsCleanly() {
        let ws = Workspace.load(directory: Self.example, catalog: Self.catalog)
        #expect(ws.problems.isEmpty, "\(ws.problems)")
        #expect(ws.nodes.count == 6)
        #expect(ws.accounts.keys.sorted() == ["dev", "management", "playground"])
    }

    @Test func principalsResolveToPoliciesSCPsAndContext() throws {
        let ws = Workspace.load(directory: Self.example, catalog: Self.catalog)
        let alice = try ws.organization.resolve(principal: "iam::dev:user:alice")
        #expect(alice.urn == "iam::0a1b2c:user:alice")
        #expect(
            alice.policies.identityPolicies.map(\.id) == ["accounts/dev/policies/swr-team-push.json", "accounts/dev/policies/image-sharing.json"])
        #expect(
            alice.policies.scpLevels.map { $0.map(\.id) } == [["FullAccess"], ["FullAccess", "scps/deny-sharing-outside-org.json"], ["FullAccess"]])
        #expect(alice.principalContext["g:PrincipalOrgPath"] == "o-1/r-1/ou-eng/0a1b2c")
        #expect(alice.principalContext["g:PrincipalOrgManagementAccountId"] == "9m9m9m")
        let admin = try ws.organization.resolve(principal: "iam::9m9m9m:user:admin")
        #expect(admin.policies.scpLevels.isEmpty)
        let carol = try ws.organization.resolve(principal: "iam::5p5p5p:user:carol")
        #expect(carol.policies.scpLevels[1].map(\.id) == ["scps/sandbox-read-only.json"])
        #expect(throws: PrincipalError.self) { try ws.organization.resolve(principal: "iam::0a1b2c:user:mallory") }
        #expect(throws: PrincipalError.self) { try ws.organization.resolve(principal: "alice") }
    }

    @Test func everyProblemIsReportedWithALocation() throws {
        let dir = try makeWorkspace(
            [
                "organization.yaml": """
                organization: {id: o-1, rootId: r-1, managementAccount: nobody}
                ous:
                  - {name: a, parent: root}
                  - {name: b, parent: a}
                  - {name: c, parent: b}
                  - {name: d, parent: c}
                  - {name: e, parent: d}
                  - {name: f, parent: e}
                  - {name: x, parent: y}
                  - {name: y, parent: x}
                  - {name: a, parent: root}
                accounts:
                  - {name: dev, id: "111", parent: ghost}
                detachFullAccess: [b]
                scpAttachments:
                  - {scp: missing-scp, targets: [a, nowhere]}
                  - {scp: s1, targets: [c]}
                  - {scp: s2, targets: [c]}
                  - {scp: s3, targets: [c]}
                  - {scp: s4, targets: [c]}
                  - {scp: s5, targets: [c]}
                """,
                "accounts/dev/account.yaml": """
                users:
                  - {name: alice, groups: [nogroup], policies: [nopolicy]}
                  - {name: alice}
                  - {name: bob, policies: [p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11]}
                """,
                "accounts/dev/policies/bad.json": #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"ims:images:gett"}]}"#,
                "scps/broken.json": "{ not json",
            ].merging((1...5).map { ("scps/s\($0).json", fullAccess) }) { a, _ in a })
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ws = Workspace.load(directory: dir, catalog: Self.catalog)
        let messages = ws.problems.map(\.description)
        let expected = [
            "managementAccount \"nobody\" is not an account",
            "duplicate name \"a\"",
            "\"f\" is 6 OU levels deep",
            "\"x\" is in a cycle of parents",
            "\"dev\" has unknown parent \"ghost\"",
            "unknown SCP \"missing-scp\"",
            "unknown attachment target \"nowhere\"",
            "no SCP is attached to \"b\"",
            "unknown group \"nogroup\"",
            "unknown policy \"nopolicy\"",
            "duplicate user \"alice\"",
            "user bob has 11 identity policies attached; Huawei allows 10",
            "6 SCPs are attached to \"c\"; Organizations allows 5 per node",
            "UNKNOWN_ACTION",
            "scps/broken.json:1:3: syntax error",
        ]
        for e in expected { #expect(messages.contains { $0.contains(e) }, "missing: \(e) in \(messages)") }
        #expect(ws.problems.allSatisfy { $0.location.line >= 1 && $0.location.column >= 1 })
        #expect(messages.contains { $0.hasPrefix("organization.yaml:8:5: \"f\" is 6 OU levels deep") }, "\(messages)")
    }

    @Test func exampleTestsPass() throws {
        let ws = Workspace.load(directory: Self.example, catalog: Self.catalog)
        let file = Self.example + "/tests/developers.yaml"
        let cases = try WorkspaceTestRunner.cases(file: file, text: try String(contentsOfFile: file, encoding: .utf8))
        #expect(cases.count == 14)
        let outcomes = cases.map { WorkspaceTestRunner.run($0, workspace: ws, catalog: Self.catalog) }
        let failures = outcomes.filter { !$0.passed }.map { "\($0.test.name): \($0.details)" }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test func failingTestsExplainThemselves() throws {
        let ws = Workspace.load(directory: Self.example, catalog: Self.catalog)
        let text = """
            tests:
              - name: wrong expectation
                principal: iam::0a1b2c:user:bob
                action: swr:repo:upload
                resource: swr:cn-north-4:0a1b2c:repo:team/web
                expect: allow
            """
        let cases = try WorkspaceTestRunner.cases(file: "t.yaml", text: text)
        let outcome = WorkspaceTestRunner.run(cases[0], workspace: ws, catalog: Self.catalog)
        #expect(!outcome.passed)
        #expect(outcome.details.contains("no identity policy allows it"))
        #expect(outcome.details.contains("accounts/dev/policies/image-readers.json"))
    }

    @Test func effectiveAccessComesFromTheCatalog() throws {
        let ws = Workspace.load(directory: Self.example, catalog: Self.catalog)
        let alice = try ws.organization.resolve(principal: "iam::0a1b2c:user:alice")
        let access = EffectiveAccess.compute(alice.policies, catalog: Self.catalog)
        #expect(
            access.map(\.action.name) == [
                "ims:images:get", "ims:images:share", "swr:repo:listRepoTags", "swr:repo:download", "swr:repo:getRepo", "swr::createLoginSecret",
                "swr:repo:upload",
            ])
        #expect(access.first { $0.action.name == "ims:images:share" }?.partialDenies.count == 1)
        let carol = try ws.organization.resolve(principal: "iam::5p5p5p:user:carol")
        // The sandbox SCP removes upload; download stays.
        #expect(EffectiveAccess.compute(carol.policies, catalog: Self.catalog).map(\.action.name) == ["swr:repo:download"])
    }

    @Test func yamlValuesKeepTheirTypes() throws {
        let node = try DocumentReader.read("a: 1.50\nb: true\nc: null\nd: [x, 2]\ne: '3'\n", fileName: "x.yaml")
        var writer = BulwarkJSONWriterProxy()
        #expect(writer.render(node) == #"{"a":1.50,"b":true,"c":null,"d":["x",2],"e":"3"}"#)
        #expect(throws: (any Error).self) { try DocumentReader.read("a: [1,\n", fileName: "x.yaml") }
    }
}

struct BulwarkJSONWriterProxy {
    mutating func render(_ node: JSONNode) -> String {
        var w = JSONWriter()
        w.value(node.value)
        return w.text
    }
}

@Suite("Workspace CLI")
struct WorkspaceCLITests {
    static let example = packageRoot().appendingPathComponent("examples/workspace").path

    @Test func testCommandEndsWithTheCount() throws {
        let run = try runCLI(["test", "--workspace", Self.example])
        #expect(run.code == 0)
        #expect(run.stdout.hasSuffix("14 passed, 0 failed\n"))
    }

    @Test func failingTestFileExitsOne() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-fail-\(UUID().uuidString).yaml")
        try """
        tests:
          - {name: bob pushes, principal: "iam::0a1b2c:user:bob", action: swr:repo:upload, resource: "swr:r:0a1b2c:repo:team/x", expect: allow}
          - {name: bob reads, principal: "iam::0a1b2c:user:bob", action: ims:images:get, resource: "ims:r:0a1b2c:image:i", expect: allow, reason: allowed}
        """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try runCLI(["test", "--workspace", Self.example, file.path])
        #expect(run.code == 1)
        #expect(run.stdout.contains("FAIL  bob pushes"))
        #expect(run.stdout.hasSuffix("1 passed, 1 failed\n"))
    }

    @Test func simulateExplainsWithFileNames() throws {
        let run = try runCLI([
            "simulate", "--workspace", Self.example, "--principal", "iam::0a1b2c:user:alice", "--action", "ims:images:share",
            "--resource", "ims:cn-north-4:0a1b2c:image:img-1", "--context", "ims:TargetOrgPaths=o-2/r-7/4x4x4x",
        ])
        #expect(run.code == 0)
        #expect(
            run.stdout.contains(
                "determined by SCP level 1 policy \"scps/deny-sharing-outside-org.json\" statement 0 \"NoImageSharingOutsideOrg\" (Deny)"))
        #expect(run.stdout.contains("g:PrincipalOrgPath=o-1/r-1/ou-eng/0a1b2c"))
    }

    @Test func lintIsCleanOnTheExample() throws {
        let run = try runCLI(["lint", "--workspace", Self.example, "--format", "json"])
        #expect(run.code == 0)
        #expect(run.stderr.isEmpty)
    }

    @Test func brokenWorkspaceRefusesToDecide() throws {
        let run = try runCLI(["simulate", "--workspace", "/no/such/ws", "--principal", "iam::1:user:a", "--action", "a:b:c"])
        #expect(run.code == 2)
        #expect(run.stderr.contains("is not a directory"))
    }
}

/// A principal whose policy, group or SCP is missing is never resolved as if it had none
/// (what is missing may hold a Deny), and analysis says "unknown" for it, never PASS.
@Suite struct UnresolvablePrincipalTests {
    static func workspace(policies: [String], groups: [String] = [], scp: String? = nil) -> Workspace {
        var ws = Workspace(root: "memory")
        ws.organizationID = "o-1"
        ws.nodes["root"] = OrganizationNode(kind: .root, name: "root", id: "r-1", parent: nil)
        ws.nodes["dev"] = OrganizationNode(kind: .account, name: "dev", id: "0a1b2c", parent: "root")
        ws.scps["FullAccess"] = NamedPolicy(id: "FullAccess", policy: Organization.fullAccess)
        ws.attachments["root"] = ["FullAccess"] + (scp.map { [$0] } ?? [])
        ws.attachments["dev"] = ["FullAccess"]
        var iam = AccountIAM(name: "dev")
        iam.policies["read"] = NamedPolicy(
            id: "read", policy: try! PolicyParser.parse(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get"]}]}"#))
        iam.put(Principal(kind: .user, name: "alice", id: "u1", account: "dev", policies: policies, groups: groups))
        ws.accounts["dev"] = iam
        return ws
    }

    @Test func missingPartsAreErrorsNotNothing() throws {
        #expect(try Self.workspace(policies: ["read"]).organization.resolve(principal: "iam::dev:user:alice").policies.identityPolicies.count == 1)
        for ws in [
            Self.workspace(policies: ["read", "gone"]), Self.workspace(policies: ["read"], groups: ["ghosts"]),
            Self.workspace(policies: ["read"], scp: "deny-all"),
        ] {
            do {
                _ = try ws.organization.resolve(principal: "iam::dev:user:alice")
                Issue.record("resolved without a part it needs")
            } catch {
                #expect(error.kind == .unavailable, "\(error.message)")
            }
        }
        do { _ = try Self.workspace(policies: []).organization.resolve(principal: "iam::dev:user:bob") } catch { #expect(error.kind == .notFound) }
    }

    @Test func analysisOfAnUnresolvablePrincipalIsUnknown() throws {
        let analyzer = PolicyAnalyzer(catalog: try Catalog.bundled())
        let good = Self.workspace(policies: ["read"])
        let broken = Self.workspace(policies: ["read", "gone"])
        // Was "no access" on the broken side (a difference), or a crash when both sides were broken.
        #expect(WorkspaceDiff.verdict(WorkspaceDiff.compare(old: good.organization, new: broken.organization, analyzer: analyzer)) == .unknown)
        #expect(WorkspaceDiff.verdict(WorkspaceDiff.compare(old: broken.organization, new: broken.organization, analyzer: analyzer)) == .unknown)
        #expect(WorkspaceDiff.verdict(WorkspaceDiff.compare(old: good.organization, new: good.organization, analyzer: analyzer)) == .equivalent)
        #expect(!ExternalAccess.check(broken.organization, analyzer: analyzer).undecided.isEmpty)
    }
}
