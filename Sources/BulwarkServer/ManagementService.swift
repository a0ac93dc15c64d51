import BulwarkJSON
import BulwarkOrganization
public import BulwarkStore
import BulwarkValidation
import Foundation

/// The management endpoints as functions: request bodies become `ManagementCommand`s,
/// states and outcomes become JSON. No HTTP and no storage here.
public enum ManagementService {
    // MARK: Bodies → commands

    public static func setOrganization(_ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["id", "rootId", "managementAccount", "scpsEnabled"])
        return .setOrganization(
            id: try body.requiredString("id"), rootID: try body.string("rootId") ?? "r-1",
            managementAccount: try body.string("managementAccount"), scpsEnabled: try body.bool("scpsEnabled") ?? true)
    }

    public static func addNode(_ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["kind", "name", "id", "parent"])
        let kindName = try body.requiredString("kind")
        guard let kind = StoredNode.Kind(rawValue: kindName), kind != .root else {
            throw APIError.badRequest(
                "kind must be ou or account, not \(Excerpt.quoted(kindName))", path: .root.appending(key: "kind"), location: body["kind"]?.location)
        }
        let name = try body.requiredString("name")
        return .addNode(
            kind: kind, name: name, id: try body.string("id") ?? (kind == .ou ? "ou-\(name)" : name), parent: try body.string("parent") ?? "root")
    }

    /// The body of `PUT /v1/organization/import`: `{"files": {"PATH": "CONTENTS", …}}`.
    public static func importFiles(_ bytes: [UInt8]) throws(APIError) -> [String: [UInt8]] {
        let body = try RequestBody(bytes, allowed: ["files"])
        guard let node = body["files"] else { throw APIError.badRequest("missing files", path: .root, location: body.root.location) }
        guard case .object(let members) = node.value else {
            throw APIError.badRequest(
                "files must be an object of workspace path → file contents, found \(node.typeName)", path: .root.appending(key: "files"),
                location: node.location)
        }
        var files: [String: [UInt8]] = [:]
        for member in members {
            let path = JSONPath.root.appending(key: "files").appending(key: member.key)
            guard case .string(let text) = member.value.value else {
                throw APIError.badRequest(
                    "the contents of \(Excerpt.quoted(member.key)) must be a string, found \(member.value.typeName)", path: path,
                    location: member.value.location)
            }
            guard files.updateValue(Array(text.utf8), forKey: member.key) == nil else {
                throw APIError.badRequest("\(Excerpt.quoted(member.key)) is given twice", path: path, location: member.keyLocation)
            }
        }
        return files
    }

    /// The answer to an import: the revision written, what the organization now holds, and
    /// the policies whose store id is not their name.
    public static func imported(_ result: OrganizationImport.Result, revision: Int64) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("revision", Int(revision))
        json.key("imported")
        json.beginObject()
        json.field("nodes", result.state.nodes.count)
        json.field("scps", result.state.scps.count)
        json.field("policies", result.state.policies.count)
        json.field("principals", result.state.principals.count)
        json.field("attachments", result.state.attachments.count)
        json.endObject()
        json.key("renamed")
        json.beginObject()
        for (file, id) in result.renamed.sorted(by: { $0.key < $1.key }) { json.field(file, id) }
        json.endObject()
        json.endObject()
        json.newline()
        return json.bytes
    }

    public static func moveNode(_ name: String, _ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["parent"])
        return .moveNode(name: name, parent: try body.requiredString("parent"))
    }

    public static func createPolicy(_ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["id", "account", "description", "document"])
        return .createPolicy(
            id: try body.requiredString("id"), account: try body.requiredString("account"),
            description: try body.string("description") ?? "", document: try body.requiredDocument("document"))
    }

    public static func createPolicyVersion(_ id: String, _ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["document", "setAsDefault", "dropOldest"])
        return .createPolicyVersion(
            policy: id, document: try body.requiredDocument("document"), setAsDefault: try body.bool("setAsDefault") ?? false,
            dropOldest: try body.bool("dropOldest") ?? false)
    }

    public static func setDefaultVersion(_ id: String, _ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["version"])
        return .setDefaultVersion(policy: id, version: try body.requiredString("version"))
    }

    public static func createSCP(_ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["id", "description", "document"])
        return .createSCP(
            id: try body.requiredString("id"), description: try body.string("description") ?? "", document: try body.requiredDocument("document"))
    }

    public static func updateSCP(_ id: String, _ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["description", "document"])
        return .updateSCP(id: id, description: try body.string("description"), document: try body.document("document"))
    }

    public static func addPrincipal(_ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["kind", "account", "name", "id", "groups"] + Self.settingsFields)
        let kindName = try body.requiredString("kind")
        guard let kind = StoredPrincipal.Kind(rawValue: kindName) else {
            throw APIError.badRequest(
                "kind must be user, group or agency, not \(Excerpt.quoted(kindName))", path: .root.appending(key: "kind"),
                location: body["kind"]?.location)
        }
        let generated = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        return .addPrincipal(
            kind: kind, account: try body.requiredString("account"), name: try body.requiredString("name"),
            id: try body.string("id") ?? generated, groups: try body.strings("groups") ?? [], settings: try settings(body))
    }

    static let settingsFields = ["tags", "trustPolicy", "maxSessionDuration"]

    private static func settings(_ body: RequestBody) throws(APIError) -> PrincipalSettings {
        PrincipalSettings(
            tags: try body.stringMap("tags") ?? [:], trustPolicy: try body.document("trustPolicy"),
            maxSessionDuration: try body.int("maxSessionDuration"))
    }

    /// `PUT /v1/principals/{urn}/settings`: replaces tags, trust policy and session duration.
    public static func setSettings(_ urn: String, _ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        .setSettings(principal: urn, settings: try settings(try RequestBody(bytes, allowed: Self.settingsFields)))
    }

    public static func setGroups(_ urn: String, _ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["groups"])
        guard let groups = try body.strings("groups") else { throw APIError.badRequest("missing groups", path: .root, location: body.root.location) }
        return .setGroups(principal: urn, groups: groups)
    }

    public static func attach(_ bytes: [UInt8]) throws(APIError) -> ManagementCommand {
        let body = try RequestBody(bytes, allowed: ["policy", "target"])
        return .attach(policy: try body.requiredString("policy"), target: try body.requiredString("target"))
    }

    // MARK: States → JSON

    /// The answer to a write: the entity as it is now, and any validation warnings.
    public static func render(_ outcome: CommandOutcome, in state: OrganizationState) -> [UInt8] {
        var json = JSONWriter()
        switch outcome.entity {
        case .organization: writeOrganization(state, revision: nil, into: &json)
        case .node(let node): write(node, state, into: &json)
        case .policy(let policy): write(policy, state, into: &json)
        case .scp(let scp): write(scp, state, into: &json)
        case .principal(let principal): write(principal, state, into: &json)
        case .attachment(let attachment): write(attachment, into: &json)
        case .deleted:
            json.beginObject()
            json.field("deleted", true)
            json.endObject()
        }
        if !outcome.warnings.isEmpty, json.bytes.last == UInt8(ascii: "}") {
            // Reopen the object to add the warnings.
            var tail = JSONWriter()
            ValidationReport.writeFindings(outcome.warnings, into: &tail)
            var bytes = json.bytes
            bytes.removeLast()
            bytes.append(contentsOf: Array(",\"warnings\":".utf8) + tail.bytes + [UInt8(ascii: "}")])
            return bytes + [0x0A]
        }
        json.newline()
        return json.bytes
    }

    public static func organization(_ state: OrganizationState, revision: Int64) -> [UInt8] {
        var json = JSONWriter()
        writeOrganization(state, revision: revision, into: &json)
        json.newline()
        return json.bytes
    }

    public static func nodes(_ state: OrganizationState) -> [UInt8] {
        list("nodes", sortedNodes(state)) { node, json in write(node, state, into: &json) }
    }

    public static func node(_ name: String, _ state: OrganizationState) throws(APIError) -> [UInt8] {
        guard let node = state.nodes[name] else { throw APIError.notFound("no node \"\(name)\"") }
        return one { json in write(node, state, into: &json) }
    }

    public static func policies(_ state: OrganizationState, account: String?) -> [UInt8] {
        let policies = state.policies.values.filter { account == nil || $0.account == account }.sorted { $0.id < $1.id }
        return list("policies", policies) { policy, json in write(policy, state, into: &json) }
    }

    public static func policy(_ id: String, _ state: OrganizationState) throws(APIError) -> [UInt8] {
        guard let policy = state.policies[id] else { throw APIError.notFound("no policy \"\(id)\"") }
        return one { json in write(policy, state, into: &json, document: true) }
    }

    public static func versions(_ id: String, _ state: OrganizationState) throws(APIError) -> [UInt8] {
        guard let policy = state.policies[id] else { throw APIError.notFound("no policy \"\(id)\"") }
        return list("versions", policy.versions) { version, json in write(version, of: policy, into: &json, document: false) }
    }

    public static func version(_ id: String, _ version: String, _ state: OrganizationState) throws(APIError) -> [UInt8] {
        guard let policy = state.policies[id] else { throw APIError.notFound("no policy \"\(id)\"") }
        guard let v = policy.versions.first(where: { $0.id == version }) else {
            throw APIError.notFound("policy \"\(id)\" has no version \"\(version)\"; it has \(policy.versions.map(\.id).joined(separator: ", "))")
        }
        return one { json in write(v, of: policy, into: &json, document: true) }
    }

    public static func scps(_ state: OrganizationState) -> [UInt8] {
        let scps = [fullAccess] + state.scps.values.sorted { $0.id < $1.id }
        return list("scps", scps) { scp, json in write(scp, state, into: &json) }
    }

    public static func scp(_ id: String, _ state: OrganizationState) throws(APIError) -> [UInt8] {
        guard let scp = id == OrganizationState.fullAccessID ? fullAccess : state.scps[id] else { throw APIError.notFound("no SCP \"\(id)\"") }
        return one { json in write(scp, state, into: &json) }
    }

    public static func principals(_ state: OrganizationState, account: String?) -> [UInt8] {
        let principals = state.principals.values.filter { account == nil || $0.account == account }.sorted { $0.urn < $1.urn }
        return list("principals", principals) { principal, json in write(principal, state, into: &json) }
    }

    public static func principal(_ urn: String, _ state: OrganizationState) throws(APIError) -> [UInt8] {
        guard let principal = state.principals[urn] else { throw APIError.notFound("no principal \"\(urn)\"") }
        return one { json in write(principal, state, into: &json) }
    }

    public static func attachments(_ state: OrganizationState, policy: String?, target: String?) -> [UInt8] {
        let attachments = state.attachments.filter { (policy == nil || $0.policy == policy) && (target == nil || $0.target == target) }.sorted()
        return list("attachments", attachments) { attachment, json in write(attachment, into: &json) }
    }

    // MARK: Writers

    private static let fullAccess = StoredSCP(
        id: OrganizationState.fullAccessID, description: "Built in: allows everything; attached to every new node.",
        document: Organization.fullAccessText, updatedAt: "")

    private static func one(_ body: (inout JSONWriter) -> Void) -> [UInt8] {
        var json = JSONWriter()
        body(&json)
        json.newline()
        return json.bytes
    }

    private static func list<T>(_ name: String, _ items: [T], _ write: (T, inout JSONWriter) -> Void) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key(name)
        json.beginArray()
        for item in items { write(item, &json) }
        json.endArray()
        json.endObject()
        json.newline()
        return json.bytes
    }

    /// Nodes from the root down, each after its parent, siblings by name.
    private static func sortedNodes(_ state: OrganizationState) -> [StoredNode] {
        var out: [StoredNode] = []
        func visit(_ name: String) {
            guard let node = state.nodes[name] else { return }
            out.append(node)
            for child in state.nodes.values.filter({ $0.parent == name }).map(\.name).sorted() { visit(child) }
        }
        visit("root")
        return out
    }

    private static func writeOrganization(_ state: OrganizationState, revision: Int64?, into json: inout JSONWriter) {
        json.beginObject()
        json.field("id", state.organization?.id)
        json.field("managementAccount", state.organization?.managementAccount)
        json.field("scpsEnabled", state.organization?.scpsEnabled ?? false)
        if let revision { json.field("revision", Int(revision)) }
        json.key("nodes")
        json.beginArray()
        for node in sortedNodes(state) { write(node, state, into: &json) }
        json.endArray()
        json.endObject()
    }

    private static func write(_ node: StoredNode, _ state: OrganizationState, into json: inout JSONWriter) {
        json.beginObject()
        json.field("kind", node.kind.rawValue)
        json.field("name", node.name)
        json.field("id", node.id)
        json.field("parent", node.parent)
        json.field("scps", state.attachments.policies(on: node.name))
        json.endObject()
    }

    private static func write(_ policy: StoredPolicy, _ state: OrganizationState, into json: inout JSONWriter, document: Bool = false) {
        json.beginObject()
        json.field("id", policy.id)
        json.field("account", policy.account)
        json.field("description", policy.description)
        json.field("defaultVersion", policy.defaultVersion)
        json.field("versions", policy.versions.map(\.id))
        json.field("attachedTo", state.attachments.targets(of: policy.id))
        if document {
            json.key("document")
            json.raw(policy.defaultDocument)
        }
        json.endObject()
    }

    private static func write(_ version: PolicyVersion, of policy: StoredPolicy, into json: inout JSONWriter, document: Bool) {
        json.beginObject()
        json.field("id", version.id)
        json.field("createdAt", version.createdAt)
        json.field("isDefault", version.id == policy.defaultVersion)
        if document {
            json.key("document")
            json.raw(version.document)
        }
        json.endObject()
    }

    private static func write(_ scp: StoredSCP, _ state: OrganizationState, into json: inout JSONWriter) {
        json.beginObject()
        json.field("id", scp.id)
        json.field("description", scp.description)
        json.field("updatedAt", scp.updatedAt)
        json.field("attachedTo", state.attachments.targets(of: scp.id))
        json.key("document")
        json.raw(scp.document)
        json.endObject()
    }

    private static func write(_ principal: StoredPrincipal, _ state: OrganizationState, into json: inout JSONWriter) {
        json.beginObject()
        json.field("urn", principal.urn)
        json.field("kind", principal.kind.rawValue)
        json.field("account", principal.account)
        json.field("name", principal.name)
        json.field("id", principal.id)
        if principal.kind == .user { json.field("groups", principal.groups) }
        if let tags = principal.tags {
            json.key("tags")
            json.beginObject()
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) { json.field(key, value) }
            json.endObject()
        }
        if let trust = principal.trustPolicy {
            json.key("trustPolicy")
            json.raw(trust)
        }
        if let seconds = principal.maxSessionDuration { json.field("maxSessionDuration", seconds) }
        json.field("policies", state.attachments.policies(on: principal.urn))
        json.endObject()
    }

    private static func write(_ attachment: StoredAttachment, into json: inout JSONWriter) {
        json.beginObject()
        json.field("policy", attachment.policy)
        json.field("target", attachment.target)
        json.endObject()
    }
}
