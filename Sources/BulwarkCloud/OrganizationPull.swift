import Foundation

/// An organization as read from the cloud (SPEC §13), before it is written as a workspace:
/// Huawei's ids and names, nothing else (no timestamps, so two pulls of the same state match).
public struct PulledOrganization: Sendable {
    public struct Node: Sendable {
        public var id: String
        public var name: String
        /// The parent's id (the root or an OU).
        public var parent: String
        public init(id: String, name: String, parent: String) {
            (self.id, self.name, self.parent) = (id, name, parent)
        }
    }
    public struct SCP: Sendable {
        public var id: String
        public var name: String
        public var content: String
        public var builtIn: Bool
        public init(id: String, name: String, content: String, builtIn: Bool) {
            (self.id, self.name, self.content, self.builtIn) = (id, name, content, builtIn)
        }
    }
    public struct Tree: Sendable {
        public var id: String
        public var rootID: String
        public var managementAccount: String
        public var scpsEnabled: Bool
        public var units: [Node] = []
        public var accounts: [Node] = []
        public var scps: [SCP] = []
        /// SCP id → ids of the nodes it is attached to.
        public var attachments: [String: [String]] = [:]
        public init(id: String, rootID: String, managementAccount: String, scpsEnabled: Bool) {
            (self.id, self.rootID, self.managementAccount, self.scpsEnabled) = (id, rootID, managementAccount, scpsEnabled)
        }
    }
    public struct Principal: Sendable {
        public var id: String
        public var name: String
        public var tags: [String: String] = [:]
        /// Users: group ids.
        public var groups: [String] = []
        /// Agencies: the trust policy and the longest session.
        public var trustPolicy: String?
        public var maxSessionDuration: Int?
        public init(
            id: String, name: String, tags: [String: String] = [:], groups: [String] = [], trustPolicy: String? = nil, maxSessionDuration: Int? = nil
        ) {
            (self.id, self.name, self.tags, self.groups) = (id, name, tags, groups)
            (self.trustPolicy, self.maxSessionDuration) = (trustPolicy, maxSessionDuration)
        }
    }
    public struct Group: Sendable {
        public var id: String
        public var name: String
        public init(id: String, name: String) { (self.id, self.name) = (id, name) }
    }
    public struct Policy: Sendable {
        public var id: String
        public var name: String
        public var system: Bool
        public var document: String
        public init(id: String, name: String, system: Bool, document: String) {
            (self.id, self.name, self.system, self.document) = (id, name, system, document)
        }
    }
    public struct IAM: Sendable {
        public var users: [Principal] = []
        public var groups: [Group] = []
        public var agencies: [Principal] = []
        public var policies: [Policy] = []
        /// User, group or agency id → attached policy ids.
        public var attached: [String: [String]] = [:]
        public init() {}
    }

    /// Nil when the accounts are in no organization.
    public var tree: Tree?
    /// Account id → its name.
    public var accountNames: [String: String] = [:]
    /// Account id → its IAM, for each account read.
    public var iam: [String: IAM] = [:]
    /// Accounts not read, with why (no credentials, a failed call).
    public var unread: [(account: String, reason: String)] = []

    public init() {}
}

/// `bulwark pull`: reads Organizations with the management account's key and IAM v5 of every
/// account with a key, over signed calls with paging and retries.
public enum OrganizationPull {
    /// Where each API is: Huawei's public endpoints unless `--endpoint` says otherwise.
    public struct Endpoints: Sendable {
        public var iam = "https://iam.myhuaweicloud.com"
        public var organizations = "https://organizations.myhuaweicloud.com"
        /// How long one call may take, and how many times a throttled, failed or timed-out call is tried.
        public var timeoutSeconds: Int64 = 30
        public var attempts = 4
        public init() {}
    }

    /// The organization and every account's IAM the keys can read; a failed Organizations
    /// call fails the pull, a failed account is listed in `unread`.
    public static func read(
        credentials: [CloudCredentials], endpoints: Endpoints, progress: @Sendable (String) -> Void
    ) async throws(CloudError) -> PulledOrganization {
        let clients = ClientPool()
        do {
            let pulled = try await read(credentials: credentials, endpoints: endpoints, clients: clients, progress: progress)
            await clients.shutdown()
            return pulled
        } catch {
            await clients.shutdown()
            throw error
        }
    }

    /// One client per endpoint and key, each closed when the pull ends.
    final class ClientPool {
        private var open: [String: SignedClient] = [:]

        func client(_ endpoint: String, _ key: CloudCredentials, timeoutSeconds: Int64, attempts: Int) throws(CloudError) -> SignedClient {
            if let client = open[endpoint + " " + key.accessKey] { return client }
            let made = try SignedClient(endpoint: endpoint, credentials: key, attempts: attempts, timeoutSeconds: timeoutSeconds)
            open[endpoint + " " + key.accessKey] = made
            return made
        }

        func shutdown() async {
            for client in open.values { await client.shutdown() }
            open = [:]
        }
    }

