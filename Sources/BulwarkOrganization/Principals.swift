import BulwarkEngine
import BulwarkPolicy

/// A principal of the workspace resolved to what decides its requests.
public struct ResolvedPrincipal: Sendable {
    public let principal: Principal
    public let account: OrganizationNode?
    public let urn: String
    /// Its own policies and its groups' policies, then the SCP path of its account.
    public let policies: PolicySet
    /// Keys the gateway or IAM would fill for this principal (g:PrincipalUrn, g:PrincipalOrgPath, ...).
    public let principalContext: [String: String]
    /// The same keys as a request context, parsed once.
    public let defaultContext: RequestContext

    init(principal: Principal, account: OrganizationNode?, urn: String, policies: PolicySet, principalContext: [String: String]) {
        self.principal = principal
        self.account = account
        self.urn = urn
        self.policies = policies
        self.principalContext = principalContext
        self.defaultContext = RequestContext(principalContext.mapValues { [.string($0)] })
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
    }

    public let message: String
    public let kind: Kind
    public var description: String { message }

    public init(message: String, kind: Kind = .notFound) {
        self.message = message
        self.kind = kind
    }
}

extension Organization {
    /// `iam::ACCOUNT-ID:KIND:NAME` for a principal URN whose account is given by id or name;
    /// nil when it is not a principal URN of a known account.
    public func canonicalURN(of urn: String) -> String? {
        let parts = urn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "iam", parts[1].isEmpty, let node = account(String(parts[2])) else { return nil }
        return "iam::\(node.id):\(parts[3]):\(parts[4])"
    }

    /// Resolves `iam::ACCOUNT:user:NAME` or `iam::ACCOUNT:agency:NAME` (ACCOUNT: id or name).
    public func resolve(principal urn: String) throws(PrincipalError) -> ResolvedPrincipal {
        let parts = urn.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "iam", parts[1].isEmpty, let kind = Principal.Kind(rawValue: parts[3]) else {
            throw PrincipalError(message: "\(urn) is not a principal URN; write iam::ACCOUNT:user:NAME or iam::ACCOUNT:agency:NAME")
        }
        let accountKey = parts[2]
        let node = account(accountKey)
        let accountName = node?.name ?? accountKey
        guard let iam = accounts[accountName] else {
            throw PrincipalError(message: "unknown account \"\(accountKey)\"; known: \(accounts.keys.sorted().joined(separator: ", "))")
        }
        guard let principal = iam.principals.first(where: { $0.kind == kind && $0.name == parts[4] }) else {
            let known = iam.principals.filter { $0.kind == kind }.map(\.name).sorted()
            throw PrincipalError(message: "no \(kind.rawValue) \"\(parts[4])\" in account \(accountName); known: \(known.joined(separator: ", "))")
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
                throw PrincipalError(message: "policy \"\(name)\" of \(urn) cannot be found or read; it is not decided without it", kind: .unavailable)
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
        if let node, !organizationID.isEmpty {
            context["g:PrincipalOrgId"] = organizationID
            context["g:PrincipalOrgPath"] = organizationPath(of: node)
            if let management = managementAccount, let m = nodes[management] {
                context["g:PrincipalOrgManagementAccountId"] = m.id
            }
        }
        let levels = try node.map { node throws(PrincipalError) in try scpLevels(for: node) } ?? []
        return ResolvedPrincipal(
            principal: principal, account: node, urn: canonical,
            policies: PolicySet(identityPolicies: identity, scpLevels: levels), principalContext: context)
    }
}

extension ResolvedPrincipal {
    /// The request context with the principal's keys filled in where the caller gave none.
    public func context(adding given: RequestContext) -> RequestContext {
        given.filling(from: defaultContext)
    }
}
