public import BulwarkJSON

/// A policy that cannot be parsed: bad JSON or a break of the 5.0 grammar.
public struct PolicyParseError: LocatedError, Sendable {
    /// Stable codes, shared with the validator's findings.
    public enum Code: String, Sendable {
        case jsonSyntaxError = "JSON_SYNTAX_ERROR"
        case missingVersion = "MISSING_VERSION"
        case invalidVersion = "INVALID_VERSION"
        case missingStatement = "MISSING_STATEMENT"
        case invalidPolicyElement = "INVALID_POLICY_ELEMENT"
        case missingEffect = "MISSING_EFFECT"
        case invalidEffect = "INVALID_EFFECT"
        case missingAction = "MISSING_ACTION"
        case actionAndNotAction = "ACTION_AND_NOTACTION"
        case unsupportedPrincipal = "UNSUPPORTED_PRINCIPAL"
        case invalidPolicyVariable = "INVALID_POLICY_VARIABLE"
        case missingPrincipal = "MISSING_PRINCIPAL"
        case principalAndNotPrincipal = "PRINCIPAL_AND_NOTPRINCIPAL"
        case invalidPrincipal = "INVALID_PRINCIPAL"
    }

    public let code: Code
    /// What and where; the path is inside the policy document.
    public var diagnostic: Diagnostic

    public init(code: Code, message: String, path: JSONPath, location: SourceLocation) {
        self.code = code
        diagnostic = Diagnostic(code: code.rawValue, message: message, path: path, location: location)
    }
}

/// Which statements a document may hold: identity policies and SCPs never name a principal;
/// an agency's trust policy always does (SPEC §10).
public enum PolicyGrammar: Sendable {
    case identity
    case trust
}

/// Turns JSON into a `Policy`, checking the grammar of policy language 5.0.
public enum PolicyParser {
    /// Largest policy document accepted as text (1 MiB); Huawei's own limits are far lower
    /// and are the validator's business.
    public static let maxDocumentBytes = 1 << 20

    /// Parses policy text.
    public static func parse(_ text: String, grammar: PolicyGrammar = .identity) throws(PolicyParseError) -> Policy {
        try parse(bytes: Array(text.utf8), grammar: grammar)
    }

    /// Parses policy bytes; the first problem is thrown.
    public static func parse(bytes: [UInt8], grammar: PolicyGrammar = .identity) throws(PolicyParseError) -> Policy {
        let node: JSONNode
        do {
            var reader = JSONReader(bytes: bytes, limits: JSONLimits(maxDepth: 64, maxBytes: maxDocumentBytes))
            node = try reader.readDocument()
        } catch {
            throw PolicyParseError(code: .jsonSyntaxError, message: error.message, path: error.path, location: error.location)
        }
        return try parse(node: node, grammar: grammar)
    }

    /// Parses a JSON tree; the first problem is thrown.
    public static func parse(node: JSONNode, grammar: PolicyGrammar = .identity) throws(PolicyParseError) -> Policy {
        let (policy, errors) = diagnose(node: node, grammar: grammar)
        if let first = errors.first { throw first }
        return policy!
    }

    /// Parses a JSON tree and reports every grammar problem found, in document order.
    /// The policy is nil when there is at least one problem.
    public static func diagnose(node: JSONNode, grammar: PolicyGrammar = .identity) -> (Policy?, [PolicyParseError]) {
        var parser = Parser(grammar: grammar)
        let policy = parser.policy(node)
        return parser.errors.isEmpty ? (policy, []) : (nil, parser.errors)
    }

    /// Like `diagnose`, but also returns every statement that parsed on its own, so a
    /// validator can check the good parts of a policy that has grammar errors elsewhere.
    public static func diagnoseStatements(node: JSONNode, grammar: PolicyGrammar = .identity) -> (
        statements: [Statement], errors: [PolicyParseError]
    ) {
        var parser = Parser(grammar: grammar)
        _ = parser.policy(node)
        return (parser.goodStatements, parser.errors)
    }
}

private struct Parser {
    let grammar: PolicyGrammar
    var errors: [PolicyParseError] = []
    var goodStatements: [Statement] = []

    mutating func fail(_ code: PolicyParseError.Code, _ message: String, _ path: JSONPath, _ location: SourceLocation) {
        errors.append(PolicyParseError(code: code, message: message, path: path, location: location))
    }