    private static func read(
        credentials: [CloudCredentials], endpoints: Endpoints, clients: ClientPool, progress: @Sendable (String) -> Void
    ) async throws(CloudError) -> PulledOrganization {
        var pulled = PulledOrganization()
        func client(_ endpoint: String, _ key: CloudCredentials) throws(CloudError) -> SignedClient {
            try clients.client(endpoint, key, timeoutSeconds: endpoints.timeoutSeconds, attempts: endpoints.attempts)
        }
        // Organizations: the first key that sees an organization finds its management account,
        // whose key alone reads the tree.
        var organization: CloudAnswer?
        var seenBy: CloudCredentials?
        var refused: CloudError?
        for key in credentials {
            do {
                organization = try CloudAnswer(
                    bytes: try await client(endpoints.organizations, key).get("/v1/organizations"), call: "GET /v1/organizations")
                seenBy = key
                break
            } catch  where error.status == 404 {
                continue  // this key's account is in no organization
            } catch  where error.status == 403 {
                refused = error  // cannot tell: not the same as "in no organization"
            }
        }
        // Reading only IAM when the tree might hold SCPs would grant what they deny.
        if organization == nil, let refused {
            throw CloudError(
                "\(refused.description) — cannot tell whether the accounts are in an organization; give a key that may read it", status: 403)
        }
        if let organization, let seenBy {
            let org = try organization.object("organization")
            let management = try org.string("management_account_id")
            let managementName = try org.optionalString("management_account_name")
            guard let key = credentials.first(where: { $0.account == management || ($0.account != nil && $0.account == managementName) }) else {
                throw CloudError(
                    "GET /v1/organizations (key \(seenBy.accessKey)): the organization's management account is \(management); give its key in --credentials to read the organization"
                )
            }
            pulled.tree = try await readTree(
                client(endpoints.organizations, key), id: try org.string("id"), management: management, names: &pulled.accountNames,
                progress: progress)
        } else {
            progress("pull: the keys' accounts are in no organization; reading IAM only")
        }
        // IAM of every account: those of the tree, and those of keys outside one.
        var accounts = pulled.tree.map { tree in tree.accounts.map(\.id) } ?? []
        for key in credentials {
            guard let account = key.account else { continue }
            if !accounts.contains(account) && !pulled.accountNames.values.contains(account) {
                if pulled.tree == nil {
                    accounts.append(account)
                    pulled.accountNames[account] = account
                } else {
                    pulled.unread.append((account, "the key's account \(account) is not in the organization"))
                }
            }
        }
        for (index, account) in accounts.sorted().enumerated() {
            let name = pulled.accountNames[account] ?? account
            guard let key = credentials.first(where: { $0.account == account || $0.account == name }) else {
                pulled.unread.append((name, "no key for account \(name) (\(account)) in --credentials"))
                progress("pull: account \(index + 1)/\(accounts.count) \(name): no key, not read")
                continue
            }
            do {
                let iam = try await readIAM(client(endpoints.iam, key), account: account)
                pulled.iam[account] = iam
                progress(
                    "pull: account \(index + 1)/\(accounts.count) \(name): \(iam.users.count) users, \(iam.groups.count) groups, \(iam.agencies.count) agencies, \(iam.policies.count) policies"
                )
            } catch {
                pulled.unread.append((name, error.description))
                progress("pull: account \(index + 1)/\(accounts.count) \(name): not read: \(error.description)")
            }
        }
        return pulled
    }

    /// The tree below the root, the SCPs with their content and where they attach.
    static func readTree(
        _ client: SignedClient, id: String, management: String, names: inout [String: String], progress: @Sendable (String) -> Void
    ) async throws(CloudError) -> PulledOrganization.Tree {
        let roots = try await client.all("/v1/organizations/roots", list: "roots")
        guard roots.count == 1 else { throw CloudError("GET /v1/organizations/roots: expected one root, the answer has \(roots.count)") }
        let root = roots[0]
        let rootID = try root.string("id")
        var scpsEnabled = false
        for type in try root.array("policy_types") where try type.string("type") == "service_control_policy" {
            scpsEnabled = try type.optionalString("status") == "enabled"
        }
        var tree = PulledOrganization.Tree(id: id, rootID: rootID, managementAccount: management, scpsEnabled: scpsEnabled)
        // OUs have no parent field: walk down from the root.
        var parents = [rootID]
        while let parent = parents.popLast() {
            for unit in try await client.all("/v1/organizations/organizational-units", query: [("parent_id", parent)], list: "organizational_units") {
                let node = PulledOrganization.Node(id: try unit.string("id"), name: try unit.string("name"), parent: parent)
                guard !tree.units.contains(where: { $0.id == node.id }) && node.id != rootID else {
                    throw CloudError("GET /v1/organizations/organizational-units: OU \(node.id) appears twice in the tree")
                }
                guard tree.units.count < 10_000 else { throw CloudError("GET /v1/organizations/organizational-units: more than 10,000 OUs") }
                tree.units.append(node)
                parents.append(node.id)
            }
            for account in try await client.all("/v1/organizations/accounts", query: [("parent_id", parent)], list: "accounts") {
                let node = PulledOrganization.Node(id: try account.string("id"), name: try account.string("name"), parent: parent)
                tree.accounts.append(node)
                names[node.id] = node.name
            }
        }
        if scpsEnabled {
            for summary in try await client.all("/v1/organizations/policies", list: "policies") {
                guard try summary.optionalString("type") ?? "service_control_policy" == "service_control_policy" else { continue }
                let policyID = try summary.string("id")
                let call = "GET /v1/organizations/policies/\(policyID)"
                let policy = try CloudAnswer(bytes: try await client.get("/v1/organizations/policies/\(policyID)"), call: call).object("policy")
                tree.scps.append(
                    PulledOrganization.SCP(
                        id: policyID, name: try summary.string("name"), content: try policy.string("content"),
                        builtIn: try summary.optionalBool("is_builtin") ?? false))
                tree.attachments[policyID] = try await client.all(
                    "/v1/organizations/policies/\(policyID)/attached-entities", list: "attached_entities"
                )
                .map { entity throws(CloudError) in try entity.string("id") }
            }
        }
        progress("pull: organization \(id): \(tree.units.count) OUs, \(tree.accounts.count) accounts, \(tree.scps.count) SCPs")
        return tree
    }

