public import BulwarkJSON

/// A parsed identity policy or SCP (policy language "5.0").
///
/// Every element keeps the JSON path and source location it came from, so
/// explanations and findings can point at it.
public struct Policy: Sendable {
    /// Always `"5.0"` for a policy that parsed.
    public var version: String
    public var statements: [Statement]
    /// False when `Statement` was a single object rather than an array.
    public var statementWasArray: Bool
    /// The JSON tree the policy was parsed from (the validator walks it too).
    public var source: JSONNode

    public init(version: String, statements: [Statement], statementWasArray: Bool, source: JSONNode) {
        self.version = version
        self.statements = statements
        self.statementWasArray = statementWasArray
        self.source = source
    }
}

/// `Allow` or `Deny`.
public enum Effect: String, Sendable, Hashable {
    case allow = "Allow"
    case deny = "Deny"
}

/// Where an element of a policy came from.
public struct SourceSpan: Sendable, Hashable {
    /// JSONPath-like address inside the policy document, e.g. `$.Statement[0].Action`.
    public var path: JSONPath
    public var location: SourceLocation

    public init(path: JSONPath, location: SourceLocation) {
        self.path = path
        self.location = location
    }
}

/// One statement of a policy.
public struct Statement: Sendable {
    /// 0-based position in the policy's statement list.
    public var index: Int
    public var sid: String?
    public var effect: Effect
    /// `Action` or `NotAction` (never both, never neither).
    public var actions: PatternList
    /// `Resource` or `NotResource`; nil when absent, which means `"*"`.
    public var resources: PatternList?
    /// Every operator/key pair of `Condition`, in source order; all must hold.
    public var conditions: [ConditionClause]
    /// The `Condition` element itself, when present.
    public var conditionSpan: SourceSpan?
    public var span: SourceSpan
    /// `Principal`/`NotPrincipal` of a trust policy; nil in identity policies and SCPs.
    public var principal: PrincipalElement?

    public init(
        index: Int, sid: String?, effect: Effect, actions: PatternList, resources: PatternList?,
        conditions: [ConditionClause], conditionSpan: SourceSpan?, span: SourceSpan, principal: PrincipalElement? = nil
    ) {
        self.principal = principal
        self.index = index
        self.sid = sid
        self.effect = effect
        self.actions = actions
        self.resources = resources
        self.conditions = conditions
        self.conditionSpan = conditionSpan
        self.span = span
    }
}

/// The patterns of `Action`/`NotAction` or `Resource`/`NotResource`.
public struct PatternList: Sendable {
    /// True for `NotAction` / `NotResource`.
    public var isNegated: Bool
    public var patterns: [Pattern]
    /// True when the element was a single string rather than an array.
    public var wasString: Bool
    public var span: SourceSpan

    public init(isNegated: Bool, patterns: [Pattern], wasString: Bool, span: SourceSpan) {
        self.isNegated = isNegated
        self.patterns = patterns
        self.wasString = wasString
        self.span = span
    }

    /// Whether any pattern holds a policy variable (only Resource/NotResource patterns can).
    public var hasVariables: Bool { patterns.contains { $0.template != nil } }

    /// The index of the first pattern that matches `text` (already case-folded for actions), if any.
    /// Patterns are read as written: for Resource/NotResource with variables, use `match(resource:…)`.
    public func firstMatch(_ text: String) -> Int? {
        var text = text
        return text.withUTF8 { utf8 in
            // Borrow the patterns in place: copying each Pattern would retain all its fields.
            patterns.withUnsafeBufferPointer { buffer in
                for i in buffer.indices where buffer[i].glob.matches(utf8: utf8) { return i }
                return nil
            }
        }
    }
}

extension PatternList {
    /// Whether an Action (or NotAction) element covers the action known by `names` (case-folded:
    /// its name, then its aliases): a pattern that matches any of them matches the action.
    public func covers(anyOf names: [String]) -> Bool {
        names.contains { firstMatch($0) != nil } != isNegated
    }
}

/// One action or resource pattern.
public struct Pattern: Sendable {
    /// The pattern as written.
    public var text: String
    /// The compiled matcher (case-folded for action patterns). For a pattern with policy
    /// variables it reads the text as written; what decides is `template`'s substitution.
    public var glob: GlobPattern
    public var span: SourceSpan
    /// The pattern's policy variables and escapes (Resource/NotResource only); nil when it has none.
    public var template: PolicyTemplate?