    mutating func policy(_ node: JSONNode) -> Policy? {
        guard case .object(let members) = node.value else {
            fail(.invalidPolicyElement, "a policy must be a JSON object, found \(node.typeName)", .root, node.location)
            return nil
        }
        var version: String?
        var statementsNode: JSONNode?
        for member in members {
            let path = JSONPath.root.appending(key: member.key)
            switch member.key {
            case "Version":
                if case .string(let v) = member.value.value {
                    if v == "5.0" {
                        version = v
                    } else {
                        fail(.invalidVersion, "Version must be \"5.0\", found \(Excerpt.quoted(v))", path, member.value.location)
                    }
                } else {
                    fail(.invalidVersion, "Version must be the string \"5.0\", found \(member.value.typeName)", path, member.value.location)
                }
            case "Statement":
                statementsNode = member.value
            default:
                fail(
                    .invalidPolicyElement,
                    "unknown policy element \(Excerpt.quoted(member.key))\(suggestion(member.key, among: ["Version", "Statement"])); a policy has Version and Statement",
                    path, member.keyLocation)
            }
        }
        if !members.contains(where: { $0.key == "Version" }) {
            fail(.missingVersion, "the policy has no Version; add \"Version\": \"5.0\"", .root, node.location)
        }
        guard let statementsNode else {
            fail(.missingStatement, "the policy has no Statement", .root, node.location)
            return nil
        }
        let statementsPath = JSONPath.root.appending(key: "Statement")
        var statements: [Statement] = []
        var wasArray = true
        switch statementsNode.value {
        case .array(let items):
            if items.isEmpty {
                fail(.missingStatement, "Statement must not be empty", statementsPath, statementsNode.location)
            }
            for (i, item) in items.enumerated() {
                if let s = statement(item, index: i, path: statementsPath.appending(index: i)) { statements.append(s) }
            }
        case .object:
            wasArray = false
            if let s = statement(statementsNode, index: 0, path: statementsPath) { statements.append(s) }
        default:
            fail(
                .invalidPolicyElement, "Statement must be an array of statements or one statement object, found \(statementsNode.typeName)",
                statementsPath, statementsNode.location)
        }
        goodStatements = statements
        guard let version, errors.isEmpty else { return nil }
        return Policy(version: version, statements: statements, statementWasArray: wasArray, source: node)
    }

    static let statementElements = ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"]
    static let trustStatementElements = statementElements + ["Principal", "NotPrincipal"]

    mutating func statement(_ node: JSONNode, index: Int, path: JSONPath) -> Statement? {
        guard case .object(let members) = node.value else {
            fail(.invalidPolicyElement, "a statement must be a JSON object, found \(node.typeName)", path, node.location)
            return nil
        }
        let errorsBefore = errors.count
        var sid: String?
        var effect: Effect?
        var actions: PatternList?
        var notActions: PatternList?
        var resources: PatternList?
        var notResources: PatternList?
        var conditions: [ConditionClause] = []
        var conditionSpan: SourceSpan?
        var sawEffect = false
        var principal: PrincipalElement?
        for member in members {
            let memberPath = path.appending(key: member.key)
            let value = member.value
            switch member.key {
            case "Sid":
                if case .string(let s) = value.value {
                    sid = s
                } else {
                    fail(.invalidPolicyElement, "Sid must be a string, found \(value.typeName)", memberPath, value.location)
                }
            case "Effect":
                sawEffect = true
                if case .string(let s) = value.value, let e = Effect(rawValue: s) {
                    effect = e
                } else {
                    let found = if case .string(let s) = value.value { Excerpt.quoted(s) } else { value.typeName }
                    fail(.invalidEffect, "Effect must be \"Allow\" or \"Deny\", found \(found)", memberPath, value.location)
                }
            case "Action":
                actions = patterns(value, negated: false, folded: true, path: memberPath, name: "Action")
            case "NotAction":
                notActions = patterns(value, negated: true, folded: true, path: memberPath, name: "NotAction")
            case "Resource":
                resources = patterns(value, negated: false, folded: false, path: memberPath, name: "Resource")
            case "NotResource":
                notResources = patterns(value, negated: true, folded: false, path: memberPath, name: "NotResource")
            case "Condition":
                conditionSpan = SourceSpan(path: memberPath, location: value.location)
                conditions = condition(value, path: memberPath)
            case "Principal", "NotPrincipal":
                guard grammar != .trust else {
                    principal = principalElement(value, negated: member.key == "NotPrincipal", path: memberPath)
                    continue
                }
                fail(
                    .unsupportedPrincipal,
                    "\(member.key) is not allowed in identity policies or SCPs; the policy applies to whoever it is attached to", memberPath,
                    member.keyLocation)
            default:
                fail(
                    .invalidPolicyElement,
                    "unknown statement element \(Excerpt.quoted(member.key))\(suggestion(member.key, among: grammar == .trust ? Self.trustStatementElements : Self.statementElements))",
                    memberPath,
                    member.keyLocation)
            }
        }
        if !sawEffect {
            fail(.missingEffect, "the statement has no Effect; add \"Effect\": \"Allow\" or \"Deny\"", path, node.location)
        }
        let hasAction = members.contains { $0.key == "Action" }
        let hasNotAction = members.contains { $0.key == "NotAction" }
        if hasAction && hasNotAction {
            let loc = members.first { $0.key == "NotAction" }!.keyLocation
            fail(.actionAndNotAction, "a statement has either Action or NotAction, not both", path.appending(key: "NotAction"), loc)
        } else if !hasAction && !hasNotAction {
            fail(.missingAction, "the statement has no Action (or NotAction)", path, node.location)
        }
        if members.contains(where: { $0.key == "Resource" }) && members.contains(where: { $0.key == "NotResource" }) {
            let loc = members.first { $0.key == "NotResource" }!.keyLocation
            fail(.invalidPolicyElement, "a statement has either Resource or NotResource, not both", path.appending(key: "NotResource"), loc)
        }
        if grammar == .trust {
            let hasPrincipal = members.contains { $0.key == "Principal" }
            let hasNotPrincipal = members.contains { $0.key == "NotPrincipal" }
            if hasPrincipal && hasNotPrincipal {
                let loc = members.first { $0.key == "NotPrincipal" }!.keyLocation
                fail(
                    .principalAndNotPrincipal, "a trust statement has either Principal or NotPrincipal, not both",
                    path.appending(key: "NotPrincipal"),
                    loc)
            } else if !hasPrincipal && !hasNotPrincipal {
                fail(
                    .missingPrincipal, "a trust statement names who may assume the agency: add Principal (or NotPrincipal)", path, node.location)
            }
        }
        guard errors.count == errorsBefore, let effect, let actionList = actions ?? notActions else { return nil }
        return Statement(
            index: index, sid: sid, effect: effect, actions: actionList, resources: resources ?? notResources,
            conditions: conditions, conditionSpan: conditionSpan, span: SourceSpan(path: path, location: node.location), principal: principal)
    }

