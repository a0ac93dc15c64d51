public import HashTreeCollections

/// The attachments of a state, with persistent indexes by target and by policy, so that a
/// write or a snapshot update asks "what is attached to X" without scanning every attachment.
public struct Attachments: Sendable, Equatable, Sequence, ExpressibleByArrayLiteral {
    private var all: TreeSet<StoredAttachment> = []
    /// Target → ids of the policies attached to it.
    private var byTarget: TreeDictionary<String, TreeSet<String>> = [:]
    /// Policy id → targets it is attached to.
    private var byPolicy: TreeDictionary<String, TreeSet<String>> = [:]

    public init() {}

    public init(arrayLiteral elements: StoredAttachment...) {
        for element in elements { insert(element) }
    }

    public static func == (a: Attachments, b: Attachments) -> Bool { a.all == b.all }

    public var count: Int { all.count }

    public func makeIterator() -> TreeSet<StoredAttachment>.Iterator { all.makeIterator() }

    public func contains(_ attachment: StoredAttachment) -> Bool { all.contains(attachment) }

    @discardableResult
    public mutating func insert(_ attachment: StoredAttachment) -> (inserted: Bool, memberAfterInsert: StoredAttachment) {
        let result = all.insert(attachment)
        if result.inserted {
            byTarget[attachment.target, default: []].insert(attachment.policy)
            byPolicy[attachment.policy, default: []].insert(attachment.target)
        }
        return result
    }

    @discardableResult
    public mutating func remove(_ attachment: StoredAttachment) -> StoredAttachment? {
        guard let removed = all.remove(attachment) else { return nil }
        removeFromIndex(attachment.policy, from: attachment.target, in: &byTarget)
        removeFromIndex(attachment.target, from: attachment.policy, in: &byPolicy)
        return removed
    }

    /// Ids of the policies and SCPs attached to `target` (a node name or a principal URN), sorted.
    public func policies(on target: String) -> [String] { byTarget[target].map { $0.sorted() } ?? [] }

    /// The targets `policy` is attached to, sorted.
    public func targets(of policy: String) -> [String] { byPolicy[policy].map { $0.sorted() } ?? [] }

    /// How many policies or SCPs are attached to `target` and pass `filter`.
    public func count(on target: String, where filter: (String) -> Bool) -> Int { byTarget[target]?.count(where: filter) ?? 0 }
}

/// The users, groups and agencies of a state by URN, with persistent indexes of each
/// group's members and each account's principals (kept in step by the subscript's setter).
public struct Principals: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    private var byURN: TreeDictionary<String, StoredPrincipal> = [:]
    /// Group URN → URNs of the users in it.
    private var members: TreeDictionary<String, TreeSet<String>> = [:]
    /// Account id → URNs of its principals.
    private var byAccount: TreeDictionary<String, TreeSet<String>> = [:]

    public init() {}

    public init(dictionaryLiteral elements: (String, StoredPrincipal)...) {
        for (urn, principal) in elements { self[urn] = principal }
    }

    public static func == (a: Principals, b: Principals) -> Bool { a.byURN == b.byURN }

    public subscript(urn: String) -> StoredPrincipal? {
        get { byURN[urn] }
        set {
            if let old = byURN[urn] {
                for group in old.groups { removeFromIndex(urn, from: old.groupURN(group), in: &members) }
                removeFromIndex(urn, from: old.account, in: &byAccount)
            }
            byURN[urn] = newValue
            if let new = newValue {
                for group in new.groups { members[new.groupURN(group), default: []].insert(urn) }
                byAccount[new.account, default: []].insert(urn)
            }
        }
    }

    public var count: Int { byURN.count }
    public var keys: TreeDictionary<String, StoredPrincipal>.Keys { byURN.keys }
    public var values: TreeDictionary<String, StoredPrincipal>.Values { byURN.values }

    public func makeIterator() -> TreeDictionary<String, StoredPrincipal>.Iterator { byURN.makeIterator() }

    /// URNs of the users in the group `groupURN` (`iam::ACCOUNT-ID:group:NAME`), sorted.
    public func members(of groupURN: String) -> [String] { members[groupURN].map { $0.sorted() } ?? [] }

    /// URNs of the principals of the account with id `account`, sorted.
    public func urns(inAccount account: String) -> [String] { byAccount[account].map { $0.sorted() } ?? [] }
}

extension StoredPrincipal {
    /// The URN of the group `name` of this principal's account.
    func groupURN(_ name: String) -> String { "iam::\(account):group:\(name)" }
}

/// Removes `value` from the set under `key`, and the key when its set empties.
private func removeFromIndex(_ value: String, from key: String, in index: inout TreeDictionary<String, TreeSet<String>>) {
    guard var values = index[key] else { return }
    values.remove(value)
    index[key] = values.isEmpty ? nil : values
}
