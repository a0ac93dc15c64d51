public import BulwarkEngine
import BulwarkJSON
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
    /// Identity Allows, then each SCP level's Allows, then the session policies' Allows (when
    /// given): a request needs a match in every group.
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
        // Session policies (SPEC §10) are one more group a request needs an Allow in.
        if let session = policies.sessionPolicies {
            let all = session.flatMap { entries($0, level: nil) }
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
    func allows(_ request: AuthorizationRequest, scope: VariableScope) -> Bool {
        reference.scoped(scope).authorize(withFixedKeys(request)).decision == .allow
    }

    func withFixedKeys(_ request: AuthorizationRequest) -> AuthorizationRequest {
        guard !fixedContext.isEmpty else { return request }
        return AuthorizationRequest(action: request.action, resource: request.resource, context: request.context.filling(from: fixedContext))
    }

    /// The granting Allows that match `request`.
    func grants(_ request: AuthorizationRequest, scope: VariableScope) -> [DeterminingStatement] {
        let full = withFixedKeys(request)
        return grantingAllows.filter { $0.statement.matches(full, scope: scope) }.map(\.origin)
    }

    /// Every statement whose Action/NotAction covers `foldedAction`, policy variables substituted
    /// from the keys this side fixes; a statement that can never match (a variable that does not
    /// resolve) is left out. A variable whose key the side does not fix cannot be analysed exactly.
    func statements(for foldedAction: String, scope: VariableScope) throws(AnalysisLimit) -> Relevant {
        // A pattern covers the action when it matches its name or one of its aliases.
        let names = [foldedAction] + (scope.actionAliases[foldedAction] ?? [])
        func covers(_ e: Entry) -> Bool { e.statement.actions.covers(anyOf: names) }
        func substituted(_ entries: [Entry]) throws(AnalysisLimit) -> [Entry] {
            var out: [Entry] = []
            for e in entries where covers(e) {
                guard e.statement.hasVariables else {
                    out.append(e)
                    continue
                }
                if let statement = try VariableFixing.substitute(e.statement, fixed: fixedContext, scope: scope) {
                    out.append(Entry(statement: statement, origin: e.origin))
                }
            }
            return out
        }
        var groups: [[Entry]] = []
        for group in allowGroups { groups.append(try substituted(group)) }
        return Relevant(groups: groups, denies: try substituted(denies))
    }
}

/// Policy variables for analysis: substituted where the side fixes the key, otherwise the
/// question has no exact answer (SPEC §8: `unknown`, naming the variable).
enum VariableFixing {
    /// The statement with every variable replaced; nil when one does not resolve in a way that
    /// makes the statement never match (a NotResource pattern or a condition value).
    static func substitute(_ statement: Statement, fixed: RequestContext, scope: VariableScope) throws(AnalysisLimit) -> Statement? {
        func text(_ template: PolicyTemplate, _ written: String) throws(AnalysisLimit) -> String? {
            for variable in template.variables where fixed.values(normalizedKey: variable.normalizedKey) == nil {
                throw AnalysisLimit(
                    "policy variable \(variable.written) in \(JSONWriter.quoted(written)) depends on \(variable.key), which the request decides, so the access it grants is not fixed"
                )
            }
            let substitution = template.substitute(in: fixed, scope: scope)
            if substitution.unresolved != nil { return nil }
            // Inserted `*`/`?` are literal, but analysis reads pattern texts: not expressible here.
            if substitution.chunks.contains(where: { !$0.isPolicyText && $0.text.unicodeScalars.contains { $0 == "*" || $0 == "?" } }) {
                throw AnalysisLimit("policy variable in \(JSONWriter.quoted(written)) inserts a literal * or ?, which the analysis cannot express")
            }
            return substitution.text
        }
        var copy = statement
        if var resources = statement.resources, resources.hasVariables {
            var patterns: [Pattern] = []
            for p in resources.patterns {
                guard let template = p.template else {
                    patterns.append(p)
                    continue
                }
                guard let t = try text(template, p.text) else {
                    if resources.isNegated { return nil }
                    continue  // a Resource pattern that matches nothing
                }
                patterns.append(Pattern(text: t, glob: GlobPattern(t), span: p.span))
            }
            resources.patterns = patterns
            copy.resources = resources
        }
        var clauses: [ConditionClause] = []
        for clause in statement.conditions {
            guard clause.hasVariables else {
                clauses.append(clause)
                continue
            }
            var values: [ConditionLiteral] = []
            for value in clause.values {
                guard let template = value.template else {
                    values.append(value)
                    continue
                }
                guard let t = try text(template, value.value.text) else { return nil }
                values.append(ConditionLiteral(value: .string(t), span: value.span))
            }
            clauses.append(
                ConditionClause(
                    operatorName: clause.operatorName, key: clause.key, values: values, valuesWereScalar: clause.valuesWereScalar,
                    operatorSpan: clause.operatorSpan, span: clause.span))
        }
        copy.conditions = clauses
        return copy
    }
}
