import BulwarkAPI
import BulwarkJSON
import BulwarkOrganization
public import BulwarkWorkspace
import Foundation

/// `bulwark plan` (SPEC §13): the API calls that would make the cloud (a pulled workspace)
/// match a workspace. Things are matched by name; the cloud's ids come from the pulled side
/// (`id`, `scpIds`, `policyIds`). A thing the plan creates is named in later calls as
/// `{policy:NAME}`, `{group:NAME}`, `{user:NAME}`, `{agency:NAME}`, `{ou:NAME}` or `{scp:NAME}`
/// until the cloud gives it an id.
public enum WorkspacePlan {
    public struct Call: Sendable, Equatable {
        /// `iam` or `organizations`.
        public let service: String
        /// The account whose IAM the call changes (IAM calls), by name.
        public let account: String?
        public let method: String
        public let path: String
        /// The JSON body, compact; nil when the call has none.
        public let body: String?
    }

    /// The calls, in an order the cloud accepts (creations, then changes, then attachments,
    /// then detachments and deletions), and what cannot be planned (`warnings`).
    public static func calls(from cloud: Workspace, to workspace: Workspace) -> (calls: [Call], warnings: [String]) {
        var planner = Planner(cloud: cloud, target: workspace, ids: PulledIDs.read(cloud))
        planner.organization()
        for account in Set(workspace.accounts.keys).union(cloud.accounts.keys).sorted() { planner.iam(account) }
        let order = ["create", "change", "attach", "detach", "delete"]
        let calls = planner.calls.enumerated().sorted { a, b in
            let (pa, pb) = (order.firstIndex(of: a.element.phase)!, order.firstIndex(of: b.element.phase)!)
            return pa != pb ? pa < pb : a.offset < b.offset
        }.map(\.element.call)
        return (calls, planner.warnings)
    }
}

/// The cloud's ids a pulled workspace keeps beside its names.
struct PulledIDs {
    var scps: [String: String] = [:]
    /// Account name → policy name → id.
    var policies: [String: [String: String]] = [:]
    var groups: [String: [String: String]] = [:]
    var systemPolicies: [String: Set<String>] = [:]

    static func read(_ workspace: Workspace) -> PulledIDs {
        var ids = PulledIDs()
        func map(_ node: JSONNode?) -> [String: String] {
            guard case .object(let members) = node?.value else { return [:] }
            var out: [String: String] = [:]
            for member in members { if case .string(let text) = member.value.value { out[member.key] = text } }
            return out
        }
        func field(_ node: JSONNode, _ key: String) -> JSONNode? {
            guard case .object(let members) = node.value else { return nil }
            return members.first { $0.key == key }?.value
        }
        func read(_ path: String) -> JSONNode? {
            guard let data = FileManager.default.contents(atPath: workspace.root + "/" + path) else { return nil }
            return try? DocumentReader.read(String(decoding: data, as: UTF8.self), fileName: path)
        }
        for name in ["organization.yaml", "organization.yml", "organization.json"] {
            if let root = read(name) { ids.scps = map(field(root, "scpIds")) }
        }
        for account in workspace.accounts.keys {
            for name in ["account.yaml", "account.yml", "account.json"] {
                guard let root = read("accounts/\(account)/\(name)") else { continue }
                ids.policies[account] = map(field(root, "policyIds"))
                if case .array(let items)? = field(root, "systemPolicies")?.value {
                    ids.systemPolicies[account] = Set(items.compactMap { if case .string(let s) = $0.value { s } else { nil } })
                }
                if case .array(let groups)? = field(root, "groups")?.value {
                    for group in groups {
                        if case .string(let name)? = field(group, "name")?.value, case .string(let id)? = field(group, "id")?.value {
                            ids.groups[account, default: [:]][name] = id
                        }
                    }
                }
            }
        }
        return ids
    }
}

private struct Planner {
    let cloud: Workspace
    let target: Workspace
    let ids: PulledIDs
    var calls: [(phase: String, call: WorkspacePlan.Call)] = []
    var warnings: [String] = []

    init(cloud: Workspace, target: Workspace, ids: PulledIDs) {
        self.cloud = cloud
        self.target = target
        self.ids = ids
    }

