public import BulwarkCatalog
public import BulwarkJSON
public import BulwarkOrganization
public import BulwarkPolicy
public import Foundation

/// What the gateway knows about a call besides its method, path and body.
public struct CallFacts: Sendable {
    /// The TCP peer's address.
    public var peer: String
    /// `X-Forwarded-For`, used only when the peer is a trusted proxy.
    public var forwardedFor: String?
    public var isTLS: Bool
    public var now: Date

    public init(peer: String, forwardedFor: String? = nil, isTLS: Bool = false, now: Date = Date()) {
        self.peer = peer
        self.forwardedFor = forwardedFor
        self.isTLS = isTLS
        self.now = now
    }
}

/// Builds the request context, the qualified-row cases of SPEC §4 and the body's resources
/// from a call, for the API row it matched.
///
/// Keys from the connection: `g:SourceIp` (the peer; with a trusted proxy, the nearest
/// untrusted address of `X-Forwarded-For`), `g:CurrentTime`, `g:SecureTransport`. Keys of
/// the principal: those of `ResolvedPrincipal.principalContext`. Keys from the call, each
/// only for the rows that document the field (the catalog's `requestFields`, read into a
/// `RequestFieldTable`), so a field added to another call's body cannot satisfy a condition:
///
/// | field | keys |
/// |---|---|
/// | `tags` / `image_tags` (`[{"key","value"}]` or `["key.value"]`) | `g:RequestTag/<key>`, `g:TagKeys` |
/// | `enterprise_project_id` (body; query of `GET /v2/cloudimages`) | `g:EnterpriseProjectId` |
/// | `cmk_id` (non-empty: encrypted) | `ims:Encrypted` |
/// | `member` (POST /v2/images/{id}/members), `projects` (/v1/cloudimages/members) — account ids of the organization | `ims:TargetOrgPaths` |
/// | `access_domain` (SWR access domains) — an account name of the organization | `swr:TargetAccountId`, `swr:TargetOrgPath`, `swr:TargetOrgId` |
/// | `images` (/v1/cloudimages/members) | the image URNs checked, one check each |
///
/// A documented field of the wrong shape, or a tag key given twice, is refused: the gateway
/// cannot know what the service would make of it. An account the organization does not know
/// is outside the organization (it describes all of it): its path is
/// `external/<id>`, which no `o-…/r-…/*` pattern matches.
public struct CallContextBuilder: Sendable {
    public let organization: Organization
    public let trustedProxies: [IPAddressRange]
    /// Which rows document which request field (from the catalog).
    public let fields: RequestFieldTable

    /// The request fields this builder knows how to read; a catalog's `requestFields` names them.
    public enum BodyField: String, CaseIterable, Sendable {
        case tags
        case enterpriseProject = "enterprise_project_id"
        case encryption = "cmk_id"
        case member, projects, images
        case accessDomain = "access_domain"
        case enterpriseProjectQuery = "query:enterprise_project_id"
    }

    public init(organization: Organization, trustedProxies: [IPAddressRange], fields: RequestFieldTable) {
        self.organization = organization
        self.trustedProxies = trustedProxies
        self.fields = fields
    }

