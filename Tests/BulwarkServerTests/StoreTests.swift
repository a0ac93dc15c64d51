import BulwarkCatalog
import BulwarkEngine
import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy
import BulwarkStore
import BulwarkValidation
import BulwarkWorkspace
import Foundation
import Testing

/// The managed organization as a pure state with commands, and the SQLite store.
@Suite struct StoreTests {
    static let catalog = try! Catalog.bundled()
    static let context = CommandContext(validator: PolicyValidator(catalog: catalog), now: "2026-11-23T00:00:00Z")

    static func document(_ text: String) -> SubmittedDocument {
        SubmittedDocument(text: text, origin: nil, path: JSONPath.root.appending(key: "document"))
    }

    static let readImages = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get","ims:images:list"]}]}"#
    static let denyShare = #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":["ims:images:share"]}]}"#

    /// root → engineering → dev (0a1b2c) with alice in group readers, who hold read-images.
    static func sampleState() throws -> OrganizationState {
        var state = OrganizationState()
        let commands: [ManagementCommand] = [
            .setOrganization(id: "o-1", rootID: "r-1", managementAccount: nil, scpsEnabled: true),
            .addNode(kind: .ou, name: "engineering", id: "ou-eng", parent: "root"),
            .addNode(kind: .account, name: "dev", id: "0a1b2c", parent: "engineering"),
            .createPolicy(id: "read-images", account: "0a1b2c", description: "", document: document(readImages)),
            .addPrincipal(kind: .group, account: "0a1b2c", name: "readers", id: "g1", groups: []),
            .addPrincipal(kind: .user, account: "0a1b2c", name: "alice", id: "u1", groups: ["readers"]),
            .attach(policy: "read-images", target: "iam::0a1b2c:group:readers"),
        ]
        for command in commands { state = try state.applying(command, context: context).state }
        return state
    }

    /// Principals with the same policies in the same account share one compiled set; every
    /// principal still decides exactly as its own freshly compiled set does.
    @Test func sharedCompiledSetsDecideLikeTheirOwn() throws {
        var state = try Self.sampleState()
        let share = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:share"],"Resource":["ims:*:${g:DomainId}:image:*"]}]}"#
        var commands: [ManagementCommand] = [
            .addNode(kind: .account, name: "prod", id: "9p9p9p", parent: "root"),
            .createPolicy(id: "share", account: "0a1b2c", description: "", document: Self.document(share)),
            .createPolicy(id: "read-prod", account: "9p9p9p", description: "", document: Self.document(Self.readImages)),
            .addPrincipal(kind: .group, account: "9p9p9p", name: "readers", id: "g2", groups: []),
            .attach(policy: "read-prod", target: "iam::9p9p9p:group:readers"),
            .createSCP(id: "deny-share", description: "", document: Self.document(Self.denyShare)),
            .attach(policy: "deny-share", target: "engineering"),
        ]
        for i in 0..<6 {
            commands.append(.addPrincipal(kind: .user, account: "0a1b2c", name: "u\(i)", id: "u\(i)", groups: i % 2 == 0 ? ["readers"] : []))
            commands.append(.addPrincipal(kind: .user, account: "9p9p9p", name: "p\(i)", id: "p\(i)", groups: ["readers"]))
            if i % 3 == 0 { commands.append(.attach(policy: "share", target: "iam::0a1b2c:user:u\(i)")) }
        }
        for command in commands { state = try state.applying(command, context: Self.context).state }
        let snapshot = DecisionSnapshot(state: state, revision: 1, catalog: Self.catalog)
        let requests = ["ims:images:get", "ims:images:share", "ims:images:list", "swr:repo:upload"].flatMap { action in
            ["*", "ims:cn-north-4:0a1b2c:image:i-1", "ims:cn-north-4:9p9p9p:image:i-1"].map { (action, $0) }
        }
        var decided = 0
        for principal in state.principals.values where principal.kind == .user {
            let compiled = try snapshot.principal(principal.urn)
            let own = Authorizer(policies: compiled.resolved.policies, catalog: Self.catalog)
            for (action, resource) in requests {
                let request = AuthorizationRequest(action: action, resource: resource, context: compiled.resolved.defaultContext)
                #expect(compiled.authorizer.authorize(request) == own.authorize(request), "\(principal.urn) \(action) \(resource)")
                decided += 1
            }
        }
        #expect(decided == 13 * requests.count)
    }

