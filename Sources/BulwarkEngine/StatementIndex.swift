import BulwarkPolicy

/// Where a request finds the statements that can match it, per action.
///
/// Each action has a byte trie keyed by the literal prefix of every Resource pattern
/// (`ims:cn-north-4:acct:image:img-1*` sits under `ims:cn-north-4:acct:image:img-1`).
/// A pattern with an early wildcard (`ims:*:acct:image:img-1*`) says little in that order,
/// so it also goes into an *aligned* trie keyed by its fields in a more telling order
/// (`ims:image:acct:img-1…`). That is exact only for resources with as many `:` as the
/// pattern has literally: then no wildcard can cover a `:`, the pattern matches field by
/// field, and the order of the fields does not matter. Resources with more `:` still find
/// the pattern in the first trie, where its entry is marked to count only for them.
///
/// Node entries are grouped Deny / SCP Allow / identity Allow, so a decision looks at the
/// Denies first and can stop at the first identity Allow. Everything is stored in flat
/// arrays with single-child chains merged, so a walk touches few cache lines.
/// A class: walks run in closures, and capturing a struct of a dozen arrays retained each of them.
final class StatementIndex: Sendable {
    /// A statement filed at a node.
    struct Entry: Sendable {
        /// Index into the authorizer's statements.
        let statement: Int32
        /// The entry counts only for resources with more `:` than this (-1: always).
        let colonBound: Int16
        /// Reaching the node proves the Resource element holds; only conditions remain.
        let proven: Bool
    }

    /// A Resource pattern as the index files it. A pattern with policy variables is filed by a
    /// key in which each of its first eight variables is one marker byte (`variableMarker + k`,
    /// bytes that never occur in UTF-8) and each escape a `*`; `exact` is false for it, since
    /// reaching its entries proves nothing.
    struct FiledPattern: Sendable {
        let bytes: [UInt8]
        let exact: Bool
        /// The variables the markers stand for, in marker order.
        let variables: [PolicyVariable]
        /// Whether the key's only non-literal parts are policy wildcards and one variable: then
        /// reaching an entry in that variable's group can prove the pattern, as for a literal one.
        let provableInGroup: Bool

        init(text: String) {
            bytes = Array(text.utf8)
            exact = true
            variables = []
            provableInGroup = false
        }

        init(template: PolicyTemplate) {
            var bytes: [UInt8] = []
            var variables: [PolicyVariable] = []
            for part in template.parts {
                switch part {
                case .text(let t): bytes += t.utf8
                case .literal: bytes.append(Wildcard.star)
                case .variable(let v):
                    if variables.count < 8 {
                        bytes.append(StatementIndex.variableMarker + UInt8(variables.count))
                        variables.append(v)
                    } else {
                        bytes.append(Wildcard.star)
                    }
                }
            }
            self.bytes = bytes
            self.exact = false
            self.variables = variables
            self.provableInGroup =
                template.variables.count == 1
                && !template.parts.contains {
                    if case .literal = $0 { return true }
                    return false
                }
        }
    }

    /// The first of the eight marker bytes for variables in a filing key (0xF5...0xFC).
    static let variableMarker: UInt8 = 0xF5

    /// Bytes of a filing key before its first wildcard or variable marker.
    static func keyPrefixLength(_ bytes: ArraySlice<UInt8>) -> Int {
        var n = 0
        for b in bytes {
            if b == Wildcard.star || b == Wildcard.question || b >= variableMarker { break }
            n += 1
        }
        return n
    }

    enum EntryClass: Int, Sendable {
        case deny = 0
        case scpAllow, identityAllow
    }

    struct Node: Sendable {
        /// The bytes that lead into this node (from its parent), in `labels`.
        var labelStart: Int32 = 0
        var labelCount: Int32 = 0
        /// Children in `childFirstBytes` / `childNodes`, sorted by first byte.
        var childStart: Int32 = 0
        var childCount: Int32 = 0
        /// Entries in `entries`: Denies, then SCP Allows, then identity Allows.
        var entryStart: Int32 = 0
        var denyEnd: Int32 = 0
        var scpAllowEnd: Int32 = 0
        var entryEnd: Int32 = 0
        /// Variable groups filed here, in `groups`: patterns whose key continues with a variable.
        var groupStart: Int32 = 0
        var groupCount: Int32 = 0
    }

