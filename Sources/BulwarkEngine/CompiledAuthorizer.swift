public import BulwarkCatalog
public import BulwarkPolicy

/// Decides requests against one policy set, fast: statements are indexed by action and by
/// their Resource patterns (see `StatementIndex`), so a request visits only the statements
/// that can match it. Decisions and `matched` lists are identical to `ReferenceAuthorizer`'s
/// (a differential test checks it on generated policy sets).
///
/// A set is compiled in parts — identity policies, SCP path, session policies — composed at
/// decision time, so a server can share one compiled part among many principals and recompile
/// only the part a change touches (`init(identity:scpPath:sessionPolicies:catalog:)`).
///
/// Pure: no I/O, no shared mutable state.
public struct Authorizer: Sendable {
    public let policies: PolicySet
    private let scope: VariableScope
    /// Identity policies, with the SCP levels when they were compiled together.
    private let base: CompiledEvaluator
    /// The SCP levels when compiled as a part of their own; nil otherwise.
    private let scpPath: CompiledEvaluator?
    /// Session policies as a set of their own (SPEC §10); nil without them.
    private let session: CompiledEvaluator?

    /// Compiles the policy set. The action universe is the catalog's actions (when given)
    /// plus every literal action the policies name; other actions take a slower full scan.
    public init(policies: PolicySet, catalog: Catalog? = nil) {
        let scope = catalog.map(VariableScope.init(catalog:)) ?? .none
        // Compiled together, identity policies and SCP levels take one walk of one index.
        let whole = CompiledEvaluator(
            policies: PolicySet(identityPolicies: policies.identityPolicies, scpLevels: policies.scpLevels), catalog: catalog, scope: scope)
        self.init(base: whole, scpPath: nil, policies: policies, catalog: catalog, scope: scope)
    }

    /// Composes parts compiled ahead (and possibly shared with other authorizers): `identity`
    /// from `CompiledPolicies(identityPolicies:catalog:)`, `scpPath` from
    /// `CompiledPolicies(scpLevels:catalog:)` (nil: no SCP applies). Session policies, which live
    /// as long as a session, are compiled here. Decides exactly as `init(policies:catalog:)` over
    /// the same policies.
    /// Composing costs no compilation without session policies: the parts keep the variable
    /// scope of the catalog they were compiled with.
    public init(identity: CompiledPolicies, scpPath: CompiledPolicies?, sessionPolicies: [NamedPolicy]? = nil, catalog: Catalog? = nil) {
        self.init(identity: identity, scpPath: scpPath, sessionPolicies: sessionPolicies, catalog: catalog, scope: identity.scope)
    }

    private init(identity: CompiledPolicies, scpPath: CompiledPolicies?, sessionPolicies: [NamedPolicy]?, catalog: Catalog?, scope: VariableScope) {
        let scpPath = scpPath.flatMap { $0.scpLevels.isEmpty ? nil : $0 }
        self.init(
            base: identity.evaluator, scpPath: scpPath?.evaluator,
            policies: PolicySet(identityPolicies: identity.identityPolicies, scpLevels: scpPath?.scpLevels ?? [], sessionPolicies: sessionPolicies),
            catalog: catalog, scope: scope)
    }

    private init(base: CompiledEvaluator, scpPath: CompiledEvaluator?, policies: PolicySet, catalog: Catalog?, scope: VariableScope) {
        self.policies = policies
        self.scope = scope
        self.base = base
        self.scpPath = scpPath
        self.session = policies.sessionPolicies.map { CompiledEvaluator(policies: PolicySet(identityPolicies: $0), catalog: catalog, scope: scope) }
    }

