import Foundation
public import HashTreeCollections

/// One saved version of an identity policy: the document exactly as the client wrote it.
public struct PolicyVersion: Sendable, Hashable, Codable {
    /// `v1`, `v2`, …; never reused after a version is deleted.
    public var id: String
    public var document: String
    /// RFC 3339 time of creation.
    public var createdAt: String
}

/// A custom identity policy of one account, with up to `maxVersions` versions and one default.
public struct StoredPolicy: Sendable, Hashable, Codable {
    public var id: String
    /// The account id the policy belongs to; it attaches only to that account's principals.
    public var account: String
    public var description: String
    /// Oldest first.
    public var versions: [PolicyVersion]
    public var defaultVersion: String
    /// The number the next version gets.
    public var nextVersion: Int

    /// Huawei and AWS keep at most five versions of a policy.
    public static let maxVersions = 5

    /// The document of the default version (the one that decides requests).
    public var defaultDocument: String { versions.first { $0.id == defaultVersion }?.document ?? "" }
}

/// A service control policy. SCPs have no versions; `FullAccess` is built in and not stored.
public struct StoredSCP: Sendable, Hashable, Codable {
    public var id: String
    public var description: String
    public var document: String
    public var updatedAt: String

    public init(id: String, description: String, document: String, updatedAt: String) {
        self.id = id
        self.description = description
        self.document = document
        self.updatedAt = updatedAt
    }
}

/// A node of the organization tree: the root, an OU or an account, named uniquely.
public struct StoredNode: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case root, ou, account }
    public var kind: Kind
    public var name: String
    /// Organizations id: `r-…`, `ou-…`, or the account id.
    public var id: String
    /// Name of the parent node; nil for the root.
    public var parent: String?
}

/// An IAM user, group or agency of an account.
public struct StoredPrincipal: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case user, group, agency }
    public var kind: Kind
    /// Account id.
    public var account: String
    public var name: String
    /// The principal's IAM id (`g:PrincipalId`, `g:UserId`).
    public var id: String
    /// Group names (users only).
    public var groups: [String]
    /// Tags of a user or agency (`g:PrincipalTag/KEY`); nil when it has none.
    public var tags: [String: String]? = nil
    /// An agency's trust policy, as the client wrote it; nil: nobody may assume it.
    public var trustPolicy: String? = nil
    /// An agency's longest session in seconds (3,600–43,200); nil: Huawei's default.
    public var maxSessionDuration: Int? = nil

    /// `iam::ACCOUNT:KIND:NAME`, the principal's key in the store and the API.
    public var urn: String { "iam::\(account):\(kind.rawValue):\(name)" }
}

/// A policy attached somewhere: an identity policy to a user, group or agency (by URN),
/// or an SCP to a node of the tree (by node name).
public struct StoredAttachment: Sendable, Hashable, Codable, Comparable {
    public var policy: String
    public var target: String

    public static func < (a: StoredAttachment, b: StoredAttachment) -> Bool { (a.policy, a.target) < (b.policy, b.target) }
}

/// The organization itself.
public struct OrganizationSettings: Sendable, Hashable, Codable {
    public var id: String
    /// Name of the management account node; SCPs do not apply to it.
    public var managementAccount: String?
    public var scpsEnabled: Bool
}

/// Everything a Bulwark server manages, as one value. Commands turn one state into the
/// next (`OrganizationState.applying(_:)`); stores keep it as one row per entity.
///
/// The collections are persistent (hash array mapped tries): the next state shares all but
/// the changed paths with the last, so a write to an organization of 20,000 principals copies
/// a few nodes, not 20,000 entries.
public struct OrganizationState: Sendable, Equatable {
    public var organization: OrganizationSettings?
    /// Node name → node.
    public var nodes: TreeDictionary<String, StoredNode> = [:]
    /// Identity policy id → policy.
    public var policies: TreeDictionary<String, StoredPolicy> = [:]
    /// SCP id → SCP (without the built-in `FullAccess`).
    public var scps: TreeDictionary<String, StoredSCP> = [:]
    /// Principal URN → principal (with indexes of group members and account principals).
    public var principals: Principals = [:]
    public var attachments: Attachments = []

