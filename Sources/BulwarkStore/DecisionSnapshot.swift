public import BulwarkCatalog
public import BulwarkEngine
public import BulwarkOrganization
public import BulwarkPolicy
import HashTreeCollections

/// A principal of the store, resolved and compiled: what its requests are decided against.
public struct CompiledPrincipal: Sendable {
    public let resolved: ResolvedPrincipal
    public let authorizer: Authorizer
    /// The identity policies deciding for it, each with the version in force (SCPs have none).
    public let policyVersions: [(policy: String, version: String)]
    /// The shared parts it decides with (nil for principals compiled on their own).
    fileprivate var identityKey: SharedParts.IdentityKey? = nil
    fileprivate var pathKey: SharedParts.PathKey? = nil
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
    /// Canonical principal URN (`iam::ACCOUNT-ID:user:NAME`) → compiled principal.
    fileprivate let principals: TreeDictionary<String, CompiledPrincipal>
    /// Canonical principal URN → why it cannot be decided (a policy it needs is unreadable).
    fileprivate let refused: TreeDictionary<String, PrincipalError>
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
        if let hit = principals[urn] { return hit }
        if let refusal = refused[urn] { throw refusal }
        let resolved: ResolvedPrincipal
        do { resolved = try organization.resolve(principal: urn) } catch {
            // Named by account name instead of id: look the canonical URN up among the refused.
            if let canonical = organization.canonicalURN(of: urn), let refusal = refused[canonical] { throw refusal }
            throw error
        }
        return principals[resolved.urn] ?? Self.compile(resolved, state: state, catalog: catalog)
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
    public var principalCount: Int { principals.count }

    /// The number of principals refused because a policy they need is unreadable.
    public var refusedPrincipalCount: Int { refused.count }

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

    var identity: [IdentityKey: Counted<CompiledPolicies>] = [:]
    var scpPaths: [PathKey: Counted<CompiledPolicies>] = [:]
    /// Policy or SCP id → the stamp of its current document (`policy:ID`, `scp:ID`).
    var stamps: [String: Int] = [:]
    var nextStamp = 1

    mutating func restamp(_ name: String) {
        stamps[name] = nextStamp
        nextStamp += 1
    }

    func stamp(_ name: String) -> Int { stamps[name] ?? 0 }

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
    var principals: TreeDictionary<String, CompiledPrincipal> = [:]
    var refused: TreeDictionary<String, PrincipalError> = [:]
    var parts = SharedParts()
    var state = OrganizationState()

    init(catalog: Catalog) {
        self.catalog = catalog
        self.scope = VariableScope(catalog: catalog)
    }

    init(_ snapshot: DecisionSnapshot) {
        self.init(
            catalog: snapshot.catalog, organization: snapshot.organization, unreadable: snapshot.unreadableByID,
            principals: snapshot.principals, refused: snapshot.refused, parts: snapshot.parts, state: snapshot.state)
    }

    private init(
        catalog: Catalog, organization: Organization, unreadable: [String: UnreadablePolicy],
        principals: TreeDictionary<String, CompiledPrincipal>, refused: TreeDictionary<String, PrincipalError>, parts: SharedParts,
        state: OrganizationState
    ) {
        self.init(catalog: catalog)
        self.organization = organization
        self.unreadable = unreadable
        self.principals = principals
        self.refused = refused
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
        let stamps = parts
        parts = SharedParts()
        parts.nextStamp = stamps.nextStamp
        applySettings()
        for node in state.nodes.values { putNode(node) }
        organization.scps[OrganizationState.fullAccessID] = NamedPolicy(id: OrganizationState.fullAccessID, policy: Organization.fullAccess)
        for scp in state.scps.values { parseSCP(scp.id) }
        var attachedTo: [String: [String]] = [:]
        for attachment in state.attachments { attachedTo[attachment.target, default: []].append(attachment.policy) }
        for node in state.nodes.values {
            organization.attachments[node.name] = (attachedTo[node.name] ?? []).filter(isSCP).sorted()
        }
        for node in state.nodes.values where node.kind == .account {
            organization.accounts[node.name] = AccountIAM(name: node.name)
        }
        for policy in state.policies.values { parsePolicy(policy.id) }
        for principal in state.principals.values {
            putPrincipal(principal, attached: (attachedTo[principal.urn] ?? []).filter { !isSCP($0) }.sorted())
        }
        for principal in state.principals.values where principal.kind != .group { recompile(principal.urn) }
    }

    // MARK: Incremental