    @Test func aSnapshotDecidesForStoredPrincipalsThroughGroupsAndSCPs() throws {
        var state = try Self.sampleState()
        var snapshot = DecisionSnapshot(state: state, revision: 1, catalog: Self.catalog)
        let alice = try snapshot.principal("iam::0a1b2c:user:alice")
        #expect(alice.authorizer.authorize(AuthorizationRequest(action: "ims:images:get", resource: "*")).decision == .allow)
        #expect(alice.authorizer.authorize(AuthorizationRequest(action: "ims:images:share", resource: "*")).reason == .noIdentityAllow)
        #expect(alice.policyVersions.map(\.version) == ["v1"])
        // By account name too.
        #expect(try snapshot.principal("iam::dev:user:alice").resolved.urn == "iam::0a1b2c:user:alice")

        // Detaching FullAccess from the OU, beside a Deny-only SCP, leaves a level without an Allow.
        state = try state.applying(.createSCP(id: "deny-share", description: "", document: Self.document(Self.denyShare)), context: Self.context)
            .state
        state = try state.applying(.attach(policy: "deny-share", target: "engineering"), context: Self.context).state
        state = try state.applying(.detach(policy: "FullAccess", target: "engineering"), context: Self.context).state
        snapshot = DecisionSnapshot(state: state, revision: 2, catalog: Self.catalog)
        let result = try snapshot.principal("iam::0a1b2c:user:alice").authorizer.authorize(
            AuthorizationRequest(action: "ims:images:get", resource: "*"))
        #expect(result.reason == .scpNoAllow)
        #expect(result.scpLevel == 1)
    }

    /// SPEC §11: 10 identity policies per principal (configurable up to 20), 5 SCPs per node,
    /// and a node keeps its last SCP.
    @Test func huaweisLimitsAreEnforced() throws {
        var state = try Self.sampleState()
        func refusal(_ command: ManagementCommand, _ context: CommandContext = Self.context) -> ManagementError? {
            do {
                _ = try state.applying(command, context: context)
                return nil
            } catch { return error }
        }
        for i in 1...10 {
            state = try state.applying(
                .createPolicy(id: "p\(i)", account: "0a1b2c", description: "", document: Self.document(Self.readImages)), context: Self.context
            ).state
        }
        for i in 1...9 { state = try state.applying(.attach(policy: "p\(i)", target: "iam::0a1b2c:group:readers"), context: Self.context).state }
        // read-images plus nine: ten, the most.
        let eleventh = refusal(.attach(policy: "p10", target: "iam::0a1b2c:group:readers"))
        #expect(eleventh?.kind == .limitExceeded)
        #expect(eleventh?.message.contains("10 identity policies") == true)
        #expect(eleventh?.message.contains("--max-policies-per-principal") == true)
        // Attaching one already attached is not a new attachment.
        #expect(refusal(.attach(policy: "p1", target: "iam::0a1b2c:group:readers")) == nil)
        // Raised to 20, as Huawei allows on request.
        let raised = CommandContext(validator: Self.context.validator, now: Self.context.now, maxPoliciesPerPrincipal: 20)
        #expect(refusal(.attach(policy: "p10", target: "iam::0a1b2c:group:readers"), raised) == nil)

        // Five SCPs per node: FullAccess and four more.
        for i in 1...5 {
            state = try state.applying(.createSCP(id: "s\(i)", description: "", document: Self.document(Self.denyShare)), context: Self.context).state
        }
        for i in 1...4 { state = try state.applying(.attach(policy: "s\(i)", target: "dev"), context: Self.context).state }
        let sixth = refusal(.attach(policy: "s5", target: "dev"))
        #expect(sixth?.kind == .limitExceeded)
        #expect(sixth?.message.contains("5 SCPs") == true)

        // The last SCP of a node cannot be detached; any other can.
        let last = refusal(.detach(policy: "FullAccess", target: "root"))
        #expect(last?.kind == .limitExceeded)
        #expect(last?.message.contains("last SCP") == true)
        #expect(refusal(.detach(policy: "FullAccess", target: "dev")) == nil)
    }