    /// Decides one request (SPEC §3); same answer as `ReferenceAuthorizer.authorize`, with every
    /// determining statement in `matched`.
    public func authorize(_ request: AuthorizationRequest) -> AuthorizationResult {
        let action = base.compiled.actionID(request)
        var result = base.authorize(request, action: action)
        if let scpPath {
            // Identity statements come first in reference order, so denies are listed identity first.
            let bounded = scpPath.authorize(request, action: scpPath.actionID(request, known: action))
            if result.reason == .explicitDeny || bounded.reason == .explicitDeny {
                let denies = (result.reason == .explicitDeny ? result.matched : []) + (bounded.reason == .explicitDeny ? bounded.matched : [])
                result = AuthorizationResult(decision: .deny, reason: .explicitDeny, matched: denies, scpLevel: nil)
            } else if bounded.reason == .scpNoAllow {
                result = bounded
            }
        }
        guard let session else { return result }
        // Session policies are decided as identity policies of their own: their Deny joins the
        // explicit denies, their missing Allow comes after the SCP levels.
        let bounded = session.authorize(request, action: session.actionID(request, known: action))
        if result.reason == .explicitDeny || bounded.reason == .explicitDeny {
            let denies =
                (result.reason == .explicitDeny ? result.matched : [])
                + (bounded.reason == .explicitDeny ? bounded.matched.map(\.inSessionPolicy) : [])
            return AuthorizationResult(decision: .deny, reason: .explicitDeny, matched: denies, scpLevel: nil)
        }
        if result.reason == .scpNoAllow { return result }
        if bounded.reason != .allowed { return AuthorizationResult(decision: .deny, reason: .sessionNoAllow, matched: [], scpLevel: nil) }
        return result
    }

    /// Decides one request without listing every determining statement: evaluation stops at the
    /// first matching `Deny`, and at the first matching identity `Allow` once no `Deny` matches and
    /// every SCP level allows. Decision, reason and SCP level equal `authorize`'s; `determining`
    /// is one of `authorize`'s `matched` statements (nil when that list is empty).
    /// This is what a gateway or any allow/deny check needs, and it costs the same however many
    /// statements allow the request.
    public func decide(_ request: AuthorizationRequest) -> AuthorizationVerdict {
        let action = base.compiled.actionID(request)
        var verdict = base.decide(request, action: action)
        if verdict.reason == .explicitDeny { return verdict }
        if let scpPath {
            let bounded = scpPath.decide(request, action: scpPath.actionID(request, known: action))
            if bounded.reason == .explicitDeny { return bounded }
            if bounded.reason == .scpNoAllow { verdict = bounded }
        }
        guard let session else { return verdict }
        let bounded = session.decide(request, action: session.actionID(request, known: action))
        if bounded.reason == .explicitDeny {
            return AuthorizationVerdict(decision: .deny, reason: .explicitDeny, scpLevel: nil, determining: bounded.determining?.inSessionPolicy)
        }
        if verdict.reason == .scpNoAllow { return verdict }
        if bounded.reason != .allowed {
            return AuthorizationVerdict(decision: .deny, reason: .sessionNoAllow, scpLevel: nil, determining: nil)
        }
        return verdict
    }

    /// Every statement, whether it matched and the first element that failed (reference evaluator).
    public func explain(_ request: AuthorizationRequest) -> [StatementExplanation] {
        ReferenceAuthorizer(policies: policies, scope: scope).explain(request)
    }
}

/// One part of a policy set compiled on its own — identity policies, or the SCP levels of an
/// account's path — to be composed into `Authorizer`s. A reference type underneath: copies share
/// the compiled form, so a thousand principals with the same policies cost one.
public struct CompiledPolicies: Sendable {
    /// The identity policies compiled (empty for an SCP path).
    public let identityPolicies: [NamedPolicy]
    /// The SCP levels compiled, root first (empty for identity policies).
    public let scpLevels: [[NamedPolicy]]
    fileprivate let evaluator: CompiledEvaluator
    /// The catalog's variable scope the part was compiled with.
    fileprivate let scope: VariableScope

    /// Compiles identity policies (or session policies) as one part.
    public init(identityPolicies: [NamedPolicy], catalog: Catalog? = nil) {
        self.init(identityPolicies: identityPolicies, catalog: catalog, scope: catalog.map(VariableScope.init(catalog:)) ?? .none)
    }

