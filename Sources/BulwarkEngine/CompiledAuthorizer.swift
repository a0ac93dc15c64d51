import BulwarkCatalog
import BulwarkPolicy

/// Decides requests against one policy set, fast: statements are indexed by action and by
/// the literal prefix of their resource patterns, so a request visits only the statements
/// that can match it. Decisions and `matched` lists are identical to `ReferenceAuthorizer`'s
/// (a differential test checks it on generated policy sets).
///
/// Pure: no I/O, no shared mutable state.
public struct Authorizer: Sendable {
    public let policies: PolicySet
    private let reference: ReferenceAuthorizer
    private let statements: [CompiledStatement]
    /// Case-folded action name → id in `roots`.
    private let actionIDs: [String: Int]
    /// Per action id, the root node of its resource-prefix trie.
    private let roots: [Int32]
    private let trie: PrefixTrie
    private let levelCount: Int
    /// More SCP levels than the bitmask holds (no real organization has them): use the reference path.
    private let fallbackOnly: Bool

    /// One statement with where it sits in the decision order. A class, so visiting a
    /// candidate costs one reference count, not a copy of the whole statement.
    final class CompiledStatement: Sendable {
        enum Bucket: Sendable, Equatable {
            case identityDeny, identityAllow
            case scpDeny(level: Int)
            case scpAllow(level: Int)
        }

        let statement: Statement
        /// The statement's Resource and Condition, kept apart for the hot path.
        let resources: PatternList?
        let conditions: [ConditionClause]
        let bucket: Bucket
        let reference: DeterminingStatement
        /// Position in the reference order: identity policies, then SCP levels; statements in order.
        let ordinal: Int32

        /// Whether the statement's Resource and Condition hold (its action is known to match).
        func holds(for request: AuthorizationRequest) -> Bool {
            Statement.resourceAndConditionsHold(resources: resources, conditions: conditions, request: request)
        }

        init(statement: Statement, bucket: Bucket, reference: DeterminingStatement, ordinal: Int32) {
            self.statement = statement
            self.resources = statement.resources
            self.conditions = statement.conditions
            self.bucket = bucket
            self.reference = reference
            self.ordinal = ordinal
        }
    }

    /// Compiles the policy set. The action universe is the catalog's actions (when given)
    /// plus every literal action the policies name; other actions take a slower full scan.
    public init(policies: PolicySet, catalog: Catalog? = nil) {
        self.policies = policies
        self.fallbackOnly = policies.scpLevels.count > 64
        self.reference = ReferenceAuthorizer(policies: policies)
        var compiled: [CompiledStatement] = []
        func add(_ policy: NamedPolicy, level: Int?) {
            for statement in policy.policy.statements {
                let bucket: CompiledStatement.Bucket
                switch (level, statement.effect) {
                case (nil, .deny): bucket = .identityDeny
                case (nil, .allow): bucket = .identityAllow
                case (let k?, .deny): bucket = .scpDeny(level: k)
                case (let k?, .allow): bucket = .scpAllow(level: k)
                }
                compiled.append(
                    CompiledStatement(
                        statement: statement, bucket: bucket,
                        reference: DeterminingStatement(
                            policyID: policy.id, statementIndex: statement.index, sid: statement.sid,
                            effect: statement.effect, scpLevel: level),
                        ordinal: Int32(compiled.count)))
            }
        }
        for policy in policies.identityPolicies { add(policy, level: nil) }
        for (k, level) in policies.scpLevels.enumerated() { for policy in level { add(policy, level: k) } }
        self.statements = compiled
        self.levelCount = policies.scpLevels.count

        var universe: [String] = []
        var seen: Set<String> = []
        func note(_ name: String) {
            let folded = CaseFolding.lowercase(name)
            if seen.insert(folded).inserted { universe.append(folded) }
        }
        if let catalog {
            for service in catalog.services {
                for action in service.actions { note(action.name) }
                for action in service.referencedActions { note(action) }
            }
        }
        for entry in compiled {
            for pattern in entry.statement.actions.patterns where pattern.glob.isLiteral { note(pattern.text) }
        }
        var ids: [String: Int] = [:]
        var trie = PrefixTrie()
        var roots: [Int32] = []
        for (id, action) in universe.enumerated() {
            ids[action] = id
            let root = trie.newNode()
            roots.append(root)
            for (i, entry) in compiled.enumerated()
            where (entry.statement.actions.firstMatch(action) != nil) != entry.statement.actions.isNegated {
                // Insert under each resource pattern's literal prefix; NotResource and absent Resource at the root.
                guard let resources = entry.statement.resources, !resources.isNegated else {
                    trie.insert(Int32(i), prefix: [], root: root)
                    continue
                }
                var prefixes: [[UInt8]] = resources.patterns.map { Array($0.glob.literalPrefix.utf8) }
                prefixes.sort { $0.count < $1.count }
                var inserted: [[UInt8]] = []
                for prefix in prefixes where !inserted.contains(where: { prefix.starts(with: $0) }) {
                    // A shorter prefix already covers this one; one entry is enough.
                    inserted.append(prefix)
                    trie.insert(Int32(i), prefix: prefix, root: root)
                }
            }
        }
        self.actionIDs = ids
        self.roots = roots
        self.trie = trie
    }

