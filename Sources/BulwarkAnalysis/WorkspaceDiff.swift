import BulwarkPolicy
import BulwarkWorkspace

/// `bulwark diff --workspace OLD NEW`: every principal of either workspace, compared
/// with its identity policies, groups, SCP path and principal keys on each side.
public enum WorkspaceDiff {
    public struct PrincipalDifference: Sendable {
        /// The principal's URN (`iam::ACCOUNT_ID:user:NAME`).
        public let principal: String
        public let difference: AccessDifference
    }

    public static func compare(old: Workspace, new: Workspace, analyzer: PolicyAnalyzer) -> [PrincipalDifference] {
        var names = Set<String>()
        for ws in [old, new] {
            for (account, iam) in ws.accounts {
                for p in iam.principals { names.insert("iam::\(account):\(p.kind.rawValue):\(p.name)") }
            }
        }
        var results: [PrincipalDifference] = []
        for name in names.sorted() {
            let before = try? old.resolve(principal: name)
            let after = try? new.resolve(principal: name)
            let diff = analyzer.difference(old: model(before), new: model(after))
            results.append(PrincipalDifference(principal: (after ?? before)!.urn, difference: diff))
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