    @Test func aSnapshotNeverDecidesWithoutAPolicyItCannotRead() throws {
        var state = try Self.sampleState()
        state = try state.applying(.createSCP(id: "deny-share", description: "", document: Self.document(Self.denyShare)), context: Self.context)
            .state
        state = try state.applying(.attach(policy: "deny-share", target: "engineering"), context: Self.context).state
        #expect(DecisionSnapshot(state: state, revision: 1, catalog: Self.catalog).unreadable.isEmpty)

        // The identity policy of alice's group stops parsing: alice is refused, by URN or by account name.
        var broken = state
        broken.policies["read-images"]!.versions[0].document = #"{"Version":"5.0","Statement":[{"Effect":"Allow"}"#
        var snapshot = DecisionSnapshot(state: broken, revision: 2, catalog: Self.catalog)
        #expect(snapshot.unreadable.map(\.id) == ["read-images"])
        for urn in ["iam::0a1b2c:user:alice", "iam::dev:user:alice"] {
            #expect(throws: PrincipalError.self) { try snapshot.principal(urn) }
            do { _ = try snapshot.principal(urn) } catch { #expect(error.kind == .unavailable) }
        }
        do { _ = try snapshot.principal("iam::0a1b2c:user:nobody") } catch { #expect(error.kind == .notFound) }

        // An SCP on the path stops parsing: the same; it is not mistaken for an identity policy.
        broken = state
        broken.scps["deny-share"]!.document = "{"
        snapshot = DecisionSnapshot(state: broken, revision: 3, catalog: Self.catalog)
        #expect(snapshot.unreadable.map(\.id) == ["deny-share"] && snapshot.unreadable[0].isSCP)
        do {
            _ = try snapshot.principal("iam::0a1b2c:user:alice")
            Issue.record("decided without its SCP")
        } catch {
            #expect(error.kind == .unavailable)
            #expect(error.message == "SCP \"deny-share\" attached to \"engineering\" cannot be found or read; nothing under it is decided without it")
        }
    }

    @Test func policyVersionsKeepFiveAndOneDefault() throws {
        var state = try Self.sampleState()
        for _ in 2...5 {
            state = try state.applying(
                .createPolicyVersion(policy: "read-images", document: Self.document(Self.readImages), setAsDefault: false, dropOldest: false),
                context: Self.context
            ).state
        }
        #expect(state.policies["read-images"]!.versions.map(\.id) == ["v1", "v2", "v3", "v4", "v5"])
        // A sixth is refused unless the oldest non-default may go.
        #expect {
            try state.applying(
                .createPolicyVersion(policy: "read-images", document: Self.document(Self.readImages), setAsDefault: true, dropOldest: false),
                context: Self.context)
        } throws: { ($0 as? ManagementError)?.kind == .conflict }
        state = try state.applying(
            .createPolicyVersion(policy: "read-images", document: Self.document(Self.denyShare), setAsDefault: true, dropOldest: true),
            context: Self.context
        ).state
        let policy = state.policies["read-images"]!
        // v1 was the default then, so v2 (the oldest non-default) went.
        #expect(policy.versions.map(\.id) == ["v1", "v3", "v4", "v5", "v6"])
        #expect(policy.defaultVersion == "v6")
        #expect(policy.defaultDocument == Self.denyShare)
        // The default cannot be deleted; another can.
        #expect(throws: ManagementError.self) {
            try state.applying(.deletePolicyVersion(policy: "read-images", version: "v6"), context: Self.context)
        }
        state = try state.applying(.deletePolicyVersion(policy: "read-images", version: "v3"), context: Self.context).state
        state = try state.applying(.setDefaultVersion(policy: "read-images", version: "v1"), context: Self.context).state
        #expect(state.policies["read-images"]!.defaultDocument == Self.readImages)
    }

