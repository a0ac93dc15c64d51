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
    /// The condition at this index (in `Statement.conditions`) does not hold.
    case condition(clause: Int)
}

extension Statement {
    /// Nil when the statement matches the request, else its first failing element
    /// (checked in the order Action, Resource, Condition).
    public func mismatch(for request: AuthorizationRequest) -> StatementMismatch? {
        let actionHit = actions.firstMatch(request.foldedAction)
        if actions.isNegated {
            if let i = actionHit { return .notAction(pattern: i) }
        } else if actionHit == nil {
            return .action
        }
        if let resources {
            let resourceHit = resources.firstMatch(request.resource)
            if resources.isNegated {
                if let i = resourceHit { return .notResource(pattern: i) }
            } else if resourceHit == nil {
                return .resource
            }
        }
        for (i, clause) in conditions.enumerated() where !clause.holds(in: request.context) {
            return .condition(clause: i)
        }
        return nil
    }

    /// Whether the statement matches the request.
    public func matches(_ request: AuthorizationRequest) -> Bool { mismatch(for: request) == nil }

    /// Where a mismatch points and why, in words.
    public func describe(_ mismatch: StatementMismatch, for request: AuthorizationRequest) -> (
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
            return (
                resources.span,
                "resource \(JSONWriter.quoted(request.resource)) matches none of the Resource patterns \(list(resources))"
            )
        case .notResource(let i):
            let pattern = resources!.patterns[i]
            return (
                pattern.span,
                "resource \(JSONWriter.quoted(request.resource)) is excluded by NotResource pattern \(JSONWriter.quoted(pattern.text))"
            )
        case .condition(let i):
            let clause = conditions[i]
            let span = clause.conditionOperator == nil ? clause.operatorSpan : clause.span
            return (span, clause.failureReason(in: request.context))
        }
    }
}
