import BulwarkJSON

/// What is being asked: may `action` be performed on `resource` in this context?
public struct AuthorizationRequest: Sendable {
    /// The action as given, e.g. `ims:images:get`.
    public let action: String
    /// The action case-folded, as action patterns compare it.
    public let foldedAction: String
    /// A resource URN, or `"*"` for actions without a resource type.
    public let resource: String
    public let context: RequestContext

    public init(action: String, resource: String = "*", context: RequestContext = RequestContext()) {
        self.action = action
        self.foldedAction = CaseFolding.lowercase(action)
        self.resource = resource
        self.context = context
    }
}

/// The first element of a statement that did not match a request.
public enum StatementMismatch: Sendable, Hashable {
    /// No `Action` pattern matches the action.
    case action
    /// The `NotAction` pattern at this index matches the action.
    case notAction(pattern: Int)
    /// No `Resource` pattern matches the resource.
    case resource
    /// The `NotResource` pattern at this index matches the resource.
    case notResource(pattern: Int)
    /// The `NotResource` pattern at this index has a policy variable that does not resolve, so
    /// the element does not match (SPEC §2).
    case unresolvedNotResource(pattern: Int)
    /// The condition at this index (in `Statement.conditions`) does not hold.
    case condition(clause: Int)
}

extension Statement {
    /// Nil when the statement matches the request, else its first failing element
    /// (checked in the order Action, Resource, Condition). Policy variables are substituted from
    /// the request context; `scope` names the keys that never resolve.
    public func mismatch(for request: AuthorizationRequest, scope: VariableScope = .none) -> StatementMismatch? {
        var actionHit = actions.firstMatch(request.foldedAction)
        if actionHit == nil && !scope.actionAliases.isEmpty, let others = scope.actionAliases[request.foldedAction] {
            // A pattern that covers another name of the same permission covers this one.
            actionHit = others.lazy.compactMap { actions.firstMatch($0) }.first
        }
        if actions.isNegated {
            if let i = actionHit { return .notAction(pattern: i) }
        } else if actionHit == nil {
            return .action
        }
        if let resources {
            let (hit, unresolved) = resources.matchResource(request.resource, context: request.context, scope: scope)
            if resources.isNegated {
                if let i = hit { return .notResource(pattern: i) }
                if let i = unresolved { return .unresolvedNotResource(pattern: i) }
            } else if hit == nil {
                return .resource
            }
        }
        for (i, clause) in conditions.enumerated() where !clause.holds(in: request.context, scope: scope) {
            return .condition(clause: i)
        }
        return nil
    }

    /// Whether the statement matches the request.
    public func matches(_ request: AuthorizationRequest, scope: VariableScope = .none) -> Bool {
        mismatch(for: request, scope: scope) == nil
    }

    /// Whether the statement holds policy variables in its Resource/NotResource or conditions.
    public var hasVariables: Bool {
        (resources?.hasVariables ?? false) || conditions.contains { $0.hasVariables }
    }

    /// Every policy variable use of the statement substituted in `context`: what explanations show.
    public func substitutions(in context: RequestContext, scope: VariableScope) -> [(span: SourceSpan, written: String, result: Substitution)] {
        var out: [(SourceSpan, String, Substitution)] = []
        for pattern in resources?.patterns ?? [] {
            if let template = pattern.template { out.append((pattern.span, pattern.text, template.substitute(in: context, scope: scope))) }
        }
        for clause in conditions {
            for value in clause.values {
                if let template = value.template { out.append((value.span, value.value.text, template.substitute(in: context, scope: scope))) }
            }
        }
        return out
    }

    /// Where a mismatch points and why, in words.
    public func describe(_ mismatch: StatementMismatch, for request: AuthorizationRequest, scope: VariableScope = .none) -> (
        span: SourceSpan, reason: String
    ) {
        func list(_ patterns: PatternList) -> String {
            "[" + patterns.patterns.map { JSONWriter.quoted($0.text) }.joined(separator: ", ") + "]"
        }
        switch mismatch {
        case .action:
            return (
                actions.span,
                "action \(JSONWriter.quoted(request.action)) matches none of the Action patterns \(list(actions))"
            )
        case .notAction(let i):
            let pattern = actions.patterns[i]
            return (
                pattern.span,
                "action \(JSONWriter.quoted(request.action)) is excluded by NotAction pattern \(JSONWriter.quoted(pattern.text))"
            )
        case .resource:
            let resources = resources!
            var reason = "resource \(JSONWriter.quoted(request.resource)) matches none of the Resource patterns \(list(resources))"
            let substituted = resources.patterns.compactMap { p in p.template.map { (p.text, $0.substitute(in: request.context, scope: scope)) } }
            if !substituted.isEmpty {
                reason += " (" + substituted.map { "\(JSONWriter.quoted($0.0)) → \($0.1.summary)" }.joined(separator: "; ") + ")"
            }
            return (resources.span, reason)
        case .notResource(let i):
            let pattern = resources!.patterns[i]
            return (
                pattern.span,
                "resource \(JSONWriter.quoted(request.resource)) is excluded by NotResource pattern \(JSONWriter.quoted(pattern.text))"
            )
        case .unresolvedNotResource(let i):
            let pattern = resources!.patterns[i]
            let variable = pattern.template?.substitute(in: request.context, scope: scope).unresolved
            return (
                pattern.span,
                "NotResource pattern \(JSONWriter.quoted(pattern.text)) uses \(variable?.written ?? "a variable"), which does not resolve, so NotResource does not match and the statement does not apply"
            )
        case .condition(let i):
            let clause = conditions[i]
            let span = clause.conditionOperator == nil ? clause.operatorSpan : clause.span
            return (span, clause.failureReason(in: request.context, scope: scope))
        }
    }
}

extension PatternList {
    /// For Resource/NotResource: the first pattern that matches `resource`, variables
    /// substituted from `context`, and the first pattern whose variable does not resolve
    /// (such a pattern matches no resource).
    public func matchResource(_ resource: String, context: RequestContext, scope: VariableScope) -> (hit: Int?, unresolved: Int?) {
        var unresolved: Int? = nil
        for (i, pattern) in patterns.enumerated() {
            guard let template = pattern.template else {
                if pattern.glob.matches(resource) { return (i, unresolved) }
                continue
            }
            let substitution = template.substitute(in: context, scope: scope)
            if substitution.unresolved != nil {
                if unresolved == nil { unresolved = i }
                continue
            }
            if substitution.glob.matches(resource) { return (i, unresolved) }
        }
        return (nil, unresolved)
    }
}