    /// `"*"` or `{"IAM": string | [string], "Service": string | [string]}` (at least one of them).
    mutating func principalElement(_ node: JSONNode, negated: Bool, path: JSONPath) -> PrincipalElement? {
        let span = SourceSpan(path: path, location: node.location)
        let name = negated ? "NotPrincipal" : "Principal"
        switch node.value {
        case .string(let s):
            guard s == "*" else {
                fail(
                    .invalidPrincipal,
                    "\(name) as a string must be \"*\"; name principals as {\"IAM\": [...]} or {\"Service\": [...]}, found \(Excerpt.quoted(s))",
                    path, node.location)
                return nil
            }
            return PrincipalElement(isNegated: negated, isWildcard: true, iam: [], services: [], span: span)
        case .object(let members):
            var iam: [PrincipalEntry] = []
            var services: [PrincipalEntry] = []
            if members.isEmpty { fail(.invalidPrincipal, "\(name) names no principal; give IAM or Service", path, node.location) }
            for member in members {
                let memberPath = path.appending(key: member.key)
                guard member.key == "IAM" || member.key == "Service" else {
                    fail(
                        .invalidPrincipal,
                        "unknown principal type \(Excerpt.quoted(member.key))\(suggestion(member.key, among: ["IAM", "Service"])); Huawei trust policies name IAM or Service principals",
                        memberPath, member.keyLocation)
                    continue
                }
                var entries: [PrincipalEntry] = []
                switch member.value.value {
                case .string(let s):
                    entries = [PrincipalEntry(text: s, span: SourceSpan(path: memberPath, location: member.value.location))]
                case .array(let items):
                    for (i, item) in items.enumerated() {
                        guard case .string(let s) = item.value else {
                            fail(
                                .invalidPrincipal, "\(member.key) entries must be strings, found \(item.typeName)", memberPath.appending(index: i),
                                item.location)
                            continue
                        }
                        entries.append(PrincipalEntry(text: s, span: SourceSpan(path: memberPath.appending(index: i), location: item.location)))
                    }
                default:
                    fail(
                        .invalidPrincipal, "\(member.key) must be a string or an array of strings, found \(member.value.typeName)", memberPath,
                        member.value.location)
                }
                if member.key == "IAM" { iam += entries } else { services += entries }
            }
            return PrincipalElement(isNegated: negated, isWildcard: false, iam: iam, services: services, span: span)
        default:
            fail(.invalidPrincipal, "\(name) must be \"*\" or an object of IAM and Service principals, found \(node.typeName)", path, node.location)
            return nil
        }
    }

    /// The policy variables of a string value (Resource/NotResource patterns, condition values);
    /// a malformed one is an error located at its `${`.
    mutating func template(_ text: String, _ path: JSONPath, _ location: SourceLocation) -> PolicyTemplate? {
        do {
            return try PolicyTemplate.parse(text)
        } catch {
            // The string's location is its opening quote; the column counts decoded characters.
            let at = SourceLocation(line: location.line, column: location.column + 1 + error.offset)
            fail(.invalidPolicyVariable, error.message, path, at)
            return nil
        }
    }