    public init() {}

    /// No organization, node, policy, SCP, principal or attachment.
    public var isEmpty: Bool {
        organization == nil && nodes.isEmpty && policies.isEmpty && scps.isEmpty && principals.count == 0 && attachments.count == 0
    }

    /// The id of the SCP every node gets when it is created (Huawei's default).
    public static let fullAccessID = "FullAccess"
}

// MARK: - Entities: how a state is kept as rows

/// A stored row: which kind of entity, its key, and its JSON body.
public struct EntityKey: Sendable, Hashable, Comparable {
    public var kind: String
    public var key: String

    public init(kind: String, key: String) {
        self.kind = kind
        self.key = key
    }

    public static func < (a: EntityKey, b: EntityKey) -> Bool { (a.kind, a.key) < (b.kind, b.key) }

    public static let organization = EntityKey(kind: "organization", key: "organization")
    public static func node(_ name: String) -> EntityKey { EntityKey(kind: "node", key: name) }
    public static func policy(_ id: String) -> EntityKey { EntityKey(kind: "policy", key: id) }
    public static func scp(_ id: String) -> EntityKey { EntityKey(kind: "scp", key: id) }
    public static func principal(_ urn: String) -> EntityKey { EntityKey(kind: "principal", key: urn) }
    public static func attachment(_ a: StoredAttachment) -> EntityKey { EntityKey(kind: "attachment", key: a.policy + "\n" + a.target) }
}

/// Why stored rows could not be read back into a state.
public struct StoreCorruptionError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

extension OrganizationState {
    /// Bodies are canonical JSON (sorted keys), so equal entities give equal rows.
    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The row of one entity as it is in this state; nil when the state has no such entity.
    public func row(_ key: EntityKey) -> String? {
        let encoder = Self.encoder()
        // Plain structs of strings, numbers and arrays: JSONEncoder cannot fail on them.
        func body(_ value: (some Encodable)?) -> String? { value.map { String(decoding: try! encoder.encode($0), as: UTF8.self) } }
        switch key.kind {
        case "organization": return body(organization)
        case "node": return body(nodes[key.key])
        case "policy": return body(policies[key.key])
        case "scp": return body(scps[key.key])
        case "principal": return body(principals[key.key])
        case "attachment":
            guard let newline = key.key.firstIndex(of: "\n") else { return nil }
            let a = StoredAttachment(policy: String(key.key[..<newline]), target: String(key.key[key.key.index(after: newline)...]))
            return attachments.contains(a) ? body(a) : nil
        default: return nil
        }
    }

    /// Every entity's key.
    public var entityKeys: [EntityKey] {
        (organization == nil ? [] : [EntityKey.organization]) + nodes.keys.map(EntityKey.node) + policies.keys.map(EntityKey.policy)
            + scps.keys.map(EntityKey.scp) + principals.keys.map(EntityKey.principal) + attachments.map(EntityKey.attachment)
    }

    /// One row per entity.
    public func entities() -> [EntityKey: String] {
        var rows: [EntityKey: String] = [:]
        for key in entityKeys { rows[key] = row(key) }
        return rows
    }

    /// Rebuilds a state from its rows.
    public init(entities rows: [(kind: String, key: String, body: String)]) throws(StoreCorruptionError) {
        self.init()
        try apply(rows: rows.map { ($0.kind, $0.key, Optional($0.body)) })
    }

    /// Writes rows into the state: a body replaces the entity, nil removes it (a replica
    /// catching up on what other writers changed).
    public mutating func apply(rows: [(kind: String, key: String, body: String?)]) throws(StoreCorruptionError) {
        // Decoding is pure and most of a load's time: spread over every core, applied in order.
        for decoded in concurrentMap(rows, Self.decode) {
            switch try decoded.get() {
            case .organization(let settings): organization = settings
            case .node(let key, let node): nodes[key] = node
            case .policy(let key, let policy): policies[key] = policy
            case .scp(let key, let scp): scps[key] = scp
            case .principal(let urn, let principal): principals[urn] = principal
            case .attachment(let attachment): attachments.insert(attachment)
            case .removed(let key): try remove(key)
            }
        }
    }

