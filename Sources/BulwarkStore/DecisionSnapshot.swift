public import BulwarkCatalog
public import BulwarkEngine
public import BulwarkOrganization
public import BulwarkPolicy
import Foundation
import HashTreeCollections

/// A principal of the store, resolved and compiled: what its requests are decided against.
public struct CompiledPrincipal: Sendable {
    public let resolved: ResolvedPrincipal
    public let authorizer: Authorizer
    /// The identity policies deciding for it, each with the version in force (SCPs have none).
    public let policyVersions: [(policy: String, version: String)]
}

/// The identity side of a stored principal, compiled: its account's SCP path is kept apart
/// (`AccountPath`) and added when it is looked up, so an SCP change recompiles paths, not principals.
private struct CompiledIdentity: Sendable {
    /// Resolved without SCP levels.
    let resolved: ResolvedPrincipal
    let identity: CompiledPolicies
    let policyVersions: [(policy: String, version: String)]
    let identityKey: SharedParts.IdentityKey
}

/// The SCP path of one account, compiled and shared, or why its principals are refused.
private enum AccountPath: Sendable {
    /// No levels (SCPs off, the management account): no part and no key.
    case ready(levels: [[NamedPolicy]], part: CompiledPolicies?, key: SharedParts.PathKey?)
    /// An SCP on the path does not parse or cannot be found.
    case refused(PrincipalError)

    var key: SharedParts.PathKey? {
        if case .ready(_, _, let key) = self { return key }
        return nil
    }
}

/// A stored policy or SCP that does not parse (an upgrade, a hand edit of the database).
public struct UnreadablePolicy: Sendable, Equatable {
    /// The policy's or SCP's id.
    public let id: String
    public let isSCP: Bool
    /// Why it does not parse (the parser's first error).
    public let reason: String
}

/// An immutable, compiled view of one revision of the store. Decisions read only this;
/// it is updated when the store changes, never per request.
///
/// Incremental (SPEC §7 "At scale"): `applying(_:changed:revision:)` re-parses only the
/// policies a write changed and recompiles only the principals they reach; the rest is shared
/// with the snapshot before (persistent maps). Identity policy sets and SCP paths are compiled
/// once per distinct set and shared by reference, and released when no principal uses them.
///
/// Fail closed: a stored policy that does not parse is never left out. It is listed in
/// `unreadable`, and every principal whose identity policies or SCP path need it is refused
/// (`PrincipalError.Kind.unavailable`) instead of being decided without it.
public struct DecisionSnapshot: Sendable {
    public let revision: Int64
    public let state: OrganizationState
    /// The organization the state describes, so principal resolution is the CLI's.
    public let organization: Organization
    /// Stored policies and SCPs that do not parse, sorted by id.
    public var unreadable: [UnreadablePolicy] { unreadableByID.values.sorted { $0.id < $1.id } }
    fileprivate let unreadableByID: [String: UnreadablePolicy]
    /// Canonical principal URN (`iam::ACCOUNT-ID:user:NAME`) → compiled identity side.
    fileprivate let principals: TreeDictionary<String, CompiledIdentity>
    /// Canonical principal URN → why it cannot be decided (an identity policy it needs is unreadable).
    fileprivate let refused: TreeDictionary<String, PrincipalError>
    /// Account node name → its SCP path.
    fileprivate let accountPaths: TreeDictionary<String, AccountPath>
    fileprivate let parts: SharedParts
    fileprivate let catalog: Catalog

    /// Compiles `state` from scratch.
    public init(state: OrganizationState, revision: Int64, catalog: Catalog) {
        var builder = Builder(catalog: catalog)
        builder.rebuild(state)
        self.init(builder, state: state, revision: revision)
    }

    private init(_ builder: Builder, state: OrganizationState, revision: Int64) {
        self.revision = revision
        self.state = state
        self.organization = builder.organization
        self.unreadableByID = builder.unreadable
        self.principals = builder.principals
        self.refused = builder.refused
        self.accountPaths = builder.accountPaths
        self.parts = builder.parts
        self.catalog = builder.catalog
    }

    /// The snapshot of `next`, the state after a write that changed the entities `changed`:
    /// what they reach is recompiled, everything else is shared with this snapshot.
    public func applying(_ next: OrganizationState, changed: Set<EntityKey>, revision: Int64) -> DecisionSnapshot {
        var builder = Builder(self)
        builder.update(from: state, to: next, changed: changed)
        return DecisionSnapshot(builder, state: next, revision: revision)
    }