    /// The patterns whose filing key continues, at a node, with one variable. When the key being
    /// looked up continues there with the variable's value (or its default), the walk goes on in
    /// the group's own trie, keyed by what follows the variable.
    struct Group: Sendable {
        /// The root of the group's trie.
        let node: Int32
        /// The variable's folded key, its `KeyHash` and its default: what a walk reads, kept apart
        /// so reading them retains no more than it uses.
        let normalizedKey: String
        let keyHash: UInt64
        let defaultText: String?
        /// In an aligned trie: only a value without `:` can match (the resource has exactly the
        /// skeleton's colons, and each literal `:` of a pattern needs one), and then the fields
        /// stay aligned, so its entries can be proven.
        let aligned: Bool
    }

    let nodes: [Node]
    private let labels: [UInt8]
    private let childFirstBytes: [UInt8]
    private let childNodes: [Int32]
    let entries: [Entry]
    private let groups: [Group]
    /// Most groups on one path from a root, which bounds how many a walk adds.
    private let maxGroupsOnAPath: Int
    /// The longest key filed in any group's trie: a walk there visits at most one more node.
    private let maxGroupKeyLength: Int
    /// Per action id: the root of its prefix trie (actions no statement names share one empty root).
    private let plainRoots: [Int32]
    /// Per action id: where its aligned roots start in `alignedRoots`, or -1 for none (most
    /// actions: a set names a few of the catalog's, and its size should follow its statements).
    private let alignedBase: [Int32]
    /// Per action with aligned roots, per colon count (`base + colons`): aligned root or -1.
    private let alignedRoots: [Int32]
    /// Per colon count: the order aligned keys list the fields in (empty: no aligned trie).
    /// Per colon count, the order of the fields in aligned keys: `fieldOrder[fieldOrderStart[c]...]`
    /// (flat, so a walk reads it without retaining an inner array).
    private let fieldOrder: [Int]
    private let fieldOrderStart: [Int]
    private let maxAlignedColons: Int

    /// Aligned tries are built for patterns with at most this many literal `:`.
    static let alignedColonLimit = 12

    // MARK: Building

