public import BulwarkCatalog
import BulwarkEngine
import BulwarkOrganization
public import BulwarkWorkspace

/// Access granted and never used (SPEC §14, `bulwark unused`): per principal of a workspace,
/// the actions its effective access grants (as `bulwark access` computes it) that no
/// successful traced call in the window needed.
public struct TraceUsage: Sendable {
    /// Actions used, by principal URN (folded names).
    private var used: [String: Set<String>] = [:]

    public init() {}

    /// Counts a decided trace: a successful call (2xx/3xx) uses every action it needed.
    public mutating func record(_ decision: TraceDecision, succeeded: Bool) {
        guard succeeded else { return }
        for action in decision.actions { used[decision.principal, default: []].insert(action.lowercased()) }
    }

    /// One principal's granted actions, split into used and unused.
    public struct PrincipalUsage: Sendable {
        public let principal: String
        /// Granted and never used, with what grants them.
        public let unused: [ActionAccess]
        /// Granted and used.
        public let used: [ActionAccess]
    }

    /// Every principal of the workspace (users and agencies, by account and name), in URN order.
    public func report(_ workspace: Workspace, catalog: Catalog) throws(TraceReportError) -> [PrincipalUsage] {
        var out: [PrincipalUsage] = []
        for (accountName, iam) in workspace.organization.accounts.sorted(by: { $0.key < $1.key }) {
            for principal in iam.principals {
                let urn = "iam::\(accountName):\(principal.kind.rawValue):\(principal.name)"
                let resolved: ResolvedPrincipal
                do { resolved = try workspace.organization.resolve(principal: urn) } catch {
                    // A principal whose policies cannot be read has unknown access: never "nothing unused".
                    throw TraceReportError(message: error.message)
                }
                let granted = EffectiveAccess.compute(resolved.policies, catalog: catalog)
                let usedActions = used[resolved.urn] ?? []
                let (hit, miss) = granted.reduce(into: ([ActionAccess](), [ActionAccess]())) { split, access in
                    if usedActions.contains(access.action.name.lowercased()) { split.0.append(access) } else { split.1.append(access) }
                }
                out.append(PrincipalUsage(principal: resolved.urn, unused: miss, used: hit))
            }
        }
        return out.sorted { $0.principal < $1.principal }
    }
}

/// A principal whose access cannot be computed.
public struct TraceReportError: Error, Sendable {
    public let message: String
}
