import BulwarkOrganization
import BulwarkPolicy
import Foundation

/// Who signed a call to the emulated control plane: the access key's principal (SPEC §13: a
/// key acts as its principal's account, with full rights there).
struct CloudCaller: Sendable {
    let accessKey: String
    let principal: String
    let account: String
}

/// A refused call, answered in Huawei's error shape.
struct CloudFailure: Error {
    let status: Int
    let code: String
    let message: String

    init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}

/// One call to the emulated IAM v5, Organizations or CTS API, with what it needs to answer.
struct CloudRequest {
    let method: String
    let segments: [String]
    let query: [String: String]
    let body: [String: Any]
    let caller: CloudCaller
    let now: String

    /// The path parameters when `pattern` (segments, `*` for a parameter) matches this call.
    func match(_ verb: String, _ pattern: String) -> [String]? {
        let parts = pattern.split(separator: "/")
        guard verb == method, parts.count == segments.count else { return nil }
        var parameters: [String] = []
        for (part, segment) in zip(parts, segments) {
            if part == "*" { parameters.append(segment) } else if part != segment { return nil }
        }
        return parameters
    }

    /// A required string field of the body: 1 to `max` characters.
    func string(_ key: String, max: Int = 64) throws(CloudFailure) -> String {
        guard let value = body[key] as? String, !value.isEmpty, value.count <= max else {
            throw CloudFailure(400, "EMU.0400", "\(key) is required: a string of 1 to \(max) characters")
        }
        return value
    }

    func optionalString(_ key: String, max: Int = 1_024) throws(CloudFailure) -> String? {
        guard let raw = body[key], !(raw is NSNull) else { return nil }
        guard let value = raw as? String, value.count <= max else {
            throw CloudFailure(400, "EMU.0400", "\(key) must be a string of at most \(max) characters")
        }
        return value
    }

    /// `limit` and `marker` paging over items sorted by `key`; the marker is the last key of the
    /// page before, in base64 (opaque to callers, 4+ characters as the SDKs expect).
    func page<T>(_ items: [T], key: (T) -> String, maxLimit: Int = 200, defaultLimit: Int = 100) throws(CloudFailure) -> (
        items: [T], next: String?
    ) {
        var limit = defaultLimit
        if let text = query["limit"] {
            guard let value = Int(text), (1...maxLimit).contains(value) else {
                throw CloudFailure(400, "EMU.0400", "limit must be 1 to \(maxLimit)")
            }
            limit = value
        }
        let sorted = items.sorted { key($0) < key($1) }
        var start = 0
        if let marker = query["marker"] {
            guard let data = Data(base64Encoded: marker) else { throw CloudFailure(400, "EMU.0400", "marker is not one this API gave") }
            let last = String(decoding: data, as: UTF8.self)
            start = sorted.firstIndex { key($0) > last } ?? sorted.count
        }
        let page = Array(sorted[start..<min(sorted.count, start + limit)])
        let next = start + limit < sorted.count ? page.last.map { Data(key($0).utf8).base64EncodedString() } : nil
        return (page, next)
    }

    static func pageInfo(_ count: Int, _ next: String?) -> [String: Any] {
        var info: [String: Any] = ["current_count": count]
        if let next { info["next_marker"] = next }
        return info
    }
}

/// Huawei's system identity policies the emulator knows (attachable in every account).
enum SystemPolicies {
    static let all: [CloudPolicy] = [
        policy(
            "IMSReadOnlyPolicy", "00000000000000000000000000000ims",
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get","ims:images:list"],"Resource":["*"]}]}"#),
        policy(
            "SWRFullAccessPolicy", "00000000000000000000000000000swr",
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["swr:*:*"],"Resource":["*"]}]}"#),
    ]

    static func policy(_ name: String, _ id: String, _ document: String) -> CloudPolicy {
        let at = "2025-01-01T00:00:00Z"
        return CloudPolicy(
            id: id, name: name, path: "", description: "Emulated system policy", system: true,
            versions: [CloudPolicyVersion(id: "v1", document: document, createdAt: at)], defaultVersion: "v1", createdAt: at, updatedAt: at)
    }
}

// MARK: IAM v5

