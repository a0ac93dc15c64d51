import BulwarkCatalog
import BulwarkJSON
import BulwarkPolicy

/// The per-statement rules: actions, resources, conditions, SCP rules, security warnings.
struct StatementChecker {
    let catalog: Catalog
    let index: ActionIndex
    let type: PolicyType
    var findings: [Finding] = []
    /// Catalog actions per action pattern (folded), for patterns repeated across statements.
    private var hitsByPattern: [String: [Int]] = [:]

    init(catalog: Catalog, index: ActionIndex, type: PolicyType) {
        self.catalog = catalog
        self.index = index
        self.type = type
    }

    mutating func add(_ code: FindingCode, _ message: String, _ span: SourceSpan) {
        findings.append(Finding(code: code, message: message, path: span.path, location: span.location))
    }

    mutating func check(_ statement: Statement) {
        if type == .trust {
            // Trust statements name sts: actions and principals, not catalog actions and resources.
            checkTrust(statement)
            checkConditions(statement, covered: [])
            checkVariables(statement)
            return
        }
        // Each pattern is resolved against the catalog once; every rule below reuses it.
        let hits = statement.actions.patterns.map { pattern in
            if let known = hitsByPattern[pattern.glob.text] { return known }
            let found = index.matching(pattern.glob)
            hitsByPattern[pattern.glob.text] = found
            return found
        }
        var hit = [Bool](repeating: false, count: index.definitions.count)
        for h in hits { for i in h { hit[i] = true } }
        // Indices of the catalogued actions the statement covers.
        var covered: [Int] = []
        for i in index.definitions.indices where hit[i] != statement.actions.isNegated && index.definitions[i] != nil {
            covered.append(i)
        }
        checkActions(statement, hits: hits)
        checkResources(statement, covered: covered, hits: hits)
        checkConditions(statement, covered: covered)
        checkEffectRules(statement, covered: covered, hits: hits)
        checkVariables(statement)
    }

    // MARK: Trust policies

    /// The actions a trust statement may name (case-folded).
    static let trustActions = ["sts:agencies:assume", "sts::tagsession", "sts::setsourceidentity", "sts:agencies:assumewithoidc"]
    /// Keys that pin who may assume: without one, `"*"` means anyone.
    static let trustPinningKeys: Set<String> = ["g:principalorgid", "g:principalorgpath", "g:principalurn", "sts:externalid"]

    private mutating func checkTrust(_ statement: Statement) {
        if !statement.actions.isNegated {
            for pattern in statement.actions.patterns where !Self.trustActions.contains(where: pattern.glob.matches) {
                add(
                    .trustActionNotSupported,
                    "\(JSONWriter.quoted(pattern.text)) is not a trust action; a trust policy allows sts:agencies:assume, sts::tagSession, sts::setSourceIdentity or sts:agencies:assumeWithOIDC",
                    pattern.span)
            }
        }
        guard let principal = statement.principal else { return }
        for entry in principal.iam where !Self.isAccountID(entry.text) && !Self.isPrincipalURN(entry.text) {
            add(
                .invalidPrincipal,
                "\(JSONWriter.quoted(entry.text)) is neither an account id (letters and digits) nor a principal URN (iam::ACCOUNT-ID:user:NAME or iam::ACCOUNT-ID:agency:NAME)",
                entry.span)
        }
        for entry in principal.services where !Self.isServicePrincipal(entry.text) {
            add(.invalidPrincipal, "\(JSONWriter.quoted(entry.text)) is not a service principal; write service.NAME, e.g. service.ecs", entry.span)
        }
        let assumes =
            statement.actions.isNegated
            ? statement.actions.firstMatch("sts:agencies:assume") == nil : statement.actions.firstMatch("sts:agencies:assume") != nil
        let anyone = principal.isWildcard || principal.isNegated
        if statement.effect == .allow && assumes && anyone
            && !statement.conditions.contains(where: { Self.trustPinningKeys.contains($0.normalizedKey) })
        {
            let who = principal.isNegated ? "NotPrincipal" : "Principal \"*\""
            add(
                .overlyPermissiveTrust,
                "\(who) lets any principal, of any account, assume the agency; add a condition on g:PrincipalOrgId, g:PrincipalOrgPath, g:PrincipalUrn or sts:ExternalId, or name the principals",
                principal.span)
        }
    }

