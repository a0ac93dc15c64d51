import BulwarkCatalog
import BulwarkPolicy

/// Cells computed once per distinct question: many actions share the same
/// resource patterns and conditions, and the automaton walks are the costly part.
final class AnalysisCache {
    private var resources: [[String]: [String]] = [:]
    private var keys: [String: [ConditionKeyCells.Cell]] = [:]

    /// Representative resources: one per realizable combination of `patterns`, among URNs of
    /// `templates` (or just `*` when the action has no resource type).
    func resourceWitnesses(patterns: [String], templates: [String]) throws(AnalysisLimit) -> [String] {
        let cacheKey = patterns + ["\u{0}"] + templates
        if let hit = resources[cacheKey] { return hit }
        let universe =
            templates.isEmpty
            ? ScalarAutomaton.literal("*") : ScalarAutomaton.union(templates.map(ScalarAutomaton.urnTemplate))
        let cells = try LanguageCells.cells(of: patterns.map(ScalarAutomaton.glob), within: universe)
        let witnesses = cells.map(\.witness)
        resources[cacheKey] = witnesses
        return witnesses
    }

    func keyCells(key: String, clauses: [ConditionClause], definition: ConditionKeyDefinition?) throws(AnalysisLimit) -> [ConditionKeyCells.Cell] {
        var cacheKey = CaseFolding.lowercase(key)
        for c in clauses {
            cacheKey += "\u{0}" + c.operatorName + "\u{1}" + c.values.map(\.value.description).joined(separator: "\u{2}")
        }
        if let hit = keys[cacheKey] { return hit }
        let cells = try ConditionKeyCells.cells(key: key, clauses: clauses, definition: definition)
        keys[cacheKey] = cells
        return cells
    }
}