    /// Decides one request (SPEC §3); same answer as `ReferenceAuthorizer.authorize`.
    public func authorize(_ request: AuthorizationRequest) -> AuthorizationResult {
        guard !fallbackOnly, let id = actionIDs[request.foldedAction] else { return reference.authorize(request) }
        var denies: [Int32] = []
        var allows: [Int32] = []
        // Levels with a matching Allow; a bit per level (SPEC levels are a handful, at most 64 here).
        var scpAllowed: UInt64 = 0
        var resource = request.resource
        resource.withUTF8 { bytes in
            trie.visit(root: roots[Int(id)], key: bytes) { index in
                let entry = statements[Int(index)]
                switch entry.bucket {
                case .identityDeny, .scpDeny:
                    if entry.holds(for: request) { denies.append(entry.ordinal) }
                case .scpAllow(let k):
                    let bit: UInt64 = 1 << UInt64(k)
                    if scpAllowed & bit == 0 && entry.holds(for: request) { scpAllowed |= bit }
                case .identityAllow:
                    if entry.holds(for: request) { allows.append(entry.ordinal) }
                }
            }
        }
        if !denies.isEmpty {
            return AuthorizationResult(decision: .deny, reason: .explicitDeny, matched: references(denies), scpLevel: nil)
        }
        if levelCount > 0 && scpAllowed != (levelCount == 64 ? ~0 : (1 << UInt64(levelCount)) - 1) {
            let k = (~scpAllowed).trailingZeroBitCount
            return AuthorizationResult(decision: .deny, reason: .scpNoAllow, matched: [], scpLevel: k)
        }
        if allows.isEmpty {
            return AuthorizationResult(decision: .deny, reason: .noIdentityAllow, matched: [], scpLevel: nil)
        }
        return AuthorizationResult(decision: .allow, reason: .allowed, matched: references(allows), scpLevel: nil)
    }

    /// In reference order, without repeats (a statement may sit under several prefixes).
    private func references(_ ordinals: [Int32]) -> [DeterminingStatement] {
        var sorted = ordinals
        sorted.sort()
        var out: [DeterminingStatement] = []
        out.reserveCapacity(sorted.count)
        var last: Int32 = -1
        for o in sorted where o != last {
            out.append(statements[Int(o)].reference)
            last = o
        }
        return out
    }

    /// Every statement, whether it matched and the first element that failed (reference evaluator).
    public func explain(_ request: AuthorizationRequest) -> [StatementExplanation] {
        reference.explain(request)
    }
}

/// A byte trie whose nodes hold statement indices; shared by every action's root.
struct PrefixTrie: Sendable {
    /// Per node: sorted (byte, child) pairs.
    private var children: [[(UInt8, Int32)]] = []
    private var entries: [[Int32]] = []

    mutating func newNode() -> Int32 {
        children.append([])
        entries.append([])
        return Int32(children.count - 1)
    }

    mutating func insert(_ value: Int32, prefix: [UInt8], root: Int32) {
        var node = root
        for byte in prefix {
            if let next = children[Int(node)].first(where: { $0.0 == byte })?.1 {
                node = next
            } else {
                let next = newNode()
                children[Int(node)].append((byte, next))
                node = next
            }
        }
        entries[Int(node)].append(value)
    }

    /// Calls `body` for the entries of every node on the path spelled by a prefix of `key`.
    func visit(root: Int32, key: UnsafeBufferPointer<UInt8>, _ body: (Int32) -> Void) {
        var node = root
        for value in entries[Int(node)] { body(value) }
        for byte in key {
            guard let next = children[Int(node)].first(where: { $0.0 == byte })?.1 else { return }
            node = next
            for value in entries[Int(node)] { body(value) }
        }
    }
}