    /// Compiles an account's SCP path, one level per node from the root down.
    public init(scpLevels: [[NamedPolicy]], catalog: Catalog? = nil) {
        self.init(scpLevels: scpLevels, catalog: catalog, scope: catalog.map(VariableScope.init(catalog:)) ?? .none)
    }

    fileprivate init(identityPolicies: [NamedPolicy], catalog: Catalog?, scope: VariableScope) {
        self.identityPolicies = identityPolicies
        self.scpLevels = []
        self.scope = scope
        evaluator = CompiledEvaluator(policies: PolicySet(identityPolicies: identityPolicies), catalog: catalog, scope: scope)
    }

    fileprivate init(scpLevels: [[NamedPolicy]], catalog: Catalog?, scope: VariableScope) {
        self.identityPolicies = []
        self.scpLevels = scpLevels
        self.scope = scope
        evaluator = CompiledEvaluator(policies: PolicySet(identityPolicies: [], scpLevels: scpLevels), catalog: catalog, scope: scope)
    }
}

/// One policy set without session policies, compiled, with the reference evaluator for the
/// requests the compiled path cannot decide (an action outside its universe). A class: the
/// parts of an authorizer are reached without copying or retaining on every decision.
private final class CompiledEvaluator: Sendable {
    let reference: ReferenceAuthorizer
    let compiled: CompiledPolicySet

    init(policies: PolicySet, catalog: Catalog?, scope: VariableScope) {
        reference = ReferenceAuthorizer(policies: policies, scope: scope)
        compiled = CompiledPolicySet(policies: policies, catalog: catalog, scope: scope)
    }

    /// The request's action id in this part, reusing `known` (another part's id) when it names
    /// the same action here, as it does for catalog actions when both parts have the same catalog.
    @inline(__always)
    func actionID(_ request: AuthorizationRequest, known: Int?) -> Int? {
        if let known, !compiled.fallbackOnly, compiled.actionIDs.has(known, for: request.foldedAction) { return known }
        return compiled.actionID(request)
    }

    func authorize(_ request: AuthorizationRequest, action: Int?) -> AuthorizationResult {
        guard let action else { return reference.authorize(request) }
        // Matches are gathered on the stack; the result's array is the one allocation.
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 32) { stack in
            var ordinals = OrdinalBuffer(stack: stack)
            let outcome = compiled.evaluate(request, action: action, everyMatch: true, into: &ordinals)
            switch outcome.reason {
            case .explicitDeny, .allowed:
                return AuthorizationResult(
                    decision: outcome.reason == .allowed ? .allow : .deny, reason: outcome.reason,
                    matched: compiled.references(&ordinals), scpLevel: nil)
            default:
                return AuthorizationResult(decision: .deny, reason: outcome.reason, matched: [], scpLevel: outcome.scpLevel)
            }
        }
    }

    func decide(_ request: AuthorizationRequest, action: Int?) -> AuthorizationVerdict {
        guard let action else {
            let result = reference.authorize(request)
            return AuthorizationVerdict(
                decision: result.decision, reason: result.reason, scpLevel: result.scpLevel, determining: result.matched.first)
        }
        var unused = OrdinalBuffer(stack: UnsafeMutableBufferPointer(start: nil, count: 0))
        let outcome = compiled.evaluate(request, action: action, everyMatch: false, into: &unused)
        return AuthorizationVerdict(
            decision: outcome.reason == .allowed ? .allow : .deny, reason: outcome.reason, scpLevel: outcome.scpLevel,
            determining: outcome.first >= 0 ? compiled.references[Int(outcome.first)] : nil)
    }
}