    /// Builds the index. `resourcePatterns[s]` are statement `s`'s Resource (or NotResource)
    /// patterns; `statementsFor(action)` lists, for one action id, each statement the action
    /// matches, with its class, whether it has a Resource element and whether that is NotResource.
    init(
        actionCount: Int,
        resourcePatterns: [[FiledPattern]],
        statementsFor: (Int) -> [(statement: Int32, entryClass: EntryClass, negated: Bool, hasResource: Bool)]
    ) {
        // Field orders per colon count, from every pattern of that count: fields fully literal in
        // most patterns first (service, type, account), then those with the longest literal
        // prefixes (a resource path like `img-1*`), so the aligned key's literal prefix is long.
        var scores: [[(literal: Int, prefix: Int)]] = Array(repeating: [], count: Self.alignedColonLimit + 1)
        for patterns in resourcePatterns {
            for filed in patterns {
                let fields = ColonFields(bytes: filed.bytes)
                guard fields.count - 1 <= Self.alignedColonLimit else { continue }
                var score = scores[fields.count - 1]
                if score.isEmpty { score = Array(repeating: (0, 0), count: fields.count) }
                for i in 0..<fields.count {
                    let f = fields[i]
                    let prefix = Self.keyPrefixLength(f)
                    if prefix == f.count { score[i].literal += 1 } else { score[i].prefix += prefix }
                }
                scores[fields.count - 1] = score
            }
        }
        let orders: [[Int]] = scores.map { score in
            score.indices.sorted {
                (score[$0].literal, score[$0].prefix, -$0) > (score[$1].literal, score[$1].prefix, -$1)
            }
        }

        var builder = TrieBuilder()
        var plainRoots: [Int32] = []
        var alignedBase = Array(repeating: Int32(-1), count: actionCount)
        var alignedRoots: [Int32] = []
        var usedColons = -1
        let emptyRoot = builder.newNode()
        for action in 0..<actionCount {
            let items = statementsFor(action)
            guard !items.isEmpty else {
                plainRoots.append(emptyRoot)
                continue
            }
            let root = builder.newNode()
            plainRoots.append(root)
            for item in items {
                guard item.hasResource, !item.negated else {
                    // No Resource holds for every resource; NotResource is checked in full.
                    builder.add(
                        Entry(statement: item.statement, colonBound: -1, proven: !item.hasResource),
                        item.entryClass, key: [], root: root)
                    continue
                }
                for filed in resourcePatterns[Int(item.statement)] {
                    let bytes = filed.bytes
                    let plainPrefix = Self.literalPrefix(bytes)
                    let plainProven = filed.exact && Wildcard.isPrefixPattern(bytes)
                    // Files the entry under `key`'s literal prefix: in the group of the variable that
                    // follows it (the value narrows the candidates), else at the prefix's node.
                    func file(
                        _ key: [UInt8], prefix: [UInt8], colonBound: Int16, proven: Bool, root: Int32, grouped: Bool = true, aligned: Bool = false
                    ) {
                        let entry = Entry(statement: item.statement, colonBound: colonBound, proven: proven)
                        if grouped, let variable = Self.variable(after: prefix.count, in: key, filed) {
                            let rest = Array(key[(prefix.count + 1)...])
                            let then = Self.literalPrefix(rest)
                            // Proven as a literal prefix pattern is: only `*` after the text that follows the
                            // variable (in an aligned trie, `*` fields: the walk takes the group only for a
                            // value without `:`, so the fields stay aligned).
                            let tail = rest[then.count...]
                            let proven =
                                filed.provableInGroup && tail.first == Wildcard.star
                                && tail.allSatisfy { $0 == Wildcard.star || (aligned && $0 == UInt8(ascii: ":")) }
                            builder.addToGroup(
                                Entry(statement: item.statement, colonBound: colonBound, proven: proven), item.entryClass, variable: variable,
                                key: prefix, then: then, root: root, aligned: aligned)
                        } else {
                            builder.add(entry, item.entryClass, key: prefix, root: root)
                        }
                    }
                    let fields = ColonFields(bytes: bytes)
                    let colons = fields.count - 1
                    var aligned: [UInt8]? = nil
                    if colons >= 1 && colons <= Self.alignedColonLimit {
                        let key = orders[colons].map { fields[$0] }.joined(separator: [UInt8(ascii: ":")])
                        let candidate = Array(key)
                        if Self.literalPrefix(candidate).count > plainPrefix.count { aligned = candidate }
                    }
                    guard let aligned else {
                        file(bytes, prefix: plainPrefix, colonBound: -1, proven: plainProven, root: root)
                        continue
                    }
                    // For resources with exactly `colons` colons: the aligned trie (a value with a `:`
                    // cannot match those); with more: the prefix trie.
                    if alignedBase[action] < 0 {
                        alignedBase[action] = Int32(alignedRoots.count)
                        alignedRoots += Array(repeating: -1, count: Self.alignedColonLimit + 1)
                    }
                    let slot = Int(alignedBase[action]) + colons
                    if alignedRoots[slot] < 0 { alignedRoots[slot] = builder.newNode() }
                    let prefix = Self.literalPrefix(aligned)
                    let rest = aligned[prefix.count...]
                    let alignedProven =
                        filed.exact && rest.first == Wildcard.star
                        && rest.allSatisfy { $0 == Wildcard.star || $0 == UInt8(ascii: ":") }
                    file(aligned, prefix: prefix, colonBound: -1, proven: alignedProven, root: alignedRoots[slot], aligned: true)
                    // Resources with more colons are rare: a plain entry (a walk stops at its bound at once)
                    // costs the usual ones less than a group, whose variable every walk would resolve.
                    file(bytes, prefix: plainPrefix, colonBound: Int16(colons), proven: plainProven, root: root, grouped: false)
                    usedColons = max(usedColons, colons)
                }
            }
        }
        let flat = builder.flatten()
        self.groups = flat.groups
        self.maxGroupsOnAPath = flat.maxGroupsOnAPath
        self.maxGroupKeyLength = builder.maxGroupKeyLength
        self.nodes = flat.nodes
        self.labels = flat.labels
        self.childFirstBytes = flat.childFirstBytes
        self.childNodes = flat.childNodes
        self.entries = flat.entries
        self.plainRoots = plainRoots.map { flat.nodeFor[Int($0)] }
        self.alignedBase = alignedBase
        self.alignedRoots = alignedRoots.map { $0 < 0 ? -1 : flat.nodeFor[Int($0)] }
        self.fieldOrder = orders.flatMap { $0 }
        self.fieldOrderStart = orders.reduce(into: [0]) { starts, order in starts.append(starts.last! + order.count) }
        self.maxAlignedColons = usedColons
    }