    mutating func patterns(_ node: JSONNode, negated: Bool, folded: Bool, path: JSONPath, name: String) -> PatternList? {
        // Variables are substituted in Resource/NotResource only; in Action/NotAction `${` is text.
        let substitutes = !folded
        func make(_ text: String, _ p: JSONPath, _ loc: SourceLocation) -> Pattern {
            Pattern(
                text: text, glob: GlobPattern(folded ? CaseFolding.lowercase(text) : text), span: SourceSpan(path: p, location: loc),
                template: substitutes ? template(text, p, loc) : nil)
        }
        let span = SourceSpan(path: path, location: node.location)
        switch node.value {
        case .string(let s):
            return PatternList(isNegated: negated, patterns: [make(s, path, node.location)], wasString: true, span: span)
        case .array(let items):
            var out: [Pattern] = []
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item.value else {
                    fail(.invalidPolicyElement, "\(name) entries must be strings, found \(item.typeName)", path.appending(index: i), item.location)
                    continue
                }
                out.append(make(s, path.appending(index: i), item.location))
            }
            return PatternList(isNegated: negated, patterns: out, wasString: false, span: span)
        default:
            fail(.invalidPolicyElement, "\(name) must be a string or an array of strings, found \(node.typeName)", path, node.location)
            return nil
        }
    }

    mutating func condition(_ node: JSONNode, path: JSONPath) -> [ConditionClause] {
        guard case .object(let operators) = node.value else {
            fail(.invalidPolicyElement, "Condition must be an object of operators, found \(node.typeName)", path, node.location)
            return []
        }
        var clauses: [ConditionClause] = []
        for op in operators {
            let opPath = path.appending(key: op.key)
            let opSpan = SourceSpan(path: opPath, location: op.keyLocation)
            guard case .object(let keys) = op.value.value else {
                fail(
                    .invalidPolicyElement,
                    "the value of condition operator \(Excerpt.quoted(op.key)) must be an object of condition keys, found \(op.value.typeName)",
                    opPath, op.value.location)
                continue
            }
            for key in keys {
                let keyPath = opPath.appending(key: key.key)
                var literals: [ConditionLiteral] = []
                var scalar = false
                switch key.value.value {
                case .array(let items):
                    for (i, item) in items.enumerated() {
                        let itemPath = keyPath.appending(index: i)
                        if let v = scalarValue(item, path: itemPath) {
                            literals.append(
                                ConditionLiteral(
                                    value: v, span: SourceSpan(path: itemPath, location: item.location),
                                    template: valueTemplate(v, itemPath, item.location)))
                        }
                    }
                default:
                    scalar = true
                    if let v = scalarValue(key.value, path: keyPath) {
                        literals.append(
                            ConditionLiteral(
                                value: v, span: SourceSpan(path: keyPath, location: key.value.location),
                                template: valueTemplate(v, keyPath, key.value.location)))
                    }
                }
                clauses.append(
                    ConditionClause(
                        operatorName: op.key, key: key.key, values: literals, valuesWereScalar: scalar,
                        operatorSpan: opSpan, span: SourceSpan(path: keyPath, location: key.keyLocation)))
            }
        }
        return clauses
    }

    mutating func valueTemplate(_ value: ScalarValue, _ path: JSONPath, _ location: SourceLocation) -> PolicyTemplate? {
        guard case .string(let text) = value else { return nil }
        return template(text, path, location)
    }

    mutating func scalarValue(_ node: JSONNode, path: JSONPath) -> ScalarValue? {
        switch node.value {
        case .string(let s): return .string(s)
        case .number(let n): return .number(n)
        case .bool(let b): return .bool(b)
        default:
            fail(.invalidPolicyElement, "a condition value must be a string, number or boolean, found \(node.typeName)", path, node.location)
            return nil
        }
    }
}

/// `" (did you mean \"X\"?)"` when a known name is close to `name`, else "".
func suggestion(_ name: String, among known: [String]) -> String {
    guard let best = EditDistance.closest(to: name, in: known, maxDistance: max(2, name.count / 3)) else { return "" }
    return " (did you mean \(Excerpt.quoted(best))?)"
}

/// Levenshtein distance, for "did you mean" hints.
public enum EditDistance {
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(CaseFolding.lowercase(a).unicodeScalars)
        let y = Array(CaseFolding.lowercase(b).unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = Array(repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// The closest candidate within `maxDistance`, if any (ties: first in order).
    public static func closest(to name: String, in candidates: [String], maxDistance: Int) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let d = distance(name, c)
            if d <= maxDistance && (best == nil || d < best!.1) { best = (c, d) }
        }
        return best?.0
    }
}