/// A policy set laid out for deciding: statements in reference order (identity policies, then
/// SCP levels), their Resource patterns and conditions in flat arrays, and the index.
final class CompiledPolicySet: Sendable {
    /// Case-folded action name → action id in `index`.
    let actionIDs: ActionTable
    /// Case-folded alias → its action's id (empty when the catalog has no aliases).
    let aliasIDs: [String: Int]
    let index: StatementIndex
    /// Per statement: what results name it by.
    let references: [DeterminingStatement]
    /// Per statement: its SCP level's bit, 0 for identity statements.
    let levelBits: [UInt64]
    /// Per statement: 0 no Resource, 1 Resource, 2 NotResource, 3 Resource and 4 NotResource
    /// with policy variables; patterns in `patterns[patternStart[s]..<patternStart[s+1]]`.
    let resourceKinds: [UInt8]
    let patternStart: [Int32]
    let patterns: [GlobPattern]
    /// Parallel to `patterns`: each pattern's variables (nil for most).
    let templates: [PolicyTemplate?]
    /// The keys variables never resolve to (multi-valued in the catalog).
    let scope: VariableScope
    /// Per statement: its conditions in `clauses[clauseStart[s]..<clauseStart[s+1]]`.
    let clauseStart: [Int32]
    let clauses: [ConditionTest]
    let allLevels: UInt64
    let levelCount: Int
    /// More SCP levels than the bitmask holds (no real organization has them): the reference path decides.
    let fallbackOnly: Bool

    init(policies: PolicySet, catalog: Catalog?, scope: VariableScope) {
        self.scope = scope
        var statements: [(statement: Statement, entryClass: StatementIndex.EntryClass)] = []
        var references: [DeterminingStatement] = []
        var levelBits: [UInt64] = []
        func add(_ policy: NamedPolicy, level: Int?) {
            for statement in policy.policy.statements {
                statements.append((statement, statement.effect == .deny ? .deny : (level == nil ? .identityAllow : .scpAllow)))
                references.append(
                    DeterminingStatement(
                        policyID: policy.id, statementIndex: statement.index, sid: statement.sid,
                        effect: statement.effect, scpLevel: level))
                levelBits.append(level.map { $0 < 64 ? UInt64(1) << UInt64($0) : 0 } ?? 0)
            }
        }
        for policy in policies.identityPolicies { add(policy, level: nil) }
        for (k, level) in policies.scpLevels.enumerated() { for policy in level { add(policy, level: k) } }
        self.references = references
        self.levelBits = levelBits
        self.levelCount = policies.scpLevels.count
        self.fallbackOnly = levelCount > 64
        self.allLevels = levelCount >= 64 ? ~0 : (UInt64(1) << UInt64(levelCount)) - 1

        var kinds: [UInt8] = []
        var patternStart: [Int32] = [0]
        var patterns: [GlobPattern] = []
        var templates: [PolicyTemplate?] = []
        var clauseStart: [Int32] = [0]
        var clauses: [ConditionTest] = []
        for (statement, _) in statements {
            let variables: UInt8 = statement.resources?.hasVariables == true ? 2 : 0
            kinds.append(statement.resources == nil ? 0 : (statement.resources!.isNegated ? 2 : 1) + variables)
            patterns += statement.resources?.patterns.map(\.glob) ?? []
            templates += statement.resources?.patterns.map(\.template) ?? []
            patternStart.append(Int32(patterns.count))
            clauses += statement.conditions.map(\.test)
            clauseStart.append(Int32(clauses.count))
        }
        self.resourceKinds = kinds
        self.patternStart = patternStart
        self.patterns = patterns
        self.templates = templates
        self.clauseStart = clauseStart
        self.clauses = clauses

        // The action universe: the catalog's actions (folded and tabled once per catalog, shared
        // by every set compiled with it), then literal actions the statements name beyond them.
        let shared = catalog?.derived(ActionUniverse.self, ActionUniverse.init(catalog:)) ?? ActionUniverse.empty
        var universe = shared.names
        var extra: Set<String> = []
        for entry in statements {
            for pattern in entry.statement.actions.patterns where pattern.glob.isLiteral {
                let folded = CaseFolding.lowercase(pattern.text)
                if shared.table.id(of: folded) == nil, shared.aliasIDs[folded] == nil, extra.insert(folded).inserted {
                    universe.append(folded)
                }
            }
        }
        self.actionIDs = extra.isEmpty ? shared.table : ActionTable(universe)
        self.aliasIDs = shared.aliasIDs
        let aliasesByID = shared.aliasesByID
        var actionsOfPattern: [String: [Int]] = [:]
        var byAction = Array(
            repeating: [(statement: Int32, entryClass: StatementIndex.EntryClass, negated: Bool, hasResource: Bool)](), count: universe.count)
        for (i, entry) in statements.enumerated() {
            var covered = Set<Int>()
            for pattern in entry.statement.actions.patterns {
                let ids: [Int]
                if let known = actionsOfPattern[pattern.glob.text] {
                    ids = known
                } else if pattern.glob.isLiteral, let id = actionIDs.id(of: CaseFolding.lowercase(pattern.text)),
                    pattern.glob.matches(universe[id])
                {
                    // A literal names one action: found in the table, not by matching every name.
                    ids = [id]
                    actionsOfPattern[pattern.glob.text] = ids
                } else if pattern.glob.isLiteral, let id = aliasIDs[CaseFolding.lowercase(pattern.text)] {
                    // An alias names its action.
                    ids = [id]
                    actionsOfPattern[pattern.glob.text] = ids
                } else {
                    // A pattern covers an action when it matches its name or one of its aliases.
                    ids =
                        aliasesByID.isEmpty
                        ? universe.indices.filter { pattern.glob.matches(universe[$0]) }
                        : universe.indices.filter { a in
                            pattern.glob.matches(universe[a]) || (aliasesByID[a]?.contains { pattern.glob.matches($0) } ?? false)
                        }
                    actionsOfPattern[pattern.glob.text] = ids
                }
                covered.formUnion(ids)
            }
            let resources = entry.statement.resources
            let item = (Int32(i), entry.entryClass, resources?.isNegated ?? false, resources != nil)
            if entry.statement.actions.isNegated {
                for a in universe.indices where !covered.contains(a) { byAction[a].append(item) }
            } else {
                for a in covered.sorted() { byAction[a].append(item) }
            }
        }
        self.index = StatementIndex(
            actionCount: universe.count,
            resourcePatterns: statements.map { entry in
                entry.statement.resources.map { list in
                    list.patterns.map { p in
                        // A pattern with variables is filed by its skeleton (every variable a `*`), never as proven.
                        p.template.map(StatementIndex.FiledPattern.init(template:)) ?? StatementIndex.FiledPattern(text: p.text)
                    }
                } ?? []
            }
        ) { byAction[$0] }
    }