    static func literalPrefix(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.prefix(keyPrefixLength(bytes[...])))
    }

    /// The variable whose marker is at `offset` of a filing key, if one is.
    private static func variable(after offset: Int, in key: [UInt8], _ filed: FiledPattern) -> PolicyVariable? {
        guard offset < key.count, key[offset] >= variableMarker, key[offset] < variableMarker + 8 else { return nil }
        return filed.variables[Int(key[offset] - variableMarker)]
    }

    // MARK: Looking up

    /// Calls `body` with the nodes a request visits (in its action's tries) and the number of
    /// `:` in its resource, which entry `colonBound`s are compared with.
    /// The variable groups a walk adds are those whose variable's value (from `context`, or its
    /// default) continues the key at their node.
    func withVisitedNodes<R>(
        action: Int, resource: UnsafeBufferPointer<UInt8>, context: RequestContext, scope: VariableScope,
        _ body: (UnsafeBufferPointer<Int32>, Int) -> R
    ) -> R {
        var colons = 0
        for b in resource where b == UInt8(ascii: ":") { colons += 1 }
        // Each walk visits at most one node per key byte (and the root), in its trie and in the
        // trie of every group on its path.
        // Bounded by the input on both sides: many groups on one path need that many statements,
        // each with its own key, so this stays linear in the policies' size, never their product
        // with the resource's length.
        let capacity = 2 * ((resource.count + 1) + maxGroupsOnAPath * (min(resource.count, maxGroupKeyLength) + 1))
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: capacity) { visited in
            var count = walk(root: plainRoots[action], key: resource, into: visited, at: 0, context, scope)
            let base = alignedBase[action]
            if colons <= maxAlignedColons, base >= 0 {
                let root = alignedRoots[Int(base) + colons]
                if root >= 0 {
                    count = withAlignedKey(resource, colons: colons) { key in
                        walk(root: root, key: key, into: visited, at: count, context, scope)
                    }
                }
            }
            return body(UnsafeBufferPointer(rebasing: visited[0..<count]), colons)
        }
    }

    /// Walks on in the trie of each group of `node` whose variable's value continues `key` at
    /// `position`, appending to `visited` from `count`; returns the new count.
    private func addGroups(
        of node: Node, key: UnsafeBufferPointer<UInt8>, position: Int, into visited: UnsafeMutableBufferPointer<Int32>, at count: Int,
        _ context: RequestContext, _ scope: VariableScope
    ) -> Int {
        var count = count
        for g in Int(node.groupStart)..<Int(node.groupStart + node.groupCount) {
            // Read in place: copying a group would retain each of its strings.
            let length: Int? = groups.withUnsafeBufferPointer { groups in
                // A variable that does not resolve and has no default matches no resource.
                let name = groups[g].normalizedKey
                guard var value = scope.value(normalizedKey: name, keyHash: groups[g].keyHash, in: context) ?? groups[g].defaultText else {
                    return nil
                }
                let aligned = groups[g].aligned
                return value.withUTF8 { v in
                    guard position + v.count <= key.count else { return nil }
                    var i = 0
                    while i < v.count {
                        // In an aligned trie a value with a `:` matches no resource of this colon count.
                        if key[position + i] != v[i] || (aligned && v[i] == UInt8(ascii: ":")) { return nil }
                        i += 1
                    }
                    return v.count
                }
            }
            if let length {
                count = walk(
                    root: groups[g].node, key: UnsafeBufferPointer(rebasing: key[(position + length)...]), into: visited, at: count, context,
                    scope)
            }
        }
        return count
    }

    /// The resource's fields in the order the aligned trie for its colon count uses.
    private func withAlignedKey<R>(
        _ resource: UnsafeBufferPointer<UInt8>, colons: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: colons + 2) { bounds in
            // bounds[i]..<bounds[i+1]-1 is field i (bounds[0] = 0, the last bound is count + 1).
            var n = 0
            bounds[0] = 0
            for (i, b) in resource.enumerated() where b == UInt8(ascii: ":") {
                n += 1
                bounds[n] = i + 1
            }
            bounds[colons + 1] = resource.count + 1
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: resource.count) { key in
                var out = 0
                fieldOrder.withUnsafeBufferPointer { order in
                    for k in fieldOrderStart[colons]..<fieldOrderStart[colons + 1] {
                        if k > fieldOrderStart[colons] {
                            key[out] = UInt8(ascii: ":")
                            out += 1
                        }
                        let field = order[k]
                        for i in bounds[field]..<(bounds[field + 1] - 1) {
                            key[out] = resource[i]
                            out += 1
                        }
                    }
                }
                return body(UnsafeBufferPointer(rebasing: key[0..<out]))
            }
        }
    }

    /// Appends to `visited` (from `at`) every node on the path spelled by a prefix of `key`, and
    /// the variable groups on the way that the key continues.
    private func walk(
        root: Int32, key: UnsafeBufferPointer<UInt8>, into visited: UnsafeMutableBufferPointer<Int32>, at start: Int,
        _ context: RequestContext, _ scope: VariableScope
    ) -> Int {
        nodes.withUnsafeBufferPointer { nodes in
            labels.withUnsafeBufferPointer { labels in
                childFirstBytes.withUnsafeBufferPointer { firstBytes in
                    childNodes.withUnsafeBufferPointer { children in
                        var count = start
                        var node = Int(root)
                        var position = 0
                        visited[count] = root
                        count += 1
                        if nodes[node].groupCount > 0 {
                            count = addGroups(of: nodes[node], key: key, position: 0, into: visited, at: count, context, scope)
                        }
                        while position < key.count {
                            let n = nodes[node]
                            let byte = key[position]
                            var next = -1
                            var c = Int(n.childStart)
                            let end = c + Int(n.childCount)
                            while c < end {
                                if firstBytes[c] == byte {
                                    next = Int(children[c])
                                    break
                                }
                                c += 1
                            }
                            guard next >= 0 else { break }
                            let child = nodes[next]
                            let length = Int(child.labelCount)
                            guard position + length <= key.count else { break }
                            var i = 1  // the first byte matched already
                            let label = Int(child.labelStart)
                            while i < length && labels[label + i] == key[position + i] { i += 1 }
                            guard i == length else { break }
                            position += length
                            node = next
                            visited[count] = Int32(node)
                            count += 1
                            if child.groupCount > 0 {
                                count = addGroups(of: child, key: key, position: position, into: visited, at: count, context, scope)
                            }
                        }
                        return count
                    }
                }
            }
        }
    }
}