    /// The principal named by `urn` (account given by id or name). Throws `.notFound` for a
    /// principal the store does not have and `.unavailable` for one whose policies cannot be
    /// read.
    public func principal(_ urn: String) throws(PrincipalError) -> CompiledPrincipal {
        if let hit = principals[urn] { return try withPath(hit) }
        if let refusal = refused[urn] { throw refusal }
        let resolved: ResolvedPrincipal
        do { resolved = try organization.resolve(principal: urn) } catch {
            // Named by account name instead of id: look the canonical URN up among the refused.
            if let canonical = organization.canonicalURN(of: urn), let refusal = refused[canonical] { throw refusal }
            throw error
        }
        if let hit = principals[resolved.urn] { return try withPath(hit) }
        return Self.compile(resolved, state: state, catalog: catalog)
    }

    /// The principal deciding under its account's SCP path (composed: nothing is compiled).
    private func withPath(_ compiled: CompiledIdentity) throws(PrincipalError) -> CompiledPrincipal {
        var levels: [[NamedPolicy]] = []
        var part: CompiledPolicies?
        if let account = compiled.resolved.account {
            // Fail closed: an account without a path entry is not decided without one.
            switch accountPaths[account.name] {
            case .ready(let l, let p, _)?: (levels, part) = (l, p)
            case .refused(let error)?: throw error
            case nil: throw PrincipalError(message: "the SCP path of account \(account.name) is not compiled", kind: .unavailable)
            }
        }
        return CompiledPrincipal(
            resolved: compiled.resolved.with(scpLevels: levels),
            authorizer: Authorizer(identity: compiled.identity, scpPath: part, catalog: catalog), policyVersions: compiled.policyVersions)
    }

    /// `caller` assumes an agency (SPEC §10): the assume's step and, when allowed, the session
    /// compiled. Sessions are compiled per call, not kept: they live as long as a request.
    public func session(_ request: SessionRequest, by caller: CompiledPrincipal, context: RequestContext) throws(PrincipalError) -> (
        step: AssumeStep, session: CompiledPrincipal?
    ) {
        let (step, session) = try organization.assume(request, by: caller.resolved, context: context, catalog: catalog)
        return (step, session.map { Self.compile($0, state: state, catalog: catalog) })
    }

    /// The number of principals compiled ahead of requests.
    public var principalCount: Int { principals.count - refusedByPath }

    /// The number of principals refused because a policy or SCP they need is unreadable.
    public var refusedPrincipalCount: Int { refused.count + refusedByPath }

    /// Principals whose identity compiled but whose account's SCP path is refused.
    private var refusedByPath: Int {
        accountPaths.reduce(0) { sum, entry in
            guard case .refused = entry.value, let node = organization.nodes[entry.key], let iam = organization.accounts[entry.key] else {
                return sum
            }
            return sum + iam.principals.count { principals[$0.urn(accountID: node.id)] != nil }
        }
    }

    /// Distinct compiled identity policy sets and SCP paths (shared by the principals).
    public var compiledPartCounts: (identitySets: Int, scpPaths: Int) { (parts.identity.count, parts.scpPaths.count) }

    static func compile(_ resolved: ResolvedPrincipal, state: OrganizationState, catalog: Catalog) -> CompiledPrincipal {
        CompiledPrincipal(
            resolved: resolved, authorizer: Authorizer(policies: resolved.policies, catalog: catalog),
            policyVersions: versions(of: resolved, in: state))
    }

    static func versions(of resolved: ResolvedPrincipal, in state: OrganizationState) -> [(policy: String, version: String)] {
        resolved.policies.identityPolicies.compactMap { named in
            state.policies[named.id].map { (policy: $0.id, version: $0.defaultVersion) }
        }
    }
}

/// Compiled parts shared by principals, with how many principals use each.
private struct SharedParts: Sendable {
    /// An identity policy set: the account and its policies, each with the stamp of the
    /// document compiled (a policy that changes gets a new stamp, so a stale part is never found).
    struct IdentityKey: Hashable, Sendable {
        let account: String
        let policies: [Stamped]
    }
    /// An SCP path: per level, its SCPs with their stamps.
    struct PathKey: Hashable, Sendable {
        let levels: [[Stamped]]
    }
    struct Stamped: Hashable, Sendable {
        let id: String
        let stamp: Int
    }
    struct Counted<Part: Sendable>: Sendable {
        let part: Part
        var users: Int
    }