    /// The request's action id (an alias's is its action's), or nil when the compiled path cannot decide it.
    func actionID(_ request: AuthorizationRequest) -> Int? {
        if fallbackOnly { return nil }
        if let id = actionIDs.id(of: request.foldedAction) { return id }
        return aliasIDs.isEmpty ? nil : aliasIDs[request.foldedAction]
    }

    /// SPEC §3's order over the candidates the index finds. With `everyMatch`, collects every
    /// matching Deny (explicit deny) or identity Allow (allowed) into `ordinals`; without, stops at
    /// the first and reports it as `first`.
    func evaluate(
        _ request: AuthorizationRequest, action: Int, everyMatch: Bool, into ordinals: inout OrdinalBuffer
    ) -> (reason: DecisionReason, scpLevel: Int?, first: Int32) {
        var resource = request.resource
        let context = request.context
        return resource.withUTF8 { utf8 in
            index.withVisitedNodes(action: action, resource: utf8, context: context, scope: scope) { visited, colons in
                // The scans take their state as inout values, not through closures: a closure that
                // captures mutable state costs a dynamic exclusivity check per candidate.
                var state = ScanState(bound: Int16(clamping: colons), everyMatch: everyMatch)
                scan(.deny, visited, utf8, context, &state, &ordinals)
                if state.first >= 0 { return (.explicitDeny, nil, state.first) }
                if levelCount > 0 {
                    scan(.scpAllow, visited, utf8, context, &state, &ordinals)
                    if state.allowed != allLevels { return (.scpNoAllow, (~state.allowed).trailingZeroBitCount, -1) }
                }
                scan(.identityAllow, visited, utf8, context, &state, &ordinals)
                return state.first >= 0 ? (.allowed, nil, state.first) : (.noIdentityAllow, nil, -1)
            }
        }
    }

