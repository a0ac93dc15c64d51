import BulwarkJSON
import BulwarkPolicy

/// Words for a set of cells of one variable: the literals ("matches P", "not C")
/// that all its cells share, when those pick out exactly the set; otherwise one
/// such conjunction per cell.
enum RegionDescription {
    struct Literal: Hashable {
        let atom: Int
        let positive: Bool
    }

    /// A disjunction of conjunctions; `[[]]` when the set is every cell.
    static func literals(of set: CellSet, truth: [[Bool]]) -> [[Literal]] {
        if set.isFull { return [[]] }
        let members = set.members
        let atoms = truth.first?.count ?? 0
        var common: [Literal] = []
        for atom in 0..<atoms {
            let values = Set(members.map { truth[$0][atom] })
            if values.count == 1 { common.append(Literal(atom: atom, positive: values.first!)) }
        }
        let picked = truth.indices.filter { cell in common.allSatisfy { truth[cell][$0.atom] == $0.positive } }
        if picked == members { return [common] }
        return members.map { cell in (0..<atoms).map { Literal(atom: $0, positive: truth[cell][$0]) } }
    }

    /// The resource part of a region, e.g. `matches "swr:*:*:repo:*" but not "swr:*:*:repo:team-a/*"`.
    static func resource(_ set: CellSet, space: ActionSpace) -> String {
        let types = space.action.resourceTypes
        let anything = types.isEmpty ? "\"*\" (the action has no resource type)" : "any " + types.joined(separator: " or ") + " URN"
        let alternatives = literals(of: set, truth: space.patternHits).map { conjunction -> String in
            let patterns = space.resourcePatterns
            var positives = conjunction.filter(\.positive).map { patterns[$0.atom] }
            var negatives = conjunction.filter { !$0.positive }.map { patterns[$0.atom] }
            // Keep the narrowest positives, and only negatives that can still exclude something.
            positives = positives.filter { p in !positives.contains { q in q != p && GlobRelations.contains(p, q) } }
            negatives = negatives.filter { n in positives.allSatisfy { GlobRelations.intersects($0, n) } }
            let quote = { (p: String) in JSONWriter.quoted(p) }
            if positives.isEmpty && negatives.isEmpty { return anything }
            if positives.isEmpty { return anything + " except " + negatives.map(quote).joined(separator: ", ") }
            let head = positives.map(quote).joined(separator: " and ")
            return negatives.isEmpty ? head : head + " except " + negatives.map(quote).joined(separator: ", ")
        }
        return alternatives.count == 1 ? alternatives[0] : alternatives.map { "(\($0))" }.joined(separator: " or ")
    }

    /// The condition part for one key, e.g. `IpAddress g:SourceIp ["10.0.0.0/8"]`; nil when unconstrained.
    static func condition(_ set: CellSet, variable: ActionSpace.KeyVariable) -> String? {
        if set.isFull { return nil }
        // Clauses written the same way behave the same way: one atom each.
        var texts: [String] = []
        var columns: [Int] = []
        for (i, clause) in variable.clauses.enumerated() {
            let text = clauseText(clause)
            if !texts.contains(text) {
                texts.append(text)
                columns.append(i)
            }
        }
        let truth = variable.cells.map { cell in columns.map { cell.holds[$0] } }
        let alternatives = literals(of: set, truth: truth).map { conjunction -> String in
            if conjunction.isEmpty { return "any value" }
            return conjunction.map { ($0.positive ? "" : "not ") + texts[$0.atom] }.joined(separator: " and ")
        }
        return alternatives.count == 1 ? alternatives[0] : alternatives.map { "(\($0))" }.joined(separator: " or ")
    }

    static func clauseText(_ clause: ConditionClause) -> String {
        let op = clause.conditionOperator.map(\.description) ?? clause.operatorName
        return "\(op) \(clause.key) [" + clause.values.map(\.value.description).joined(separator: ", ") + "]"
    }
}
