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
}
