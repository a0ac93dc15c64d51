public import BulwarkCatalog
public import BulwarkEngine
public import BulwarkOrganization
public import BulwarkPolicy

/// A principal of the store, resolved and compiled: what its requests are decided against.
public struct CompiledPrincipal: Sendable {
    public let resolved: ResolvedPrincipal
    public let authorizer: Authorizer
    /// The identity policies deciding for it, each with the version in force (SCPs have none).
    public let policyVersions: [(policy: String, version: String)]
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
/// it is rebuilt when the store changes, never per request.
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
    public let unreadable: [UnreadablePolicy]
    /// Canonical principal URN (`iam::ACCOUNT-ID:user:NAME`) → compiled principal.
    private let principals: [String: CompiledPrincipal]
    /// Canonical principal URN → why it cannot be decided (a policy it needs is unreadable).
    private let refused: [String: PrincipalError]
    private let catalog: Catalog

    public init(state: OrganizationState, revision: Int64, catalog: Catalog) {
        self.revision = revision
        self.state = state
        self.catalog = catalog
        let (organization, unreadable) = Self.organization(of: state)
        self.organization = organization
        self.unreadable = unreadable
        var compiled: [String: CompiledPrincipal] = [:]
        var refused: [String: PrincipalError] = [:]
        // Principals with the same policies in the same account (1,000 users of one group) decide
        // with one compiled set: compiling is per distinct set, not per principal.
        var shared: [PolicySetKey: Authorizer] = [:]
        for principal in state.principals.values where principal.kind != .group {
            do {
                let resolved = try organization.resolve(principal: principal.urn)
                let key = PolicySetKey(resolved)
                let authorizer = shared[key] ?? Authorizer(policies: resolved.policies, catalog: catalog)
                shared[key] = authorizer
                compiled[resolved.urn] = Self.compile(resolved, authorizer: authorizer, state: state)
            } catch {
                refused[principal.urn] = PrincipalError(message: error.message, kind: .unavailable)
            }
        }
        self.principals = compiled
        self.refused = refused
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

    /// What makes two principals' policy sets the same within one snapshot: the identity
    /// policies by id, in order (an id names one document per revision), and the account,
    /// whose path fixes the SCP levels. Sessions are never shared.
    private struct PolicySetKey: Hashable {
        let policies: [String]
        let account: String?

        init(_ resolved: ResolvedPrincipal) {
            policies = resolved.policies.identityPolicies.map(\.id)
            account = resolved.account?.name
        }
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

    private static func compile(_ resolved: ResolvedPrincipal, state: OrganizationState, catalog: Catalog) -> CompiledPrincipal {
        compile(resolved, authorizer: Authorizer(policies: resolved.policies, catalog: catalog), state: state)
    }

    private static func compile(_ resolved: ResolvedPrincipal, authorizer: Authorizer, state: OrganizationState) -> CompiledPrincipal {
        let versions = resolved.policies.identityPolicies.compactMap { named in
            state.policies[named.id].map { (policy: $0.id, version: $0.defaultVersion) }
        }
        return CompiledPrincipal(resolved: resolved, authorizer: authorizer, policyVersions: versions)
    }

    /// The state as an organization: nodes by name, SCP attachments per node, and per account its
    /// principals, groups and the default versions of its policies; and what did not parse.
    /// An unreadable policy stays attached by name but is absent from the organization, so
    /// resolving a principal that needs it fails instead of deciding without it.
    static func organization(of state: OrganizationState) -> (Organization, [UnreadablePolicy]) {
        var org = Organization()
        var unreadable: [UnreadablePolicy] = []
        org.organizationID = state.organization?.id ?? ""
        org.managementAccount = state.organization?.managementAccount
        org.scpsEnabled = state.organization?.scpsEnabled ?? false
        for node in state.nodes.values {
            let kind: OrganizationNode.Kind =
                switch node.kind {
                case .root: .root
                case .ou: .ou
                case .account: .account
                }
            org.nodes[node.name] = OrganizationNode(kind: kind, name: node.name, id: node.id, parent: node.parent)
        }
        org.scps[OrganizationState.fullAccessID] = NamedPolicy(id: OrganizationState.fullAccessID, policy: Organization.fullAccess)
        for scp in state.scps.values {
            do {
                org.scps[scp.id] = NamedPolicy(id: scp.id, policy: try PolicyParser.parse(scp.document))
            } catch {
                unreadable.append(UnreadablePolicy(id: scp.id, isSCP: true, reason: "\(error)"))
            }
        }
        var policiesOf: [String: [String]] = [:]
        for attachment in state.attachments.sorted() {
            // Whether an id is an SCP comes from the state, not from what parsed.
            let isSCP = attachment.policy == OrganizationState.fullAccessID || state.scps[attachment.policy] != nil
            if isSCP, state.policies[attachment.policy] == nil {
                org.attachments[attachment.target, default: []].append(attachment.policy)
            } else {
                policiesOf[attachment.target, default: []].append(attachment.policy)
            }
        }
        var accounts: [String: AccountIAM] = [:]
        for node in state.nodes.values where node.kind == .account {
            var iam = AccountIAM(name: node.name)
            for policy in state.policies.values where policy.account == node.id {
                do {
                    iam.policies[policy.id] = NamedPolicy(id: policy.id, policy: try PolicyParser.parse(policy.defaultDocument))
                } catch {
                    unreadable.append(UnreadablePolicy(id: policy.id, isSCP: false, reason: "version \(policy.defaultVersion): \(error)"))
                }
            }
            for principal in state.principals.values.sorted(by: { $0.urn < $1.urn }) where principal.account == node.id {
                let attached = policiesOf[principal.urn] ?? []
                switch principal.kind {
                case .group:
                    iam.groups[principal.name] = attached
                case .user, .agency:
                    // A trust policy that does not parse is left out of `trustPolicies` but still
                    // named, so assuming the agency is refused as unreadable, never decided without it.
                    if let text = principal.trustPolicy {
                        do {
                            iam.trustPolicies[principal.name] = NamedPolicy(
                                id: "trust:\(principal.urn)", policy: try PolicyParser.parse(text, grammar: .trust))
                        } catch {
                            unreadable.append(UnreadablePolicy(id: "trust:\(principal.urn)", isSCP: false, reason: "\(error)"))
                        }
                    }
                    iam.principals.append(
                        Principal(
                            kind: principal.kind == .user ? .user : .agency, name: principal.name, id: principal.id,
                            account: node.name, policies: attached, groups: principal.groups, tags: principal.tags ?? [:],
                            trustPolicy: principal.trustPolicy == nil ? nil : principal.name,
                            maxSessionDuration: principal.maxSessionDuration))
                }
            }
            accounts[node.name] = iam
        }
        org.accounts = accounts
        return (org, unreadable.sorted { $0.id < $1.id })
    }
}
