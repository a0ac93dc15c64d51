import BulwarkCatalog
import BulwarkJSON
import BulwarkPolicy

/// The per-statement rules: actions, resources, conditions, SCP rules, security warnings.
struct StatementChecker {
    let catalog: Catalog
    let index: ActionIndex
    let type: PolicyType
    var findings: [Finding] = []

    init(catalog: Catalog, index: ActionIndex, type: PolicyType) {
        self.catalog = catalog
        self.index = index
        self.type = type
    }

    mutating func add(_ code: FindingCode, _ message: String, _ span: SourceSpan) {
        findings.append(Finding(code: code, message: message, path: span.path, location: span.location))
    }

    mutating func check(_ statement: Statement) {
        // Each pattern is resolved against the catalog once; every rule below reuses it.
        let hits = statement.actions.patterns.map { index.matching($0.glob) }
        var hit = [Bool](repeating: false, count: index.definitions.count)
        for h in hits { for i in h { hit[i] = true } }
        // Indices of the catalogued actions the statement covers.
        var covered: [Int] = []
        for i in index.definitions.indices where hit[i] != statement.actions.isNegated && index.definitions[i] != nil {
            covered.append(i)
        }
        checkActions(statement, hits: hits)
        checkResources(statement, covered: covered)
        checkConditions(statement, covered: covered)
        checkEffectRules(statement, covered: covered, hits: hits)
    }

    // MARK: Actions