    /// What the scans of one request have found so far.
    private struct ScanState {
        /// Entries whose `colonBound` is at least this are for resources with fewer colons.
        let bound: Int16
        let everyMatch: Bool
        /// The first determining statement (Deny or identity Allow); -1 for none.
        var first: Int32 = -1
        /// The SCP levels with a matching Allow, one bit each.
        var allowed: UInt64 = 0

        init(bound: Int16, everyMatch: Bool) {
            self.bound = bound
            self.everyMatch = everyMatch
        }
    }

    /// Visits the entries of one class at the visited nodes and records those that hold: the
    /// first (and with `everyMatch` all) Deny or identity Allow, or the SCP levels allowed. Stops
    /// as soon as nothing more is needed.
    private func scan(
        _ entryClass: StatementIndex.EntryClass, _ visited: UnsafeBufferPointer<Int32>, _ utf8: UnsafeBufferPointer<UInt8>,
        _ context: RequestContext, _ state: inout ScanState, _ ordinals: inout OrdinalBuffer
    ) {
        index.nodes.withUnsafeBufferPointer { nodes in
            index.entries.withUnsafeBufferPointer { entries in
                levelBits.withUnsafeBufferPointer { bits in
                    for n in visited {
                        let node = nodes[Int(n)]
                        var i: Int
                        let end: Int
                        switch entryClass {
                        case .deny: (i, end) = (Int(node.entryStart), Int(node.denyEnd))
                        case .scpAllow: (i, end) = (Int(node.denyEnd), Int(node.scpAllowEnd))
                        case .identityAllow: (i, end) = (Int(node.scpAllowEnd), Int(node.entryEnd))
                        }
                        while i < end {
                            let entry = entries[i]
                            if entry.colonBound >= state.bound { break }
                            if holds(Int(entry.statement), proven: entry.proven, utf8, context) {
                                if entryClass == .scpAllow {
                                    state.allowed |= bits[Int(entry.statement)]
                                    if state.allowed == allLevels { return }
                                } else {
                                    if state.first < 0 { state.first = entry.statement }
                                    guard state.everyMatch else { return }
                                    ordinals.append(entry.statement)
                                }
                            }
                            i += 1
                        }
                    }
                }
            }
        }
    }

    /// Whether a candidate's Resource (unless the index proved it) and Condition hold.
    @inline(__always)
    private func holds(_ s: Int, proven: Bool, _ resource: UnsafeBufferPointer<UInt8>, _ context: RequestContext) -> Bool {
        if !proven {
            let kind = resourceKinds[s]
            if kind >= 3 {
                if !substitutedResourceHolds(s, negated: kind == 4, resource, context) { return false }
            } else if kind != 0 {
                let hit = patterns.withUnsafeBufferPointer { patterns in
                    var i = Int(patternStart[s])
                    let end = Int(patternStart[s + 1])
                    while i < end {
                        if patterns[i].matches(utf8: resource) { return true }
                        i += 1
                    }
                    return false
                }
                if hit == (kind == 2) { return false }
            }
        }
        let start = Int(clauseStart[s])
        let end = Int(clauseStart[s + 1])
        if start == end { return true }
        return clauses.withUnsafeBufferPointer { clauses in
            for i in start..<end where !clauses[i].holds(in: context, scope: scope) { return false }
            return true
        }
    }

    /// Resource/NotResource of a statement with policy variables: each pattern substituted from
    /// the context; one that does not resolve matches nothing, and makes NotResource not match.
    private func substitutedResourceHolds(_ s: Int, negated: Bool, _ resource: UnsafeBufferPointer<UInt8>, _ context: RequestContext) -> Bool {
        var hit = false
        for i in Int(patternStart[s])..<Int(patternStart[s + 1]) {
            if let template = templates[i] {
                guard let matched = template.matches(resource: resource, in: context, scope: scope) else {
                    if negated { return false }
                    continue
                }
                if matched { hit = true }
            } else if patterns[i].matches(utf8: resource) {
                hit = true
            }
            if hit && !negated { return true }
        }
        return hit != negated
    }

