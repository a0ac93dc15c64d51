public import BulwarkEngine
public import BulwarkPolicy
public import HashTreeCollections

/// A node of the organization tree: the root, an OU or an account.
public struct OrganizationNode: Sendable, Hashable {
    public enum Kind: String, Sendable { case root, ou, account }
    public let kind: Kind
    public let name: String
    /// Organizations id (`r-…`, `ou-…`, or the account id).
    public let id: String
    /// Name of the parent node; nil for the root.
    public let parent: String?

    public init(kind: Kind, name: String, id: String, parent: String?) {
        self.kind = kind
        self.name = name
        self.id = id
        self.parent = parent
    }
}

/// An IAM principal of an account: a user or an agency, with the policies it holds.
public struct Principal: Sendable, Hashable {
    public enum Kind: String, Sendable { case user, agency }
    public let kind: Kind
    public let name: String
    public let id: String
    public let account: String
    /// Policy names attached directly.
    public let policies: [String]
    /// Groups (users only).
    public let groups: [String]
    /// Tags: `g:PrincipalTag/KEY` of its requests (an agency's are the defaults of its sessions).
    public let tags: [String: String]
    /// Agencies: the name of the trust policy that says who may assume it (nil: nobody may).
    public let trustPolicy: String?
    /// Agencies: the longest session, 3,600–43,200 seconds (nil: Huawei's default, 3,600).
    public let maxSessionDuration: Int?

    public init(
        kind: Kind, name: String, id: String, account: String, policies: [String], groups: [String],
        tags: [String: String] = [:], trustPolicy: String? = nil, maxSessionDuration: Int? = nil
    ) {
        self.kind = kind
        self.name = name
        self.id = id
        self.account = account
        self.policies = policies
        self.groups = groups
        self.tags = tags
        self.trustPolicy = trustPolicy
        self.maxSessionDuration = maxSessionDuration
    }

    /// The range Huawei allows for an agency's maximum session duration, in seconds.
    public static let sessionDurationRange = 3_600...43_200

    /// `iam::ACCOUNT-ID:user:NAME`.
    public func urn(accountID: String) -> String { "iam::\(accountID):\(kind.rawValue):\(name)" }
}

/// One account's IAM: principals, groups and identity policies.
///
/// Principals and policies are kept in persistent maps, so an organization that changes one
/// principal (the server's snapshots) shares the rest with the organization before.
public struct AccountIAM: Sendable {
    public let name: String
    /// Kind and name → the principal and the order it was added in.
    private var byName: TreeDictionary<PrincipalKey, Entry> = [:]
    private var added = 0
    /// Group name → policy names.
    public var groups: [String: [String]] = [:]
    /// Policy name → policy (its id is the file path in the workspace).
    public var policies: TreeDictionary<String, NamedPolicy> = [:]
    /// Trust policy name → trust policy, for the account's agencies.
    public var trustPolicies: [String: NamedPolicy] = [:]

    /// A principal's kind and name: what names it within its account.
    public struct PrincipalKey: Hashable, Sendable {
        public let kind: Principal.Kind
        public let name: String

        public init(kind: Principal.Kind, name: String) {
            self.kind = kind
            self.name = name
        }
    }

    private struct Entry: Sendable {
        let principal: Principal
        let order: Int
    }

    public init(name: String) { self.name = name }

    /// The principals in the order they were added.
    public var principals: [Principal] { byName.values.sorted { $0.order < $1.order }.map(\.principal) }

    /// The number of principals.
    public var principalCount: Int { byName.count }

    /// The principal of that kind and name.
    public func principal(_ kind: Principal.Kind, named name: String) -> Principal? {
        byName[PrincipalKey(kind: kind, name: name)]?.principal
    }

    /// Adds `principal`, or replaces the one of the same kind and name (keeping its place).
    public mutating func put(_ principal: Principal) {
        let key = PrincipalKey(kind: principal.kind, name: principal.name)
        let order = byName[key]?.order ?? added
        if order == added { added += 1 }
        byName[key] = Entry(principal: principal, order: order)
    }

    /// Removes the principal of that kind and name.
    public mutating func remove(_ kind: Principal.Kind, named name: String) {
        byName[PrincipalKey(kind: kind, name: name)] = nil
    }
}

/// An organization: its tree, its SCPs and where they attach, and per account its IAM
/// (principals, groups, identity policies and their attachments). Pure data with the queries
/// decisions need; a workspace folder (`BulwarkWorkspace`) and the server's store
/// (`BulwarkStore`) are two ways of building one.
public struct Organization: Sendable {
    public var organizationID: String = ""
    public var managementAccount: String?
    public var scpsEnabled = true
    /// Node name → node (the root is named `root`).
    public var nodes: [String: OrganizationNode] = [:]
    /// SCP name → policy (`FullAccess` is built in).
    public var scps: [String: NamedPolicy] = [:]
    /// Node name → SCP names attached there.
    public var attachments: [String: [String]] = [:]
    public var accounts: [String: AccountIAM] = [:]

    /// An empty organization.
    public init() {}

    /// The deepest OU nesting Organizations allows.
    public static let maxOUDepth = 5
    /// SCPs attached to one node at most.
    public static let maxSCPsPerNode = 5
    /// Identity policies attached to one user, group or agency (Huawei's default; 20 on request).
    public static let maxPoliciesPerPrincipal = 10

    /// Huawei's default SCP, attached to every node once SCPs are enabled.
    public static let fullAccessText = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"]}]}"#
    /// `FullAccess` parsed. A constant of this file that a test parses, so `try!` cannot fail.
    public static let fullAccess = try! PolicyParser.parse(fullAccessText)

    // MARK: Queries

    /// The account node named or numbered `key`.
    public func account(_ key: String) -> OrganizationNode? {
        nodes.values.first { $0.kind == .account && ($0.name == key || $0.id == key) }
    }

    /// Nodes from the root down to `name` (inclusive).
    public func path(to name: String) -> [OrganizationNode] {
        var out: [OrganizationNode] = []
        var current: String? = name
        var guardCount = 0
        while let n = current, let node = nodes[n], guardCount < 64 {
            out.append(node)
            current = node.parent
            guardCount += 1
        }
        return out.reversed()
    }

    /// `o-1/r-1/ou-eng/ou-plat/0a1b2c` for an account.
    public func organizationPath(of account: OrganizationNode) -> String {
        ([organizationID] + path(to: account.name).map(\.id)).joined(separator: "/")
    }

    /// SCP levels for an account: one per node root → OUs → account; none for the management account.
    /// An attachment naming an SCP the workspace does not have is an error: leaving it out
    /// could drop a Deny and open access.
    public func scpLevels(for account: OrganizationNode) throws(PrincipalError) -> [[NamedPolicy]] {
        guard scpsEnabled, account.name != managementAccount else { return [] }
        return try path(to: account.name).map { node throws(PrincipalError) in
            try (attachments[node.name] ?? []).map { name throws(PrincipalError) in
                guard let scp = scps[name] else {
                    throw PrincipalError(
                        message: "SCP \"\(name)\" attached to \"\(node.name)\" cannot be found or read; nothing under it is decided without it",
                        kind: .unavailable)
                }
                return scp
            }
        }
    }
}