    // Persistent maps: a snapshot and the next share them, so a write copies a path, not the map.
    var identity: TreeDictionary<IdentityKey, Counted<CompiledPolicies>> = [:]
    var scpPaths: TreeDictionary<PathKey, Counted<CompiledPolicies>> = [:]
    /// Policy or SCP id → the stamp of its current document (`policy:ID`, `scp:ID`).
    var stamps: TreeDictionary<String, Int> = [:]
    var nextStamp = 1

    mutating func restamp(_ name: String) {
        stamps[name] = nextStamp
        nextStamp += 1
    }

    func stamp(_ name: String) -> Int { stamps[name] ?? 0 }

    /// The part for `key`, compiled by `compile` when no principal uses one yet; counts one more user.
    mutating func acquire(identity key: IdentityKey, compile: () -> CompiledPolicies) -> CompiledPolicies {
        let entry = identity[key].map { Counted(part: $0.part, users: $0.users + 1) } ?? Counted(part: compile(), users: 1)
        identity[key] = entry
        return entry.part
    }

    mutating func acquire(path key: PathKey, compile: () -> CompiledPolicies) -> CompiledPolicies {
        let entry = scpPaths[key].map { Counted(part: $0.part, users: $0.users + 1) } ?? Counted(part: compile(), users: 1)
        scpPaths[key] = entry
        return entry.part
    }

    mutating func release(identity key: IdentityKey) {
        guard var entry = identity[key] else { return }
        entry.users -= 1
        identity[key] = entry.users > 0 ? entry : nil
    }

    mutating func release(path key: PathKey) {
        guard var entry = scpPaths[key] else { return }
        entry.users -= 1
        scpPaths[key] = entry.users > 0 ? entry : nil
    }
}

/// Builds a snapshot: from scratch, or from the one before and the keys a write changed.
private struct Builder {
    let catalog: Catalog
    let scope: VariableScope
    var organization = Organization()
    var unreadable: [String: UnreadablePolicy] = [:]
    var principals: TreeDictionary<String, CompiledIdentity> = [:]
    var refused: TreeDictionary<String, PrincipalError> = [:]
    var accountPaths: TreeDictionary<String, AccountPath> = [:]
    var parts = SharedParts()
    var state = OrganizationState()

    init(catalog: Catalog) {
        self.catalog = catalog
        self.scope = VariableScope(catalog: catalog)
    }

    init(_ snapshot: DecisionSnapshot) {
        self.init(
            catalog: snapshot.catalog, organization: snapshot.organization, unreadable: snapshot.unreadableByID,
            principals: snapshot.principals, refused: snapshot.refused, accountPaths: snapshot.accountPaths, parts: snapshot.parts,
            state: snapshot.state)
    }

    private init(
        catalog: Catalog, organization: Organization, unreadable: [String: UnreadablePolicy],
        principals: TreeDictionary<String, CompiledIdentity>, refused: TreeDictionary<String, PrincipalError>,
        accountPaths: TreeDictionary<String, AccountPath>, parts: SharedParts, state: OrganizationState
    ) {
        self.init(catalog: catalog)
        self.organization = organization
        self.unreadable = unreadable
        self.principals = principals
        self.refused = refused
        self.accountPaths = accountPaths
        self.parts = parts
        self.state = state
    }

    // MARK: From scratch