extension CloudState {
    /// IAM v5 in the caller's account: users, groups and memberships, agencies with trust
    /// policies and tags, custom policies with versions, system policies, attachments.
    mutating func iam(_ r: CloudRequest) throws(CloudFailure) -> (status: Int, body: Any)? {
        var a = account(r.caller.account)
        defer { accounts[a.id] = a }
        let urn = { (kind: String, name: String) in "iam::\(a.id):\(kind):\(name)" }
        func userJSON(_ u: CloudUser, tags: Bool = false) -> [String: Any] {
            var json: [String: Any] = [
                "user_id": u.id, "user_name": u.name, "description": u.description, "enabled": u.enabled, "created_at": u.createdAt,
                "urn": urn("user", u.name), "is_root_user": false,
            ]
            if tags { json["tags"] = u.tags.map { ["tag_key": $0.key, "tag_value": $0.value] } }
            return json
        }
        func groupJSON(_ g: CloudGroup) -> [String: Any] {
            ["group_id": g.id, "group_name": g.name, "description": g.description, "created_at": g.createdAt, "urn": urn("group", g.name)]
        }
        func agencyJSON(_ g: CloudAgency, tags: Bool = false) -> [String: Any] {
            var json: [String: Any] = [
                "agency_id": g.id, "agency_name": g.name, "path": g.path, "trust_policy": g.trustPolicy,
                "max_session_duration": g.maxSessionDuration, "description": g.description, "created_at": g.createdAt,
                "urn": urn("agency", g.name), "trust_domain_id": a.id, "trust_domain_name": a.name,
            ]
            if tags { json["tags"] = g.tags.map { ["tag_key": $0.key, "tag_value": $0.value] } }
            return json
        }
        func policyJSON(_ p: CloudPolicy) -> [String: Any] {
            [
                "policy_id": p.id, "policy_name": p.name, "policy_type": p.system ? "system" : "custom", "path": p.path,
                "description": p.description, "default_version_id": p.defaultVersion, "created_at": p.createdAt, "updated_at": p.updatedAt,
                "attachment_count": a.attachments[p.id]?.count ?? 0,
                "urn": p.system ? "iam::system:policy:\(p.name)" : urn("policy", p.name),
            ]
        }
        func versionJSON(_ p: CloudPolicy, _ v: CloudPolicyVersion) -> [String: Any] {
            ["version_id": v.id, "document": v.document, "is_default": v.id == p.defaultVersion, "created_at": v.createdAt]
        }
        func user(_ id: String) throws(CloudFailure) -> CloudUser {
            guard let u = a.users[id] else { throw CloudFailure(404, "IAM.1004", "no user \(id) in account \(a.id)") }
            return u
        }
        func group(_ id: String) throws(CloudFailure) -> CloudGroup {
            guard let g = a.groups[id] else { throw CloudFailure(404, "IAM.1004", "no group \(id) in account \(a.id)") }
            return g
        }
        func agency(_ id: String) throws(CloudFailure) -> CloudAgency {
            guard let g = a.agencies[id] else { throw CloudFailure(404, "IAM.1004", "no agency \(id) in account \(a.id)") }
            return g
        }
        func policy(_ id: String) throws(CloudFailure) -> CloudPolicy {
            if let p = a.policies[id] ?? SystemPolicies.all.first(where: { $0.id == id }) { return p }
            throw CloudFailure(404, "IAM.1004", "no policy \(id) in account \(a.id)")
        }
        func checkName(_ name: String, taken: Bool, what: String) throws(CloudFailure) {
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw CloudFailure(400, "IAM.1000", "\(what) name \"\(name)\" may hold letters, digits, -, _ and . only")
            }
            if taken { throw CloudFailure(409, "IAM.1003", "\(what) \"\(name)\" exists in account \(a.id)") }
        }
        func document(_ key: String, grammar: PolicyGrammar) throws(CloudFailure) -> String {
            let text = try r.string(key, max: 6_144)
            do { _ = try PolicyParser.parse(text, grammar: grammar) } catch {
                throw CloudFailure(400, "IAM.1000", "\(key) is not a valid policy: \(error.message) at \(error.path)")
            }
            return text
        }
        func tags() throws(CloudFailure) -> [CloudTag] {
            guard let list = r.body["tags"] as? [[String: Any]] else { throw CloudFailure(400, "IAM.1000", "tags is required") }
            var out: [CloudTag] = []
            for item in list {
                guard let key = item["tag_key"] as? String, let value = item["tag_value"] as? String, !key.isEmpty, key.count <= 64,
                    value.count <= 128
                else { throw CloudFailure(400, "IAM.1000", "each tag needs tag_key (1–64) and tag_value (≤ 128)") }
                out.append(CloudTag(key: key, value: value))
            }
            return out
        }

