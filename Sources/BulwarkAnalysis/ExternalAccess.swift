import BulwarkCatalog
public import BulwarkEngine
import BulwarkJSON
public import BulwarkOrganization
import BulwarkPolicy

/// `bulwark check external-access`: statements that let a principal share with, or
/// grant to, accounts outside the organization.
public enum ExternalAccess {
    /// One principal's access to an outside target, with the statements that let it through.
    public struct Finding: Sendable {
        public let principal: String
        public let region: AccessRegion
        /// The allowing statements on the way: identity policy, then each SCP level.
        public let path: [DeterminingStatement]
    }

    /// What "inside the organization" means for each target key the catalog has, as a
    /// condition in the policy language (the engine then decides it like any other).
    static func insideConditions(_ organization: Organization) -> [String: String] {
        let orgPattern = organization.organizationID.isEmpty ? [] : ["\(organization.organizationID)/*"]
        let accountIDs = organization.nodes.values.filter { $0.kind == .account }.map(\.id).sorted()
        let orgIDs = organization.organizationID.isEmpty ? [] : [organization.organizationID]
        func list(_ values: [String]) -> String { "[" + values.map(JSONWriter.quoted).joined(separator: ",") + "]" }
        return [
            "swr:TargetAccountId": #"{"StringEquals":{"swr:TargetAccountId":\#(list(accountIDs))}}"#,
            "swr:TargetOrgPath": #"{"StringMatch":{"swr:TargetOrgPath":\#(list(orgPattern))}}"#,
            "swr:TargetOrgId": #"{"StringEquals":{"swr:TargetOrgId":\#(list(orgIDs))}}"#,
            "ims:TargetOrgPaths": #"{"ForAllValues:StringMatch":{"ims:TargetOrgPaths":\#(list(orgPattern))}}"#,
        ]
    }

    public static func check(
        _ organization: Organization, analyzer: PolicyAnalyzer
    ) -> (findings: [Finding], undecided: [UndecidedAction]) {
        let inside = insideConditions(organization)
        let cache = AnalysisCache()
        var findings: [Finding] = []
        var undecided: [UndecidedAction] = []
        let principals = organization.accounts.keys.sorted().flatMap { account in
            organization.accounts[account]!.principals.map { "iam::\(account):\($0.kind.rawValue):\($0.name)" }
        }
        for name in principals {
            let resolved: ResolvedPrincipal
            do { resolved = try organization.resolve(principal: name) } catch {
                // What cannot be resolved cannot be shown to stay inside: unknown, not PASS.
                undecided.append(UndecidedAction(action: "every action for \(name)", reason: error.message))
                continue
            }
            let model = WorkspaceDiff.model(resolved)
            for action in analyzer.catalog.allActions {
                let keys = action.conditionKeys.filter { inside[$0] != nil }
                guard !keys.isEmpty else { continue }
                var clauses: [ConditionClause] = []
                do {
                    for key in keys {
                        let text = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Condition":\#(inside[key]!)}]}"#
                        clauses += try PolicyParser.parse(text).statements[0].conditions
                    }
                } catch {
                    // "Inside the organization" could not be stated: the answer is unknown, not PASS.
                    undecided.append(UndecidedAction(action: "\(action.name) for \(resolved.urn)", reason: "\(error)"))
                    continue
                }
                do throws(AnalysisLimit) {
                    for region in try analyzer.outsideAccess(model, action: action, inside: clauses, cache: cache) {
                        findings.append(Finding(principal: resolved.urn, region: region, path: path(region.example, model: model)))
                    }
                } catch {
                    undecided.append(UndecidedAction(action: "\(action.name) for \(resolved.urn)", reason: error.reason))
                }
            }
        }
        return (findings, undecided)
    }

    /// The matching Allow statements of every group, identity first, for the example request.
    private static func path(_ request: AuthorizationRequest, model: AccessModel) -> [DeterminingStatement] {
        let full = model.withFixedKeys(request)
        return model.reference.explain(full)
            .filter { $0.matched && $0.statement.effect == .allow }.map(\.statement)
    }

    // MARK: Agencies

    /// An agency whose trust policy lets a principal outside the organization assume it.
    public struct TrustExposure: Sendable {
        /// The agency's URN.
        public let agency: String
        /// Who from outside: "any principal outside the organization", or a named account or URN.
        public let outsider: String
        /// The trust statement that lets it in.
        public let statement: DeterminingStatement
    }

    /// Keys that describe who the caller is: a trust condition on them is decided for the
    /// outsider. Every other key (sts:ExternalId, g:SourceIp, session tags …) the caller
    /// controls, so a condition on it may hold — an external id is how third parties get in.
    static let callerIdentityKeys: Set<String> = [
        "g:principalorgid", "g:principalorgpath", "g:principalorgmanagementaccountid", "g:principalaccount", "g:principalurn",
        "g:domainid", "g:principalid", "g:principaltype", "g:principalisrootuser",
    ]