    /// One account's users (with tags and groups), groups, agencies (trust policies, tags),
    /// custom policies and every policy attached, each with its default version's document.
    static func readIAM(_ client: SignedClient, account: String) async throws(CloudError) -> PulledOrganization.IAM {
        var iam = PulledOrganization.IAM()
        let domain = [("X-Domain-Id", account)]
        func tags(_ answer: CloudAnswer) throws(CloudError) -> [String: String] {
            var tags: [String: String] = [:]
            for tag in try answer.array("tags") { tags[try tag.string("tag_key")] = try tag.string("tag_value") }
            return tags
        }
        for group in try await client.all("/v5/groups", list: "groups", headers: domain) {
            iam.groups.append(PulledOrganization.Group(id: try group.string("group_id"), name: try group.string("group_name")))
        }
        var members: [String: [String]] = [:]
        for group in iam.groups {
            for user in try await client.all("/v5/users", query: [("group_id", group.id)], list: "users", headers: domain) {
                members[try user.string("user_id"), default: []].append(group.id)
            }
        }
        for user in try await client.all("/v5/users", list: "users", headers: domain) {
            let id = try user.string("user_id")
            let call = "GET /v5/users/\(id)"
            let shown = try CloudAnswer(bytes: try await client.get("/v5/users/\(id)", headers: domain), call: call).object("user")
            iam.users.append(
                PulledOrganization.Principal(id: id, name: try user.string("user_name"), tags: try tags(shown), groups: members[id] ?? []))
        }
        for agency in try await client.all("/v5/agencies", list: "agencies", headers: domain) {
            let id = try agency.string("agency_id")
            let call = "GET /v5/agencies/\(id)"
            let shown = try CloudAnswer(bytes: try await client.get("/v5/agencies/\(id)", headers: domain), call: call).object("agency")
            iam.agencies.append(
                PulledOrganization.Principal(
                    id: id, name: try shown.string("agency_name"), tags: try tags(shown), trustPolicy: try shown.string("trust_policy"),
                    maxSessionDuration: try shown.optionalInt("max_session_duration")))
        }
        var policyIDs = Set<String>()
        for policy in try await client.all("/v5/policies", query: [("policy_type", "custom")], list: "policies", headers: domain) {
            policyIDs.insert(try policy.string("policy_id"))
        }
        for (plural, ids) in [("users", iam.users.map(\.id)), ("groups", iam.groups.map(\.id)), ("agencies", iam.agencies.map(\.id))] {
            for id in ids {
                let attached = try await client.all("/v5/\(plural)/\(id)/attached-policies", list: "attached_policies", headers: domain)
                    .map { policy throws(CloudError) in try policy.string("policy_id") }
                iam.attached[id] = attached.sorted()
                policyIDs.formUnion(attached)
            }
        }
        for id in policyIDs.sorted() {
            let call = "GET /v5/policies/\(id)"
            let policy = try CloudAnswer(bytes: try await client.get("/v5/policies/\(id)", headers: domain), call: call).object("policy")
            let version = try policy.string("default_version_id")
            let versionCall = "GET /v5/policies/\(id)/versions/\(version)"
            let document = try CloudAnswer(bytes: try await client.get("/v5/policies/\(id)/versions/\(version)", headers: domain), call: versionCall)
                .object("policy_version").string("document")
            iam.policies.append(
                PulledOrganization.Policy(
                    id: id, name: try policy.string("policy_name"), system: try policy.optionalString("policy_type") == "system", document: document))
        }
        return iam
    }
}