    mutating func add(_ phase: String, _ service: String, _ account: String?, _ method: String, _ path: String, _ body: [(String, Any)]? = nil) {
        var text: String?
        if let body {
            var json = JSONWriter()
            json.beginObject()
            for (key, value) in body {
                json.key(key)
                Self.write(value, into: &json)
            }
            json.endObject()
            text = json.text
        }
        calls.append((phase, WorkspacePlan.Call(service: service, account: account, method: method, path: path, body: text)))
    }

    /// A call whose body is a JSON list (IAM's DeleteResourceTagsV5 takes the keys alone).
    mutating func addList(_ phase: String, _ account: String, _ method: String, _ path: String, _ items: [String]) {
        var json = JSONWriter()
        Self.write(items, into: &json)
        calls.append((phase, WorkspacePlan.Call(service: "iam", account: account, method: method, path: path, body: json.text)))
    }

    static func write(_ value: Any, into json: inout JSONWriter) {
        switch value {
        case let text as String: json.string(text)
        case let number as Int: json.int(number)
        case let flag as Bool: json.bool(flag)
        case let list as [String]:
            json.beginArray()
            for item in list { json.string(item) }
            json.endArray()
        case let pairs as [(String, String)]:
            json.beginArray()
            for (key, value) in pairs {
                json.beginObject()
                json.field("tag_key", key)
                json.field("tag_value", value)
                json.endObject()
            }
            json.endArray()
        default: json.null()
        }
    }

    /// A document as compact JSON (for comparing and sending): the file's text re-written.
    static func compact(_ text: String?) -> String? {
        guard let text else { return nil }
        var reader = JSONReader(bytes: Array(text.utf8))
        guard let node = try? reader.readDocument() else { return text }
        var json = JSONWriter()
        json.value(node.value)
        return json.text
    }

    static func document(_ ws: Workspace, _ prefix: String, _ name: String) -> String? {
        for ext in ["json", "yaml", "yml"] { if let text = ws.documents["\(prefix)/\(name).\(ext)"] { return compact(text) } }
        return nil
    }

    // MARK: Organizations

    mutating func organization() {
        let (old, new) = (cloud.organization, target.organization)
        guard !new.nodes.isEmpty else { return }
        guard !old.nodes.isEmpty else {
            warnings.append("the cloud has no organization; create it (POST /v1/organizations) and pull again before planning the tree")
            return
        }
        func nodeID(_ name: String) -> String {
            if let node = old.nodes[name] { return PercentCoding.encode(node.id) }
            return "{ou:\(name)}"
        }
        // OUs, parents first.
        let units = new.nodes.values.filter { $0.kind == .ou }.sorted {
            (new.path(to: $0.name).count, $0.name) < (new.path(to: $1.name).count, $1.name)
        }
        for unit in units where old.nodes[unit.name] == nil {
            add(
                "create", "organizations", nil, "POST", "/v1/organizations/organizational-units",
                [("name", unit.name), ("parent_id", nodeID(unit.parent ?? "root"))])
        }
        for account in new.nodes.values.filter({ $0.kind == .account }).sorted(by: { $0.name < $1.name }) {
            guard let before = old.nodes[account.name] else {
                warnings.append(
                    "account \(account.name) is not in the cloud's organization: invite it or create it (POST /v1/organizations/accounts), then pull again"
                )
                continue
            }
            if before.parent != account.parent {
                add(
                    "change", "organizations", nil, "POST", "/v1/organizations/accounts/\(PercentCoding.encode(before.id))/move",
                    [("source_parent_id", nodeID(before.parent ?? "root")), ("destination_parent_id", nodeID(account.parent ?? "root"))])
            }
        }
        for account in old.nodes.values.filter({ $0.kind == .account && new.nodes[$0.name] == nil }).sorted(by: { $0.name < $1.name }) {
            warnings.append(
                "account \(account.name) is in the cloud's organization but not in the workspace; Bulwark does not plan removing accounts")
        }
        for unit in old.nodes.values.filter({ $0.kind == .ou && new.nodes[$0.name] == nil }).sorted(by: { $0.name > $1.name }) {
            add("delete", "organizations", nil, "DELETE", "/v1/organizations/organizational-units/\(PercentCoding.encode(unit.id))")
        }
        guard new.scpsEnabled else {
            if old.scpsEnabled { warnings.append("the workspace disables SCPs; Bulwark does not plan disabling the policy type") }
            return
        }
        if !old.scpsEnabled {
            add(
                "create", "organizations", nil, "POST", "/v1/organizations/policies/enable",
                [("policy_type", "service_control_policy"), ("root_id", old.nodes["root"]?.id ?? "")])
        }
        func scpID(_ name: String) -> String { ids.scps[name].map(PercentCoding.encode) ?? "{scp:\(name)}" }
        for name in new.scps.keys.sorted() where name != "FullAccess" {
            let document = Self.document(target, "scps", name) ?? ""
            if old.scps[name] == nil || ids.scps[name] == nil {
                add(
                    "create", "organizations", nil, "POST", "/v1/organizations/policies",
                    [("name", name), ("type", "service_control_policy"), ("content", document)])
            } else if Self.document(cloud, "scps", name) != document {
                add("change", "organizations", nil, "PATCH", "/v1/organizations/policies/\(scpID(name))", [("content", document)])
            }
        }
        for node in Set(new.nodes.keys).union(old.nodes.keys).sorted() {
            guard new.nodes[node] != nil else { continue }
            // Enabling SCPs attaches FullAccess everywhere by itself.
            let before = Set(old.attachments[node] ?? []).union(old.scpsEnabled ? [] : ["FullAccess"])
            let after = Set(new.attachments[node] ?? [])
            for scp in after.subtracting(before).sorted() {
                add("attach", "organizations", nil, "POST", "/v1/organizations/policies/\(scpID(scp))/attach", [("entity_id", nodeID(node))])
            }
            for scp in before.subtracting(after).sorted() {
                add("detach", "organizations", nil, "POST", "/v1/organizations/policies/\(scpID(scp))/detach", [("entity_id", nodeID(node))])
            }
        }
        for name in old.scps.keys.sorted() where name != "FullAccess" && new.scps[name] == nil {
            if let id = ids.scps[name] { add("delete", "organizations", nil, "DELETE", "/v1/organizations/policies/\(PercentCoding.encode(id))") }
        }
    }

