public import BulwarkCatalog
import BulwarkEngine
import BulwarkPolicy

/// An agency a principal can reach by assuming agencies, one after another (SPEC §10).
public struct AgencyReach: Sendable {
    /// The agencies assumed on the way, first to last; the last is the one reached.
    public let chain: [String]
    /// The session at the end of the chain (named `bulwark-access`), what its requests decide with.
    public let session: ResolvedPrincipal
    /// True when some step is allowed only under conditions: not with the caller's own keys
    /// alone, but by statements whose conditions some request could meet.
    public let conditional: Bool
}

extension Organization {
    /// The session name reachability assumes with.
    public static let reachSessionName = "bulwark-access"

    /// Every agency of the organization `caller` can reach, each by its shortest chain
    /// (breadth first; an agency is visited once, so cycles end). A step counts when the assume
    /// is allowed with the caller's principal keys alone, or — `conditional` — when it could be
    /// allowed under some context: an identity and trust `Allow` match once conditions are set
    /// aside, every SCP level has such an `Allow`, and no unconditional `Deny` matches. This
    /// over-approximates conditional steps, never under-reports them. Agencies whose trust
    /// policy cannot be read are listed in `problems`, not silently skipped.
    public func reachableAgencies(from caller: ResolvedPrincipal, catalog: Catalog? = nil) -> (reached: [AgencyReach], problems: [String]) {
        let agencies = accounts.keys.sorted().flatMap { account in
            accounts[account]!.principals.filter { $0.kind == .agency }.map { (account, $0) }
        }
        var reached: [AgencyReach] = []
        var problems: [String] = []
        var visited: Set<String> = []
        if caller.session == nil, caller.principal.kind == .agency { visited.insert(caller.urn) }
        if let session = caller.session { visited.insert(session.agencyURN) }
        var frontier: [(session: ResolvedPrincipal, chain: [String], conditional: Bool)] = [(caller, [], false)]
        while !frontier.isEmpty {
            var next: [(session: ResolvedPrincipal, chain: [String], conditional: Bool)] = []
            var found: [String: (session: ResolvedPrincipal, chain: [String], conditional: Bool)] = [:]
            for current in frontier {
                for (account, agency) in agencies {
                    let urn = "iam::\(self.account(account)?.id ?? account):agency:\(agency.name)"
                    guard !visited.contains(urn) else { continue }
                    let request = SessionRequest(agency: urn, sessionName: Self.reachSessionName)
                    do {
                        let (step, session) = try assume(request, by: current.session, catalog: catalog)
                        if let session {
                            let candidate = (session, current.chain + [step.agency], current.conditional)
                            // Within one level an unconditional path wins.
                            if found[urn].map({ $0.conditional && !current.conditional }) ?? true { found[urn] = candidate }
                        } else if try couldAssume(urn, by: current.session, catalog: catalog) {
                            let agencyPrincipal = try resolve(principal: urn)
                            let sessionURN = step.session
                            let session = self.session(of: agencyPrincipal, urn: sessionURN, request: request, caller: current.session)
                            if found[urn] == nil { found[urn] = (session, current.chain + [step.agency], true) }
                        }
                    } catch {
                        if !problems.contains(error.message) { problems.append(error.message) }
                    }
                }
            }
            for (urn, entry) in found.sorted(by: { $0.key < $1.key }) {
                visited.insert(urn)
                reached.append(AgencyReach(chain: entry.chain, session: entry.session, conditional: entry.conditional))
                next.append(entry)
            }
            frontier = next
        }
        return (reached, problems)
    }

    /// Whether some context could let `caller` assume the agency: every step of SPEC §10 with
    /// conditions set aside for `Allow` statements and only unconditional `Deny` statements counted.
    private func couldAssume(_ agencyURN: String, by caller: ResolvedPrincipal, catalog: Catalog?) throws(PrincipalError) -> Bool {
        let agency = try resolve(principal: agencyURN)
        guard let name = agency.principal.trustPolicy else { return false }
        guard let trust = accounts[agency.principal.account]?.trustPolicies[name] else {
            throw PrincipalError(message: "trust policy \"\(name)\" of \(agency.urn) cannot be found or read", kind: .unavailable)
        }
        let request = AuthorizationRequest(action: Self.assumeAction, resource: agency.urn, context: caller.defaultContext)
        let scope = catalog.map(VariableScope.init(catalog:)) ?? .none
        func couldMatch(_ s: Statement) -> Bool {
            switch s.mismatch(for: request, scope: scope) {
            case nil, .condition: true
            default: false
            }
        }
        func denies(_ s: Statement) -> Bool { s.effect == .deny && s.conditions.isEmpty && s.mismatch(for: request, scope: scope) == nil }
        func allows(_ policies: [NamedPolicy]) -> Bool {
            policies.contains { $0.policy.statements.contains { $0.effect == .allow && couldMatch($0) } }
        }
        let sets = caller.policies
        let everything = sets.identityPolicies + sets.scpLevels.flatMap { $0 } + (sets.sessionPolicies ?? [])
        if everything.contains(where: { $0.policy.statements.contains(where: denies) }) { return false }
        guard allows(sets.identityPolicies), sets.scpLevels.allSatisfy(allows), sets.sessionPolicies.map(allows) ?? true else { return false }
        let names = caller.trustCaller
        let trustStatements = trust.policy.statements.filter { $0.principal?.names(names) == true }
        if trustStatements.contains(where: denies) { return false }
        return trustStatements.contains { $0.effect == .allow && couldMatch($0) }
    }
}