    mutating func rebuild(_ state: OrganizationState) {
        self.state = state
        organization = Organization()
        unreadable = [:]
        principals = [:]
        refused = [:]
        accountPaths = [:]
        let stamps = parts
        parts = SharedParts()
        parts.nextStamp = stamps.nextStamp
        applySettings()
        for node in state.nodes.values { putNode(node) }
        organization.scps[OrganizationState.fullAccessID] = NamedPolicy(id: OrganizationState.fullAccessID, policy: Organization.fullAccess)
        for scp in state.scps.values { parseSCP(scp.id) }
        for node in state.nodes.values {
            organization.attachments[node.name] = state.attachments.policies(on: node.name).filter(isSCP)
        }
        for node in state.nodes.values where node.kind == .account {
            organization.accounts[node.name] = AccountIAM(name: node.name)
        }
        // Parsing and compiling are pure: spread over every core, installed in one pass.
        let parsed = concurrentMap(Array(state.policies.values)) { policy in
            (policy.id, Result { () throws(PolicyParseError) in try PolicyParser.parse(policy.defaultDocument) })
        }
        for (id, result) in parsed { install(id, result) }
        for principal in state.principals.values {
            putPrincipal(principal, attached: state.attachments.policies(on: principal.urn).filter { !isSCP($0) })
        }
        for node in state.nodes.values where node.kind == .account { recomputePath(node.name) }
        recompileAll(state.principals.values.filter { $0.kind != .group }.map(\.urn))
    }

    // MARK: Incremental

    mutating func update(from old: OrganizationState, to next: OrganizationState, changed: Set<EntityKey>) {
        // A change of the organization itself, or a bulk change, is cheaper rebuilt.
        if changed.contains(.organization) || changed.count > max(256, next.principals.count / 8) {
            rebuild(next)
            return
        }
        state = next
        var affectedAccounts: Set<String> = []  // account node names whose SCP path changes
        var movedAccounts: Set<String> = []  // account node names whose principals' keys change (org path)
        var affectedPrincipals: Set<String> = []  // stored URNs
        var touchedTargets: Set<String> = []  // attachment targets whose lists change
        // Nodes first (accounts must exist before their principals), then SCPs and policies, then the rest.
        for key in changed where key.kind == "node" {
            let name = key.key
            movedAccounts.formUnion(accounts(under: name))
            if let node = next.nodes[name] {
                putNode(node)
                if node.kind == .account, organization.accounts[node.name] == nil { organization.accounts[node.name] = AccountIAM(name: node.name) }
            } else {
                if let gone = organization.nodes[name], gone.kind == .account { organization.accounts[name] = nil }
                organization.nodes[name] = nil
                organization.attachments[name] = nil
            }
            movedAccounts.formUnion(accounts(under: name))
        }
        affectedAccounts.formUnion(movedAccounts)
        for key in changed where key.kind == "scp" {
            parts.restamp("scp:\(key.key)")
            if next.scps[key.key] != nil {
                parseSCP(key.key)
            } else {
                organization.scps[key.key] = nil
                unreadable["scp:\(key.key)"] = nil
            }
            for node in next.attachments.targets(of: key.key) + old.attachments.targets(of: key.key) {
                affectedAccounts.formUnion(accounts(under: node))
            }
        }
        for key in changed where key.kind == "policy" {
            parts.restamp("policy:\(key.key)")
            let before = old.policies[key.key]
            if next.policies[key.key] != nil {
                parsePolicy(key.key)
            } else if let before, let account = accountName(id: before.account) {
                organization.accounts[account]?.policies[key.key] = nil
                unreadable["policy:\(key.key)"] = nil
            }
            touchedTargets.formUnion(next.attachments.targets(of: key.key))
        }
        for key in changed where key.kind == "attachment" {
            guard let newline = key.key.firstIndex(of: "\n") else { continue }
            touchedTargets.insert(String(key.key[key.key.index(after: newline)...]))
        }
        for key in changed where key.kind == "principal" {
            touchedTargets.insert(key.key)
            if next.principals[key.key] == nil, let gone = old.principals[key.key] { removePrincipal(gone) }
        }
        for target in touchedTargets {
            let attached = next.attachments.policies(on: target)
            if let node = next.nodes[target] {
                organization.attachments[node.name] = attached.filter(isSCP)
                affectedAccounts.formUnion(accounts(under: node.name))
            } else if let principal = next.principals[target] {
                putPrincipal(principal, attached: attached.filter { !isSCP($0) })
                if principal.kind == .group {
                    affectedPrincipals.formUnion(next.principals.members(of: principal.urn))
                } else {
                    affectedPrincipals.insert(principal.urn)
                }
            }
        }
        for account in affectedAccounts { recomputePath(account) }
        for account in movedAccounts {
            guard let id = organization.nodes[account]?.id else { continue }
            affectedPrincipals.formUnion(next.principals.urns(inAccount: id))
        }
        for urn in affectedPrincipals { recompile(urn) }
    }

