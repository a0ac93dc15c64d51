import BulwarkJSON
import BulwarkPolicy
import BulwarkWorkspace
import Foundation

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

/// Builds the request context and the qualified-row cases of SPEC §4 from a call.
///
/// Keys from the connection: `g:SourceIp` (the peer; with a trusted proxy, the nearest
/// untrusted address of `X-Forwarded-For`), `g:CurrentTime`, `g:SecureTransport`. Keys of
/// the principal: those of `ResolvedPrincipal.principalContext`. Keys from the JSON body:
///
/// | body field | keys |
/// |---|---|
/// | `tags` / `image_tags` (`[{"key","value"}]` or `["key.value"]`) | `g:RequestTag/<key>`, `g:TagKeys` |
/// | `enterprise_project_id` (body or query) | `g:EnterpriseProjectId` |
/// | `cmk_id` (non-empty: encrypted) | `ims:Encrypted` |
/// | `member` (POST /v2/images/{id}/members), `projects` (POST /v1/cloudimages/members) — account ids of the workspace | `ims:TargetOrgPaths` |
/// | `access_domain` (SWR access domains) — an account name of the workspace | `swr:TargetAccountId`, `swr:TargetOrgPath`, `swr:TargetOrgId` |
///
/// An account the workspace does not know is outside the organization (the workspace
/// describes all of it): its path is `external/<id>`, which no `o-…/r-…/*` pattern matches.
public struct CallContextBuilder: Sendable {
    public let workspace: Workspace
    public let trustedProxies: [IPAddressRange]

    public init(workspace: Workspace, trustedProxies: [IPAddressRange]) {
        self.workspace = workspace
        self.trustedProxies = trustedProxies
    }

    public func context(for facts: CallFacts, body: JSONNode?, query: String) -> RequestContext {
        var context = RequestContext()
        context.set("g:SourceIp", [.string(sourceIP(facts))])
        context.set("g:CurrentTime", [.string(Self.iso8601(facts.now))])
        context.set("g:SecureTransport", [.string(facts.isTLS ? "true" : "false")])
        if let project = Self.queryValue(query, "enterprise_project_id") { context.set("g:EnterpriseProjectId", [.string(project)]) }
        guard let body, case .object(let members) = body.value else { return context }
        func field(_ name: String) -> JSONNode? { members.first { $0.key == name }?.value }

        var tags: [(String, String)] = []
        for name in ["tags", "image_tags"] {
            guard let node = field(name), case .array(let items) = node.value else { continue }
            for item in items {
                switch item.value {
                case .object(let pair):
                    if case .string(let key)? = pair.first(where: { $0.key == "key" })?.value.value {
                        let value: String
                        if case .string(let v)? = pair.first(where: { $0.key == "value" })?.value.value { value = v } else { value = "" }
                        tags.append((key, value))
                    }
                case .string(let text):
                    // IMS's older form: "key.value".
                    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
                    tags.append((String(parts[0]), parts.count > 1 ? String(parts[1]) : ""))
                default: continue
                }
            }
        }
        if !tags.isEmpty {
            for (key, value) in tags { context.set("g:RequestTag/\(key)", [.string(value)]) }
            context.set("g:TagKeys", tags.map { .string($0.0) })
        }
        if case .string(let project)? = field("enterprise_project_id")?.value { context.set("g:EnterpriseProjectId", [.string(project)]) }
        if let cmk = field("cmk_id") {
            if case .string(let id) = cmk.value { context.set("ims:Encrypted", [.string(id.isEmpty ? "false" : "true")]) }
        } else if field("image_url") != nil || field("region") != nil {
            context.set("ims:Encrypted", [.string("false")])
        }
        var targets: [String] = []
        if case .string(let member)? = field("member")?.value { targets.append(member) }
        if let node = field("projects"), case .array(let items) = node.value {
            for item in items { if case .string(let s) = item.value { targets.append(s) } }
        }
        if !targets.isEmpty { context.set("ims:TargetOrgPaths", targets.map { .string(organizationPath(of: $0)) }) }
        if case .string(let domain)? = field("access_domain")?.value {
            context.set("swr:TargetOrgPath", [.string(organizationPath(of: domain))])
            if let account = workspace.account(domain) {
                context.set("swr:TargetAccountId", [.string(account.id)])
                context.set("swr:TargetOrgId", [.string(workspace.organizationID)])
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
            let touchesProject = ops.contains { op in
                guard case .object(let fields) = op.value else { return false }
                if case .string(let p)? = fields.first(where: { $0.key == "path" })?.value.value { return p == "/enterprise_project_id" }
                return false
            }
            if touchesProject { cases.append("enterprise-project-migration") }
        }
        if method == "POST", path.hasSuffix("/copy"), case .object(let members) = body.value,
           members.contains(where: { $0.key == "enterprise_project_id" }) {
            cases.append("enterprise-project-user")
        }
        return cases
    }

    /// Image ids named in the body by calls whose resource is there, not in the path
    /// (`/v1/cloudimages/members`): each becomes its own check.
    public static func bodyResources(body: JSONNode?) -> [String] {
        guard let body, case .object(let members) = body.value,
              let node = members.first(where: { $0.key == "images" })?.value, case .array(let items) = node.value else { return [] }
        return items.compactMap { if case .string(let s) = $0.value { s } else { nil } }
    }

    /// The organization path of an account named or numbered `key`; `external/KEY` when unknown.
    private func organizationPath(of key: String) -> String {
        workspace.account(key).map(workspace.organizationPath(of:)) ?? "external/\(key)"
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

    static func queryValue(_ query: String, _ name: String) -> String? {
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name[...] { return String(parts[1]).removingPercentEncoding }
        }
        return nil
    }
}