/// The mutable trie the index is built in before it is flattened.
private struct TrieBuilder {
    var children: [[(UInt8, Int32)]] = []
    var pending: [[(StatementIndex.Entry, StatementIndex.EntryClass)]] = []
    /// Per node: its variable groups, one per distinct variable (key and default), each with the
    /// root of its own trie.
    var groups: [[(variable: PolicyVariable, root: Int32, aligned: Bool)]] = []
    var maxGroupKeyLength = 0
    /// A group is one variable (key and default) at one node.
    private struct GroupIdentity: Hashable {
        let node: Int
        let key: String
        let defaultText: String?
    }
    private var groupRoots: [GroupIdentity: Int32] = [:]

    mutating func newNode() -> Int32 {
        children.append([])
        pending.append([])
        groups.append([])
        return Int32(children.count - 1)
    }

    /// Files an entry under `key`, then `variable`, then `then` (the literal text after it).
    mutating func addToGroup(
        _ entry: StatementIndex.Entry, _ entryClass: StatementIndex.EntryClass, variable: PolicyVariable, key: [UInt8], then: [UInt8],
        root: Int32, aligned: Bool
    ) {
        maxGroupKeyLength = max(maxGroupKeyLength, then.count)
        let node = Int(self.node(for: key, from: root))
        // Found by a table, not a scan of the node's groups: thousands of defaults at one node must
        // not make building quadratic.
        let identity = GroupIdentity(node: node, key: variable.normalizedKey, defaultText: variable.defaultText)
        let groupRoot: Int32
        if let known = groupRoots[identity] {
            groupRoot = known
        } else {
            groupRoot = newNode()
            groups[node].append((variable, groupRoot, aligned))
            groupRoots[identity] = groupRoot
        }
        add(entry, entryClass, key: then, root: groupRoot)
    }

    mutating func add(_ entry: StatementIndex.Entry, _ entryClass: StatementIndex.EntryClass, key: [UInt8], root: Int32) {
        pending[Int(node(for: key, from: root))].append((entry, entryClass))
    }

