public import BulwarkCatalog
public import BulwarkEngine
public import BulwarkPolicy

/// Requests that one side allows and the other does not, as a region: the actions,
/// the resources and the conditions, with one concrete request from it.
public struct AccessRegion: Sendable {
    /// Catalog actions the region covers (the same resources and conditions for each).
    public let actions: [String]
    /// The resources, in words (`any`, `"swr:*:*:repo:team-a/*"`, `... except ...`).
    public let resource: String
    /// One line per condition key the region constrains; empty when any context will do.
    public let conditions: [String]
    /// A request in the region, for the first action.
    public let example: AuthorizationRequest
    /// The Allow statements that grant the example on the allowing side.
    public let grantedBy: [DeterminingStatement]
}

/// An action whose requests could not be compared exactly, and why.
public struct UndecidedAction: Sendable, Hashable {
    public let action: String
    public let reason: String
}

/// The answer of `bulwark diff`.
public struct AccessDifference: Sendable {
    /// Allowed by the new side and not by the old one.
    public let added: [AccessRegion]
    /// Allowed by the old side and not by the new one.
    public let removed: [AccessRegion]
    /// Actions left undecided; empty when the answer is exact.
    public let undecided: [UndecidedAction]

    public enum Verdict: String, Sendable { case equivalent, different, unknown }

    /// `different` as soon as one difference is certain; `unknown` when none was found but some
    /// action could not be decided.
    public var verdict: Verdict {
        if !added.isEmpty || !removed.isEmpty { return .different }
        return undecided.isEmpty ? .equivalent : .unknown
    }
}

/// Exact questions over the catalog's finite set of actions (SPEC §8).
///
/// For each action, requests are cut into cells (``ActionSpace``), each side's
/// decision becomes a union of boxes of cells, and differences are box
/// subtractions; every region found is checked by evaluating its example request
/// with the reference evaluator on both sides.
public struct PolicyAnalyzer: Sendable {
    public let catalog: Catalog
    /// What evaluation takes from the catalog (multi-valued keys, action aliases).
    let scope: VariableScope

    public init(catalog: Catalog) {
        self.catalog = catalog
        self.scope = VariableScope(catalog: catalog)
    }

    /// What `new` allows that `old` does not, and the reverse.
    public func difference(old: AccessModel, new: AccessModel) -> AccessDifference {
        let cache = AnalysisCache()
        var added: [(ActionSpace, Box)] = []
        var removed: [(ActionSpace, Box)] = []
        var undecided: [UndecidedAction] = []
        for action in catalog.allActions {
            do throws(AnalysisLimit) {
                let space = try ActionSpace(action: action, catalog: catalog, models: [old, new], cache: cache)
                let before = space.allowed(by: old, at: 0)
                let after = space.allowed(by: new, at: 1)
                added += after.subtracting(before).boxes.map { (space, $0) }
                removed += before.subtracting(after).boxes.map { (space, $0) }
            } catch {
                undecided.append(UndecidedAction(action: action.name, reason: error.reason))
            }
        }
        var addedRegions = regions(added, allowing: new, denying: old, undecided: &undecided)
        var removedRegions = regions(removed, allowing: old, denying: new, undecided: &undecided)
        addedRegions.sort { $0.actions[0] < $1.actions[0] }
        removedRegions.sort { $0.actions[0] < $1.actions[0] }
        return AccessDifference(added: addedRegions, removed: removedRegions, undecided: undecided)
    }

