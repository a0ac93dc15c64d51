public import BulwarkPolicy

/// Who asks to assume an agency, as the `Principal` of a trust policy sees it (SPEC §10).
public struct TrustCaller: Sendable, Hashable {
    /// The caller's account id: an `IAM` entry naming it matches any principal of that account.
    public let accountID: String
    /// The URNs that name the caller exactly: a user's `iam::ACCOUNT:user:NAME`; for a session,
    /// its agency's `iam::ACCOUNT:agency:NAME` (a trust policy names agencies, not sessions)
    /// and the session's own `sts::ACCOUNT:assumed-agency:NAME/SESSION`.
    public let urns: [String]

    public init(accountID: String, urns: [String]) {
        self.accountID = accountID
        self.urns = urns
    }
}

extension PrincipalElement {
    /// Whether the element names `caller`. Entries compare exactly (account ids and URNs as
    /// Huawei writes them); `Service` entries never name an IAM caller; `NotPrincipal` names
    /// every caller its entries do not.
    public func names(_ caller: TrustCaller) -> Bool {
        let listed = isWildcard || iam.contains { $0.text == caller.accountID || caller.urns.contains($0.text) }
        return listed != isNegated
    }
}

/// Decides the trust-policy step of an assume (SPEC §10 step 2, and step 3 for
/// `sts::tagSession` / `sts::setSourceIdentity`): a matching `Deny` refuses it
/// (`trust_denied`, every matching `Deny` in `matched`); otherwise a matching `Allow`
/// allows it (`allowed`, every matching `Allow`); otherwise `not_trusted`.
/// A statement matches when its principal names the caller and its action, resource (the
/// agency's URN; absent means any) and conditions match the request.
public struct TrustEvaluator: Sendable {
    public let policy: NamedPolicy
    public let scope: VariableScope

    public init(policy: NamedPolicy, scope: VariableScope = .none) {
        self.policy = policy
        self.scope = scope
    }

    public func authorize(_ request: AuthorizationRequest, caller: TrustCaller) -> AuthorizationResult {
        var denies: [DeterminingStatement] = []
        var allows: [DeterminingStatement] = []
        for statement in policy.policy.statements {
            // A statement without a principal cannot pass the trust grammar; it names nobody.
            guard let principal = statement.principal, principal.names(caller), statement.matches(request, scope: scope) else { continue }
            let reference = DeterminingStatement(
                policyID: policy.id, statementIndex: statement.index, sid: statement.sid, effect: statement.effect, scpLevel: nil)
            if statement.effect == .deny { denies.append(reference) } else { allows.append(reference) }
        }
        if !denies.isEmpty { return AuthorizationResult(decision: .deny, reason: .trustDenied, matched: denies, scpLevel: nil) }
        if allows.isEmpty { return AuthorizationResult(decision: .deny, reason: .notTrusted, matched: [], scpLevel: nil) }
        return AuthorizationResult(decision: .allow, reason: .allowed, matched: allows, scpLevel: nil)
    }
}
