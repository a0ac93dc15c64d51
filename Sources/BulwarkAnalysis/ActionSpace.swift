import BulwarkCatalog
import BulwarkEngine
import BulwarkPolicy

/// The requests for one catalog action, cut into finitely many cells per variable
/// (the resource and each condition key the statements look at), so that every
/// statement's match is a box: a product of one cell set per variable.
///
/// Within a cell nothing any statement looks at changes, so decisions are the same
/// for every request in it; the cells' representatives are real requests.
struct ActionSpace {
    let action: ActionDefinition
    let foldedAction: String
    /// Resource cells: the URN or `*` standing for each, and which patterns it matches.
    let resources: [String]
    let resourcePatterns: [String]
    let patternHits: [[Bool]]
    /// Condition-key variables, after the resource (variable 0).
    let keys: [KeyVariable]

    struct KeyVariable {
        /// Spelling used in examples.
        let key: String
        let normalizedKey: String
        let clauses: [ConditionClause]
        let cells: [ConditionKeyCells.Cell]

        /// The column of `clause` in the cells' `holds`: the first clause written the same way
        /// (same operator, same values), which holds exactly when `clause` does.
        func position(of clause: ConditionClause) -> Int {
            clauses.firstIndex { $0.operatorName == clause.operatorName && $0.values.map(\.value) == clause.values.map(\.value) }!
        }
    }

    var variableCount: Int { 1 + keys.count }
    var cellCounts: [Int] { [resources.count] + keys.map(\.cells.count) }

    var everything: Box { Box(sets: cellCounts.map { CellSet(count: $0, all: true) }) }

    /// Each model's statements that cover the action, in the order of `models`.
    let relevant: [AccessModel.Relevant]

    /// Builds the cells for `action` from the statements of `models` that cover it, plus
    /// `extraPatterns` (resources a question names) and `extraClauses` (conditions it names).
    init(
        action: ActionDefinition, catalog: Catalog, models: [AccessModel], extraPatterns: [String] = [],
        extraClauses: [ConditionClause] = [], cache: AnalysisCache
    ) throws(AnalysisLimit) {
        self.action = action
        foldedAction = CaseFolding.lowercase(action.name)
        var statements: [Statement] = []
        var fixedKeys = Set<String>()
        let folded = foldedAction
        let scope = VariableScope(catalog: catalog)
        var relevant: [AccessModel.Relevant] = []
        for model in models { relevant.append(try model.statements(for: folded, scope: scope)) }
        self.relevant = relevant
        for (model, r) in zip(models, relevant) {
            statements += r.groups.joined().map(\.statement) + r.denies.map(\.statement)
            fixedKeys.formUnion(model.fixedContext.keys.map(CaseFolding.lowercase))
        }
        var patterns: [String] = []
        var seenPatterns = Set<String>()
        for s in statements {
            for p in s.resources?.patterns ?? [] where seenPatterns.insert(p.text).inserted { patterns.append(p.text) }
        }
        for p in extraPatterns where seenPatterns.insert(p).inserted { patterns.append(p) }
        resourcePatterns = patterns

        let service = ServicePrefix.of(action.name)
        let templates = action.resourceTypes.compactMap { catalog.resourceType($0, in: service)?.urn }
        let witnesses = try cache.resourceWitnesses(patterns: patterns, templates: templates)
        resources = witnesses
        let globs = patterns.map(GlobPattern.init)
        patternHits = witnesses.map { w in globs.map { $0.matches(w) } }

        var byKey: [String: (String, [ConditionClause])] = [:]
        for clause in statements.flatMap(\.conditions) + extraClauses where !fixedKeys.contains(clause.normalizedKey) {
            byKey[clause.normalizedKey, default: (clause.key, [])].1.append(clause)
        }
        var keys: [KeyVariable] = []
        for normalized in byKey.keys.sorted() {
            let (spelling, clauses) = byKey[normalized]!
            let definition = catalog.conditionKey(named: spelling)
            let cells = try cache.keyCells(key: spelling, clauses: clauses, definition: definition)
            keys.append(
                KeyVariable(
                    key: definition?.isTemplate == false ? definition!.name : spelling, normalizedKey: normalized, clauses: clauses, cells: cells))
        }
        self.keys = keys
    }

    /// The requests a statement matches, as a box; nil when it matches none of them.
    func box(of statement: Statement, fixed: RequestContext) -> Box? {
        var sets: [CellSet] = []
        if let list = statement.resources {
            let indices = list.patterns.map { p in resourcePatterns.firstIndex(of: p.text)! }
            sets.append(
                CellSet(
                    count: resources.count,
                    members: resources.indices.filter { cell in
                        indices.contains { patternHits[cell][$0] } != list.isNegated
                    }))
        } else {
            sets.append(CellSet(count: resources.count, all: true))
        }
        var byKey: [String: [ConditionClause]] = [:]
        for clause in statement.conditions {
            if fixed[clause.key] != nil || !keys.contains(where: { $0.normalizedKey == clause.normalizedKey }) {
                // A key the side fixes (or that nothing varies): the clause is a constant.
                guard clause.holds(in: fixed) else { return nil }
                continue
            }
            byKey[clause.normalizedKey, default: []].append(clause)
        }
        for variable in keys {
            guard let mine = byKey[variable.normalizedKey] else {
                sets.append(CellSet(count: variable.cells.count, all: true))
                continue
            }
            let positions = mine.map(variable.position(of:))
            sets.append(
                CellSet(
                    count: variable.cells.count,
                    members: variable.cells.indices.filter { cell in
                        positions.allSatisfy { variable.cells[cell].holds[$0] }
                    }))
        }
        let box = Box(sets: sets)
        return box.isEmpty ? nil : box
    }

    /// What the side at `index` of the models the space was built from allows for this action.
    func allowed(by model: AccessModel, at index: Int) -> Region {
        let groups = relevant[index].groups
        let denies = relevant[index].denies
        var result: Region? = nil
        for group in groups {
            var union = Region()
            for entry in group { if let b = box(of: entry.statement, fixed: model.fixedContext) { union.formUnion(b) } }
            result = result.map { $0.intersection(union) } ?? union
            if result!.isEmpty { return Region() }
        }
        var allowed = result ?? Region()
        for entry in denies {
            if let b = box(of: entry.statement, fixed: model.fixedContext) { allowed = allowed.subtracting(b) }
            if allowed.isEmpty { break }
        }
        return allowed
    }

    /// A concrete request from the first cell of each variable of `box`.
    func example(_ box: Box) -> AuthorizationRequest {
        var context = RequestContext()
        for (i, variable) in keys.enumerated() {
            if let values = variable.cells[box.sets[i + 1].first!].values { context.set(variable.key, values) }
        }
        return AuthorizationRequest(action: action.name, resource: resources[box.sets[0].first!], context: context)
    }
}