    // MARK: Parts of the organization

    private func isSCP(_ id: String) -> Bool { id == OrganizationState.fullAccessID || (state.scps[id] != nil && state.policies[id] == nil) }

    private func accountName(id: String) -> String? { state.accountNode(id: id)?.name }

    /// Account node names at or below `name`.
    private func accounts(under name: String) -> [String] {
        organization.nodes.values.filter { $0.kind == .account && organization.path(to: $0.name).contains { $0.name == name } }.map(\.name)
    }

    private mutating func applySettings() {
        organization.organizationID = state.organization?.id ?? ""
        organization.managementAccount = state.organization?.managementAccount
        organization.scpsEnabled = state.organization?.scpsEnabled ?? false
    }

    private mutating func putNode(_ node: StoredNode) {
        let kind: OrganizationNode.Kind =
            switch node.kind {
            case .root: .root
            case .ou: .ou
            case .account: .account
            }
        organization.nodes[node.name] = OrganizationNode(kind: kind, name: node.name, id: node.id, parent: node.parent)
    }

    private mutating func parseSCP(_ id: String) {
        guard let scp = state.scps[id] else { return }
        do {
            organization.scps[id] = NamedPolicy(id: id, policy: try PolicyParser.parse(scp.document))
            unreadable["scp:\(id)"] = nil
        } catch {
            // Absent from the organization but still attached: resolving what needs it fails.
            organization.scps[id] = nil
            unreadable["scp:\(id)"] = UnreadablePolicy(id: id, isSCP: true, reason: "\(error)")
        }
    }

    private mutating func parsePolicy(_ id: String) {
        guard let policy = state.policies[id] else { return }
        install(id, Result { () throws(PolicyParseError) in try PolicyParser.parse(policy.defaultDocument) })
    }

    /// Puts the parse of stored policy `id`'s default document in its account, or records it unreadable.
    private mutating func install(_ id: String, _ parsed: Result<Policy, PolicyParseError>) {
        guard let policy = state.policies[id], let account = accountName(id: policy.account) else { return }
        switch parsed {
        case .success(let parsed):
            organization.accounts[account]?.policies[id] = NamedPolicy(id: id, policy: parsed)
            unreadable["policy:\(id)"] = nil
        case .failure(let error):
            organization.accounts[account]?.policies[id] = nil
            unreadable["policy:\(id)"] = UnreadablePolicy(id: id, isSCP: false, reason: "version \(policy.defaultVersion): \(error)")
        }
    }

    /// Puts a stored user, group or agency into its account's IAM with its identity policies.
    private mutating func putPrincipal(_ principal: StoredPrincipal, attached: [String]) {
        guard let account = accountName(id: principal.account) else { return }
        switch principal.kind {
        case .group:
            organization.accounts[account]?.groups[principal.name] = attached
        case .user, .agency:
            // A trust policy that does not parse is left out of `trustPolicies` but still
            // named, so assuming the agency is refused as unreadable, never decided without it.
            let trustID = "trust:\(principal.urn)"
            organization.accounts[account]?.trustPolicies[principal.name] = nil
            unreadable[trustID] = nil
            if let text = principal.trustPolicy {
                do {
                    organization.accounts[account]?.trustPolicies[principal.name] = NamedPolicy(
                        id: trustID, policy: try PolicyParser.parse(text, grammar: .trust))
                } catch {
                    unreadable[trustID] = UnreadablePolicy(id: trustID, isSCP: false, reason: "\(error)")
                }
            }
            organization.accounts[account]?.put(
                Principal(
                    kind: principal.kind == .user ? .user : .agency, name: principal.name, id: principal.id,
                    account: account, policies: attached, groups: principal.groups, tags: principal.tags ?? [:],
                    trustPolicy: principal.trustPolicy == nil ? nil : principal.name,
                    maxSessionDuration: principal.maxSessionDuration))
        }
    }

    private mutating func removePrincipal(_ principal: StoredPrincipal) {
        if let account = accountName(id: principal.account) {
            switch principal.kind {
            case .group: organization.accounts[account]?.groups[principal.name] = nil
            case .user: organization.accounts[account]?.remove(.user, named: principal.name)
            case .agency:
                organization.accounts[account]?.remove(.agency, named: principal.name)
                organization.accounts[account]?.trustPolicies[principal.name] = nil
            }
        }
        unreadable["trust:\(principal.urn)"] = nil
        forget(principal.urn)
    }

