public import BulwarkOrganization
import BulwarkPolicy

/// `bulwark diff --workspace OLD NEW`: every principal of either organization, compared
/// with its identity policies, groups, SCP path and principal keys on each side.
public enum WorkspaceDiff {
    public struct PrincipalDifference: Sendable {
        /// The principal's URN (`iam::ACCOUNT_ID:user:NAME`).
        public let principal: String
        public let difference: AccessDifference
    }

    public static func compare(old: Organization, new: Organization, analyzer: PolicyAnalyzer) -> [PrincipalDifference] {
        var names = Set<String>()
        for ws in [old, new] {
            for (account, iam) in ws.accounts {
                for p in iam.principals { names.insert("iam::\(account):\(p.kind.rawValue):\(p.name)") }
            }
        }
        var results: [PrincipalDifference] = []
        for name in names.sorted() {
            // A principal absent from one side has no access there; one that is present but
            // cannot be resolved (a policy or SCP it needs is missing) makes the answer unknown,
            // never "no access" and never "equivalent".
            func side(_ ws: Organization) -> Result<ResolvedPrincipal?, PrincipalError> {
                do { return .success(try ws.resolve(principal: name)) } catch {
                    return error.kind == .notFound ? .success(nil) : .failure(error)
                }
            }
            switch (side(old), side(new)) {
            case (.success(let before), .success(let after)):
                guard let urn = (after ?? before)?.urn else { continue }
                results.append(PrincipalDifference(principal: urn, difference: analyzer.difference(old: model(before), new: model(after))))
            case (.failure(let error), _), (_, .failure(let error)):
                let undecided = UndecidedAction(action: "every action", reason: error.message)
                results.append(PrincipalDifference(principal: name, difference: AccessDifference(added: [], removed: [], undecided: [undecided])))
            }
        }
        return results.sorted { $0.principal < $1.principal }
    }

    /// `different` when any principal differs; else `unknown` when any is undecided.
    public static func verdict(_ results: [PrincipalDifference]) -> AccessDifference.Verdict {
        let verdicts = results.map(\.difference.verdict)
        if verdicts.contains(.different) { return .different }
        return verdicts.contains(.unknown) ? .unknown : .equivalent
    }

    /// A resolved principal as an access model: its policies, with its principal keys fixed.
    public static func model(_ resolved: ResolvedPrincipal?) -> AccessModel {
        guard let resolved else { return .nothing }
        var fixed = RequestContext()
        for (k, v) in resolved.principalContext { fixed.set(k, [.string(v)]) }
        return AccessModel(policies: resolved.policies, fixedContext: fixed)
    }
}
