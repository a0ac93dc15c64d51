import BulwarkCatalog
import BulwarkEngine
import BulwarkOrganization
import BulwarkPolicy
import BulwarkStore
import Testing

/// The incremental snapshot against one built from scratch: after every command of generated
/// sequences (and hand edits that break a policy), both decide every request of every principal
/// alike, refuse the same principals and name the same unreadable policies; and the keys a
/// command names cover every row that differs.
@Suite("Incremental snapshot = snapshot from scratch")
struct IncrementalSnapshotTests {
    static let catalog = StoreTests.catalog

    /// A small deterministic generator (SplitMix64), so a failure names a reproducible seed.
    struct Dice {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let accounts = [("dev", "0a1b2c"), ("prod", "9f8e7d")]
    static let users = ["alice", "bob", "carol", "dave"]
    static let groups = ["readers", "writers"]
    static let policyIDs = ["p-read", "p-write", "p-deny", "p-var"]
    static let scpIDs = ["s-deny-share", "s-ims-only", "s-ip"]
    static let documents = [
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get","ims:images:list"]}]}"#,
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:*","swr:repo:*"]}]}"#,
        #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":["ims:images:deleteImage"]},{"Effect":"Allow","Action":["ims:*:get*"]}]}"#,
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:share"],"Resource":["ims:*:${g:DomainId}:image:*"]}]}"#,
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["swr:repo:download"],"Condition":{"StringEquals":{"g:PrincipalTag/team":"a"}}}]}"#,
    ]
    static let scpDocuments = [
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"]},{"Effect":"Deny","Action":["ims:images:share"]}]}"#,
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:*"]}]}"#,
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"]},{"Effect":"Deny","Action":["*"],"Condition":{"NotIpAddress":{"g:SourceIp":"10.0.0.0/8"}}}]}"#,
    ]
    static let trust =
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Principal":{"IAM":["iam::0a1b2c:user:alice"]},"Action":["sts:agencies:assume"]}]}"#

    /// A populated base — tree, SCPs, and per account groups, users in them, an agency, policies
    /// attached — so that random commands find something to change.
    static func base() throws -> OrganizationState {
        var state = OrganizationState()
        var commands: [ManagementCommand] = [
            .setOrganization(id: "o-1", rootID: "r-1", managementAccount: nil, scpsEnabled: true),
            .addNode(kind: .ou, name: "eng", id: "ou-eng", parent: "root"),
            .addNode(kind: .ou, name: "ops", id: "ou-ops", parent: "root"),
            .addNode(kind: .account, name: "dev", id: "0a1b2c", parent: "eng"),
            .addNode(kind: .account, name: "prod", id: "9f8e7d", parent: "ops"),
        ]
        for (i, id) in scpIDs.enumerated() {
            commands.append(.createSCP(id: id, description: "", document: StoreTests.document(scpDocuments[i])))
        }
        for (_, account) in accounts {
            for group in groups { commands.append(.addPrincipal(kind: .group, account: account, name: group, id: group, groups: [])) }
            for (i, user) in users.enumerated() {
                commands.append(.addPrincipal(kind: .user, account: account, name: user, id: user, groups: i == 3 ? [] : [groups[i % 2]]))
            }
            commands.append(
                .addPrincipal(
                    kind: .agency, account: account, name: "ops", id: "ops", groups: [],
                    settings: PrincipalSettings(trustPolicy: StoreTests.document(trust))))
            for (i, id) in policyIDs.enumerated() {
                commands.append(.createPolicy(id: "\(id)-\(account)", account: account, description: "", document: StoreTests.document(documents[i])))
            }
            commands.append(.attach(policy: "p-read-\(account)", target: "iam::\(account):group:readers"))
            commands.append(.attach(policy: "p-write-\(account)", target: "iam::\(account):group:writers"))
            commands.append(.attach(policy: "p-var-\(account)", target: "iam::\(account):user:dave"))
        }
        for command in commands { state = try state.applying(command, context: StoreTests.context).state }
        return state
    }

    static func command(_ dice: inout Dice) -> ManagementCommand {
        let (_, account) = dice.pick(accounts)
        let user = "iam::\(account):user:\(dice.pick(users))"
        let group = "iam::\(account):group:\(dice.pick(groups))"
        let agency = "iam::\(account):agency:ops"
        let document = StoreTests.document(dice.pick(documents))
        switch dice.below(17) {
        case 0: return .addPrincipal(kind: .user, account: account, name: dice.pick(users), id: "u\(dice.below(99))", groups: [])
        case 1: return .addPrincipal(kind: .group, account: account, name: dice.pick(groups), id: "g\(dice.below(99))", groups: [])
        case 2:
            return .addPrincipal(
                kind: .agency, account: account, name: "ops", id: "a1", groups: [],
                settings: PrincipalSettings(trustPolicy: StoreTests.document(trust)))
        case 3: return .setGroups(principal: user, groups: dice.pick([[], ["readers"], ["writers"], groups]))
        case 4: return .createPolicy(id: dice.pick(policyIDs) + "-" + account, account: account, description: "", document: document)
        case 5:
            return .createPolicyVersion(
                policy: dice.pick(policyIDs) + "-" + account, document: document, setAsDefault: dice.below(2) == 0, dropOldest: true)
        case 6: return .setDefaultVersion(policy: dice.pick(policyIDs) + "-" + account, version: "v\(1 + dice.below(3))")
        case 7, 8: return .attach(policy: dice.pick(policyIDs) + "-" + account, target: dice.pick([user, group, agency]))
        case 9: return .detach(policy: dice.pick(policyIDs) + "-" + account, target: dice.pick([user, group, agency]))
        case 10: return .createSCP(id: dice.pick(scpIDs), description: "", document: StoreTests.document(dice.pick(scpDocuments)))
        case 11: return .updateSCP(id: dice.pick(scpIDs), description: nil, document: StoreTests.document(dice.pick(scpDocuments)))
        case 12: return .attach(policy: dice.pick(scpIDs + ["FullAccess"]), target: dice.pick(["root", "eng", "ops", "dev", "prod"]))
        case 13: return .detach(policy: dice.pick(scpIDs + ["FullAccess"]), target: dice.pick(["root", "eng", "ops", "dev", "prod"]))
        case 14: return .moveNode(name: dice.pick(["dev", "prod", "ops"]), parent: dice.pick(["root", "eng", "ops"]))
        case 15: return .setSettings(principal: user, settings: PrincipalSettings(tags: dice.below(2) == 0 ? ["team": "a"] : [:]))
        default: return .removePrincipal(urn: dice.pick([user, group, agency]))
        }
    }

    static let requests: [(action: String, resource: String, context: [String: String])] = [
        ("ims:images:get", "ims:cn-north-4:0a1b2c:image:i1", [:]),
        ("ims:images:share", "ims:cn-north-4:0a1b2c:image:i1", [:]),
        ("ims:images:share", "ims:cn-north-4:9f8e7d:image:i2", [:]),
        ("ims:images:deleteImage", "ims:cn-north-4:9f8e7d:image:i2", ["g:SourceIp": "10.1.2.3"]),
        ("swr:repo:download", "swr:cn-north-4:0a1b2c:repo:team/app", ["g:SourceIp": "192.168.1.1"]),
        ("swr:repo:upload", "swr:cn-north-4:9f8e7d:repo:team/app", ["g:SourceIp": "10.0.0.1"]),
    ]

    /// Every principal's decisions (or refusal), and the unreadable policies.
    static func fingerprint(_ snapshot: DecisionSnapshot) throws -> [String] {
        var out = snapshot.unreadable.map { "unreadable \($0.id) \($0.isSCP)" }
        // Counts too: a part kept alive by a miscounted reference, or a refusal counted twice, shows here.
        let parts = snapshot.compiledPartCounts
        out.append(
            "principals \(snapshot.principalCount) refused \(snapshot.refusedPrincipalCount) identity sets \(parts.identitySets) SCP paths \(parts.scpPaths)"
        )
        for urn in snapshot.state.principals.keys.sorted() where !urn.contains(":group:") {
            do {
                let principal = try snapshot.principal(urn)
                for r in requests {
                    let request = AuthorizationRequest(
                        action: r.action, resource: r.resource,
                        context: principal.resolved.context(adding: RequestContext(r.context.mapValues { [.string($0)] })))
                    let result = principal.authorizer.authorize(request)
                    out.append("\(urn) \(r.action) \(r.resource): \(result.decision) \(result.reason) \(result.matched) \(result.scpLevel ?? -1)")
                }
                out.append("\(urn) versions \(principal.policyVersions.map { "\($0.policy)@\($0.version)" })")
            } catch {
                out.append("\(urn) refused: \(error.kind)")
            }
        }
        return out
    }

    @Test func incrementalSnapshotsDecideAsSnapshotsFromScratch() throws {
        var applied = 0
        var groupAttach = 0
        for seed in 0..<24 as Range<UInt64> {
            var dice = Dice(state: seed &* 0x2545_F491_4F6C_DD1D)
            var state = try Self.base()
            var revision: Int64 = 1
            var snapshot = DecisionSnapshot(state: state, revision: revision, catalog: Self.catalog)
            for step in 0..<120 {
                let next: OrganizationState
                let changed: Set<EntityKey>
                if dice.below(25) == 0, let id = state.policies.keys.sorted().first {
                    // A hand edit of the database: the policy's default version stops parsing.
                    var broken = state
                    let version = broken.policies[id]!.versions.firstIndex { $0.id == broken.policies[id]!.defaultVersion }!
                    broken.policies[id]!.versions[version].document = #"{"Version":"5.0","Statement":[{"Effect":"Allow"}"#
                    (next, changed) = (broken, [.policy(id)])
                } else if dice.below(25) == 0, let id = state.scps.keys.sorted().first {
                    // The same for an SCP: every account below a node it is attached to is refused.
                    var broken = state
                    broken.scps[id]!.document = #"{"Version":"5.0","Statement":[{"Effect":"Deny"}"#
                    (next, changed) = (broken, [.scp(id)])
                } else {
                    guard let change = try? state.applying(Self.command(&dice), context: StoreTests.context) else { continue }
                    (next, changed) = (change.state, change.changed)
                }
                let (upserts, deletions) = next.changes(from: state)
                let differing = Set(upserts.map(\.0) + deletions)
                #expect(differing.isSubset(of: changed), "seed \(seed) step \(step): rows changed but not named: \(differing.subtracting(changed))")
                revision += 1
                snapshot = snapshot.applying(next, changed: changed, revision: revision)
                let scratch = DecisionSnapshot(state: next, revision: revision, catalog: Self.catalog)
                let incremental = try Self.fingerprint(snapshot)
                let expected = try Self.fingerprint(scratch)
                if incremental != expected {
                    let first = zip(incremental, expected).first { $0 != $1 }
                    Issue.record("seed \(seed) step \(step): incremental \(first?.0 ?? "(shorter)") ≠ scratch \(first?.1 ?? "(shorter)")")
                    return
                }
                state = next
                applied += 1
                if changed.contains(where: { $0.kind == "attachment" && $0.key.contains(":group:") }) { groupAttach += 1 }
            }
        }
        #expect(applied > 1_000)
        #expect(groupAttach > 50)  // the sequences reach groups with members, not only single principals
    }
}