    /// The context of a call that matched `row` (`METHOD /template`, as the catalog writes it).
    public func context(for facts: CallFacts, body: JSONNode?, target: CallTarget, row: String) throws(CallRefusal) -> RequestContext {
        var context = RequestContext()
        context.set("g:SourceIp", [.string(sourceIP(facts))])
        context.set("g:CurrentTime", [.string(Self.iso8601(facts.now))])
        context.set("g:SecureTransport", [.string(facts.isTLS ? "true" : "false")])
        if fields.documents(.enterpriseProjectQuery, row: row), let project = target.queryValue("enterprise_project_id") {
            context.set("g:EnterpriseProjectId", [.string(project)])
        }
        guard let body, case .object(let members) = body.value else { return context }
        func field(_ name: String, _ kind: BodyField) -> JSONNode? {
            fields.documents(kind, row: row) ? members.first { $0.key == name }?.value : nil
        }

        var tags: [(String, String)] = []
        for name in ["tags", "image_tags"] {
            guard let node = field(name, .tags) else { continue }
            guard case .array(let items) = node.value else { throw Self.shape(name, "an array of tags", node) }
            for item in items {
                switch item.value {
                case .object(let pair):
                    guard case .string(let key)? = pair.first(where: { $0.key == "key" })?.value.value else {
                        throw Self.shape("\(name)[].key", "a string", item)
                    }
                    let value: String
                    switch pair.first(where: { $0.key == "value" })?.value.value {
                    case .string(let v)?: value = v
                    case nil: value = ""
                    default: throw Self.shape("\(name)[].value", "a string", item)
                    }
                    tags.append((key, value))
                case .string(let text):
                    // IMS's older form: "key.value".
                    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
                    tags.append((String(parts[0]), parts.count > 1 ? String(parts[1]) : ""))
                default:
                    throw Self.shape("\(name)[]", "a tag object or \"key.value\"", item)
                }
            }
        }
        if !tags.isEmpty {
            var seen: Set<String> = []
            for (key, _) in tags where !seen.insert(key.lowercased()).inserted {
                throw CallRefusal("tag key \(Excerpt.quoted(key)) is given twice; the gateway cannot tell which value the service would keep")
            }
            for (key, value) in tags { context.set("g:RequestTag/\(key)", [.string(value)]) }
            context.set("g:TagKeys", tags.map { .string($0.0) }, isList: true)
        }
        if let node = field("enterprise_project_id", .enterpriseProject) {
            guard case .string(let project) = node.value else { throw Self.shape("enterprise_project_id", "a string", node) }
            context.set("g:EnterpriseProjectId", [.string(project)])
        }
        if let cmk = field("cmk_id", .encryption) {
            guard case .string(let id) = cmk.value else { throw Self.shape("cmk_id", "a string", cmk) }
            context.set("ims:Encrypted", [.string(id.isEmpty ? "false" : "true")])
        } else if fields.documents(.encryption, row: row), members.contains(where: { $0.key == "image_url" || $0.key == "region" }) {
            // Imported from a file or copied without a key: not encrypted. Calls that take
            // the source's encryption (from a server) leave the key missing.
            context.set("ims:Encrypted", [.string("false")])
        }
        var targets: [String] = []
        if let node = field("member", .member) {
            guard case .string(let member) = node.value else { throw Self.shape("member", "an account id", node) }
            targets.append(member)
        }
        if let node = field("projects", .projects) {
            targets += try Self.strings(node, "projects")
        }
        if !targets.isEmpty { context.set("ims:TargetOrgPaths", targets.map { .string(organizationPath(of: $0)) }, isList: true) }
        if let node = field("access_domain", .accessDomain) {
            guard case .string(let domain) = node.value else { throw Self.shape("access_domain", "an account name", node) }
            context.set("swr:TargetOrgPath", [.string(organizationPath(of: domain))])
            if let account = organization.account(domain) {
                context.set("swr:TargetAccountId", [.string(account.id)])
                context.set("swr:TargetOrgId", [.string(organization.organizationID)])
            }
        }
        return context
    }

