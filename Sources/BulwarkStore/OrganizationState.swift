import Foundation

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
public struct OrganizationState: Sendable, Equatable {
    public var organization: OrganizationSettings?
    /// Node name → node.
    public var nodes: [String: StoredNode] = [:]
    /// Identity policy id → policy.
    public var policies: [String: StoredPolicy] = [:]
    /// SCP id → SCP (without the built-in `FullAccess`).
    public var scps: [String: StoredSCP] = [:]
    /// Principal URN → principal.
    public var principals: [String: StoredPrincipal] = [:]
    public var attachments: Set<StoredAttachment> = []

    public init() {}

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
}

/// Why stored rows could not be read back into a state.
public struct StoreCorruptionError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

extension OrganizationState {
    /// One row per entity, bodies as canonical JSON (sorted keys), so equal entities give equal rows.
    public func entities() -> [EntityKey: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Plain structs of strings, numbers and arrays: JSONEncoder cannot fail on them.
        func body(_ value: some Encodable) -> String { String(decoding: try! encoder.encode(value), as: UTF8.self) }
        var rows: [EntityKey: String] = [:]
        if let organization { rows[EntityKey(kind: "organization", key: "organization")] = body(organization) }
        for (name, node) in nodes { rows[EntityKey(kind: "node", key: name)] = body(node) }
        for (id, policy) in policies { rows[EntityKey(kind: "policy", key: id)] = body(policy) }
        for (id, scp) in scps { rows[EntityKey(kind: "scp", key: id)] = body(scp) }
        for (urn, principal) in principals { rows[EntityKey(kind: "principal", key: urn)] = body(principal) }
        for a in attachments { rows[EntityKey(kind: "attachment", key: a.policy + "\n" + a.target)] = body(a) }
        return rows
    }

    /// Rebuilds a state from its rows.
    public init(entities rows: [(kind: String, key: String, body: String)]) throws(StoreCorruptionError) {
        self.init()
        let decoder = JSONDecoder()
        for row in rows {
            let data = Data(row.body.utf8)
            do {
                switch row.kind {
                case "organization": organization = try decoder.decode(OrganizationSettings.self, from: data)
                case "node": nodes[row.key] = try decoder.decode(StoredNode.self, from: data)
                case "policy": policies[row.key] = try decoder.decode(StoredPolicy.self, from: data)
                case "scp": scps[row.key] = try decoder.decode(StoredSCP.self, from: data)
                case "principal": principals[row.key] = try decoder.decode(StoredPrincipal.self, from: data)
                case "attachment": attachments.insert(try decoder.decode(StoredAttachment.self, from: data))
                default: throw StoreCorruptionError(description: "unknown entity kind \"\(row.kind)\"")
                }
            } catch let error as StoreCorruptionError {
                throw error
            } catch {
                throw StoreCorruptionError(description: "stored \(row.kind) \"\(row.key)\" cannot be read: \(error)")
            }
        }
    }

    /// The rows to write and delete to go from `old` to `self`.
    public func changes(from old: OrganizationState) -> (upserts: [(EntityKey, String)], deletions: [EntityKey]) {
        let before = old.entities()
        let after = entities()
        let upserts = after.filter { before[$0.key] != $0.value }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let deletions = before.keys.filter { after[$0] == nil }.sorted()
        return (upserts, deletions)
    }
}