    @Test func invalidPoliciesAreRefusedWithLocatedFindings() throws {
        let state = try Self.sampleState()
        // An SCP may not Allow with a Condition; the finding is located in the body.
        let text = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:*"],"Condition":{"Bool":{"g:MFAPresent":["true"]}}}]}"#
        let submitted = SubmittedDocument(text: text, origin: SourceLocation(line: 3, column: 15), path: JSONPath.root.appending(key: "document"))
        do {
            _ = try state.applying(.createSCP(id: "mfa", description: "", document: submitted), context: Self.context)
            Issue.record("an SCP Allow with a Condition was accepted")
        } catch {
            #expect(error.kind == .invalidPolicy)
            let finding = try #require(error.findings.first { $0.severity == .error })
            #expect(finding.path.description.hasPrefix("$.document.Statement[0]"))
            #expect(finding.location.line == 3)
            #expect(finding.location.column > 15)
        }
        // Grammar errors too.
        #expect(throws: ManagementError.self) {
            try state.applying(
                .createPolicy(id: "bad", account: "0a1b2c", description: "", document: Self.document(#"{"Version":"1.1","Statement":[]}"#)),
                context: Self.context)
        }
    }

    @Test func referencesAndDeletionsAreChecked() throws {
        let state = try Self.sampleState()
        func refused(_ command: ManagementCommand) -> ManagementError.Kind? {
            do {
                _ = try state.applying(command, context: Self.context)
                return nil
            } catch { return error.kind }
        }
        #expect(refused(.deletePolicy(id: "read-images")) == .conflict)  // still attached
        #expect(refused(.removeNode(name: "engineering")) == .conflict)  // has a child
        #expect(refused(.removeNode(name: "dev")) == .conflict)  // has principals
        #expect(refused(.removePrincipal(urn: "iam::0a1b2c:group:readers")) == .conflict)  // attached, has members
        #expect(refused(.attach(policy: "read-images", target: "engineering")) == .notFound)  // identity policy on a node
        #expect(refused(.attach(policy: "FullAccess", target: "iam::0a1b2c:user:alice")) == .notFound)
        #expect(refused(.addNode(kind: .ou, name: "x", id: "ou-x", parent: "dev")) == .invalid)  // under an account
        #expect(refused(.addNode(kind: .ou, name: "engineering", id: "ou-y", parent: "root")) == .conflict)
        #expect(refused(.moveNode(name: "engineering", parent: "engineering")) == .invalid)
        #expect(refused(.createPolicy(id: "p:1", account: "0a1b2c", description: "", document: Self.document(Self.readImages))) == .invalid)
        #expect(refused(.createPolicy(id: "p", account: "nope", description: "", document: Self.document(Self.readImages))) == .invalid)
        #expect(refused(.deleteSCP(id: "FullAccess")) == .conflict)
        #expect(refused(.addPrincipal(kind: .user, account: "0a1b2c", name: "bob", id: "u2", groups: ["nope"])) == .invalid)
        // OUs nest at most five deep.
        var deep = state
        var parent = "engineering"
        for i in 2...5 {
            deep = try deep.applying(.addNode(kind: .ou, name: "ou\(i)", id: "ou-\(i)", parent: parent), context: Self.context).state
            parent = "ou\(i)"
        }
        #expect(throws: ManagementError.self) {
            try deep.applying(.addNode(kind: .ou, name: "ou6", id: "ou-6", parent: parent), context: Self.context)
        }
    }

    @Test func entitiesRoundTripAndDiffOnlyWhatChanged() throws {
        let state = try Self.sampleState()
        let rows = state.entities().map { (kind: $0.key.kind, key: $0.key.key, body: $0.value) }
        #expect(try OrganizationState(entities: rows) == state)
        let next = try state.applying(.addPrincipal(kind: .agency, account: "0a1b2c", name: "ops", id: "a1", groups: []), context: Self.context).state
        let (upserts, deletions) = next.changes(from: state)
        #expect(upserts.map(\.0) == [EntityKey(kind: "principal", key: "iam::0a1b2c:agency:ops")])
        #expect(deletions.isEmpty)
    }

    @Test func sqliteStoreCommitsWholeWritesAndReloads() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("s.sqlite").path
        let store = try SQLiteStore(path: path)
        var held = try await store.load()
        #expect(held.revision == 0)
        let target = try Self.sampleState()
        held = try await store.update(base: held) { old in old.replaced(by: target, result: ()) }.stored
        #expect(held.revision == 1)
        // A failing change leaves the store as it was.
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            _ = try await store.update(base: held) { _ -> StateChange<Void> in throw Boom() }
        }
        // A stale base is replaced by the stored state inside the transaction.
        let afterStale = try await store.update(base: StoredState.empty) { state in StateChange(state: state, changed: [], result: state) }
        #expect(afterStale.result == target)
        #expect(afterStale.stored.revision == 2)
        let reopened = try SQLiteStore(path: path)
        let loaded = try await reopened.load()
        #expect(loaded.revision == 2)
        #expect(loaded.state == target)
    }

    @Test func storeLocationsParse() throws {
        #expect(try StoreLocation.parse("sqlite:/tmp/x.db") == .sqlite(path: "/tmp/x.db"))
        #expect(
            try StoreLocation.parse("postgres://bob:s%40cret@db.local:6543/pdp")
                == .postgres(host: "db.local", port: 6543, user: "bob", password: "s@cret", database: "pdp"))
        #expect(
            try StoreLocation.parse("postgresql://127.0.0.1/bulwark")
                == .postgres(host: "127.0.0.1", port: 5432, user: "postgres", password: nil, database: "bulwark"))
        #expect(throws: StoreError.self) { try StoreLocation.parse("mysql://x") }
        #expect(throws: StoreError.self) { try StoreLocation.parse("postgres://h:99999/db") }
    }
}