        // Users
        if r.match("POST", "v5/users") != nil {
            let name = try r.string("name")
            try checkName(name, taken: a.user(named: name) != nil, what: "user")
            let u = CloudUser(
                id: newID(), name: name, description: try r.optionalString("description") ?? "", enabled: r.body["enabled"] as? Bool ?? true,
                createdAt: r.now)
            a.users[u.id] = u
            return (201, ["user": userJSON(u)])
        }
        if r.match("GET", "v5/users") != nil {
            var users = Array(a.users.values)
            if let groupID = r.query["group_id"] { users = try group(groupID).members.compactMap { a.users[$0] } }
            let (items, next) = try r.page(users, key: \.id)
            return (200, ["users": items.map { userJSON($0) }, "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("GET", "v5/users/*") { return (200, ["user": userJSON(try user(p[0]), tags: true)]) }
        if let p = r.match("DELETE", "v5/users/*") {
            let u = try user(p[0])
            a.users[u.id] = nil
            for id in a.groups.keys { a.groups[id]!.members.removeAll { $0 == u.id } }
            for id in a.attachments.keys { a.attachments[id]!.users[u.id] = nil }
            return (204, [:])
        }
        // Groups
        if r.match("POST", "v5/groups") != nil {
            let name = try r.string("group_name")
            try checkName(name, taken: a.groups.values.contains { $0.name == name }, what: "group")
            let g = CloudGroup(id: newID(), name: name, description: try r.optionalString("description") ?? "", createdAt: r.now)
            a.groups[g.id] = g
            return (201, ["group": groupJSON(g)])
        }
        if r.match("GET", "v5/groups") != nil {
            var groups = Array(a.groups.values)
            if let userID = r.query["user_id"] { groups = groups.filter { $0.members.contains(userID) } }
            let (items, next) = try r.page(groups, key: \.id)
            return (200, ["groups": items.map(groupJSON), "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("GET", "v5/groups/*") { return (200, ["group": groupJSON(try group(p[0]))]) }
        if let p = r.match("DELETE", "v5/groups/*") {
            let g = try group(p[0])
            a.groups[g.id] = nil
            for id in a.attachments.keys { a.attachments[id]!.groups[g.id] = nil }
            return (204, [:])
        }
        if let p = r.match("POST", "v5/groups/*/add-user") {
            var g = try group(p[0])
            let u = try user(try r.string("user_id"))
            if !g.members.contains(u.id) { g.members.append(u.id) }
            a.groups[g.id] = g
            return (204, [:])
        }
        if let p = r.match("POST", "v5/groups/*/remove-user") {
            var g = try group(p[0])
            let u = try user(try r.string("user_id"))
            guard g.members.contains(u.id) else { throw CloudFailure(404, "IAM.1004", "user \(u.id) is not in group \(g.id)") }
            g.members.removeAll { $0 == u.id }
            a.groups[g.id] = g
            return (204, [:])
        }
        // Agencies
        if r.match("POST", "v5/agencies") != nil {
            let name = try r.string("agency_name")
            try checkName(name, taken: a.agencies.values.contains { $0.name == name }, what: "agency")
            let duration = r.body["max_session_duration"] as? Int ?? 3_600
            guard Principal.sessionDurationRange.contains(duration) else {
                throw CloudFailure(400, "IAM.1000", "max_session_duration must be 3600 to 43200")
            }
            let g = CloudAgency(
                id: newID(), name: name, path: try r.optionalString("path") ?? "", trustPolicy: try document("trust_policy", grammar: .trust),
                maxSessionDuration: duration, description: try r.optionalString("description") ?? "", createdAt: r.now)
            a.agencies[g.id] = g
            return (201, ["agency": agencyJSON(g)])
        }
        if r.match("GET", "v5/agencies") != nil {
            let (items, next) = try r.page(Array(a.agencies.values), key: \.id)
            return (200, ["agencies": items.map { agencyJSON($0) }, "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("GET", "v5/agencies/*") { return (200, ["agency": agencyJSON(try agency(p[0]), tags: true)]) }
        if let p = r.match("DELETE", "v5/agencies/*") {
            let g = try agency(p[0])
            a.agencies[g.id] = nil
            for id in a.attachments.keys { a.attachments[id]!.agencies[g.id] = nil }
            return (204, [:])
        }
        if let p = r.match("PUT", "v5/agencies/*/trust-policy") {
            var g = try agency(p[0])
            g.trustPolicy = try document("trust_policy", grammar: .trust)
            a.agencies[g.id] = g
            return (204, [:])
        }
        // Tags (users and agencies)
        if let p = r.match("POST", "v5/*/*/tags/create") {
            let added = try tags()
            func merge(_ old: [CloudTag]) -> [CloudTag] {
                var merged = old.filter { tag in !added.contains { $0.key.lowercased() == tag.key.lowercased() } } + added
                merged.sort { $0.key < $1.key }
                return merged
            }
            switch p[0] {
            case "user": a.users[try user(p[1]).id]!.tags = merge(a.users[p[1]]!.tags)
            case "agency": a.agencies[try agency(p[1]).id]!.tags = merge(a.agencies[p[1]]!.tags)
            default: throw CloudFailure(400, "IAM.1000", "resource_type must be user or agency")
            }
            return (204, [:])
        }
        if let p = r.match("DELETE", "v5/*/*/tags/delete") {
            guard let keys = r.body["tag_keys"] as? [String] else { throw CloudFailure(400, "IAM.1000", "the body is the list of tag keys") }
            let drop = Set(keys.map { $0.lowercased() })
            switch p[0] {
            case "user": a.users[try user(p[1]).id]!.tags.removeAll { drop.contains($0.key.lowercased()) }
            case "agency": a.agencies[try agency(p[1]).id]!.tags.removeAll { drop.contains($0.key.lowercased()) }
            default: throw CloudFailure(400, "IAM.1000", "resource_type must be user or agency")
            }
            return (204, [:])
        }
        if let p = r.match("GET", "v5/*/*/tags") {
            let list: [CloudTag]
            switch p[0] {
            case "user": list = try user(p[1]).tags
            case "agency": list = try agency(p[1]).tags
            default: throw CloudFailure(400, "IAM.1000", "resource_type must be user or agency")
            }
            return (200, ["tags": list.map { ["tag_key": $0.key, "tag_value": $0.value] }])
        }
        // Policies and versions
        if r.match("POST", "v5/policies") != nil {
            let name = try r.string("policy_name", max: 128)
            try checkName(
                name, taken: a.policies.values.contains { $0.name == name } || SystemPolicies.all.contains { $0.name == name }, what: "policy")
            let doc = try document("policy_document", grammar: .identity)
            let p = CloudPolicy(
                id: newID(), name: name, path: try r.optionalString("path") ?? "", description: try r.optionalString("description") ?? "",
                system: false, versions: [CloudPolicyVersion(id: "v1", document: doc, createdAt: r.now)], defaultVersion: "v1",
                createdAt: r.now, updatedAt: r.now)
            a.policies[p.id] = p
            return (201, ["policy": policyJSON(p)])
        }
        if r.match("GET", "v5/policies") != nil {
            var all = Array(a.policies.values)
            if r.query["policy_type"] != "custom" { all += SystemPolicies.all }
            if r.query["policy_type"] == "system" { all = SystemPolicies.all }
            if r.query["only_attached"] == "true" { all = all.filter { (a.attachments[$0.id]?.count ?? 0) > 0 } }
            let (items, next) = try r.page(all, key: \.id)
            return (200, ["policies": items.map(policyJSON), "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("GET", "v5/policies/*") { return (200, ["policy": policyJSON(try policy(p[0]))]) }
        if let p = r.match("DELETE", "v5/policies/*") {
            let policy = try policy(p[0])
            guard !policy.system else { throw CloudFailure(403, "IAM.1002", "system policy \(policy.name) cannot be deleted") }
            guard (a.attachments[policy.id]?.count ?? 0) == 0 else {
                throw CloudFailure(409, "IAM.1003", "policy \(policy.name) is attached; detach it first")
            }
            a.policies[policy.id] = nil
            return (204, [:])
        }
        if let p = r.match("POST", "v5/policies/*/versions") {
            var policy = try policy(p[0])
            guard !policy.system else { throw CloudFailure(403, "IAM.1002", "system policy \(policy.name) cannot be changed") }
            guard policy.versions.count < 5 else {
                throw CloudFailure(409, "IAM.1003", "policy \(policy.name) has 5 versions, the most IAM keeps; delete one first")
            }
            let number = (policy.versions.compactMap { Int($0.id.dropFirst()) }.max() ?? 0) + 1
            let version = CloudPolicyVersion(id: "v\(number)", document: try document("policy_document", grammar: .identity), createdAt: r.now)
            policy.versions.append(version)
            if r.body["set_as_default"] as? Bool == true { policy.defaultVersion = version.id }
            policy.updatedAt = r.now
            a.policies[policy.id] = policy
            return (201, ["policy_version": versionJSON(policy, version)])
        }
        if let p = r.match("GET", "v5/policies/*/versions") {
            let policy = try policy(p[0])
            let (items, next) = try r.page(policy.versions, key: \.id)
            return (200, ["versions": items.map { versionJSON(policy, $0) }, "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("GET", "v5/policies/*/versions/*") {
            let policy = try policy(p[0])
            guard let version = policy.versions.first(where: { $0.id == p[1] }) else {
                throw CloudFailure(404, "IAM.1004", "policy \(policy.id) has no version \(p[1])")
            }
            return (200, ["policy_version": versionJSON(policy, version)])
        }
        if let p = r.match("DELETE", "v5/policies/*/versions/*") {
            var policy = try policy(p[0])
            guard policy.versions.contains(where: { $0.id == p[1] }) else {
                throw CloudFailure(404, "IAM.1004", "policy \(policy.id) has no version \(p[1])")
            }
            guard policy.defaultVersion != p[1] else { throw CloudFailure(409, "IAM.1003", "the default version cannot be deleted") }
            policy.versions.removeAll { $0.id == p[1] }
            a.policies[policy.id] = policy
            return (204, [:])
        }
        if let p = r.match("POST", "v5/policies/*/versions/*/set-default") {
            var policy = try policy(p[0])
            guard policy.versions.contains(where: { $0.id == p[1] }) else {
                throw CloudFailure(404, "IAM.1004", "policy \(policy.id) has no version \(p[1])")
            }
            policy.defaultVersion = p[1]
            policy.updatedAt = r.now
            a.policies[policy.id] = policy
            return (204, [:])
        }
        // Attachments
        for kind in ["user", "group", "agency"] {
            if let p = r.match("POST", "v5/policies/*/attach-\(kind)") ?? r.match("POST", "v5/policies/*/detach-\(kind)") {
                let policy = try policy(p[0])
                let id = try r.string("\(kind)_id")
                switch kind {
                case "user": _ = try user(id)
                case "group": _ = try group(id)
                default: _ = try agency(id)
                }
                var attached = a.attachments[policy.id] ?? CloudAttachments()
                let attach = r.segments[3].hasPrefix("attach")
                let path: WritableKeyPath<CloudAttachments, [String: String]> =
                    kind == "user" ? \.users : kind == "group" ? \.groups : \.agencies
                if attach {
                    if attached[keyPath: path][id] == nil { attached[keyPath: path][id] = r.now }
                } else {
                    guard attached[keyPath: path][id] != nil else {
                        throw CloudFailure(404, "IAM.1004", "policy \(policy.id) is not attached to \(kind) \(id)")
                    }
                    attached[keyPath: path][id] = nil
                }
                a.attachments[policy.id] = attached
                return (204, [:])
            }
        }
        for (kind, plural) in [("user", "users"), ("group", "groups"), ("agency", "agencies")] {
            if let p = r.match("GET", "v5/\(plural)/*/attached-policies") {
                switch kind {
                case "user": _ = try user(p[0])
                case "group": _ = try group(p[0])
                default: _ = try agency(p[0])
                }
                let path: KeyPath<CloudAttachments, [String: String]> = kind == "user" ? \.users : kind == "group" ? \.groups : \.agencies
                let attached = a.attachments.compactMap { id, who in who[keyPath: path][p[0]].map { (id, $0) } }
                let (items, next) = try r.page(attached, key: \.0)
                let list = try items.map { id, at throws(CloudFailure) -> [String: Any] in
                    let policy = try policy(id)
                    return ["policy_id": id, "policy_name": policy.name, "urn": policyJSON(policy)["urn"]!, "attached_at": at]
                }
                return (200, ["attached_policies": list, "page_info": CloudRequest.pageInfo(items.count, next)])
            }
        }
        if let p = r.match("GET", "v5/policies/*/attached-entities") {
            let policy = try policy(p[0])
            let who = a.attachments[policy.id] ?? CloudAttachments()
            return (
                200,
                [
                    "policy_users": who.users.sorted { $0.key < $1.key }.map { ["user_id": $0.key, "attached_at": $0.value] },
                    "policy_groups": who.groups.sorted { $0.key < $1.key }.map { ["group_id": $0.key, "attached_at": $0.value] },
                    "policy_agencies": who.agencies.sorted { $0.key < $1.key }.map { ["agency_id": $0.key, "attached_at": $0.value] },
                    "page_info": CloudRequest.pageInfo(who.count, nil),
                ]
            )
        }
        return nil
    }
}

// MARK: Organizations

extension CloudState {
    /// Organizations: the organization, its root, OUs, accounts (created or invited and
    /// accepted), SCPs and their attachments. Only the management account changes it.
    mutating func organizations(_ r: CloudRequest) throws(CloudFailure) -> (status: Int, body: Any)? {
        let caller = r.caller.account
        _ = account(caller)
        if r.match("POST", "v1/organizations") != nil {
            if let organization { throw CloudFailure(409, "Organizations.1001", "account \(caller) is in organization \(organization.id)") }
            var created = CloudOrganization(id: newID("o-"), managementAccount: caller, createdAt: r.now, rootID: newID("r-"))
            join(&created, account: caller, method: "created", at: r.now)
            organization = created
            return (201, ["organization": organizationJSON(organization!)])
        }
        // Invitations are answered by the invited account, which is not a member yet.
        if r.match("GET", "v1/received-handshakes") != nil {
            let mine = organization?.handshakes.values.filter { $0.target == caller } ?? []
            let (items, next) = try r.page(Array(mine), key: \.id)
            return (200, ["handshakes": items.map(handshakeJSON), "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("POST", "v1/received-handshakes/*/accept") ?? r.match("POST", "v1/received-handshakes/*/decline") {
            guard var org = organization, var handshake = org.handshakes[p[0]], handshake.target == caller else {
                throw CloudFailure(404, "Organizations.1004", "no invitation \(p[0]) for account \(caller)")
            }
            guard handshake.status == "pending" else { throw CloudFailure(409, "Organizations.1003", "invitation \(p[0]) is \(handshake.status)") }
            let accept = r.segments[3] == "accept"
            handshake.status = accept ? "accepted" : "declined"
            handshake.updatedAt = r.now
            org.handshakes[handshake.id] = handshake
            if accept { join(&org, account: caller, method: "invited", at: r.now) }
            organization = org
            return (200, ["handshake": handshakeJSON(handshake)])
        }
        guard var org = organization, org.accountParents[caller] != nil else {
            throw CloudFailure(404, "Organizations.1004", "account \(caller) is not in an organization")
        }
        defer { organization = org }
        if r.match("GET", "v1/organizations") != nil { return (200, ["organization": organizationJSON(org)]) }
        // What follows reads or changes the whole organization: its management account only.
        guard org.managementAccount == caller else {
            throw CloudFailure(403, "Organizations.1002", "only the management account \(org.managementAccount) may call this API")
        }
        func parent(_ id: String) throws(CloudFailure) -> String {
            guard id == org.rootID || org.units[id] != nil else { throw CloudFailure(404, "Organizations.1004", "no root or OU \(id)") }
            return id
        }
        func scp(_ id: String) throws(CloudFailure) -> CloudSCP {
            guard let p = org.policies[id] else { throw CloudFailure(404, "Organizations.1004", "no policy \(id)") }
            return p
        }
        func content() throws(CloudFailure) -> String {
            let text = try r.string("content", max: 5_120)
            do { _ = try PolicyParser.parse(text, grammar: .identity) } catch {
                throw CloudFailure(400, "Organizations.1000", "content is not a valid policy: \(error.message) at \(error.path)")
            }
            return text
        }
        if r.match("GET", "v1/organizations/roots") != nil {
            return (200, ["roots": [rootJSON(org)], "page_info": CloudRequest.pageInfo(1, nil)])
        }
        if r.match("POST", "v1/organizations/organizational-units") != nil {
            let name = try r.string("name")
            let parentID = try parent(try r.string("parent_id"))
            guard !org.units.values.contains(where: { $0.name == name && $0.parent == parentID }) else {
                throw CloudFailure(409, "Organizations.1003", "an OU named \(name) exists under \(parentID)")
            }
            let unit = CloudUnit(id: newID("ou-"), name: name, parent: parentID, createdAt: r.now)
            org.units[unit.id] = unit
            if org.scpsEnabled { org.attachments[CloudOrganization.fullAccessID, default: []].append(unit.id) }
            return (201, ["organizational_unit": unitJSON(unit, org)])
        }
        if r.match("GET", "v1/organizations/organizational-units") != nil {
            var units = Array(org.units.values)
            if let parentID = r.query["parent_id"] { units = units.filter { $0.parent == parentID } }
            let (items, next) = try r.page(units, key: \.id)
            return (200, ["organizational_units": items.map { unitJSON($0, org) }, "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("GET", "v1/organizations/organizational-units/*") {
            guard let unit = org.units[p[0]] else { throw CloudFailure(404, "Organizations.1004", "no OU \(p[0])") }
            return (200, ["organizational_unit": unitJSON(unit, org)])
        }
        if let p = r.match("DELETE", "v1/organizations/organizational-units/*") {
            guard org.units[p[0]] != nil else { throw CloudFailure(404, "Organizations.1004", "no OU \(p[0])") }
            guard !org.units.values.contains(where: { $0.parent == p[0] }), !org.accountParents.values.contains(p[0]) else {
                throw CloudFailure(409, "Organizations.1003", "OU \(p[0]) is not empty")
            }
            org.units[p[0]] = nil
            for id in org.attachments.keys { org.attachments[id]!.removeAll { $0 == p[0] } }
            return (204, [:])
        }
        if r.match("POST", "v1/organizations/accounts") != nil {
            let name = try r.string("name")
            guard !accounts.values.contains(where: { $0.name == name }) else {
                throw CloudFailure(409, "Organizations.1003", "an account named \(name) exists")
            }
            let id = newID()
            accounts[id] = CloudAccount(id: id, name: name)
            join(&org, account: id, method: "created", at: r.now)
            return (
                201,
                [
                    "create_account_status": [
                        "id": newID("cas-"), "account_id": id, "account_name": name, "state": "succeeded", "created_at": r.now,
                        "completed_at": r.now,
                    ]
                ]
            )
        }
        if r.match("POST", "v1/organizations/accounts/invite") != nil {
            guard let target = r.body["target"] as? [String: Any], let entity = target["entity"] as? String,
                let invited = accounts.values.first(where: { $0.id == entity || $0.name == entity })
            else { throw CloudFailure(404, "Organizations.1004", "target.entity names no account the emulator knows") }
            guard invited.id != org.managementAccount, org.accountParents[invited.id] == nil else {
                throw CloudFailure(409, "Organizations.1003", "account \(invited.id) is already in the organization")
            }
            let handshake = CloudHandshake(
                id: newID("h-"), target: invited.id, notes: try r.optionalString("notes") ?? "", status: "pending", createdAt: r.now,
                updatedAt: r.now)
            org.handshakes[handshake.id] = handshake
            return (201, ["handshake": handshakeJSON(handshake)])
        }
        if r.match("GET", "v1/organizations/accounts") != nil {
            var members = Array(org.accountParents.keys)
            if let parentID = r.query["parent_id"] { members = members.filter { org.accountParents[$0] == parentID } }
            let (items, next) = try r.page(members, key: { $0 })
            return (200, ["accounts": items.map { accountJSON($0, org) }, "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("GET", "v1/organizations/accounts/*") {
            guard org.accountParents[p[0]] != nil else { throw CloudFailure(404, "Organizations.1004", "no account \(p[0]) in the organization") }
            return (200, ["account": accountJSON(p[0], org)])
        }
        if let p = r.match("POST", "v1/organizations/accounts/*/move") {
            guard org.accountParents[p[0]] != nil else { throw CloudFailure(404, "Organizations.1004", "no account \(p[0]) in the organization") }
            let source = try r.string("source_parent_id")
            let destination = try parent(try r.string("destination_parent_id"))
            guard org.accountParents[p[0]] == source else { throw CloudFailure(400, "Organizations.1000", "account \(p[0]) is not under \(source)") }
            org.accountParents[p[0]] = destination
            return (204, [:])
        }
        if r.match("POST", "v1/organizations/policies/enable") != nil || r.match("POST", "v1/organizations/policies/disable") != nil {
            guard try r.string("policy_type") == "service_control_policy" else {
                throw CloudFailure(400, "Organizations.1000", "policy_type must be service_control_policy")
            }
            guard try r.string("root_id") == org.rootID else { throw CloudFailure(404, "Organizations.1004", "no root \(r.body["root_id"]!)") }
            if r.segments[3] == "enable" {
                guard !org.scpsEnabled else { throw CloudFailure(409, "Organizations.1003", "service_control_policy is enabled") }
                org.enabledPolicyTypes.append("service_control_policy")
                // As Huawei does: FullAccess on every node, so enabling changes nobody's access.
                org.policies[CloudOrganization.fullAccessID] = CloudSCP(
                    id: CloudOrganization.fullAccessID, name: "FullAccess", description: "Allows every action (built in)",
                    content: #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"],"Resource":["*"]}]}"#, builtIn: true)
                org.attachments[CloudOrganization.fullAccessID] = org.nodes
            } else {
                org.enabledPolicyTypes.removeAll { $0 == "service_control_policy" }
                org.policies = [:]
                org.attachments = [:]
            }
            return (200, ["root": rootJSON(org)])
        }
        guard org.scpsEnabled || !r.segments.starts(with: ["v1", "organizations", "policies"]) else {
            throw CloudFailure(400, "Organizations.1005", "enable the service_control_policy type on the root first")
        }
        if r.match("POST", "v1/organizations/policies") != nil {
            let name = try r.string("name")
            guard try r.string("type") == "service_control_policy" else {
                throw CloudFailure(400, "Organizations.1000", "type must be service_control_policy")
            }
            guard !org.policies.values.contains(where: { $0.name == name }) else {
                throw CloudFailure(409, "Organizations.1003", "a policy named \(name) exists")
            }
            let policy = CloudSCP(
                id: newID("p-"), name: name, description: try r.optionalString("description") ?? "", content: try content(), builtIn: false)
            org.policies[policy.id] = policy
            return (201, ["policy": ["content": policy.content, "policy_summary": scpSummary(policy)]])
        }
        if r.match("GET", "v1/organizations/policies") != nil {
            var policies = Array(org.policies.values)
            if let entity = r.query["attached_entity_id"] { policies = policies.filter { org.attachments[$0.id]?.contains(entity) == true } }
            let (items, next) = try r.page(policies, key: \.id)
            return (200, ["policies": items.map(scpSummary), "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        if let p = r.match("GET", "v1/organizations/policies/*") {
            let policy = try scp(p[0])
            return (200, ["policy": ["content": policy.content, "policy_summary": scpSummary(policy)]])
        }
        if let p = r.match("PATCH", "v1/organizations/policies/*") {
            var policy = try scp(p[0])
            guard !policy.builtIn else { throw CloudFailure(403, "Organizations.1002", "FullAccess is built in") }
            if r.body["content"] != nil { policy.content = try content() }
            if r.body["name"] != nil { policy.name = try r.string("name") }
            if let description = try r.optionalString("description") { policy.description = description }
            org.policies[policy.id] = policy
            return (200, ["policy": ["content": policy.content, "policy_summary": scpSummary(policy)]])
        }
        if let p = r.match("DELETE", "v1/organizations/policies/*") {
            let policy = try scp(p[0])
            guard !policy.builtIn else { throw CloudFailure(403, "Organizations.1002", "FullAccess is built in") }
            guard org.attachments[policy.id]?.isEmpty ?? true else {
                throw CloudFailure(409, "Organizations.1003", "policy \(policy.id) is attached; detach it first")
            }
            org.policies[policy.id] = nil
            return (204, [:])
        }
        if let p = r.match("POST", "v1/organizations/policies/*/attach") ?? r.match("POST", "v1/organizations/policies/*/detach") {
            let policy = try scp(p[0])
            let entity = try r.string("entity_id")
            guard org.nodes.contains(entity) else { throw CloudFailure(404, "Organizations.1004", "no root, OU or account \(entity)") }
            var attached = org.attachments[policy.id] ?? []
            if r.segments[4] == "attach" {
                guard !attached.contains(entity) else {
                    throw CloudFailure(409, "Organizations.1003", "policy \(policy.id) is attached to \(entity)")
                }
                guard org.attachments.values.filter({ $0.contains(entity) }).count < 5 else {
                    throw CloudFailure(409, "Organizations.1003", "\(entity) has 5 SCPs attached, the most Organizations allows")
                }
                attached.append(entity)
            } else {
                guard attached.contains(entity) else {
                    throw CloudFailure(404, "Organizations.1004", "policy \(policy.id) is not attached to \(entity)")
                }
                // Huawei keeps at least one SCP on every node while the type is enabled.
                guard org.attachments.values.filter({ $0.contains(entity) }).count > 1 else {
                    throw CloudFailure(409, "Organizations.1003", "\(entity) must keep at least one SCP; attach another first")
                }
                attached.removeAll { $0 == entity }
            }
            org.attachments[policy.id] = attached
            return (204, [:])
        }
        if let p = r.match("GET", "v1/organizations/policies/*/attached-entities") {
            let policy = try scp(p[0])
            let entities = (org.attachments[policy.id] ?? []).map { id -> [String: Any] in
                let type = id == org.rootID ? "root" : org.units[id] != nil ? "organizational_unit" : "account"
                let name = id == org.rootID ? "root" : org.units[id]?.name ?? accounts[id]?.name ?? id
                return ["id": id, "type": type, "name": name]
            }
            let (items, next) = try r.page(entities, key: { $0["id"] as! String })
            return (200, ["attached_entities": items, "page_info": CloudRequest.pageInfo(items.count, next)])
        }
        return nil
    }

    private func join(_ org: inout CloudOrganization, account id: String, method: String, at: String) {
        org.accountParents[id] = org.rootID
        org.joined[id] = CloudJoin(method: method, at: at)
        if org.scpsEnabled { org.attachments[CloudOrganization.fullAccessID, default: []].append(id) }
    }

    private func organizationJSON(_ org: CloudOrganization) -> [String: Any] {
        [
            "id": org.id, "urn": "organizations::\(org.managementAccount):organization:\(org.id)",
            "management_account_id": org.managementAccount, "management_account_name": accounts[org.managementAccount]?.name ?? "",
            "created_at": org.createdAt,
        ]
    }

    private func rootJSON(_ org: CloudOrganization) -> [String: Any] {
        [
            "id": org.rootID, "name": "root", "urn": "organizations::\(org.managementAccount):root:\(org.id)/\(org.rootID)",
            "created_at": org.createdAt, "policy_types": org.enabledPolicyTypes.map { ["type": $0, "status": "enabled"] },
        ]
    }

    private func unitJSON(_ unit: CloudUnit, _ org: CloudOrganization) -> [String: Any] {
        [
            "id": unit.id, "name": unit.name, "created_at": unit.createdAt,
            "urn": "organizations::\(org.managementAccount):ou:\(org.id)/\(unit.id)",
        ]
    }

    private func accountJSON(_ id: String, _ org: CloudOrganization) -> [String: Any] {
        let join = org.joined[id] ?? CloudJoin(method: "created", at: org.createdAt)
        return [
            "id": id, "name": accounts[id]?.name ?? id, "urn": "organizations::\(org.managementAccount):account:\(org.id)/\(id)",
            "join_method": join.method, "joined_at": join.at, "status": "active",
        ]
    }

    private func scpSummary(_ p: CloudSCP) -> [String: Any] {
        [
            "id": p.id, "name": p.name, "type": "service_control_policy", "description": p.description, "is_builtin": p.builtIn,
            "urn": "organizations::\(organization?.managementAccount ?? ""):policy:\(organization?.id ?? "")/service_control_policy/\(p.id)",
        ]
    }

    private func handshakeJSON(_ h: CloudHandshake) -> [String: Any] {
        [
            "id": h.id, "status": h.status, "notes": h.notes, "created_at": h.createdAt, "updated_at": h.updatedAt,
            "organization_id": organization?.id ?? "", "management_account_id": organization?.managementAccount ?? "",
            "management_account_name": organization.flatMap { accounts[$0.managementAccount]?.name } ?? "",
            "target": ["type": "account", "entity": h.target],
        ]
    }
}
