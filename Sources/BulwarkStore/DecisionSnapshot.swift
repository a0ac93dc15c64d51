import BulwarkCatalog
import BulwarkEngine
import BulwarkPolicy
import BulwarkWorkspace

/// A principal of the store, resolved and compiled: what its requests are decided against.
public struct CompiledPrincipal: Sendable {
    public let resolved: ResolvedPrincipal
    public let authorizer: Authorizer
    /// The identity policies deciding for it, each with the version in force (SCPs have none).
    public let policyVersions: [(policy: String, version: String)]
}

/// An immutable, compiled view of one revision of the store. Decisions read only this;
/// it is rebuilt when the store changes, never per request.
public struct DecisionSnapshot: Sendable {
    public let revision: Int64
    public let state: OrganizationState
    /// The organization as a workspace, so simulation and principal resolution are the CLI's.
    public let workspace: Workspace
    /// Canonical principal URN (`iam::ACCOUNT-ID:user:NAME`) → compiled principal.
    private let principals: [String: CompiledPrincipal]
    private let catalog: Catalog

    public init(state: OrganizationState, revision: Int64, catalog: Catalog) {
        self.revision = revision
        self.state = state
        self.catalog = catalog
        let workspace = Self.workspace(of: state)
        self.workspace = workspace
        var compiled: [String: CompiledPrincipal] = [:]
        for principal in state.principals.values where principal.kind != .group {
            if let resolved = try? workspace.resolve(principal: principal.urn) {
                compiled[resolved.urn] = Self.compile(resolved, state: state, catalog: catalog)
            }
        }
        self.principals = compiled
    }

    /// The principal named by `urn` (account given by id or name).
    public func principal(_ urn: String) throws(PrincipalError) -> CompiledPrincipal {
        if let hit = principals[urn] { return hit }
        let resolved = try workspace.resolve(principal: urn)
        return principals[resolved.urn] ?? Self.compile(resolved, state: state, catalog: catalog)
    }

    /// The number of principals compiled ahead of requests.
    public var principalCount: Int { principals.count }

    private static func compile(_ resolved: ResolvedPrincipal, state: OrganizationState, catalog: Catalog) -> CompiledPrincipal {
        let versions = resolved.policies.identityPolicies.compactMap { named in
            state.policies[named.id].map { (policy: $0.id, version: $0.defaultVersion) }
        }
        return CompiledPrincipal(
            resolved: resolved, authorizer: Authorizer(policies: resolved.policies, catalog: catalog), policyVersions: versions)
    }

    /// The state as a workspace: nodes by name, SCP attachments per node, and per account its
    /// principals, groups and the default versions of its policies.
    static func workspace(of state: OrganizationState) -> Workspace {
        var ws = Workspace(root: "store")
        ws.organizationID = state.organization?.id ?? ""
        ws.managementAccount = state.organization?.managementAccount
        ws.scpsEnabled = state.organization?.scpsEnabled ?? false
        for node in state.nodes.values {
            let kind: OrganizationNode.Kind = switch node.kind {
            case .root: .root
            case .ou: .ou
            case .account: .account
            }
            ws.nodes[node.name] = OrganizationNode(kind: kind, name: node.name, id: node.id, parent: node.parent)
        }
        if let fullAccess = try? PolicyParser.parse(Workspace.fullAccessText) {
            ws.scps[OrganizationState.fullAccessID] = NamedPolicy(id: OrganizationState.fullAccessID, policy: fullAccess)
        }
        for scp in state.scps.values {
            if let policy = try? PolicyParser.parse(scp.document) { ws.scps[scp.id] = NamedPolicy(id: scp.id, policy: policy) }
        }
        var policiesOf: [String: [String]] = [:]
        for attachment in state.attachments.sorted() {
            if ws.scps[attachment.policy] != nil, state.policies[attachment.policy] == nil {
                ws.attachments[attachment.target, default: []].append(attachment.policy)
            } else {
                policiesOf[attachment.target, default: []].append(attachment.policy)
            }
        }
        var accounts: [String: AccountIAM] = [:]
        for node in state.nodes.values where node.kind == .account {
            var iam = AccountIAM(name: node.name)
            for policy in state.policies.values where policy.account == node.id {
                if let parsed = try? PolicyParser.parse(policy.defaultDocument) { iam.policies[policy.id] = NamedPolicy(id: policy.id, policy: parsed) }
            }
            for principal in state.principals.values.sorted(by: { $0.urn < $1.urn }) where principal.account == node.id {
                let attached = policiesOf[principal.urn] ?? []
                switch principal.kind {
                case .group:
                    iam.groups[principal.name] = attached
                case .user, .agency:
                    iam.principals.append(Principal(
                        kind: principal.kind == .user ? .user : .agency, name: principal.name, id: principal.id,
                        account: node.name, policies: attached, groups: principal.groups))
                }
            }
            accounts[node.name] = iam
        }
        ws.accounts = accounts
        return ws
    }
}