    /// The node `key` leads to from `root`, created as needed.
    private mutating func node(for key: [UInt8], from root: Int32) -> Int32 {
        var node = root
        for byte in key {
            if let next = children[Int(node)].first(where: { $0.0 == byte })?.1 {
                node = next
            } else {
                let next = newNode()
                children[Int(node)].append((byte, next))
                node = next
            }
        }
        return node
    }

    struct Flat {
        var nodes: [StatementIndex.Node] = []
        var labels: [UInt8] = []
        var childFirstBytes: [UInt8] = []
        var childNodes: [Int32] = []
        var entries: [StatementIndex.Entry] = []
        var groups: [StatementIndex.Group] = []
        var maxGroupsOnAPath = 0
        /// Builder node → flat node, for nodes that survive (roots always do).
        var nodeFor: [Int32] = []
    }

    /// Entries grouped by class; in each class those that always count first, then by bound,
    /// then in statement order, so a walk can stop at the first bound too high. Sets the node's
    /// entry range.
    private static func lay(
        _ pending: [(StatementIndex.Entry, StatementIndex.EntryClass)], into n: inout StatementIndex.Node, _ flat: inout Flat
    ) {
        let sorted = pending.sorted {
            ($0.1.rawValue, $0.0.colonBound, $0.0.statement) < ($1.1.rawValue, $1.0.colonBound, $1.0.statement)
        }
        n.entryStart = Int32(flat.entries.count)
        for (entry, _) in sorted { flat.entries.append(entry) }
        n.denyEnd = n.entryStart + Int32(sorted.count { $0.1 == .deny })
        n.scpAllowEnd = n.denyEnd + Int32(sorted.count { $0.1 == .scpAllow })
        n.entryEnd = Int32(flat.entries.count)
    }

    /// Merges chains of single-child nodes without entries and lays everything out in arrays.
    func flatten() -> Flat {
        var flat = Flat()
        flat.nodeFor = Array(repeating: -1, count: children.count)
        var isChild = Array(repeating: false, count: children.count)
        for list in children { for (_, c) in list { isChild[Int(c)] = true } }
        // Each queued item: builder node, its label, its flat id, the groups on the path above it.
        var queue: [(Int32, [UInt8], Int32, Int)] = []
        for node in children.indices where !isChild[node] {
            let id = Int32(flat.nodes.count)
            flat.nodes.append(StatementIndex.Node())
            flat.nodeFor[node] = id
            queue.append((Int32(node), [], id, 0))
        }
        var head = 0
        while head < queue.count {
            let (node, label, id, groupsAbove) = queue[head]
            head += 1
            var n = StatementIndex.Node()
            n.labelStart = Int32(flat.labels.count)
            n.labelCount = Int32(label.count)
            flat.labels += label
            Self.lay(pending[Int(node)], into: &n, &flat)
            // A group's trie is a root of its own, laid out with the other roots.
            n.groupStart = Int32(flat.groups.count)
            n.groupCount = Int32(groups[Int(node)].count)
            for group in groups[Int(node)] {
                flat.groups.append(
                    StatementIndex.Group(
                        node: flat.nodeFor[Int(group.root)], normalizedKey: group.variable.normalizedKey, keyHash: group.variable.keyHash,
                        defaultText: group.variable.defaultText, aligned: group.aligned))
            }
            let groupsHere = groupsAbove + groups[Int(node)].count
            flat.maxGroupsOnAPath = max(flat.maxGroupsOnAPath, groupsHere)
            n.childStart = Int32(flat.childFirstBytes.count)
            for (byte, child) in children[Int(node)].sorted(by: { $0.0 < $1.0 }) {
                // Follow the chain while it has one child and nothing filed.
                var end = child
                var childLabel = [byte]
                while children[Int(end)].count == 1 && pending[Int(end)].isEmpty && groups[Int(end)].isEmpty {
                    let (b, next) = children[Int(end)][0]
                    childLabel.append(b)
                    end = next
                }
                let childID = Int32(flat.nodes.count)
                flat.nodes.append(StatementIndex.Node())
                flat.nodeFor[Int(end)] = childID
                flat.childFirstBytes.append(byte)
                flat.childNodes.append(childID)
                queue.append((end, childLabel, childID, groupsHere))
            }
            n.childCount = Int32(flat.childFirstBytes.count) - n.childStart
            flat.nodes[Int(id)] = n
        }
        return flat
    }
}