    private mutating func checkActions(_ statement: Statement, hits: [[Int]]) {
        let element = statement.actions.isNegated ? "NotAction" : "Action"
        for (patternIndex, pattern) in statement.actions.patterns.enumerated() {
            let text = pattern.text
            if type == .scp && !Self.isValidSCPActionWildcard(text) {
                add(.scpInvalidActionWildcard, "\(JSONWriter.quoted(text)): in an SCP a wildcard may only be the whole value (\"*\") or at the end (\"ims:images:*\")", pattern.span)
            }
            let folded = CaseFolding.lowercase(text)
            let glob = pattern.glob
            let servicePart = String(folded.prefix { $0 != ":" })
            let matches = hits[patternIndex]
            if servicePart.utf8.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }) {
                if matches.isEmpty && !glob.matchesEverything {
                    add(.unknownAction, "\(element) pattern \(JSONWriter.quoted(text)) matches no catalogued action", pattern.span)
                }
                continue
            }
            guard folded.utf8.contains(UInt8(ascii: ":")) else {
                add(.unknownAction, "\(JSONWriter.quoted(text)) is not an action; actions are written service:resource:action, e.g. ims:images:get", pattern.span)
                continue
            }
            guard catalog.service(named: servicePart) != nil else {
                let hint = EditDistance.closest(to: servicePart, in: index.serviceNames, maxDistance: max(1, servicePart.count / 3))
                    .map { "; did you mean \($0)?" } ?? "; Bulwark cannot check its actions"
                add(.unknownService, "service \(JSONWriter.quoted(servicePart)) of \(JSONWriter.quoted(text)) is not in the catalog\(hint)", pattern.span)
                continue
            }
            if matches.isEmpty {
                if glob.isLiteral {
                    let names = index.names.indices.filter { index.services[$0].lowercased() == servicePart }.map { index.names[$0] }
                    let hint = EditDistance.closest(to: text, in: names, maxDistance: max(3, text.count / 4))
                        .map { "; did you mean \($0)?" } ?? ""
                    add(.unknownAction, "\(JSONWriter.quoted(text)) is not an action of \(servicePart)\(hint)", pattern.span)
                } else {
                    add(.unknownAction, "\(element) pattern \(JSONWriter.quoted(text)) matches no action of \(servicePart)", pattern.span)
                }
            }
        }
        // Patterns covered by another pattern of the same statement.
        let patterns = statement.actions.patterns
        for (j, inner) in patterns.enumerated() {
            for (i, outer) in patterns.enumerated() where i != j {
                let a = CaseFolding.lowercase(outer.text), b = CaseFolding.lowercase(inner.text)
                guard GlobRelations.contains(a, b) else { continue }
                if a == b && i > j { continue }  // report the later duplicate only
                add(.redundantAction, "\(JSONWriter.quoted(inner.text)) is already covered by \(JSONWriter.quoted(outer.text)) in the same statement; remove it", inner.span)
                break
            }
        }
    }

    /// SCP action wildcards: `*` alone, or one trailing `*`; never `?`.
    static func isValidSCPActionWildcard(_ text: String) -> Bool {
        if text == "*" { return true }
        if text.contains("?") { return false }
        guard let star = text.firstIndex(of: "*") else { return true }
        return star == text.index(before: text.endIndex)
    }

    // MARK: Resources

    private mutating func checkResources(_ statement: Statement, covered: [Int]) {
        guard let resources = statement.resources else { return }
        if resources.isNegated { return }
        let withTypes = covered.filter { !index.templatesByIndex[$0].isEmpty }
        // Many actions share a resource type: test each distinct URN template once.
        var templates: Set<String> = []
        for i in withTypes { templates.formUnion(index.templatesByIndex[i]) }
        for pattern in resources.patterns where !pattern.glob.matchesEverything {
            let text = pattern.text
            let patternSegments = Self.splitColons(text, maxSplits: 4)
            if pattern.glob.isLiteral && (patternSegments.count < 5 || patternSegments[0].isEmpty) {
                add(.invalidURN, "\(JSONWriter.quoted(text)) is not a URN; write service:region:account-id:type:id, e.g. ims:cn-north-4:0a1b2c:image:img-1, or \"*\"", pattern.span)
                continue
            }
            if !covered.isEmpty && withTypes.isEmpty {
                let subject = covered.count == 1 ? "\(index.names[covered[0]]) has no resource type" : "\(Self.list(covered.map { index.names[$0] })) have no resource types"
                let whose = covered.count == 1 ? "its" : "their"
                add(.resourceMustBeWildcard, "\(subject), so Resource must be \"*\"; \(JSONWriter.quoted(text)) never matches \(whose) requests", pattern.span)
                continue
            }
            // A literal action without resource types next to a specific resource is never allowed by it.
            for actionPattern in statement.actions.patterns where !statement.actions.isNegated && actionPattern.glob.isLiteral {
                if let definition = catalog.action(named: actionPattern.text), definition.resourceTypes.isEmpty {
                    add(.resourceMustBeWildcard, "\(definition.name) has no resource type; with Resource \(JSONWriter.quoted(text)) it is never granted; move it to a statement with Resource \"*\"", pattern.span)
                }
            }
            guard !withTypes.isEmpty else { continue }
            let fits = templates.isEmpty || templates.contains { Self.couldBe(patternSegments, pattern: text, template: $0) }
            if !fits {
                let expected = templates.sorted()
                add(.resourceTypeMismatch, "\(JSONWriter.quoted(text)) cannot be a resource of \(Self.list(withTypes.map { index.names[$0] })); expected \(expected.joined(separator: " or "))", pattern.span)
            }
        }
    }

    /// Splits at `:` on UTF-8 bytes (Character-wise splitting is far slower), keeping empty parts.
    static func splitColons(_ text: String, maxSplits: Int = .max) -> [String] {
        var parts: [String] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: ":") && parts.count < maxSplits {
                parts.append(String(text[start..<index]))
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        parts.append(String(text[start..<utf8.endIndex]))
        return parts
    }

    /// Whether a resource pattern can match a URN of the template. URNs are
    /// `service:region:account:type:id`; when the pattern spells out those
    /// segments, its service and type segments must fit the template's (a `*`
    /// there could reach across colons in theory, but never does in a real URN).
    static func couldBe(_ segments: [String], pattern: String, template: String) -> Bool {
        let templateSegments = splitColons(template, maxSplits: 4)
        guard segments.count == 5, templateSegments.count == 5 else {
            return GlobRelations.intersects(urnGlob(template), pattern)
        }
        for i in [0, 3] {
            let segment = segments[i]
            let literal = !segment.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
            if literal ? segment != templateSegments[i] : !GlobPattern(segment).matches(templateSegments[i]) { return false }
        }
        let idGlob = urnGlob(templateSegments[4])
        if idGlob.utf8.allSatisfy({ $0 == UInt8(ascii: "*") }) { return true }
        // `*/*` (namespace/repo and the like): some match exists iff the pattern can produce a `/`.
        if idGlob == "*/*" {
            return segments[4].utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
        }
        return GlobRelations.intersects(idGlob, segments[4])
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
                    add(.unknownOperator, "unknown condition operator \(JSONWriter.quoted(clause.operatorName))\(hint); the statement can never match", clause.operatorSpan)
                }
                continue
            }
            if op.kind == .null && op.ifExists {
                add(.nullWithIfExists, "\(op) on \(clause.key): IfExists makes a missing key true, which defeats Null; use Null alone", clause.span)
            }
            checkValueTypes(clause, op)
            checkKey(clause, op, covered: covered)
        }
    }

    private mutating func checkValueTypes(_ clause: ConditionClause, _ op: ConditionOperator) {
        for literal in clause.values {
            let text = literal.value.text
            let ok: Bool
            let expected: String
            switch op.kind.valueType {
            case .string:
                ok = true
                expected = ""
            case .number:
                ok = { if case .bool = literal.value { return false }; return ExactDecimal(text) != nil }()
                expected = "a number"
            case .date:
                ok = { if case .bool = literal.value { return false }; return Instant(text) != nil }()
                expected = "an ISO 8601 date-time, a date or epoch seconds"
            case .boolean, .null:
                ok = {
                    if case .bool = literal.value { return true }
                    if case .string(let s) = literal.value { return ["true", "false"].contains(s.lowercased()) }
                    return false
                }()
                expected = "true or false"
            case .ip:
                ok = { if case .string = literal.value { return IPAddressRange(text) != nil }; return false }()
                expected = "an IPv4/IPv6 address or CIDR block"
            }
            if !ok {
                add(.dataTypeMismatch, "\(literal.value) is not \(expected), which \(op.kind.rawValue) compares; this value never matches", literal.span)
            }
        }
    }

    private mutating func checkKey(_ clause: ConditionClause, _ op: ConditionOperator, covered: [Int]) {
        let prefix = String(clause.normalizedKey.prefix { $0 != ":" })
        guard let definition = catalog.conditionKey(named: clause.key) else {
            guard prefix == "g" || catalog.service(named: prefix) != nil else { return }
            var known = catalog.globalKeys.map(\.name)
            if let service = catalog.service(named: prefix) { known += service.conditionKeys.map(\.name) }
            let hint = EditDistance.closest(to: clause.key, in: known, maxDistance: 3).map { "; did you mean \($0)?" } ?? ""
            add(.unknownConditionKey, "condition key \(JSONWriter.quoted(clause.key)) is not in the catalog\(hint)", clause.span)
            return
        }
        if prefix != "g" && !covered.isEmpty {
            let folded = definition.name.lowercased()
            let supporting = covered.filter { index.foldedConditionKeys[$0].contains(folded) }
            if supporting.isEmpty {
                let all = catalog.allActions.filter { action in action.conditionKeys.contains { $0.lowercased() == definition.name.lowercased() } }.map(\.name)
                let which = all.isEmpty ? "no action supports it" : "it is supported by \(Self.list(all))"
                add(.conditionKeyNotSupported, "none of the statement's actions supports \(definition.name) (\(which)); the condition never holds for them", clause.span)
            }
        }
        let keyType = Self.valueType(of: definition.type)
        let opType = op.kind.valueType
        if opType != .null && opType != keyType {
            add(.dataTypeMismatch, "\(definition.name) holds \(definition.type.rawValue) values, but \(op.kind.rawValue) compares \(opType.rawValue) values; use an operator for \(keyType.rawValue) values", clause.span)
        }
        if op.qualifier == .forAllValues && !definition.multiValued {
            add(.forAllValuesWithSingleValuedKey, "ForAllValues on the single-valued key \(definition.name) also holds when the key is missing; use the operator without a prefix", clause.span)
        }
        if op.qualifier == .none && definition.multiValued && op.kind != .null {
            add(.missingSetOperator, "\(definition.name) may carry several values; say ForAnyValue:\(op.kind.rawValue) or ForAllValues:\(op.kind.rawValue) to make clear which you mean", clause.span)
        }
        if definition.sensitive == true {
            let wildcard = op.kind.positiveForm == .stringMatch && clause.values.contains { $0.value.text.contains("*") || $0.value.text.contains("?") }
            if wildcard || op.kind == .stringStartWith || op.kind == .stringEndWith {
                add(.wildcardInSensitiveKey, "\(definition.name) identifies the principal; compare it exactly (StringEquals), not with \(op.kind.rawValue) and wildcards", clause.span)
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
                add(.scpUnsupportedElement, "NotAction is not supported in SCP Allow statements; list the actions, or use NotAction in a Deny", statement.actions.span)
            }
            if let span = statement.conditionSpan {
                add(.scpAllowWithCondition, "SCP Allow statements cannot have a Condition; put conditions on a Deny statement", span)
            }
            if let resources = statement.resources, !resources.isNegated, !resources.patterns.allSatisfy({ $0.text == "*" }) {
                add(.scpAllowResourceNotWildcard, "SCP Allow statements must have Resource \"*\"; restrict resources with a Deny statement", resources.span)
            }
        case .identity:
            guard statement.effect == .allow else { return }
            if statement.actions.isNegated {
                add(.allowWithNotAction, "Allow with NotAction grants every action it does not list (\(covered.count) catalogued actions today, and every future one)", statement.actions.span)
            }
            if let resources = statement.resources, resources.isNegated {
                add(.allowWithNotResource, "Allow with NotResource grants every resource it does not list, including \"*\"", resources.span)
            }
            checkOverlyPermissive(statement, hits: hits)
        }
    }

    private mutating func checkOverlyPermissive(_ statement: Statement, hits allHits: [[Int]]) {
        guard !statement.actions.isNegated else { return }
        let onAllResources = statement.resources.map { list in
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
                add(.overlyPermissive, "Allow of \(JSONWriter.quoted(pattern.text)) on all resources grants every action of \(services)\(pm); list the actions needed and scope Resource", pattern.span)
            } else if !permissionManagement.isEmpty {
                add(.overlyPermissive, "Allow of \(JSONWriter.quoted(pattern.text)) on all resources grants permission management: \(Self.list(permissionManagement)); scope Resource to specific URNs", pattern.span)
            }
        }
    }

    // MARK: Redundancy

    /// What redundancy checks compare, computed once per statement (the pairwise loop is O(n²)).
    private final class Shape {
        let statement: Statement
        /// Action patterns case-folded, with their compiled globs.
        let actions: [(text: String, glob: GlobPattern)]
        /// Resource patterns; `*` when Resource is absent.
        let resources: [(text: String, glob: GlobPattern)]
        /// Each resource pattern split at `:`, computed once for the O(n²) pair loop.
        let resourceSegments: [[String]]
        /// A canonical rendering of the conditions ("" when there are none).
        let conditions: String
        let comparable: Bool
        /// Effect, service and resource type when every resource pattern spells them literally
        /// (`ims:*:*:image:*`); a statement can only be covered by one with the same key or none.
        let key: String?

        init(_ statement: Statement) {
            self.statement = statement
            actions = statement.actions.patterns.map { (CaseFolding.lowercase($0.text), $0.glob) }
            resources = statement.resources?.patterns.map { ($0.text, $0.glob) } ?? [("*", GlobPattern("*"))]
            resourceSegments = resources.map { StatementChecker.splitColons($0.text) }
            conditions = statement.conditions.map { c in
                let values = c.values.map(\.value.description).sorted().joined(separator: ",")
                return "\(c.conditionOperator?.description ?? c.operatorName)|\(c.normalizedKey)|\(values)"
            }.sorted().joined(separator: ";")
            comparable = !statement.actions.isNegated && statement.resources?.isNegated != true && !actions.isEmpty
            let literal = { (t: String) in !t.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") } }
            let keys = Set(resourceSegments.map { segments in
                segments.count >= 5 && literal(segments[0]) && literal(segments[3]) ? segments[0] + ":" + segments[3] : "" })
            key = keys.count == 1 && !keys.contains("") ? "\(statement.effect.rawValue)|\(keys.first!)" : nil
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
        for j in shapes.indices where shapes[j].comparable {
            let inner = shapes[j]
            let candidates = inner.key.map { (buckets[$0] ?? []) + wild }.map { $0.sorted() } ?? wild
            for i in candidates where i != j && Self.covers(shapes[i], inner) {
                let outer = shapes[i]
                if Self.covers(inner, outer) && i > j { continue }  // equivalent pair: report the later one
                let sid = outer.statement.sid.map { " (\(JSONWriter.quoted($0)))" } ?? ""
                let verb = inner.statement.effect == .allow ? "allows" : "denies"
                add(.redundantStatement, "statement \(j) is covered by statement \(i)\(sid), which already \(verb) everything it does; remove it", inner.statement.span)
                break
            }
        }
    }

    private static func covers(_ outer: Shape, _ inner: Shape) -> Bool {
        guard outer.comparable, inner.comparable, outer.statement.effect == inner.statement.effect,
            outer.conditions.isEmpty || outer.conditions == inner.conditions
        else { return false }
        // Resources first: they differ between statements far more often than actions do.
        let resourcesCovered = inner.resources.indices.allSatisfy { r in
            outer.resources.indices.contains { o in
                resourceContains(outer, o, inner, r)
            }
        }
        return resourcesCovered && inner.actions.allSatisfy { a in outer.actions.contains { patternContains($0, a) } }
    }

    /// Resource containment with the segments split in advance (same rule as `GlobRelations.contains`).
    private static func resourceContains(_ outer: Shape, _ o: Int, _ inner: Shape, _ r: Int) -> Bool {
        let (outerPattern, innerPattern) = (outer.resources[o], inner.resources[r])
        if outerPattern.glob.matchesEverything || outerPattern.text == innerPattern.text { return true }
        if innerPattern.glob.isLiteral { return outerPattern.glob.matches(innerPattern.text) }
        let (a, b) = (outer.resourceSegments[o], inner.resourceSegments[r])
        if a.count > 1 && a.count == b.count {
            return zip(a, b).allSatisfy { GlobRelations.contains($0, $1) }
        }
        return GlobRelations.contains(outerPattern.text, innerPattern.text)
    }

    /// Containment using the already compiled globs for the common shapes, `GlobRelations` otherwise.
    private static func patternContains(_ outer: (text: String, glob: GlobPattern), _ inner: (text: String, glob: GlobPattern)) -> Bool {
        if outer.glob.matchesEverything || outer.text == inner.text { return true }
        if inner.glob.isLiteral { return outer.glob.matches(inner.text) }
        return GlobRelations.contains(outer.text, inner.text)
    }

    static func list(_ names: [String]) -> String {
        if names.count <= 5 { return names.joined(separator: ", ") }
        return names.prefix(5).joined(separator: ", ") + " and \(names.count - 5) more"
    }
}