    // MARK: IAM

    mutating func iam(_ account: String) {
        let old = cloud.accounts[account]
        guard let new = target.accounts[account] else {
            warnings.append("account \(account) has no IAM in the workspace; Bulwark does not plan emptying an account")
            return
        }
        guard let old else {
            warnings.append("account \(account) was not pulled (no key or not in the organization); its IAM is not planned")
            return
        }
        let policyIDs = ids.policies[account] ?? [:]
        let system = ids.systemPolicies[account] ?? []
        let groupIDs = ids.groups[account] ?? [:]
        let folder = "accounts/\(account)/policies"
        func policyID(_ name: String) -> String { policyIDs[name].map(PercentCoding.encode) ?? "{policy:\(name)}" }
        // Policies: new ones created, changed ones get a new default version.
        for name in new.policies.keys.sorted() {
            let document = Self.document(target, folder, name) ?? ""
            if policyIDs[name] == nil {
                add("create", "iam", account, "POST", "/v5/policies", [("policy_name", name), ("policy_document", document)])
            } else if Self.document(cloud, folder, name) != document {
                if system.contains(name) {
                    warnings.append("\(folder)/\(name): \(name) is a system policy; the cloud cannot change it (copy it under another name)")
                } else {
                    add(
                        "change", "iam", account, "POST", "/v5/policies/\(policyID(name))/versions",
                        [("policy_document", document), ("set_as_default", true)])
                }
            }
        }
        for name in new.groups.keys.sorted() where groupIDs[name] == nil && old.groups[name] == nil {
            add("create", "iam", account, "POST", "/v5/groups", [("group_name", name)])
        }
        func groupID(_ name: String) -> String { groupIDs[name].map(PercentCoding.encode) ?? "{group:\(name)}" }
        // Group attachments.
        for name in Set(new.groups.keys).union(old.groups.keys).sorted() {
            guard let after = new.groups[name] else { continue }
            let before = Set(old.groups[name] ?? [])
            for policy in Set(after).subtracting(before).sorted() {
                add("attach", "iam", account, "POST", "/v5/policies/\(policyID(policy))/attach-group", [("group_id", groupID(name))])
            }
            for policy in before.subtracting(after).sorted() {
                add("detach", "iam", account, "POST", "/v5/policies/\(policyID(policy))/detach-group", [("group_id", groupID(name))])
            }
        }
        for principal in new.principals.sorted(by: { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }) {
            let kind = principal.kind.rawValue
            let before = old.principal(principal.kind, named: principal.name)
            // In a path the id is one segment, whatever the cloud's text (bodies carry it as it is).
            let id = before.map { PercentCoding.encode($0.id) } ?? "{\(kind):\(principal.name)}"
            let bodyID = before?.id ?? "{\(kind):\(principal.name)}"
            let trust = principal.trustPolicy.flatMap { Self.document(target, "accounts/\(account)/trust-policies", $0) }
            if before == nil {
                if principal.kind == .user {
                    add("create", "iam", account, "POST", "/v5/users", [("name", principal.name)])
                } else {
                    guard let trust else {
                        warnings.append("agency \(principal.name) in \(account) has no trust policy; Huawei needs one to create it")
                        continue
                    }
                    add(
                        "create", "iam", account, "POST", "/v5/agencies",
                        [("agency_name", principal.name), ("trust_policy", trust), ("max_session_duration", principal.maxSessionDuration ?? 3_600)])
                }
            } else if principal.kind == .agency, let before {
                let oldTrust = before.trustPolicy.flatMap { Self.document(cloud, "accounts/\(account)/trust-policies", $0) }
                if let trust, trust != oldTrust { add("change", "iam", account, "PUT", "/v5/agencies/\(id)/trust-policy", [("trust_policy", trust)]) }
                if (principal.maxSessionDuration ?? 3_600) != (before.maxSessionDuration ?? 3_600) {
                    add("change", "iam", account, "PUT", "/v5/agencies/\(id)", [("max_session_duration", principal.maxSessionDuration ?? 3_600)])
                }
            }
            let oldTags = before?.tags ?? [:]
            let changed = principal.tags.filter { oldTags[$0.key] != $0.value }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            if !changed.isEmpty { add("change", "iam", account, "POST", "/v5/\(kind)/\(id)/tags/create", [("tags", changed)]) }
            let dropped = oldTags.keys.filter { principal.tags[$0] == nil }.sorted()
            if !dropped.isEmpty { addList("change", account, "DELETE", "/v5/\(kind)/\(id)/tags/delete", dropped) }
            for group in Set(principal.groups).subtracting(before?.groups ?? []).sorted() {
                add("attach", "iam", account, "POST", "/v5/groups/\(groupID(group))/add-user", [("user_id", bodyID)])
            }
            for group in Set(before?.groups ?? []).subtracting(principal.groups).sorted() {
                add("detach", "iam", account, "POST", "/v5/groups/\(groupID(group))/remove-user", [("user_id", bodyID)])
            }
            for policy in Set(principal.policies).subtracting(before?.policies ?? []).sorted() {
                add("attach", "iam", account, "POST", "/v5/policies/\(policyID(policy))/attach-\(kind)", [("\(kind)_id", bodyID)])
            }
            for policy in Set(before?.policies ?? []).subtracting(principal.policies).sorted() {
                add("detach", "iam", account, "POST", "/v5/policies/\(policyID(policy))/detach-\(kind)", [("\(kind)_id", bodyID)])
            }
        }
        // What the workspace no longer has: detached above only for kept principals; removed
        // principals and groups are deleted (the cloud drops their attachments), then policies.
        for principal in old.principals.sorted(by: { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) })
        where new.principal(principal.kind, named: principal.name) == nil {
            add("delete", "iam", account, "DELETE", "/v5/\(principal.kind == .user ? "users" : "agencies")/\(PercentCoding.encode(principal.id))")
        }
        for name in old.groups.keys.sorted() where new.groups[name] == nil {
            if let id = groupIDs[name] { add("delete", "iam", account, "DELETE", "/v5/groups/\(PercentCoding.encode(id))") }
        }
        for name in old.policies.keys.sorted() where new.policies[name] == nil && !system.contains(name) {
            // Detached from what stays in the passes above; the cloud refuses to delete an attached policy.
            guard let id = policyIDs[name] else { continue }
            add("delete", "iam", account, "DELETE", "/v5/policies/\(PercentCoding.encode(id))")
        }
    }
}
