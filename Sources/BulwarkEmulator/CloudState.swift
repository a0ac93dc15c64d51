import Foundation

/// What the emulated control plane holds (SPEC §13): every account's IAM v5 and the
/// organization. Plain values, saved as one JSON document after each change, so the emulator
/// restarts where it stopped. Ids are made from one counter: the same calls give the same ids.
struct CloudState: Codable, Sendable {
    var accounts: [String: CloudAccount] = [:]
    var organization: CloudOrganization?
    var counter = 0

    /// A fresh id: `prefix` and 32 lowercase hex digits (Huawei's ids have that shape).
    mutating func newID(_ prefix: String = "") -> String {
        counter += 1
        let hex = String(counter, radix: 16)
        return prefix + String(repeating: "0", count: max(0, 32 - hex.count)) + hex
    }

    /// The account with this id, created on first use (the credentials file names them).
    mutating func account(_ id: String) -> CloudAccount {
        if let existing = accounts[id] { return existing }
        let created = CloudAccount(id: id, name: id)
        accounts[id] = created
        return created
    }
}

/// One account's IAM v5.
struct CloudAccount: Codable, Sendable {
    var id: String
    var name: String
    var users: [String: CloudUser] = [:]
    var groups: [String: CloudGroup] = [:]
    var agencies: [String: CloudAgency] = [:]
    /// Custom identity policies by id (system policies are shared: `CloudState.systemPolicies`).
    var policies: [String: CloudPolicy] = [:]
    /// Policy id → attachments (custom or system).
    var attachments: [String: CloudAttachments] = [:]

    func user(named name: String) -> CloudUser? { users.values.first { $0.name == name } }
}

struct CloudTag: Codable, Sendable, Hashable {
    var key: String
    var value: String
}

struct CloudUser: Codable, Sendable {
    var id: String
    var name: String
    var description: String
    var enabled: Bool
    var createdAt: String
    var tags: [CloudTag] = []
}

struct CloudGroup: Codable, Sendable {
    var id: String
    var name: String
    var description: String
    var createdAt: String
    /// User ids, in the order they were added.
    var members: [String] = []
}

struct CloudAgency: Codable, Sendable {
    var id: String
    var name: String
    var path: String
    var trustPolicy: String
    var maxSessionDuration: Int
    var description: String
    var createdAt: String
    var tags: [CloudTag] = []
}

struct CloudPolicyVersion: Codable, Sendable {
    var id: String
    var document: String
    var createdAt: String
}

struct CloudPolicy: Codable, Sendable {
    var id: String
    var name: String
    var path: String
    var description: String
    var system: Bool
    var versions: [CloudPolicyVersion]
    var defaultVersion: String
    var createdAt: String
    var updatedAt: String

    var defaultDocument: String { versions.first { $0.id == defaultVersion }?.document ?? "" }
}

/// Who a policy is attached to: entity id → when.
struct CloudAttachments: Codable, Sendable {
    var users: [String: String] = [:]
    var groups: [String: String] = [:]
    var agencies: [String: String] = [:]

    var count: Int { users.count + groups.count + agencies.count }
}

/// The organization: its tree, its SCPs and where they attach, invitations.
struct CloudOrganization: Codable, Sendable {
    var id: String
    var managementAccount: String
    var createdAt: String
    var rootID: String
    /// Policy types enabled on the root (`service_control_policy`).
    var enabledPolicyTypes: [String] = []
    var units: [String: CloudUnit] = [:]
    /// Member account id → parent id (the root or an OU).
    var accountParents: [String: String] = [:]
    /// How each member joined: `created` or `invited`, and when.
    var joined: [String: CloudJoin] = [:]
    var policies: [String: CloudSCP] = [:]
    /// Policy id → entity ids it is attached to.
    var attachments: [String: [String]] = [:]
    var handshakes: [String: CloudHandshake] = [:]

    var scpsEnabled: Bool { enabledPolicyTypes.contains("service_control_policy") }

    /// The id of the built-in SCP that allows everything.
    static let fullAccessID = "p-fullaccess"

    /// Every node id: the root, the OUs and the accounts.
    var nodes: [String] { [rootID] + units.keys.sorted() + accountParents.keys.sorted() }
}

struct CloudUnit: Codable, Sendable {
    var id: String
    var name: String
    var parent: String
    var createdAt: String
}

struct CloudJoin: Codable, Sendable {
    var method: String
    var at: String
}

struct CloudSCP: Codable, Sendable {
    var id: String
    var name: String
    var description: String
    var content: String
    var builtIn: Bool
}

struct CloudHandshake: Codable, Sendable {
    var id: String
    /// The invited account's id.
    var target: String
    var notes: String
    var status: String
    var createdAt: String
    var updatedAt: String
}