    /// In reference order, without repeats (a statement may be filed under several patterns).
    func references(_ ordinals: inout OrdinalBuffer) -> [DeterminingStatement] {
        ordinals.sortInPlace()
        return ordinals.withSorted { sorted in
            var out: [DeterminingStatement] = []
            out.reserveCapacity(sorted.count)
            var last: Int32 = -1
            for o in sorted where o != last {
                out.append(references[Int(o)])
                last = o
            }
            return out
        }
    }
}

/// Statement ordinals gathered during one decision: on the caller's stack while they fit,
/// then in an array.
struct OrdinalBuffer {
    private let stack: UnsafeMutableBufferPointer<Int32>
    private var count = 0
    private var overflow: [Int32] = []

    init(stack: UnsafeMutableBufferPointer<Int32>) { self.stack = stack }

    mutating func append(_ ordinal: Int32) {
        if overflow.isEmpty && count < stack.count {
            stack[count] = ordinal
            count += 1
        } else {
            if overflow.isEmpty { overflow = Array(stack[0..<count]) }
            overflow.append(ordinal)
        }
    }

    mutating func sortInPlace() {
        if overflow.isEmpty {
            var used = UnsafeMutableBufferPointer(rebasing: stack[0..<count])
            used.sort()
        } else {
            overflow.sort()
        }
    }

    func withSorted<R>(_ body: (UnsafeBufferPointer<Int32>) -> R) -> R {
        if overflow.isEmpty { return body(UnsafeBufferPointer(rebasing: stack[0..<count])) }
        return overflow.withUnsafeBufferPointer(body)
    }
}

/// A decision with one statement that determined it, from `Authorizer.decide`.
public struct AuthorizationVerdict: Sendable, Hashable {
    public let decision: Decision
    public let reason: DecisionReason
    /// For `scp_no_allow`: the first level without a matching `Allow`.
    public let scpLevel: Int?
    /// A matching `Deny` (explicit_deny) or identity `Allow` (allowed); nil otherwise.
    public let determining: DeterminingStatement?
}

/// A catalog's actions and referenced actions, case-folded, deduplicated, with their table:
/// the start of every action universe compiled with that catalog (`Catalog.derived`).
final class ActionUniverse: Sendable {
    let names: [String]
    let table: ActionTable
    /// Case-folded alias → the id of its action.
    let aliasIDs: [String: Int]
    /// Action id → its case-folded aliases.
    let aliasesByID: [Int: [String]]

    static let empty = ActionUniverse(names: [], aliases: [:])

    private init(names: [String], aliases: [String: [String]]) {
        self.names = names
        let table = ActionTable(names)
        self.table = table
        var aliasIDs: [String: Int] = [:]
        var aliasesByID: [Int: [String]] = [:]
        for (action, list) in aliases {
            guard let id = table.id(of: action) else { continue }
            aliasesByID[id] = list
            for alias in list where table.id(of: alias) == nil { aliasIDs[alias] = id }
        }
        self.aliasIDs = aliasIDs
        self.aliasesByID = aliasesByID
    }

    convenience init(catalog: Catalog) {
        var names: [String] = []
        var seen: Set<String> = []
        var aliases: [String: [String]] = [:]
        for service in catalog.services {
            for name in service.actions.map(\.name) + service.referencedActions {
                let folded = CaseFolding.lowercase(name)
                if seen.insert(folded).inserted { names.append(folded) }
            }
            for action in service.actions where !action.aliases.isEmpty {
                aliases[CaseFolding.lowercase(action.name)] = action.aliases.map(CaseFolding.lowercase)
            }
        }
        self.init(names: names, aliases: aliases)
    }
}