    static func isAccountID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    static func isPrincipalURN(_ text: String) -> Bool {
        let fields = ColonFields(text)
        guard fields.count == 5, fields.string(0) == "iam", fields[1].isEmpty, isAccountID(fields.string(2)) else { return false }
        return ["user", "agency"].contains(fields.string(3)) && !fields[4].isEmpty && !Wildcard.occurs(in: fields[4])
    }

    static func isServicePrincipal(_ text: String) -> Bool {
        guard text.hasPrefix("service."), text.count > "service.".count else { return false }
        return text.dropFirst("service.".count).unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
        }
    }

    // MARK: Policy variables

    /// Where a variable of a string value is: the value's location moved to its `${`.
    private static func span(of variable: PolicyVariable, in value: SourceSpan) -> SourceSpan {
        SourceSpan(path: value.path, location: SourceLocation(line: value.location.line, column: value.location.column + 1 + variable.offset))
    }

    private mutating func checkVariables(_ statement: Statement) {
        for pattern in statement.actions.patterns where pattern.text.contains("${") {
            let element = statement.actions.isNegated ? "NotAction" : "Action"
            add(
                .policyVariableNotSubstituted,
                "\(JSONWriter.quoted(pattern.text)): policy variables are not substituted in \(element), so ${ is compared as text; name the actions",
                pattern.span)
        }
        for clause in statement.conditions where clause.key.contains("${") {
            add(
                .policyVariableNotSubstituted,
                "condition key \(JSONWriter.quoted(clause.key)): policy variables are not substituted in condition keys; put the variable in the value",
                clause.span)
        }
        var uses: [(PolicyVariable, SourceSpan)] = []
        for pattern in statement.resources?.patterns ?? [] {
            for v in pattern.template?.variables ?? [] { uses.append((v, Self.span(of: v, in: pattern.span))) }
        }
        for clause in statement.conditions {
            for value in clause.values {
                for v in value.template?.variables ?? [] { uses.append((v, Self.span(of: v, in: value.span))) }
            }
        }
        for (variable, span) in uses {
            checkVariableKey(variable, span)
            if statement.effect == .deny && variable.defaultText == nil {
                add(
                    .denyWithPolicyVariable,
                    "Deny uses \(variable.written) without a default: for a principal or request without \(variable.key) the variable does not resolve and this Deny does not apply; add a default, e.g. ${\(variable.key), 'none'}",
                    span)
            }
        }
    }

    /// The usual unknown-key check, for the key a variable reads.
    private mutating func checkVariableKey(_ variable: PolicyVariable, _ span: SourceSpan) {
        guard catalog.conditionKey(named: variable.key) == nil, let hint = unknownKeyHint(variable.key) else { return }
        add(
            .unknownConditionKey, "policy variable \(variable.written) reads \(JSONWriter.quoted(variable.key)), which is not in the catalog\(hint)",
            span)
    }

    /// For a key the catalog does not have: "; did you mean …?" (or ""), when its prefix is `g`
    /// or a catalogued service; nil when the key belongs to a service Bulwark cannot check.
    private func unknownKeyHint(_ key: String) -> String? {
        let prefix = ServicePrefix.of(CaseFolding.lowercase(key))
        guard prefix == "g" || catalog.service(named: prefix) != nil else { return nil }
        var known = catalog.globalKeys.map(\.name)
        if let service = catalog.service(named: prefix) { known += service.conditionKeys.map(\.name) }
        return EditDistance.closest(to: key, in: known, maxDistance: 3).map { "; did you mean \($0)?" } ?? ""
    }

    // MARK: Actions

    private mutating func checkActions(_ statement: Statement, hits: [[Int]]) {
        let element = statement.actions.isNegated ? "NotAction" : "Action"
        for (patternIndex, pattern) in statement.actions.patterns.enumerated() {
            let text = pattern.text
            if type == .scp && !Self.isValidSCPActionWildcard(text) {
                add(
                    .scpInvalidActionWildcard,
                    "\(JSONWriter.quoted(text)): in an SCP a wildcard may only be the whole value (\"*\") or at the end (\"ims:images:*\")",
                    pattern.span)
            }
            let glob = pattern.glob
            let folded = glob.text  // action globs are case-folded
            let servicePart = ServicePrefix.of(folded)
            let matches = hits[patternIndex]
            if glob.isLiteral, let action = catalog.action(aliased: text) {
                add(
                    .actionIsAlias, "\(JSONWriter.quoted(text)) is an alias of \(action.name); name the action itself (the alias grants the same)",
                    pattern.span)
                continue
            }
            if Wildcard.occurs(in: servicePart.utf8) {
                if matches.isEmpty && !glob.matchesEverything {
                    add(.unknownAction, "\(element) pattern \(JSONWriter.quoted(text)) matches no catalogued action", pattern.span)
                }
                continue
            }
            guard folded.utf8.contains(UInt8(ascii: ":")) else {
                add(
                    .unknownAction, "\(JSONWriter.quoted(text)) is not an action; actions are written service:resource:action, e.g. ims:images:get",
                    pattern.span)
                continue
            }
            guard catalog.service(named: servicePart) != nil else {
                let hint =
                    EditDistance.closest(to: servicePart, in: index.serviceNames, maxDistance: max(1, servicePart.count / 3))
                    .map { "; did you mean \($0)?" } ?? "; Bulwark cannot check its actions"
                add(
                    .unknownService, "service \(JSONWriter.quoted(servicePart)) of \(JSONWriter.quoted(text)) is not in the catalog\(hint)",
                    pattern.span)
                continue
            }
            if matches.isEmpty {
                if glob.isLiteral {
                    let names = index.names.indices.filter { index.services[$0].lowercased() == servicePart }.map { index.names[$0] }
                    let hint =
                        EditDistance.closest(to: text, in: names, maxDistance: max(3, text.count / 4))
                        .map { "; did you mean \($0)?" } ?? ""
                    add(.unknownAction, "\(JSONWriter.quoted(text)) is not an action of \(servicePart)\(hint)", pattern.span)
                } else {
                    add(.unknownAction, "\(element) pattern \(JSONWriter.quoted(text)) matches no action of \(servicePart)", pattern.span)
                }
            }
        }
        // Patterns covered by another pattern of the same statement.
        let patterns = statement.actions.patterns
        let folded = patterns.map(\.glob.text)
        for (j, inner) in patterns.enumerated() {
            for (i, outer) in patterns.enumerated() where i != j {
                let a = folded[i]
                let b = folded[j]
                guard GlobRelations.contains(a, b) else { continue }
                if a == b && i > j { continue }  // report the later duplicate only
                add(
                    .redundantAction,
                    "\(JSONWriter.quoted(inner.text)) is already covered by \(JSONWriter.quoted(outer.text)) in the same statement; remove it",
                    inner.span)
                break
            }
        }
    }

    /// SCP action wildcards: `*` alone, or one trailing `*`; never `?`.
    static func isValidSCPActionWildcard(_ text: String) -> Bool {
        let pieces = GlobPattern.pieces(of: text)
        if pieces == [.anyRun] { return true }
        if pieces.contains(.anyOne) { return false }
        guard let star = pieces.firstIndex(of: .anyRun) else { return true }
        return star == pieces.count - 1
    }

    // MARK: Resources

    private mutating func checkResources(_ statement: Statement, covered: [Int], hits: [[Int]]) {
        guard let resources = statement.resources else { return }
        if resources.isNegated { return }
        let withTypes = covered.filter { !index.templatesByIndex[$0].isEmpty }
        // Many actions share a resource type: test each distinct URN template once.
        var templates: [String] = []
        for i in withTypes { for t in index.templatesByIndex[i] where !templates.contains(t) { templates.append(t) } }
        // Literal actions without resource types: a specific resource never grants them.
        let typeless =
            statement.actions.isNegated
            ? []
            : statement.actions.patterns.indices.compactMap { p -> ActionDefinition? in
                guard statement.actions.patterns[p].glob.isLiteral else { return nil }
                for i in hits[p] { if let definition = index.definitions[i] { return definition.resourceTypes.isEmpty ? definition : nil } }
                return nil
            }
        for pattern in resources.patterns where !pattern.glob.matchesEverything {
            // A pattern with variables is checked as its skeleton: every variable a `*`.
            let text = pattern.template?.skeleton ?? pattern.text
            let patternSegments = ColonFields(text, maxFields: 5)
            if pattern.template == nil && pattern.glob.isLiteral && (patternSegments.count < 5 || patternSegments[0].isEmpty) {
                add(
                    .invalidURN,
                    "\(JSONWriter.quoted(text)) is not a URN; write service:region:account-id:type:id, e.g. ims:cn-north-4:0a1b2c:image:img-1, or \"*\"",
                    pattern.span)
                continue
            }
            if !covered.isEmpty && withTypes.isEmpty {
                let subject =
                    covered.count == 1
                    ? "\(index.names[covered[0]]) has no resource type" : "\(Self.list(covered.map { index.names[$0] })) have no resource types"
                let whose = covered.count == 1 ? "its" : "their"
                add(
                    .resourceMustBeWildcard, "\(subject), so Resource must be \"*\"; \(JSONWriter.quoted(text)) never matches \(whose) requests",
                    pattern.span)
                continue
            }
            // A literal action without resource types next to a specific resource is never allowed by it.
            for definition in typeless {
                add(
                    .resourceMustBeWildcard,
                    "\(definition.name) has no resource type; with Resource \(JSONWriter.quoted(text)) it is never granted; move it to a statement with Resource \"*\"",
                    pattern.span)
            }
            guard !withTypes.isEmpty else { continue }
            let fits =
                templates.isEmpty
                || templates.contains { template in
                    Self.couldBe(patternSegments, pattern: text, template: index.templateShapes[template] ?? TemplateShape(template))
                }
            if !fits {
                let expected = templates.sorted()
                add(
                    .resourceTypeMismatch,
                    "\(JSONWriter.quoted(text)) cannot be a resource of \(Self.list(withTypes.map { index.names[$0] })); expected \(expected.joined(separator: " or "))",
                    pattern.span)
            }
        }
    }

    /// Whether a resource pattern can match a URN of the template. URNs are
    /// `service:region:account:type:id`; when the pattern spells out those
    /// segments, its service and type segments must fit the template's (a `*`
    /// there could reach across colons in theory, but never does in a real URN).
    static func couldBe(_ segments: ColonFields, pattern: String, template: TemplateShape) -> Bool {
        let templateSegments = template.segmentBytes
        guard segments.count == 5, templateSegments.count == 5 else {
            return GlobRelations.intersects(template.glob, pattern)
        }
        for i in [0, 3] {
            let segment = segments[i]
            let literal = !Wildcard.occurs(in: segment)
            if literal {
                if !segment.elementsEqual(templateSegments[i]) { return false }
            } else if !GlobPattern(String(decoding: segment, as: UTF8.self)).matches(template.segments[i]) {
                return false
            }
        }
        if template.idMatchesAnything { return true }
        // `*/*` (namespace/repo and the like): some match exists iff the pattern can produce a `/`.
        if template.idGlob == "*/*" {
            return segments[4].contains { $0 == UInt8(ascii: "/") || Wildcard.isWildcard($0) }
        }
        return GlobRelations.intersects(template.idGlob, String(decoding: segments[4], as: UTF8.self))
    }

    /// `ims:<region>:<account-id>:image:<image-id>` → `ims:*:*:image:*`.
    static func urnGlob(_ template: String) -> String {
        var out: [UInt8] = []
        var inPlaceholder = false
        for b in template.utf8 {
            if b == UInt8(ascii: "<") {
                inPlaceholder = true
                out.append(UInt8(ascii: "*"))
            } else if b == UInt8(ascii: ">") {
                inPlaceholder = false
            } else if !inPlaceholder {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Conditions

    private static let operatorNames: [String] = ConditionOperatorKind.allCases.map(\.rawValue)

    private mutating func checkConditions(_ statement: Statement, covered: [Int]) {
        var reportedOperators: Set<String> = []
        for clause in statement.conditions {
            guard let op = clause.conditionOperator else {
                if reportedOperators.insert(clause.operatorName).inserted {
                    let base = clause.operatorName.split(separator: ":").last.map(String.init) ?? clause.operatorName
                    let hint = EditDistance.closest(to: base, in: Self.operatorNames, maxDistance: 3).map { " (did you mean \($0)?)" } ?? ""
                    add(
                        .unknownOperator,
                        "unknown condition operator \(JSONWriter.quoted(clause.operatorName))\(hint); the statement can never match",
                        clause.operatorSpan)
                }
                continue
            }
            if op.kind == .null && op.ifExists {
                add(.nullWithIfExists, "\(op) on \(clause.key): IfExists makes a missing key true, which defeats Null; use Null alone", clause.span)
            }
            checkValueTypes(clause, op)
            checkKey(clause, op, covered: covered, statement: statement)
        }
    }

    private mutating func checkValueTypes(_ clause: ConditionClause, _ op: ConditionOperator) {
        // The parser already read each value as the operator's type (nil where it did not parse).
        let prepared = clause.prepared
        for (i, literal) in clause.values.enumerated() where literal.template == nil {
            let ok: Bool
            let expected: String
            switch op.kind.valueType {
            case .string:
                ok = true
                expected = ""
            case .number:
                ok = {
                    if case .bool = literal.value { return false }
                    if case .numbers(let v) = prepared { return v[i] != nil }
                    return false
                }()
                expected = "a number"
            case .date:
                ok = {
                    if case .bool = literal.value { return false }
                    if case .dates(let v) = prepared { return v[i] != nil }
                    return false
                }()
                expected = "an ISO 8601 date-time, a date or epoch seconds"
            case .boolean, .null:
                ok = {
                    if case .bool = literal.value { return true }
                    if case .string(let s) = literal.value { return ["true", "false"].contains(s.lowercased()) }
                    return false
                }()
                expected = "true or false"
            case .ip:
                ok = {
                    if case .string = literal.value, case .addresses(let v) = prepared { return v[i] != nil }
                    return false
                }()
                expected = "an IPv4/IPv6 address or CIDR block"
            }
            if !ok {
                add(
                    .dataTypeMismatch, "\(literal.value) is not \(expected), which \(op.kind.rawValue) compares; this value never matches",
                    literal.span)
            }
        }
    }

    /// Whether the statement's Resource can name a resource of the URN template (always, for
    /// `*`, NotResource or no Resource).
    private static func reaches(_ statement: Statement, template: TemplateShape) -> Bool {
        guard let resources = statement.resources, !resources.isNegated else { return true }
        return resources.patterns.contains { pattern in
            if pattern.glob.matchesEverything { return true }
            let text = pattern.template?.skeleton ?? pattern.text
            return couldBe(ColonFields(text, maxFields: 5), pattern: text, template: template)
        }
    }

    /// Whether the key applies to the covered action `i` as the statement names it: a key of the
    /// action itself, or of one of its resource types that the statement's Resource can reach.
    private func supports(_ i: Int, key folded: String, statement: Statement) -> Bool {
        if index.actionKeys[i].contains(folded) { return true }
        return index.resourceKeys[i].contains { entry in
            entry.keys.contains(folded) && Self.reaches(statement, template: index.templateShapes[entry.template] ?? TemplateShape(entry.template))
        }
    }

    private mutating func checkKey(_ clause: ConditionClause, _ op: ConditionOperator, covered: [Int], statement: Statement) {
        let prefix = ServicePrefix.of(clause.normalizedKey)
        guard let definition = catalog.conditionKey(named: clause.key) else {
            if let hint = unknownKeyHint(clause.key) {
                add(.unknownConditionKey, "condition key \(JSONWriter.quoted(clause.key)) is not in the catalog\(hint)", clause.span)
            }
            return
        }
        if prefix != "g" && !covered.isEmpty {
            let folded = definition.name.lowercased()
            let supporting = covered.filter { supports($0, key: folded, statement: statement) }
            // Covered actions that have the key only with resource types the Resource does not name.
            let elsewhere = covered.flatMap { i in
                index.resourceKeys[i].filter { $0.keys.contains(folded) }.map { "\(index.names[i]) on \($0.template)" }
            }
            if supporting.isEmpty && !elsewhere.isEmpty {
                add(
                    .conditionKeyNotSupported,
                    "\(definition.name) applies only to \(Self.list(elsewhere)), which the statement's Resource does not name; the condition never holds",
                    clause.span)
            } else if supporting.isEmpty {
                let all = catalog.allActions.filter { action in action.conditionKeys.contains { $0.lowercased() == definition.name.lowercased() } }
                    .map(\.name)
                let which = all.isEmpty ? "no action supports it" : "it is supported by \(Self.list(all))"
                add(
                    .conditionKeyNotSupported,
                    "none of the statement's actions supports \(definition.name) (\(which)); the condition never holds for them", clause.span)
            }
        }
        let keyType = Self.valueType(of: definition.type)
        let opType = op.kind.valueType
        if opType != .null && opType != keyType {
            add(
                .dataTypeMismatch,
                "\(definition.name) holds \(definition.type.rawValue) values, but \(op.kind.rawValue) compares \(opType.rawValue) values; use an operator for \(keyType.rawValue) values",
                clause.span)
        }
        if op.qualifier == .forAllValues && !definition.multiValued {
            add(
                .forAllValuesWithSingleValuedKey,
                "ForAllValues on the single-valued key \(definition.name) also holds when the key is missing; use the operator without a prefix",
                clause.span)
        }
        if op.qualifier == .none && definition.multiValued && op.kind != .null {
            add(
                .missingSetOperator,
                "\(definition.name) may carry several values; say ForAnyValue:\(op.kind.rawValue) or ForAllValues:\(op.kind.rawValue) to make clear which you mean",
                clause.span)
        }
        if definition.sensitive == true {
            // Only the policy's own text can hold wildcards: what a variable inserts is literal.
            let wildcard =
                op.kind.positiveForm == .stringMatch
                && clause.values.contains { value in
                    let policyText =
                        value.template.map { t in
                            t.parts.map {
                                if case .text(let s) = $0 { return s }
                                return ""
                            }.joined()
                        } ?? value.value.text
                    return Wildcard.occurs(in: policyText.utf8)
                }
            if wildcard || op.kind == .stringStartWith || op.kind == .stringEndWith {
                add(
                    .wildcardInSensitiveKey,
                    "\(definition.name) identifies the principal; compare it exactly (StringEquals), not with \(op.kind.rawValue) and wildcards",
                    clause.span)
            }
        }
    }

    static func valueType(of keyType: ConditionKeyType) -> ConditionValueType {
        switch keyType {
        case .string: .string
        case .boolean: .boolean
        case .numeric: .number
        case .date: .date
        case .ip: .ip
        }
    }

    // MARK: Effect-specific rules

    private mutating func checkEffectRules(_ statement: Statement, covered: [Int], hits: [[Int]]) {
        switch type {
        case .scp:
            if let resources = statement.resources, resources.isNegated {
                add(.scpUnsupportedElement, "NotResource is not supported in SCPs; use Resource", resources.span)
            }
            guard statement.effect == .allow else { return }
            if statement.actions.isNegated {
                add(
                    .scpUnsupportedElement, "NotAction is not supported in SCP Allow statements; list the actions, or use NotAction in a Deny",
                    statement.actions.span)
            }
            if let span = statement.conditionSpan {
                add(.scpAllowWithCondition, "SCP Allow statements cannot have a Condition; put conditions on a Deny statement", span)
            }
            if let resources = statement.resources, !resources.isNegated, !resources.patterns.allSatisfy({ $0.text == "*" }) {
                add(
                    .scpAllowResourceNotWildcard, "SCP Allow statements must have Resource \"*\"; restrict resources with a Deny statement",
                    resources.span)
            }
        case .trust:
            return  // checked by checkTrust
        case .identity:
            guard statement.effect == .allow else { return }
            if statement.actions.isNegated {
                add(
                    .allowWithNotAction,
                    "Allow with NotAction grants every action it does not list (\(covered.count) catalogued actions today, and every future one)",
                    statement.actions.span)
            }
            if let resources = statement.resources, resources.isNegated {
                add(.allowWithNotResource, "Allow with NotResource grants every resource it does not list, including \"*\"", resources.span)
            }
            checkOverlyPermissive(statement, hits: hits)
        }
    }

    private mutating func checkOverlyPermissive(_ statement: Statement, hits allHits: [[Int]]) {
        guard !statement.actions.isNegated else { return }
        let onAllResources =
            statement.resources.map { list in
                !list.isNegated && list.patterns.contains { $0.glob.matches("*") }
            } ?? true
        guard onAllResources else { return }
        for (patternIndex, pattern) in statement.actions.patterns.enumerated() {
            let hits = allHits[patternIndex].filter { index.definitions[$0] != nil }
            let covered = hits.compactMap { index.definitions[$0] }
            let hitsPerService = Dictionary(grouping: hits) { index.services[$0] }.mapValues(\.count)
            let wholeServices = catalog.services.filter { service in
                !service.actions.isEmpty && hitsPerService[service.name] == service.actions.count
            }
            let permissionManagement = covered.filter { $0.accessLevel == .permissionManagement }.map(\.name)
            if !wholeServices.isEmpty {
                let services = wholeServices.map { "\($0.name) (\($0.actions.count) actions)" }.joined(separator: ", ")
                let pm = permissionManagement.isEmpty ? "" : ", including permission management: \(Self.list(permissionManagement))"
                add(
                    .overlyPermissive,
                    "Allow of \(JSONWriter.quoted(pattern.text)) on all resources grants every action of \(services)\(pm); list the actions needed and scope Resource",
                    pattern.span)
            } else if !permissionManagement.isEmpty {
                add(
                    .overlyPermissive,
                    "Allow of \(JSONWriter.quoted(pattern.text)) on all resources grants permission management: \(Self.list(permissionManagement)); scope Resource to specific URNs",
                    pattern.span)
            }
        }
    }

    // MARK: Redundancy

    /// A pattern with what containment tests look at first. A class: the O(n²) pair loop
    /// passes these around, and a reference costs one retain where a struct copies four.
    private final class PatternShape {
        let text: String
        let glob: GlobPattern
        let bytes: [UInt8]
        /// Bytes before the first and after the last wildcard.
        let prefixLength: Int
        let suffixLength: Int
        /// For a pattern with policy variables, the pattern as written; `text` and `glob` are then
        /// its skeleton, which matches everything any substitution can.
        let written: String?

        init(_ text: String, _ glob: GlobPattern, written: String? = nil) {
            self.text = text
            self.glob = glob
            self.written = written
            bytes = Array(text.utf8)
            prefixLength = Wildcard.literalPrefixLength(bytes)
            suffixLength = Wildcard.literalSuffixLength(bytes)
        }

        /// A necessary condition for `inner ⊆ self`: every string of `inner` starts with inner's
        /// literal prefix and ends with its literal suffix, so outer's must be a prefix and a suffix
        /// of those (a wildcard could otherwise produce a different byte there).
        func mayContain(_ inner: PatternShape) -> Bool {
            guard prefixLength <= inner.prefixLength, suffixLength <= inner.suffixLength else { return false }
            return bytes.withUnsafeBufferPointer { o in
                inner.bytes.withUnsafeBufferPointer { i in
                    var k = 0
                    while k < prefixLength {
                        if o[k] != i[k] { return false }
                        k += 1
                    }
                    k = 1
                    while k <= suffixLength {
                        if o[o.count - k] != i[i.count - k] { return false }
                        k += 1
                    }
                    return true
                }
            }
        }
    }

    /// What redundancy checks compare, computed once per statement (the pairwise loop is O(n²)).
    private final class Shape {
        let statement: Statement
        /// Action patterns case-folded.
        let actions: [PatternShape]
        /// Resource patterns; `*` when Resource is absent.
        let resources: [PatternShape]
        /// Each resource pattern split at `:`, when a containment test gets that far.
        private(set) lazy var resourceSegments: [[String]] = resources.map { ColonFields($0.text).strings }
        /// A canonical rendering of the conditions ("" when there are none), built when first compared.
        private(set) lazy var conditions: String = statement.conditions.map { c in
            let values = c.values.map(\.value.description).sorted().joined(separator: ",")
            return "\(c.conditionOperator?.description ?? c.operatorName)|\(c.normalizedKey)|\(values)"
        }.sorted().joined(separator: ";")
        let comparable: Bool
        /// Effect, service and resource type when every resource pattern spells them literally
        /// (`ims:*:*:image:*`); a statement can only be covered by one with the same key or none.
        let key: String?

        init(_ statement: Statement) {
            self.statement = statement
            // Action globs hold the case-folded pattern.
            actions = statement.actions.patterns.map { PatternShape($0.glob.text, $0.glob) }
            resources =
                statement.resources?.patterns.map { p in
                    p.template.map { PatternShape($0.skeleton, GlobPattern($0.skeleton), written: p.text) } ?? PatternShape(p.text, p.glob)
                } ?? [PatternShape("*", GlobPattern("*"))]
            comparable = !statement.actions.isNegated && statement.resources?.isNegated != true && !actions.isEmpty
            var common: String? = nil
            var agree = true
            for pattern in resources {
                guard let k = Self.serviceAndType(pattern.bytes), common == nil || common! == k else {
                    agree = false
                    break
                }
                common = k
            }
            key = agree ? common.map { "\(statement.effect.rawValue)|" + $0 } : nil
        }

        /// `service:type` of a URN pattern whose service and type segments are literal; nil otherwise.
        private static func serviceAndType(_ bytes: [UInt8]) -> String? {
            bytes.withUnsafeBufferPointer { b -> String? in
                var colons = 0
                var serviceEnd = -1
                var typeStart = -1
                var wildcardInService = false
                var wildcardInType = false
                for i in b.indices {
                    let c = b[i]
                    if c == UInt8(ascii: ":") {
                        colons += 1
                        if colons == 1 { serviceEnd = i }
                        if colons == 3 { typeStart = i + 1 }
                        if colons == 4 {
                            guard !wildcardInService, !wildcardInType else { return nil }
                            var key = String(decoding: UnsafeBufferPointer(rebasing: b[0..<serviceEnd]), as: UTF8.self)
                            key += ":"
                            key += String(decoding: UnsafeBufferPointer(rebasing: b[typeStart..<i]), as: UTF8.self)
                            return key
                        }
                    } else if Wildcard.isWildcard(c) {
                        if colons == 0 { wildcardInService = true }
                        if colons == 3 { wildcardInType = true }
                    }
                }
                return nil
            }
        }
    }

    /// A statement whose every request is already decided the same way by another statement.
    mutating func checkRedundancy(_ statements: [Statement]) {
        let shapes = statements.map(Shape.init)
        // Only statements with the same literal service and resource type, or with none, can
        // cover each other; skipping the rest keeps the pairwise loop small (it can only miss, never invent).
        var buckets: [String: [Int]] = [:]
        var wild: [Int] = []
        for (i, shape) in shapes.enumerated() where shape.comparable {
            if let key = shape.key { buckets[key, default: []].append(i) } else { wild.append(i) }
        }
        let candidatesByKey = buckets.mapValues { ($0 + wild).sorted() }
        for j in shapes.indices where shapes[j].comparable {
            let inner = shapes[j]
            let candidates = inner.key.flatMap { candidatesByKey[$0] } ?? wild
            for i in candidates where i != j && Self.covers(shapes[i], inner) {
                let outer = shapes[i]
                if Self.covers(inner, outer) && i > j { continue }  // equivalent pair: report the later one
                let sid = outer.statement.sid.map { " (\(JSONWriter.quoted($0)))" } ?? ""
                let verb = inner.statement.effect == .allow ? "allows" : "denies"
                add(
                    .redundantStatement, "statement \(j) is covered by statement \(i)\(sid), which already \(verb) everything it does; remove it",
                    inner.statement.span)
                break
            }
        }
    }

    private static func covers(_ outer: Shape, _ inner: Shape) -> Bool {
        guard outer.comparable, inner.comparable, outer.statement.effect == inner.statement.effect else { return false }
        // Resources first: they differ between statements far more often than actions do.
        for r in inner.resources.indices {
            var found = false
            for o in outer.resources.indices where resourceContains(outer, o, inner, r) {
                found = true
                break
            }
            if !found { return false }
        }
        guard outer.statement.conditions.isEmpty || outer.conditions == inner.conditions else { return false }
        for a in inner.actions {
            var found = false
            for o in outer.actions where patternContains(o, a) {
                found = true
                break
            }
            if !found { return false }
        }
        return true
    }

    /// Resource containment with the segments split in advance (same rule as `GlobRelations.contains`).
    private static func resourceContains(_ outer: Shape, _ o: Int, _ inner: Shape, _ r: Int) -> Bool {
        let (outerPattern, innerPattern) = (outer.resources[o], inner.resources[r])
        // A pattern with variables covers for sure only the same pattern (its value varies by request);
        // one with variables is covered by whatever covers its skeleton.
        if let written = outerPattern.written { return written == innerPattern.written }
        // The byte test first: it rejects most pairs, and every pair the next line accepts passes it.
        guard outerPattern.mayContain(innerPattern) else { return false }
        if outerPattern.glob.matchesEverything || outerPattern.text == innerPattern.text { return true }
        if innerPattern.glob.isLiteral { return outerPattern.glob.matches(innerPattern.text) }
        let (a, b) = (outer.resourceSegments[o], inner.resourceSegments[r])
        if a.count > 1 && a.count == b.count {
            return zip(a, b).allSatisfy { GlobRelations.contains($0, $1) }
        }
        return GlobRelations.contains(outerPattern.text, innerPattern.text)
    }

    /// Containment using the already compiled globs for the common shapes, `GlobRelations` otherwise.
    private static func patternContains(_ outer: PatternShape, _ inner: PatternShape) -> Bool {
        guard outer.mayContain(inner) else { return false }
        if outer.glob.matchesEverything || outer.text == inner.text { return true }
        if inner.glob.isLiteral { return outer.glob.matches(inner.text) }
        return GlobRelations.contains(outer.text, inner.text)
    }

    static func list(_ names: [String]) -> String {
        if names.count <= 5 { return names.joined(separator: ", ") }
        return names.prefix(5).joined(separator: ", ") + " and \(names.count - 5) more"
    }
}
