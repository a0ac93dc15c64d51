public import BulwarkEngine
public import BulwarkPolicy

/// What decides requests on one side of a comparison: the policy set, read as
/// "every allow group has a matching Allow, and no Deny matches" (SPEC §3 without
/// the reasons, which analysis does not need).
public struct AccessModel: Sendable {
    /// A statement with where it came from (a class: entries are filtered per action, and copying
    /// a whole statement per filter would retain every one of its fields).
    final class Entry: Sendable {
        let statement: Statement
        let origin: DeterminingStatement

        init(statement: Statement, origin: DeterminingStatement) {
            self.statement = statement
            self.origin = origin
        }
    }

    /// The statements that cover one action.
    struct Relevant {
        let groups: [[Entry]]
        let denies: [Entry]
    }

    /// The policies, for checking examples with the reference evaluator.
    public let policies: PolicySet
    /// Built once: every region's example is checked against it.
    let reference: ReferenceAuthorizer
    /// Keys whose values the side fixes (a workspace principal's `g:Principal*`); nil for none.
    public let fixedContext: RequestContext
    /// Identity Allows, then each SCP level's Allows: a request needs a match in every group.
    let allowGroups: [[Entry]]
    let denies: [Entry]
    /// Allows a person would name as granting access (not the stand-in identity policy of an SCP check).
    let grantingAllows: [Entry]

    /// Identity policies and SCP levels as the engine evaluates them.
    public init(policies: PolicySet, fixedContext: RequestContext = RequestContext()) {
        self.init(policies: policies, fixedContext: fixedContext, grantingFromSCPs: false)
    }

    private init(policies: PolicySet, fixedContext: RequestContext, grantingFromSCPs: Bool) {
        self.policies = policies
        reference = ReferenceAuthorizer(policies: policies)
        self.fixedContext = fixedContext
        func entries(_ policy: NamedPolicy, level: Int?) -> [Entry] {
            policy.policy.statements.map {
                Entry(
                    statement: $0,
                    origin: DeterminingStatement(
                        policyID: policy.id, statementIndex: $0.index, sid: $0.sid, effect: $0.effect, scpLevel: level))
            }
        }
        let identity = policies.identityPolicies.flatMap { entries($0, level: nil) }
        var groups = [identity.filter { $0.statement.effect == .allow }]
        var denies = identity.filter { $0.statement.effect == .deny }
        for (k, level) in policies.scpLevels.enumerated() {
            let all = level.flatMap { entries($0, level: k) }
            groups.append(all.filter { $0.statement.effect == .allow })
            denies += all.filter { $0.statement.effect == .deny }
        }
        allowGroups = groups
        self.denies = denies
        grantingAllows = grantingFromSCPs ? Array(groups.dropFirst().joined()) : groups[0]
    }

    /// One policy alone, as an identity policy (`.identity`) or as the only SCP level under an
    /// identity policy that allows everything (`.scp`).
    public static func single(_ policy: NamedPolicy, asSCP: Bool) -> AccessModel {
        guard asSCP else { return AccessModel(policies: PolicySet(identityPolicies: [policy])) }
        // A constant policy that the analysis tests parse on every run: `try!` cannot fail.
        let everything = try! PolicyParser.parse(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        return AccessModel(
            policies: PolicySet(identityPolicies: [NamedPolicy(id: "(identity allows all)", policy: everything)], scpLevels: [[policy]]),
            fixedContext: RequestContext(), grantingFromSCPs: true)
    }

    /// Nothing at all: no principal, or no policies.
    public static let nothing = AccessModel(policies: PolicySet(identityPolicies: []))

    /// Whether the side allows `request`, by the reference evaluator with the fixed keys added.
    func allows(_ request: AuthorizationRequest) -> Bool {
        reference.authorize(withFixedKeys(request)).decision == .allow
    }

    func withFixedKeys(_ request: AuthorizationRequest) -> AuthorizationRequest {
        guard !fixedContext.isEmpty else { return request }
        return AuthorizationRequest(action: request.action, resource: request.resource, context: request.context.filling(from: fixedContext))
    }

    /// The granting Allows that match `request`.
    func grants(_ request: AuthorizationRequest) -> [DeterminingStatement] {
        let full = withFixedKeys(request)
        return grantingAllows.filter { $0.statement.matches(full) }.map(\.origin)
    }

    /// Every statement whose Action/NotAction covers `foldedAction`.
    func statements(for foldedAction: String) -> Relevant {
        func covers(_ e: Entry) -> Bool { (e.statement.actions.firstMatch(foldedAction) != nil) != e.statement.actions.isNegated }
        return Relevant(groups: allowGroups.map { $0.filter(covers) }, denies: denies.filter(covers))
    }
}