    /// Agencies of the organization that some principal outside it can assume (SPEC §10): a
    /// trust `Allow` for `sts:agencies:assume` names the outsider and its conditions can hold,
    /// and no trust `Deny` is sure to refuse it. Outsiders tried: an account outside any
    /// organization, one in another organization, and every account or principal URN the trust
    /// policy names that is not in this organization. An agency whose trust policy cannot be
    /// read is undecided, never "safe".
    public static func trustExposures(_ organization: Organization) -> (exposures: [TrustExposure], undecided: [UndecidedAction]) {
        let inside = Set(organization.nodes.values.filter { $0.kind == .account }.map(\.id))
        var exposures: [TrustExposure] = []
        var undecided: [UndecidedAction] = []
        for account in organization.accounts.keys.sorted() {
            let iam = organization.accounts[account]!
            let accountID = organization.account(account)?.id ?? account
            for agency in iam.principals where agency.kind == .agency {
                let urn = "iam::\(accountID):agency:\(agency.name)"
                guard let name = agency.trustPolicy else { continue }  // no trust policy: nobody may assume it
                guard let trust = iam.trustPolicies[name] else {
                    undecided.append(UndecidedAction(action: "assuming \(urn)", reason: "its trust policy \"\(name)\" cannot be read"))
                    continue
                }
                for (outsider, caller, context) in outsiders(of: trust.policy, inside: inside) {
                    let request = AuthorizationRequest(action: Organization.assumeAction, resource: urn, context: context)
                    let named = trust.policy.statements.filter { $0.principal?.names(caller) == true && couldMatch($0, request) }
                    // A Deny refuses for sure only when each of its conditions is about who the caller is, and holds.
                    let refused = named.contains { s in
                        s.effect == .deny && s.conditions.allSatisfy { callerIdentityKeys.contains($0.normalizedKey) && $0.holds(in: context) }
                    }
                    guard !refused else { continue }
                    let letIn = named.first { s in
                        s.effect == .allow && s.conditions.allSatisfy { !callerIdentityKeys.contains($0.normalizedKey) || $0.holds(in: context) }
                    }
                    if let letIn {
                        exposures.append(
                            TrustExposure(
                                agency: urn, outsider: outsider,
                                statement: DeterminingStatement(
                                    policyID: trust.id, statementIndex: letIn.index, sid: letIn.sid, effect: letIn.effect, scpLevel: nil)))
                        break  // one outsider is enough to fail the check for this agency
                    }
                }
            }
        }
        return (exposures, undecided)
    }

    /// Action and resource match; conditions are judged by the caller.
    private static func couldMatch(_ statement: Statement, _ request: AuthorizationRequest) -> Bool {
        switch statement.mismatch(for: request) {
        case nil, .condition: true
        default: false
        }
    }

    /// The outsiders to try against a trust policy, with how they are named and their keys.
    private static func outsiders(of policy: Policy, inside: Set<String>) -> [(String, TrustCaller, RequestContext)] {
        func keys(_ account: String, _ urn: String, org: (id: String, path: String)?) -> RequestContext {
            var entries: [String: [ScalarValue]] = [
                "g:PrincipalAccount": [.string(account)], "g:DomainId": [.string(account)], "g:PrincipalUrn": [.string(urn)],
                "g:PrincipalType": [.string("User")], "g:PrincipalIsRootUser": [.string("false")],
            ]
            if let org {
                entries["g:PrincipalOrgId"] = [.string(org.id)]
                entries["g:PrincipalOrgPath"] = [.string(org.path)]
            }
            return RequestContext(entries)
        }
        let lone = "outside0account"
        let member = "elsewhere0account"
        var out: [(String, TrustCaller, RequestContext)] = [
            (
                "any principal of an account outside every organization", TrustCaller(accountID: lone, urns: ["iam::\(lone):user:someone"]),
                keys(lone, "iam::\(lone):user:someone", org: nil)
            ),
            (
                "any principal of an account in another organization",
                TrustCaller(accountID: member, urns: ["iam::\(member):user:someone"]),
                keys(member, "iam::\(member):user:someone", org: ("o-elsewhere", "o-elsewhere/r-elsewhere/\(member)"))
            ),
        ]
        var named: [String] = []
        for statement in policy.statements {
            for entry in statement.principal?.iam ?? [] where !named.contains(entry.text) { named.append(entry.text) }
        }
        for entry in named {
            let fields = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if fields.count == 5, fields[0] == "iam", !inside.contains(fields[2]) {
                out.append(
                    (
                        "\(entry) (account \(fields[2]) is outside the organization)", TrustCaller(accountID: fields[2], urns: [entry]),
                        keys(fields[2], entry, org: nil)
                    ))
            } else if fields.count == 1, !inside.contains(entry) {
                let urn = "iam::\(entry):user:someone"
                out.append(
                    (
                        "any principal of account \(entry), outside the organization", TrustCaller(accountID: entry, urns: [urn]),
                        keys(entry, urn, org: nil)
                    ))
            }
        }
        return out
    }
}
