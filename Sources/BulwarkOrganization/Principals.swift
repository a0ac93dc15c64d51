public import BulwarkEngine
public import BulwarkPolicy

/// A principal of the workspace resolved to what decides its requests.
public struct ResolvedPrincipal: Sendable {
    public let principal: Principal
    public let account: OrganizationNode?
    public let urn: String
    /// Its own policies and its groups' policies, then the SCP path of its account.
    public private(set) var policies: PolicySet
    /// Keys the gateway or IAM would fill for this principal (g:PrincipalUrn, g:PrincipalOrgPath, ...).
    public let principalContext: [String: String]
    /// The same keys as a request context, parsed once.
    public let defaultContext: RequestContext
    /// For a session of an agency: what it was assumed with; nil for users and agencies.
    public let session: SessionIdentity?

    init(
        principal: Principal, account: OrganizationNode?, urn: String, policies: PolicySet, principalContext: [String: String],
        session: SessionIdentity? = nil
    ) {
        self.principal = principal
        self.account = account
        self.urn = urn
        self.policies = policies
        self.principalContext = principalContext
        self.defaultContext = RequestContext(principalContext.mapValues { [.string($0)] })
        self.session = session
    }

    /// The principal as a trust policy's `Principal` sees it: its account, its own URN, and for
    /// a session also its agency's URN.
    public var trustCaller: TrustCaller {
        let accountID = account?.id ?? principalContext["g:PrincipalAccount"] ?? ""
        guard let session else { return TrustCaller(accountID: accountID, urns: [urn]) }
        return TrustCaller(accountID: accountID, urns: [session.agencyURN, urn])
    }
}

/// Why a principal could not be resolved.
public struct PrincipalError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// No such principal (or not a principal URN).
        case notFound
        /// The principal exists, but a policy, group or SCP it needs cannot be found or read:
        /// it must be refused, never decided without what is missing.
        case unavailable
        /// A session request breaks Huawei's rules (a name, a tag, a transitive key, a source identity).
        case invalidSession
    }

    public let message: String
    public let kind: Kind
    public var description: String { message }

    public init(message: String, kind: Kind = .notFound) {
        self.message = message
        self.kind = kind
    }
}

/// `iam::ACCOUNT:KIND:NAME` read once: the account (an id or a name), the kind, the name.
struct PrincipalURN {
    let account: String
    let kind: String
    let name: String

    init?(_ urn: String) {
        let fields = ColonFields(urn)
        guard fields.count == 5, fields.string(0) == "iam", fields[1].isEmpty else { return nil }
        (account, kind, name) = (fields.string(2), fields.string(3), fields.string(4))
    }
}

extension Organization {
    /// `iam::ACCOUNT-ID:KIND:NAME` for a principal URN whose account is given by id or name;
    /// nil when it is not a principal URN of a known account.
    public func canonicalURN(of urn: String) -> String? {
        guard let name = PrincipalURN(urn), let node = account(name.account) else { return nil }
        return "iam::\(node.id):\(name.kind):\(name.name)"
    }

    /// Resolves `iam::ACCOUNT:user:NAME` or `iam::ACCOUNT:agency:NAME` (ACCOUNT: id or name).
    ///
    /// With `scps: false` the SCP levels are left empty (and an unreadable SCP is not an
    /// error): for a caller that keeps each account's SCP path apart and adds it with
    /// `ResolvedPrincipal.with(scpLevels:)`.
    public func resolve(principal urn: String, scps: Bool = true) throws(PrincipalError) -> ResolvedPrincipal {
        guard let name = PrincipalURN(urn), let kind = Principal.Kind(rawValue: name.kind) else {
            throw PrincipalError(message: "\(urn) is not a principal URN; write iam::ACCOUNT:user:NAME or iam::ACCOUNT:agency:NAME")
        }
        let accountKey = name.account
        let node = account(accountKey)
        let accountName = node?.name ?? accountKey
        guard let iam = accounts[accountName] else {
            throw PrincipalError(message: "unknown account \"\(accountKey)\"; known: \(accounts.keys.sorted().joined(separator: ", "))")
        }
        guard let principal = iam.principal(kind, named: name.name) else {
            let known = iam.principals.filter { $0.kind == kind }.map(\.name).sorted()
            throw PrincipalError(message: "no \(kind.rawValue) \"\(name.name)\" in account \(accountName); known: \(known.joined(separator: ", "))")
        }
        // A group or policy that cannot be found is an error, never "no policies": what is
        // missing may hold a Deny.
        var names: [String] = principal.policies
        for group in principal.groups {
            guard let policies = iam.groups[group] else {
                throw PrincipalError(message: "\(urn) is in group \"\(group)\", which account \(accountName) does not have", kind: .unavailable)
            }
            names += policies
        }
        var seen: Set<String> = []
        let identity = try names.filter { seen.insert($0).inserted }.map { name throws(PrincipalError) in
            guard let policy = iam.policies[name] else {
                throw PrincipalError(
                    message: "policy \"\(name)\" of \(urn) cannot be found or read; it is not decided without it", kind: .unavailable)
            }
            return policy
        }
        let accountID = node?.id ?? accountKey
        let canonical = principal.urn(accountID: accountID)
        var context: [String: String] = [
            "g:PrincipalUrn": canonical, "g:PrincipalId": principal.id, "g:PrincipalAccount": accountID,
            "g:DomainId": accountID, "g:DomainName": accountName,
        ]
        if kind == .user {
            context["g:UserName"] = principal.name
            context["g:UserId"] = principal.id
        }
        for (key, value) in principal.tags { context["g:PrincipalTag/\(key)"] = value }
        // An agency named as a principal decides as a session of it would; IAM users are never the root user.
        context["g:PrincipalType"] = kind == .user ? "User" : "AssumedAgency"
        context["g:PrincipalIsRootUser"] = "false"
        if let node, !organizationID.isEmpty {
            context["g:PrincipalOrgId"] = organizationID
            context["g:PrincipalOrgPath"] = organizationPath(of: node)
            if let management = managementAccount, let m = nodes[management] {
                context["g:PrincipalOrgManagementAccountId"] = m.id
            }
        }
        let levels = scps ? try node.map { node throws(PrincipalError) in try scpLevels(for: node) } ?? [] : []
        return ResolvedPrincipal(
            principal: principal, account: node, urn: canonical,
            policies: PolicySet(identityPolicies: identity, scpLevels: levels), principalContext: context)
    }
}

extension ResolvedPrincipal {
    /// The same principal deciding under the SCP levels `levels` (its account's path).
    public func with(scpLevels levels: [[NamedPolicy]]) -> ResolvedPrincipal {
        var copy = self
        copy.policies.scpLevels = levels
        return copy
    }

    /// The request context with the principal's keys filled in where the caller gave none.
    public func context(adding given: RequestContext) -> RequestContext {
        given.filling(from: defaultContext)
    }
}