    public init(text: String, glob: GlobPattern, span: SourceSpan, template: PolicyTemplate? = nil) {
        self.text = text
        self.glob = glob
        self.span = span
        self.template = template
    }
}

/// A scalar value in a condition or a request context.
public enum ScalarValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    /// A JSON number, exactly as written.
    case number(String)
    case bool(Bool)

    /// The value as text: strings as they are, numbers as written, booleans as `true`/`false`.
    public var text: String {
        switch self {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        }
    }

    /// JSON form, for messages.
    public var description: String {
        switch self {
        case .string(let s): Excerpt.quoted(s)
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        }
    }
}

/// A condition value as written in a policy.
public struct ConditionLiteral: Sendable {
    public var value: ScalarValue
    public var span: SourceSpan
    /// The value's policy variables and escapes; nil when it has none.
    public var template: PolicyTemplate?

    public init(value: ScalarValue, span: SourceSpan, template: PolicyTemplate? = nil) {
        self.value = value
        self.span = span
        self.template = template
    }
}

/// One `operator: {key: values}` pair of a `Condition`.
public struct ConditionClause: Sendable {
    /// The operator name as written.
    public var operatorName: String
    /// Nil when the name is no known operator (the statement then never matches).
    public var conditionOperator: ConditionOperator? { test.conditionOperator }
    /// The key as written, e.g. `g:SourceIp`.
    public var key: String
    /// The key case-folded, as it is looked up in a request context.
    public var normalizedKey: String { test.normalizedKey }
    public var values: [ConditionLiteral]
    /// True when the values were a single scalar rather than an array.
    public var valuesWereScalar: Bool
    /// Where the operator name is (`$.Statement[0].Condition.StringEquals`).
    public var operatorSpan: SourceSpan
    /// Where the key is (`$.Statement[0].Condition.StringEquals["g:SourceIp"]`).
    public var span: SourceSpan
    /// Policy values converted once to the operator's type.
    public var prepared: PreparedValues { test.prepared }
    /// What evaluation needs, shared by reference so deciding copies nothing.
    public let test: ConditionTest

    public init(
        operatorName: String, key: String, values: [ConditionLiteral], valuesWereScalar: Bool,
        operatorSpan: SourceSpan, span: SourceSpan
    ) {
        self.operatorName = operatorName
        let op = ConditionOperator(name: operatorName)
        self.key = key
        self.values = values
        self.valuesWereScalar = valuesWereScalar
        self.operatorSpan = operatorSpan
        self.span = span
        let templates = values.map(\.template)
        self.test = ConditionTest(
            conditionOperator: op, normalizedKey: CaseFolding.lowercase(key),
            prepared: PreparedValues(kind: op?.kind, values: values.map(\.value)),
            templates: templates.contains { $0 != nil } ? templates : nil, written: values.map(\.value))
    }

    /// Whether any value holds a policy variable.
    public var hasVariables: Bool { test.templates != nil }
}

/// `Principal` or `NotPrincipal` of a trust policy (SPEC §10): `"*"`, or `{"IAM": [...], "Service": [...]}`.
public struct PrincipalElement: Sendable {
    /// True for `NotPrincipal`.
    public var isNegated: Bool
    /// `"*"`: every principal.
    public var isWildcard: Bool
    /// `IAM` entries: account ids or principal URNs (`iam::ACCOUNT:user:NAME`, `iam::ACCOUNT:agency:NAME`).
    public var iam: [PrincipalEntry]
    /// `Service` entries: `service.NAME`.
    public var services: [PrincipalEntry]
    public var span: SourceSpan

    public init(isNegated: Bool, isWildcard: Bool, iam: [PrincipalEntry], services: [PrincipalEntry], span: SourceSpan) {
        self.isNegated = isNegated
        self.isWildcard = isWildcard
        self.iam = iam
        self.services = services
        self.span = span
    }
}

/// One principal named in a trust policy, with where it is.
public struct PrincipalEntry: Sendable {
    public var text: String
    public var span: SourceSpan

    public init(text: String, span: SourceSpan) {
        self.text = text
        self.span = span
    }
}