    /// Every request `model` allows for `actions` on resources matching one of `resources`
    /// (any resource when empty), as regions; used by `check access-not-granted`.
    public func grantedAccess(
        _ model: AccessModel, actions: [ActionDefinition], resources: [String]
    ) -> (regions: [AccessRegion], undecided: [UndecidedAction]) {
        let cache = AnalysisCache()
        var found: [(ActionSpace, Box)] = []
        var undecided: [UndecidedAction] = []
        for action in actions {
            do throws(AnalysisLimit) {
                let space = try ActionSpace(action: action, catalog: catalog, models: [model], extraPatterns: resources, cache: cache)
                var query = space.everything
                if !resources.isEmpty {
                    let indices = resources.map { r in space.resourcePatterns.firstIndex(of: r)! }
                    query.sets[0] = CellSet(
                        count: space.resources.count,
                        members: space.resources.indices.filter { cell in
                            indices.contains { space.patternHits[cell][$0] }
                        })
                }
                found += space.allowed(by: model, at: 0).boxes.compactMap { $0.intersection(query) }.map { (space, $0) }
            } catch {
                undecided.append(UndecidedAction(action: action.name, reason: error.reason))
            }
        }
        return (regions(found, allowing: model, denying: nil, undecided: &undecided), undecided)
    }

    /// Requests `model` allows for `action` whose target lies outside: each clause says what
    /// "inside" is for one target key, and a request is outside when at least one target key is
    /// present and fails its clause while every other is absent or fails too (the keys describe the
    /// same target, so a request never mixes an inside key with an outside one).
    func outsideAccess(
        _ model: AccessModel, action: ActionDefinition, inside: [ConditionClause], cache: AnalysisCache
    ) throws(AnalysisLimit) -> [AccessRegion] {
        let space = try ActionSpace(action: action, catalog: catalog, models: [model], extraClauses: inside, cache: cache)
        // For each target key variable: cells that are absent-or-outside, and those present and outside.
        var targets: [(variable: Int, loose: CellSet, strict: CellSet)] = []
        for clause in inside {
            guard let k = space.keys.firstIndex(where: { $0.normalizedKey == clause.normalizedKey }) else { continue }
            let variable = space.keys[k]
            let position = variable.position(of: clause)
            let cells = variable.cells
            let outside = cells.indices.filter { !cells[$0].holds[position] }
            targets.append(
                (
                    k + 1, CellSet(count: cells.count, members: cells.indices.filter { cells[$0].values == nil || outside.contains($0) }),
                    CellSet(count: cells.count, members: outside.filter { cells[$0].values != nil })
                ))
        }
        var region = Region()
        for t in targets {
            var box = space.everything
            for other in targets { box.sets[other.variable] = other.loose }
            box.sets[t.variable] = t.strict
            region.formUnion(box)
        }
        var undecided: [UndecidedAction] = []
        let found = space.allowed(by: model, at: 0).intersection(region).boxes.map { (space, $0) }
        let result = regions(found, allowing: model, denying: nil, undecided: &undecided)
        if let first = undecided.first { throw AnalysisLimit(first.reason) }
        return result
    }

    /// Boxes in words, grouped across actions that read the same, each with a checked example.
    private func regions(
        _ boxes: [(ActionSpace, Box)], allowing: AccessModel, denying: AccessModel?, undecided: inout [UndecidedAction]
    ) -> [AccessRegion] {
        var order: [String] = []
        var groups: [String: (resource: String, conditions: [String], actions: [String], example: AuthorizationRequest)] = [:]
        for (space, box) in boxes {
            let example = space.example(box)
            guard allowing.allows(example, scope: scope), !(denying?.allows(example, scope: scope) ?? false) else {
                undecided.append(
                    UndecidedAction(
                        action: space.action.name,
                        reason: "internal check failed: example request on \(example.resource) did not reproduce the difference"))
                continue
            }
            let resource = RegionDescription.resource(box.sets[0], space: space)
            let conditions = space.keys.indices.compactMap { RegionDescription.condition(box.sets[$0 + 1], variable: space.keys[$0]) }
            let groupKey = ([resource] + conditions).joined(separator: "\u{0}")
            if groups[groupKey] == nil {
                order.append(groupKey)
                groups[groupKey] = (resource, conditions, [], example)
            }
            if !groups[groupKey]!.actions.contains(space.action.name) { groups[groupKey]!.actions.append(space.action.name) }
        }
        return order.map { key in
            let g = groups[key]!
            return AccessRegion(
                actions: g.actions, resource: g.resource, conditions: g.conditions, example: g.example,
                grantedBy: allowing.grants(g.example, scope: scope))
        }
    }
}