    // MARK: Compiling principals

    private mutating func forget(_ urn: String) {
        if let old = principals[urn] { parts.release(identity: old.identityKey) }
        principals[urn] = nil
        refused[urn] = nil
    }

    /// Resolves and compiles the identity side of the stored principal `urn` (canonical: its
    /// account by id), or records why it is refused; forgets it when the state no longer has it.
    /// The part it used is released only after the new one is taken, so an unchanged policy set
    /// is never compiled again.
    mutating func recompile(_ urn: String) {
        let organization = self.organization
        recompile(urn, resolved: Result { () throws(PrincipalError) in try organization.resolve(principal: urn, scps: false) })
    }

    /// `recompile` with the principal resolved already.
    private mutating func recompile(_ urn: String, resolved result: Result<ResolvedPrincipal, PrincipalError>) {
        let previous = principals[urn]?.identityKey
        defer { if let previous { parts.release(identity: previous) } }
        principals[urn] = nil
        refused[urn] = nil
        guard let stored = state.principals[urn], stored.kind != .group else { return }
        let resolved: ResolvedPrincipal
        switch result {
        case .success(let principal): resolved = principal
        case .failure(let error):
            refused[urn] = PrincipalError(message: error.message, kind: .unavailable)
            return
        }
        let key = identityKey(of: resolved)
        let identity = parts.acquire(identity: key) {
            CompiledPolicies(identityPolicies: resolved.policies.identityPolicies, catalog: catalog)
        }
        principals[urn] = CompiledIdentity(
            resolved: resolved, identity: identity, policyVersions: DecisionSnapshot.versions(of: resolved, in: state), identityKey: key)
    }

    /// `recompile` for many principals at once (a rebuild): resolving and compiling the distinct
    /// identity sets run on every core, then everything is installed in one pass.
    mutating func recompileAll(_ urns: [String]) {
        let organization = self.organization
        let resolved = concurrentMap(urns) { urn in
            (urn, Result { () throws(PrincipalError) in try organization.resolve(principal: urn, scps: false) })
        }
        var pending: [(key: SharedParts.IdentityKey, policies: [NamedPolicy])] = []
        var seen: Set<SharedParts.IdentityKey> = []
        for case (_, .success(let principal)) in resolved {
            let key = identityKey(of: principal)
            if parts.identity[key] == nil, seen.insert(key).inserted { pending.append((key, principal.policies.identityPolicies)) }
        }
        let catalog = self.catalog
        let compiled = concurrentMap(pending) { CompiledPolicies(identityPolicies: $0.policies, catalog: catalog) }
        for (entry, part) in zip(pending, compiled) { parts.identity[entry.key] = .init(part: part, users: 0) }
        for (urn, result) in resolved { recompile(urn, resolved: result) }
    }

    private func identityKey(of resolved: ResolvedPrincipal) -> SharedParts.IdentityKey {
        SharedParts.IdentityKey(
            account: resolved.account?.name ?? "",
            policies: resolved.policies.identityPolicies.map { .init(id: $0.id, stamp: parts.stamp("policy:\($0.id)")) })
    }

    /// Resolves and compiles the SCP path of the account node `name`, shared with every account
    /// whose levels hold the same SCPs; forgets it when the node is no longer an account.
    mutating func recomputePath(_ name: String) {
        let previous = accountPaths[name]?.key
        defer { if let previous { parts.release(path: previous) } }
        guard let node = organization.nodes[name], node.kind == .account else {
            accountPaths[name] = nil
            return
        }
        let levels: [[NamedPolicy]]
        do { levels = try organization.scpLevels(for: node) } catch {
            accountPaths[name] = .refused(PrincipalError(message: error.message, kind: .unavailable))
            return
        }
        guard !levels.isEmpty else {
            accountPaths[name] = .ready(levels: [], part: nil, key: nil)
            return
        }
        let key = SharedParts.PathKey(levels: levels.map { level in level.map { .init(id: $0.id, stamp: parts.stamp("scp:\($0.id)")) } })
        let part = parts.acquire(path: key) { CompiledPolicies(scpLevels: levels, catalog: catalog) }
        accountPaths[name] = .ready(levels: levels, part: part, key: key)
    }
}