    /// One row read back.
    private enum DecodedRow: Sendable {
        case organization(OrganizationSettings)
        case node(String, StoredNode)
        case policy(String, StoredPolicy)
        case scp(String, StoredSCP)
        case principal(String, StoredPrincipal)
        case attachment(StoredAttachment)
        case removed(EntityKey)
    }

    private static func decode(_ row: (kind: String, key: String, body: String?)) -> Result<DecodedRow, StoreCorruptionError> {
        guard let text = row.body else { return .success(.removed(EntityKey(kind: row.kind, key: row.key))) }
        let decoder = JSONDecoder()
        let data = Data(text.utf8)
        do {
            switch row.kind {
            case "organization": return .success(.organization(try decoder.decode(OrganizationSettings.self, from: data)))
            case "node": return .success(.node(row.key, try decoder.decode(StoredNode.self, from: data)))
            case "policy": return .success(.policy(row.key, try decoder.decode(StoredPolicy.self, from: data)))
            case "scp": return .success(.scp(row.key, try decoder.decode(StoredSCP.self, from: data)))
            case "principal": return .success(.principal(row.key, try decoder.decode(StoredPrincipal.self, from: data)))
            case "attachment": return .success(.attachment(try decoder.decode(StoredAttachment.self, from: data)))
            default: return .failure(StoreCorruptionError(description: "unknown entity kind \"\(row.kind)\""))
            }
        } catch {
            return .failure(StoreCorruptionError(description: "stored \(row.kind) \"\(row.key)\" cannot be read: \(error)"))
        }
    }

    private mutating func remove(_ key: EntityKey) throws(StoreCorruptionError) {
        switch key.kind {
        case "organization": organization = nil
        case "node": nodes[key.key] = nil
        case "policy": policies[key.key] = nil
        case "scp": scps[key.key] = nil
        case "principal": principals[key.key] = nil
        case "attachment":
            guard let newline = key.key.firstIndex(of: "\n") else {
                throw StoreCorruptionError(description: "attachment key \"\(key.key)\" has no policy and target")
            }
            attachments.remove(StoredAttachment(policy: String(key.key[..<newline]), target: String(key.key[key.key.index(after: newline)...])))
        default: throw StoreCorruptionError(description: "unknown entity kind \"\(key.kind)\"")
        }
    }

    /// The rows to write and delete to go from `old` to `self`, comparing every entity. Commands
    /// know what they change (`StateChange.changed`); this is for checks and whole replacements.
    public func changes(from old: OrganizationState) -> (upserts: [(EntityKey, String)], deletions: [EntityKey]) {
        let before = old.entities()
        let after = entities()
        let upserts = after.filter { before[$0.key] != $0.value }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let deletions = before.keys.filter { after[$0] == nil }.sorted()
        return (upserts, deletions)
    }

    /// `next` in place of this state, every entity that differs named: a whole replacement
    /// (an import, a test that writes a state it built).
    public func replaced<Result: Sendable>(by next: OrganizationState, result: Result) -> StateChange<Result> {
        let (upserts, deletions) = next.changes(from: self)
        return StateChange(state: next, changed: Set(upserts.map(\.0) + deletions), result: result)
    }

    /// The rows of `changed` as they are in this state: a body to write, or nil to delete.
    public func rows(of changed: Set<EntityKey>) -> [(key: EntityKey, body: String?)] {
        changed.sorted().map { ($0, row($0)) }
    }
}

/// A state after a write, with the keys of the entities the write changed (every one of them:
/// stores write exactly these rows, and snapshots recompile from them).
public struct StateChange<Result: Sendable>: Sendable {
    public let state: OrganizationState
    public let changed: Set<EntityKey>
    public let result: Result

    public init(state: OrganizationState, changed: Set<EntityKey>, result: Result) {
        self.state = state
        self.changed = changed
        self.result = result
    }
}