    /// Qualified rows that apply, inferred from the body (SPEC §4): quick import of a data or
    /// system disk, enterprise-project migration and enterprise-project users.
    public static func cases(method: String, path: String, body: JSONNode?) -> [String] {
        guard let body else { return [] }
        var cases: [String] = []
        if method == "POST", path.hasSuffix("/quickimport/action"), case .object(let members) = body.value {
            if case .string(let type)? = members.first(where: { $0.key == "image_type" })?.value.value {
                cases.append(type.lowercased() == "dataimage" ? "data-disk-import" : "system-disk-import")
            }
        }
        if method == "PATCH", path.hasPrefix("/v2/cloudimages/"), case .array(let ops) = body.value {
            // Any spelling that could reach the field counts: case, a trailing slash, JSON
            // Pointer escapes. Over-asking is safe; under-asking would skip a required action.
            let touchesProject = ops.contains { op in
                guard case .object(let fields) = op.value else { return false }
                if case .string(let p)? = fields.first(where: { $0.key == "path" })?.value.value {
                    return p.lowercased().replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~").contains(
                        "enterprise_project_id")
                }
                return false
            }
            if touchesProject { cases.append("enterprise-project-migration") }
        }
        if method == "POST", path.hasSuffix("/copy"), case .object(let members) = body.value,
            members.contains(where: { $0.key == "enterprise_project_id" })
        {
            cases.append("enterprise-project-user")
        }
        return cases
    }

    /// Image ids named in the body by rows whose resource is there (`/v1/cloudimages/members`):
    /// each becomes its own check. Nil for other rows; for those rows, `images` must be a
    /// non-empty array of ids, or the call is refused (its resources would be unknown).
    public func bodyResources(body: JSONNode?, row: String) throws(CallRefusal) -> [String]? {
        guard fields.documents(.images, row: row) else { return nil }
        guard let body, case .object(let members) = body.value, let node = members.first(where: { $0.key == "images" })?.value else {
            throw CallRefusal("\(row) names its images in the body: send \"images\": [IMAGE-ID, …]")
        }
        let ids = try Self.strings(node, "images")
        guard !ids.isEmpty else { throw CallRefusal("images is empty; name at least one image") }
        return ids
    }

    private static func strings(_ node: JSONNode, _ name: String) throws(CallRefusal) -> [String] {
        guard case .array(let items) = node.value else { throw shape(name, "an array of strings", node) }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item.value else { throw shape("\(name)[]", "a string", item) }
            out.append(s)
        }
        return out
    }

    private static func shape(_ field: String, _ expected: String, _ node: JSONNode) -> CallRefusal {
        CallRefusal("body field \(field) must be \(expected), found \(node.typeName) (line \(node.location.line), column \(node.location.column))")
    }

    /// The organization path of an account named or numbered `key`; `external/KEY` when unknown.
    private func organizationPath(of key: String) -> String {
        organization.account(key).map(organization.organizationPath(of:)) ?? "external/\(key)"
    }

    private func sourceIP(_ facts: CallFacts) -> String {
        guard let chain = facts.forwardedFor, isTrusted(facts.peer) else { return facts.peer }
        // Walk from the nearest hop back; the first address that is not a trusted proxy is the client.
        let hops = chain.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for hop in hops.reversed() where !isTrusted(hop) { return hop }
        return hops.first ?? facts.peer
    }

    private func isTrusted(_ address: String) -> Bool {
        guard let ip = IPAddressRange(address) else { return false }
        return trustedProxies.contains { $0.contains(ip) }
    }

    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

}

/// The catalog's `requestFields` of every service, read once: which API rows document each
/// request field the gateway reads. A field the gateway cannot read is an error at start,
/// never a field silently ignored.
public struct RequestFieldTable: Sendable {
    private let rows: [CallContextBuilder.BodyField: Set<String>]

    /// Why a catalog's request fields cannot be used.
    public struct UnknownField: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(catalog: Catalog) throws(UnknownField) {
        var rows: [CallContextBuilder.BodyField: Set<String>] = [:]
        for service in catalog.services {
            for field in service.requestFields {
                guard let kind = CallContextBuilder.BodyField(rawValue: field.name) else {
                    let known = CallContextBuilder.BodyField.allCases.map(\.rawValue).joined(separator: ", ")
                    throw UnknownField(
                        description:
                            "the \(service.name) catalog names request field \"\(field.name)\", which the gateway cannot read (known: \(known))")
                }
                rows[kind, default: []].formUnion(field.apis)
            }
        }
        self.rows = rows
    }

    /// Whether `row` (`METHOD /template`) documents `field`.
    public func documents(_ field: CallContextBuilder.BodyField, row: String) -> Bool { rows[field]?.contains(row) ?? false }
}