    mutating func update(from old: OrganizationState, to next: OrganizationState, changed: Set<EntityKey>) {
        // A change of the organization itself, or a bulk change, is cheaper rebuilt.
        if changed.contains(.organization) || changed.count > max(256, next.principals.count / 8) {
            rebuild(next)
            return
        }
        state = next
        var affectedAccounts: Set<String> = []  // account node names whose SCP path or tree keys change
        var affectedPrincipals: Set<String> = []  // stored URNs
        var touchedTargets: Set<String> = []  // attachment targets whose lists change
        // Nodes first (accounts must exist before their principals), then SCPs and policies, then the rest.
        for key in changed where key.kind == "node" {
            let name = key.key
            affectedAccounts.formUnion(accounts(under: name, in: organization))
            if let node = next.nodes[name] {
                putNode(node)
                if node.kind == .account, organization.accounts[node.name] == nil { organization.accounts[node.name] = AccountIAM(name: node.name) }
            } else {
                if let gone = organization.nodes[name], gone.kind == .account { organization.accounts[name] = nil }
                organization.nodes[name] = nil
                organization.attachments[name] = nil
            }
            affectedAccounts.formUnion(accounts(under: name, in: organization))
        }
        for key in changed where key.kind == "scp" {
            parts.restamp("scp:\(key.key)")
            if next.scps[key.key] != nil {
                parseSCP(key.key)
            } else {
                organization.scps[key.key] = nil
                unreadable["scp:\(key.key)"] = nil
            }
            for node in organization.attachments.filter({ $0.value.contains(key.key) }).map(\.key) {
                affectedAccounts.formUnion(accounts(under: node, in: organization))
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
            for attachment in next.attachments where attachment.policy == key.key { touchedTargets.insert(attachment.target) }
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
            let attached = next.attachments.filter { $0.target == target }.map(\.policy)
            if let node = next.nodes[target] {
                organization.attachments[node.name] = attached.filter(isSCP).sorted()
                affectedAccounts.formUnion(accounts(under: node.name, in: organization))
            } else if let principal = next.principals[target] {
                putPrincipal(principal, attached: attached.filter { !isSCP($0) }.sorted())
                if principal.kind == .group {
                    affectedPrincipals.formUnion(
                        next.principals.values.filter { $0.account == principal.account && $0.groups.contains(principal.name) }.map(\.urn))
                } else {
                    affectedPrincipals.insert(principal.urn)
                }
            }
        }
        if !affectedAccounts.isEmpty {
            let ids = Set(affectedAccounts.compactMap { organization.nodes[$0]?.id })
            for principal in next.principals.values where principal.kind != .group && ids.contains(principal.account) {
                affectedPrincipals.insert(principal.urn)
            }
        }
        for urn in affectedPrincipals { recompile(urn) }
    }

    // MARK: Parts of the organization

    private func isSCP(_ id: String) -> Bool { id == OrganizationState.fullAccessID || (state.scps[id] != nil && state.policies[id] == nil) }

    private func accountName(id: String) -> String? { state.accountNode(id: id)?.name }

    /// Account node names at or below `name`.
    private func accounts(under name: String, in organization: Organization) -> [String] {
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
        guard let policy = state.policies[id], let account = accountName(id: policy.account) else { return }
        do {
            organization.accounts[account]?.policies[id] = NamedPolicy(id: id, policy: try PolicyParser.parse(policy.defaultDocument))
            unreadable["policy:\(id)"] = nil
        } catch {
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
        if let old = principals[urn] {
            if let key = old.identityKey { parts.release(identity: key) }
            if let key = old.pathKey { parts.release(path: key) }
        }
        principals[urn] = nil
        refused[urn] = nil
    }

    /// Resolves and compiles the stored principal `urn` (canonical: its account by id), or
    /// records why it is refused; forgets it when the state no longer has it.
    mutating func recompile(_ urn: String) {
        forget(urn)
        guard let stored = state.principals[urn], stored.kind != .group else { return }
        let resolved: ResolvedPrincipal
        do { resolved = try organization.resolve(principal: urn) } catch {
            refused[urn] = PrincipalError(message: error.message, kind: .unavailable)
            return
        }
        let account = resolved.account?.name ?? ""
        let identityKey = SharedParts.IdentityKey(
            account: account, policies: resolved.policies.identityPolicies.map { .init(id: $0.id, stamp: parts.stamp("policy:\($0.id)")) })
        let identity: CompiledPolicies
        if var entry = parts.identity[identityKey] {
            entry.users += 1
            parts.identity[identityKey] = entry
            identity = entry.part
        } else {
            identity = CompiledPolicies(identityPolicies: resolved.policies.identityPolicies, catalog: catalog)
            parts.identity[identityKey] = .init(part: identity, users: 1)
        }
        var pathKey: SharedParts.PathKey?
        var path: CompiledPolicies?
        if !resolved.policies.scpLevels.isEmpty {
            let key = SharedParts.PathKey(
                levels: resolved.policies.scpLevels.map { level in level.map { .init(id: $0.id, stamp: parts.stamp("scp:\($0.id)")) } })
            if var entry = parts.scpPaths[key] {
                entry.users += 1
                parts.scpPaths[key] = entry
                path = entry.part
            } else {
                let part = CompiledPolicies(scpLevels: resolved.policies.scpLevels, catalog: catalog)
                parts.scpPaths[key] = .init(part: part, users: 1)
                path = part
            }
            pathKey = key
        }
        principals[urn] = CompiledPrincipal(
            resolved: resolved, authorizer: Authorizer(identity: identity, scpPath: path, catalog: catalog),
            policyVersions: DecisionSnapshot.versions(of: resolved, in: state), identityKey: identityKey, pathKey: pathKey)
    }
}
