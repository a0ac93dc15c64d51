public import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy
public import BulwarkValidation

/// A policy document submitted in a request body, with where it sits in that body so
/// validation findings point at the client's own bytes.
public struct SubmittedDocument: Sendable {
    /// The document's text exactly as submitted.
    public let text: String
    /// Where the document starts in the request body; nil when the document came as a JSON
    /// string (then locations are within that string's text).
    public let origin: SourceLocation?
    /// The JSON path of the document in the request body (usually `$.document`).
    public let path: JSONPath

    public init(text: String, origin: SourceLocation?, path: JSONPath) {
        self.text = text
        self.origin = origin
        self.path = path
    }

    /// A finding of the document moved into the request body's coordinates.
    public func relocated(_ finding: Finding) -> Finding {
        var location = finding.location
        if let origin {
            if location.line == 1 { location.column += origin.column - 1 }
            location.line += origin.line - 1
        }
        return Finding(
            code: finding.code, message: finding.message,
            path: JSONPath(path.components + finding.path.components), location: location)
    }
}

/// One change to the managed organization. Every write the server accepts is one command,
/// applied to the current state by `OrganizationState.applying(_:context:)`.
public enum ManagementCommand: Sendable {
    case setOrganization(id: String, rootID: String, managementAccount: String?, scpsEnabled: Bool)
    case addNode(kind: StoredNode.Kind, name: String, id: String, parent: String)
    case moveNode(name: String, parent: String)
    case removeNode(name: String)
    case createPolicy(id: String, account: String, description: String, document: SubmittedDocument)
    case createPolicyVersion(policy: String, document: SubmittedDocument, setAsDefault: Bool, dropOldest: Bool)
    case setDefaultVersion(policy: String, version: String)
    case deletePolicyVersion(policy: String, version: String)
    case deletePolicy(id: String)
    case createSCP(id: String, description: String, document: SubmittedDocument)
    case updateSCP(id: String, description: String?, document: SubmittedDocument?)
    case deleteSCP(id: String)
    case addPrincipal(kind: StoredPrincipal.Kind, account: String, name: String, id: String, groups: [String], settings: PrincipalSettings = .init())
    case setGroups(principal: String, groups: [String])
    /// Replaces a user's or agency's tags, and an agency's trust policy and maximum session duration.
    case setSettings(principal: String, settings: PrincipalSettings)
    case removePrincipal(urn: String)
    case attach(policy: String, target: String)
    case detach(policy: String, target: String)
}

/// What a user or an agency carries beyond its policies (SPEC §10).
public struct PrincipalSettings: Sendable {
    public var tags: [String: String]
    /// Agencies only: who may assume it.
    public var trustPolicy: SubmittedDocument?
    /// Agencies only: 3,600–43,200 seconds.
    public var maxSessionDuration: Int?

    public init(tags: [String: String] = [:], trustPolicy: SubmittedDocument? = nil, maxSessionDuration: Int? = nil) {
        self.tags = tags
        self.trustPolicy = trustPolicy
        self.maxSessionDuration = maxSessionDuration
    }

    var isEmpty: Bool { tags.isEmpty && trustPolicy == nil && maxSessionDuration == nil }
}

/// Why a command was refused. Nothing is changed when a command throws.
public struct ManagementError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The request is wrong in itself (bad id, bad reference, wrong kind of target).
        case invalid
        /// Something named does not exist.
        case notFound
        /// The request conflicts with the current state (exists already, still attached, limits).
        case conflict
        /// The submitted policy has validation errors; `findings` lists them.
        case invalidPolicy
        /// One of Huawei's limits (SPEC §11) would be exceeded; the message names it.
        case limitExceeded
    }
    public let kind: Kind
    public let message: String
    /// JSON path of the offending element in the request body, when there is one.
    public let path: JSONPath?
    public let findings: [Finding]

    public init(_ kind: Kind, _ message: String, path: JSONPath? = nil, findings: [Finding] = []) {
        self.kind = kind
        self.message = message
        self.path = path
        self.findings = findings
    }

    public var description: String { message }
}

/// What a command needs besides the state: the validator for policies, the time and the limits.
public struct CommandContext: Sendable {
    public let validator: PolicyValidator
    /// RFC 3339 time stamped on new versions.
    public let now: String
    /// Identity policies attached to one user, group or agency at most (Huawei: 10, up to 20 on request).
    public let maxPoliciesPerPrincipal: Int

    public init(validator: PolicyValidator, now: String, maxPoliciesPerPrincipal: Int = OrganizationState.defaultMaxPoliciesPerPrincipal) {
        self.validator = validator
        self.now = now
        self.maxPoliciesPerPrincipal = maxPoliciesPerPrincipal
    }
}

/// What a successful command did.
public struct CommandOutcome: Sendable {
    public enum Entity: Sendable {
        case organization(OrganizationSettings)
        case node(StoredNode)
        case policy(StoredPolicy)
        case scp(StoredSCP)
        case principal(StoredPrincipal)
        case attachment(StoredAttachment)
        case deleted
    }
    public let entity: Entity
    /// True when the command created something new (HTTP 201).
    public let created: Bool
    /// Validation findings below `error` for a submitted policy.
    public let warnings: [Finding]
}

extension OrganizationState {
    /// The state after `command`, or the reason it is refused. Pure: the same state and
    /// command always give the same answer.
    public func applying(_ command: ManagementCommand, context: CommandContext) throws(ManagementError) -> StateChange<CommandOutcome> {
        var next = self
        var changed: Set<EntityKey> = []
        let outcome = try next.apply(command, context: context, changed: &changed)
        return StateChange(state: next, changed: changed, result: outcome)
    }

    /// Applies `command`, adding the key of every entity it writes or removes to `changed`.
    private mutating func apply(_ command: ManagementCommand, context: CommandContext, changed: inout Set<EntityKey>) throws(ManagementError)
        -> CommandOutcome
    {
        switch command {
        case .setOrganization(let id, let rootID, let management, let scpsEnabled):
            try Identifier.check(id, "id")
            try Identifier.check(rootID, "rootId")
            if let management, nodes[management]?.kind != .account {
                throw ManagementError(
                    .invalid, "managementAccount \"\(management)\" is not an account of the tree", path: .root.appending(key: "managementAccount"))
            }
            let created = organization == nil
            if let root = nodes["root"], root.id != rootID {
                throw ManagementError(.conflict, "the root already exists with id \"\(root.id)\"", path: .root.appending(key: "rootId"))
            }
            if nodes["root"] == nil {
                nodes["root"] = StoredNode(kind: .root, name: "root", id: rootID, parent: nil)
                attachments.insert(StoredAttachment(policy: Self.fullAccessID, target: "root"))
                changed.formUnion([.node("root"), .attachment(StoredAttachment(policy: Self.fullAccessID, target: "root"))])
            }
            let settings = OrganizationSettings(id: id, managementAccount: management, scpsEnabled: scpsEnabled)
            organization = settings
            changed.insert(.organization)
            return CommandOutcome(entity: .organization(settings), created: created, warnings: [])

        case .addNode(let kind, let name, let id, let parent):
            guard organization != nil else { throw ManagementError(.conflict, "create the organization first (PUT /v1/organization)") }
            try Identifier.check(name, "name")
            try Identifier.check(id, "id")
            guard kind != .root else {
                throw ManagementError(.invalid, "the root is created with the organization", path: .root.appending(key: "kind"))
            }
            if nodes[name] != nil { throw ManagementError(.conflict, "a node named \"\(name)\" exists already", path: .root.appending(key: "name")) }
            if let other = nodes.values.first(where: { $0.id == id }) {
                throw ManagementError(.conflict, "node \"\(other.name)\" has id \"\(id)\" already", path: .root.appending(key: "id"))
            }
            try checkParent(parent, for: name)
            let node = StoredNode(kind: kind, name: name, id: id, parent: parent)
            nodes[name] = node
            try checkDepth(of: name)
            attachments.insert(StoredAttachment(policy: Self.fullAccessID, target: name))
            changed.formUnion([.node(name), .attachment(StoredAttachment(policy: Self.fullAccessID, target: name))])
            return CommandOutcome(entity: .node(node), created: true, warnings: [])

        case .moveNode(let name, let parent):
            guard var node = nodes[name] else { throw notFound("node", name) }
            guard node.kind != .root else { throw ManagementError(.invalid, "the root cannot move") }
            try checkParent(parent, for: name)
            var ancestor: String? = parent
            while let a = ancestor {
                if a == name {
                    throw ManagementError(
                        .invalid, "\"\(parent)\" is inside \"\(name)\"; a node cannot move under itself", path: .root.appending(key: "parent"))
                }
                ancestor = nodes[a]?.parent
            }
            node.parent = parent
            nodes[name] = node
            try checkDepth(of: name)
            changed.insert(.node(name))
            return CommandOutcome(entity: .node(node), created: false, warnings: [])

        case .removeNode(let name):
            guard let node = nodes[name] else { throw notFound("node", name) }
            if node.kind == .root { throw ManagementError(.conflict, "the root cannot be removed") }
            let children = nodes.values.filter { $0.parent == name }.map(\.name).sorted()
            if !children.isEmpty { throw ManagementError(.conflict, "\"\(name)\" still has children: \(children.joined(separator: ", "))") }
            if node.kind == .account {
                let holders = principals.urns(inAccount: node.id) + policies.values.filter { $0.account == node.id }.map(\.id)
                if !holders.isEmpty {
                    throw ManagementError(
                        .conflict, "account \"\(name)\" still has principals or policies: \(holders.sorted().joined(separator: ", "))")
                }
                if organization?.managementAccount == name { throw ManagementError(.conflict, "\"\(name)\" is the management account") }
            }
            nodes[name] = nil
            changed.insert(.node(name))
            for policy in attachments.policies(on: name) {
                let attachment = StoredAttachment(policy: policy, target: name)
                attachments.remove(attachment)
                changed.insert(.attachment(attachment))
            }
            return CommandOutcome(entity: .deleted, created: false, warnings: [])

        case .createPolicy(let id, let account, let description, let document):
            try Identifier.check(id, "id")
            if policies[id] != nil || scps[id] != nil || id == Self.fullAccessID {
                throw ManagementError(.conflict, "a policy with id \"\(id)\" exists already", path: .root.appending(key: "id"))
            }
            guard accountNode(id: account) != nil else {
                throw ManagementError(.invalid, "unknown account \"\(account)\"; known: \(accountIDs())", path: .root.appending(key: "account"))
            }
            let warnings = try Self.validate(document, type: .identity, context: context)
            let policy = StoredPolicy(
                id: id, account: account, description: description,
                versions: [PolicyVersion(id: "v1", document: document.text, createdAt: context.now)],
                defaultVersion: "v1", nextVersion: 2)
            policies[id] = policy
            changed.insert(.policy(id))
            return CommandOutcome(entity: .policy(policy), created: true, warnings: warnings)

        case .createPolicyVersion(let id, let document, let setAsDefault, let dropOldest):
            guard var policy = policies[id] else { throw notFound("policy", id) }
            let warnings = try Self.validate(document, type: .identity, context: context)
            if policy.versions.count >= StoredPolicy.maxVersions {
                guard dropOldest, let oldest = policy.versions.first(where: { $0.id != policy.defaultVersion }) else {
                    let deletable = policy.versions.map(\.id).filter { $0 != policy.defaultVersion }
                    throw ManagementError(
                        .conflict,
                        "policy \"\(id)\" has \(StoredPolicy.maxVersions) versions, the most kept; delete one of \(deletable.joined(separator: ", ")) first, or send \"dropOldest\": true"
                    )
                }
                policy.versions.removeAll { $0.id == oldest.id }
            }
            let version = PolicyVersion(id: "v\(policy.nextVersion)", document: document.text, createdAt: context.now)
            policy.nextVersion += 1
            policy.versions.append(version)
            if setAsDefault { policy.defaultVersion = version.id }
            policies[id] = policy
            changed.insert(.policy(id))
            return CommandOutcome(entity: .policy(policy), created: true, warnings: warnings)

        case .setDefaultVersion(let id, let version):
            guard var policy = policies[id] else { throw notFound("policy", id) }
            guard policy.versions.contains(where: { $0.id == version }) else {
                throw ManagementError(
                    .notFound, "policy \"\(id)\" has no version \"\(version)\"; it has \(policy.versions.map(\.id).joined(separator: ", "))",
                    path: .root.appending(key: "version"))
            }
            policy.defaultVersion = version
            policies[id] = policy
            changed.insert(.policy(id))
            return CommandOutcome(entity: .policy(policy), created: false, warnings: [])

        case .deletePolicyVersion(let id, let version):
            guard var policy = policies[id] else { throw notFound("policy", id) }
            guard policy.versions.contains(where: { $0.id == version }) else {
                throw ManagementError(
                    .notFound, "policy \"\(id)\" has no version \"\(version)\"; it has \(policy.versions.map(\.id).joined(separator: ", "))")
            }
            if version == policy.defaultVersion {
                throw ManagementError(.conflict, "\(version) is the default version of \"\(id)\"; set another default first")
            }
            policy.versions.removeAll { $0.id == version }
            policies[id] = policy
            changed.insert(.policy(id))
            return CommandOutcome(entity: .policy(policy), created: false, warnings: [])

        case .deletePolicy(let id):
            guard policies[id] != nil else { throw notFound("policy", id) }
            try checkDetached(id)
            policies[id] = nil
            changed.insert(.policy(id))
            return CommandOutcome(entity: .deleted, created: false, warnings: [])

        case .createSCP(let id, let description, let document):
            try Identifier.check(id, "id")
            if policies[id] != nil || scps[id] != nil || id == Self.fullAccessID {
                throw ManagementError(.conflict, "a policy with id \"\(id)\" exists already", path: .root.appending(key: "id"))
            }
            let warnings = try Self.validate(document, type: .scp, context: context)
            let scp = StoredSCP(id: id, description: description, document: document.text, updatedAt: context.now)
            scps[id] = scp
            changed.insert(.scp(id))
            return CommandOutcome(entity: .scp(scp), created: true, warnings: warnings)

        case .updateSCP(let id, let description, let document):
            if id == Self.fullAccessID { throw ManagementError(.conflict, "FullAccess is built in and cannot change") }
            guard var scp = scps[id] else { throw notFound("SCP", id) }
            var warnings: [Finding] = []
            if let document {
                warnings = try Self.validate(document, type: .scp, context: context)
                scp.document = document.text
            }
            if let description { scp.description = description }
            scp.updatedAt = context.now
            scps[id] = scp
            changed.insert(.scp(id))
            return CommandOutcome(entity: .scp(scp), created: false, warnings: warnings)

        case .deleteSCP(let id):
            if id == Self.fullAccessID { throw ManagementError(.conflict, "FullAccess is built in and cannot be deleted") }
            guard scps[id] != nil else { throw notFound("SCP", id) }
            try checkDetached(id)
            scps[id] = nil
            changed.insert(.scp(id))
            return CommandOutcome(entity: .deleted, created: false, warnings: [])

        case .addPrincipal(let kind, let account, let name, let id, let groups, let settings):
            try Identifier.check(name, "name")
            try Identifier.check(id, "id")
            guard accountNode(id: account) != nil else {
                throw ManagementError(.invalid, "unknown account \"\(account)\"; known: \(accountIDs())", path: .root.appending(key: "account"))
            }
            let principal = StoredPrincipal(kind: kind, account: account, name: name, id: id, groups: [])
            if principals[principal.urn] != nil {
                throw ManagementError(.conflict, "\(principal.urn) exists already", path: .root.appending(key: "name"))
            }
            principals[principal.urn] = principal
            changed.insert(.principal(principal.urn))
            if !groups.isEmpty || kind == .user {
                _ = try apply(.setGroups(principal: principal.urn, groups: groups), context: context, changed: &changed)
            }
            var warnings: [Finding] = []
            if !settings.isEmpty {
                warnings = try apply(.setSettings(principal: principal.urn, settings: settings), context: context, changed: &changed).warnings
            }
            return CommandOutcome(entity: .principal(principals[principal.urn]!), created: true, warnings: warnings)

        case .setSettings(let urn, let settings):
            guard var principal = principals[urn] else { throw notFound("principal", urn) }
            if principal.kind == .group, !settings.isEmpty {
                throw ManagementError(.invalid, "groups have no tags, trust policy or session duration", path: .root.appending(key: "tags"))
            }
            if principal.kind != .agency {
                if settings.trustPolicy != nil {
                    throw ManagementError(.invalid, "only agencies have a trust policy", path: .root.appending(key: "trustPolicy"))
                }
                if settings.maxSessionDuration != nil {
                    throw ManagementError(.invalid, "only agencies have a maximum session duration", path: .root.appending(key: "maxSessionDuration"))
                }
            }
            if let seconds = settings.maxSessionDuration, !Principal.sessionDurationRange.contains(seconds) {
                throw ManagementError(
                    .invalid, "maxSessionDuration must be from 3600 to 43200 seconds, not \(seconds)",
                    path: .root.appending(key: "maxSessionDuration"))
            }
            for (key, value) in settings.tags.sorted(by: { $0.key < $1.key }) {
                if key.isEmpty || key.count > SessionRequest.maxTagKeyLength || value.count > SessionRequest.maxTagValueLength {
                    throw ManagementError(
                        .invalid,
                        "tag \"\(key)\": a key has 1 to \(SessionRequest.maxTagKeyLength) characters, a value at most \(SessionRequest.maxTagValueLength)",
                        path: .root.appending(key: "tags").appending(key: key))
                }
            }
            let folded = Set(settings.tags.keys.map(CaseFolding.lowercase))
            if folded.count != settings.tags.count {
                throw ManagementError(.invalid, "two tags differ only in case; tag keys ignore case", path: .root.appending(key: "tags"))
            }
            var warnings: [Finding] = []
            if let document = settings.trustPolicy { warnings = try Self.validate(document, type: .trust, context: context) }
            principal.tags = settings.tags.isEmpty ? nil : settings.tags
            principal.trustPolicy = settings.trustPolicy?.text
            principal.maxSessionDuration = settings.maxSessionDuration
            principals[urn] = principal
            changed.insert(.principal(urn))
            return CommandOutcome(entity: .principal(principal), created: false, warnings: warnings)

        case .setGroups(let urn, let groups):
            guard var principal = principals[urn] else { throw notFound("principal", urn) }
            if principal.kind != .user, !groups.isEmpty {
                throw ManagementError(.invalid, "only users belong to groups", path: .root.appending(key: "groups"))
            }
            for (i, group) in groups.enumerated() where principals["iam::\(principal.account):group:\(group)"] == nil {
                throw ManagementError(
                    .invalid, "account \(principal.account) has no group \"\(group)\"", path: .root.appending(key: "groups").appending(index: i))
            }
            var seen: Set<String> = []
            principal.groups = groups.filter { seen.insert($0).inserted }
            principals[urn] = principal
            changed.insert(.principal(urn))
            return CommandOutcome(entity: .principal(principal), created: false, warnings: [])

        case .removePrincipal(let urn):
            guard let principal = principals[urn] else { throw notFound("principal", urn) }
            let attached = attachments.policies(on: urn)
            if !attached.isEmpty { throw ManagementError(.conflict, "\(urn) still has policies attached: \(attached.joined(separator: ", "))") }
            if principal.kind == .group {
                let members = principals.members(of: urn)
                if !members.isEmpty { throw ManagementError(.conflict, "group \(urn) still has members: \(members.joined(separator: ", "))") }
            }
            principals[urn] = nil
            changed.insert(.principal(urn))
            return CommandOutcome(entity: .deleted, created: false, warnings: [])

        case .attach(let policy, let target):
            let attachment = StoredAttachment(policy: policy, target: target)
            try checkAttachable(attachment)
            if !attachments.contains(attachment) { try checkAttachmentLimits(attachment, context: context) }
            let created = attachments.insert(attachment).inserted
            changed.insert(.attachment(attachment))
            return CommandOutcome(entity: .attachment(attachment), created: created, warnings: [])

        case .detach(let policy, let target):
            let attachment = StoredAttachment(policy: policy, target: target)
            guard attachments.contains(attachment) else {
                throw ManagementError(.notFound, "\"\(policy)\" is not attached to \"\(target)\"")
            }
            if isSCP(policy) && scpCount(on: target) == 1 {
                throw ManagementError(
                    .limitExceeded,
                    "\"\(policy)\" is the last SCP attached to \"\(target)\", and a node must keep at least one; attach another first")
            }
            attachments.remove(attachment)
            changed.insert(.attachment(attachment))
            return CommandOutcome(entity: .deleted, created: false, warnings: [])
        }
    }

    // MARK: Checks

    private func notFound(_ what: String, _ key: String) -> ManagementError {
        ManagementError(.notFound, "no \(what) \"\(key)\"")
    }

    func accountNode(id: String) -> StoredNode? {
        nodes.values.first { $0.kind == .account && $0.id == id }
    }

    private func accountIDs() -> String {
        let ids = nodes.values.filter { $0.kind == .account }.map(\.id).sorted()
        return ids.isEmpty ? "none (add accounts to the organization first)" : ids.joined(separator: ", ")
    }

    private func checkParent(_ parent: String, for name: String) throws(ManagementError) {
        guard let p = nodes[parent] else {
            throw ManagementError(.invalid, "unknown parent \"\(parent)\"", path: .root.appending(key: "parent"))
        }
        guard p.kind != .account else {
            throw ManagementError(.invalid, "\"\(parent)\" is an account; only the root and OUs have children", path: .root.appending(key: "parent"))
        }
    }

    /// Organizations allows five levels of OUs below the root.
    private func checkDepth(of name: String) throws(ManagementError) {
        func ouDepth(_ n: String) -> Int {
            var depth = 0
            var current = nodes[n]
            while let c = current, let parent = c.parent {
                if c.kind == .ou { depth += 1 }
                current = nodes[parent]
            }
            return depth
        }
        let subtree = nodes.keys.filter { n in
            var current: String? = n
            while let c = current {
                if c == name { return true }
                current = nodes[c]?.parent
            }
            return false
        }
        if let deepest = subtree.max(by: { ouDepth($0) < ouDepth($1) }), ouDepth(deepest) > Organization.maxOUDepth {
            throw ManagementError(
                .invalid, "OUs nest at most \(Organization.maxOUDepth) levels deep; \"\(deepest)\" would be at level \(ouDepth(deepest))",
                path: .root.appending(key: "parent"))
        }
    }

    /// Huawei's defaults (SPEC §11).
    public static let defaultMaxPoliciesPerPrincipal = Organization.maxPoliciesPerPrincipal
    /// The most `--max-policies-per-principal` may raise it to.
    public static let highestMaxPoliciesPerPrincipal = 20
    public static let maxSCPsPerNode = Organization.maxSCPsPerNode

    func isSCP(_ policy: String) -> Bool { policy == Self.fullAccessID || scps[policy] != nil }

    func scpCount(on node: String) -> Int { attachments.count(on: node, where: isSCP) }

    /// 10 (or the configured number of) identity policies per principal, 5 SCPs per node.
    private func checkAttachmentLimits(_ a: StoredAttachment, context: CommandContext) throws(ManagementError) {
        if isSCP(a.policy) {
            let count = scpCount(on: a.target)
            if count >= Self.maxSCPsPerNode {
                throw ManagementError(
                    .limitExceeded, "\"\(a.target)\" has \(count) SCPs attached, the most a node may have (\(Self.maxSCPsPerNode)); detach one first",
                    path: .root.appending(key: "target"))
            }
        } else {
            let count = attachments.count(on: a.target) { policies[$0] != nil }
            if count >= context.maxPoliciesPerPrincipal {
                throw ManagementError(
                    .limitExceeded,
                    "\(a.target) has \(count) identity policies attached, the most allowed (\(context.maxPoliciesPerPrincipal), --max-policies-per-principal); detach one first",
                    path: .root.appending(key: "target"))
            }
        }
    }

    private func checkDetached(_ policy: String) throws(ManagementError) {
        let targets = attachments.targets(of: policy)
        if !targets.isEmpty {
            throw ManagementError(.conflict, "\"\(policy)\" is still attached to \(targets.joined(separator: ", ")); detach it first")
        }
    }

    private func checkAttachable(_ a: StoredAttachment) throws(ManagementError) {
        if let policy = policies[a.policy] {
            guard let principal = principals[a.target] else {
                throw ManagementError(
                    .notFound, "no principal \"\(a.target)\"; identity policies attach to users, groups and agencies by URN",
                    path: .root.appending(key: "target"))
            }
            if principal.account != policy.account {
                throw ManagementError(
                    .invalid, "policy \"\(a.policy)\" belongs to account \(policy.account), \(a.target) to account \(principal.account)",
                    path: .root.appending(key: "target"))
            }
        } else if scps[a.policy] != nil || a.policy == Self.fullAccessID {
            guard nodes[a.target] != nil else {
                throw ManagementError(
                    .notFound, "no node \"\(a.target)\"; SCPs attach to the root, OUs and accounts by name", path: .root.appending(key: "target"))
            }
        } else {
            throw ManagementError(.notFound, "no policy or SCP \"\(a.policy)\"", path: .root.appending(key: "policy"))
        }
    }

    /// Validates a submitted policy; errors refuse the command, the rest are returned.
    static func validate(_ document: SubmittedDocument, type: PolicyType, context: CommandContext) throws(ManagementError) -> [Finding] {
        let findings = context.validator.validate(bytes: Array(document.text.utf8), type: type).map(document.relocated)
        let errors = findings.filter { $0.severity == .error }
        if !errors.isEmpty {
            let first = errors[0]
            throw ManagementError(
                .invalidPolicy,
                "the \(type == .scp ? "SCP" : "policy") has \(errors.count) validation error\(errors.count == 1 ? "" : "s"); first: \(first.code.rawValue): \(first.message)",
                path: first.path, findings: findings)
        }
        return findings
    }
}

/// Names and ids the store accepts: 1–128 characters, none of them a wildcard, a separator
/// of URNs or paths, whitespace, or a character a person cannot see or that reorders text
/// (controls, format characters such as U+200B or U+202E, default-ignorable code points),
/// so they can appear in URNs and URLs unchanged and look like what they are.
public enum Identifier {
    public static func check(_ value: String, _ field: String) throws(ManagementError) {
        let path = JSONPath.root.appending(key: field)
        let length = value.unicodeScalars.count
        if value.isEmpty || length > 128 {
            throw ManagementError(.invalid, "\(field) must be 1–128 characters, found \(length)", path: path)
        }
        for (offset, scalar) in value.unicodeScalars.enumerated() {
            let position = "\(field) \(Excerpt.quoted(value)) has"
            let code = "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
            if scalar == ":" || scalar == "/" || scalar == "*" || scalar == "?" {
                throw ManagementError(
                    .invalid, "\(position) '\(scalar)' at character \(offset + 1); ids are without ':', '/', '*', '?' or whitespace", path: path)
            }
            if scalar.properties.isWhitespace {
                throw ManagementError(
                    .invalid, "\(position) whitespace (\(code)) at character \(offset + 1); ids are without ':', '/', '*', '?' or whitespace",
                    path: path)
            }
            if isInvisible(scalar) {
                throw ManagementError(
                    .invalid, "\(position) an invisible or bidirectional-control character \(code) at character \(offset + 1)", path: path)
            }
        }
    }

    /// Characters that render as nothing or reorder what is around them.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isBidiControl || properties.isDefaultIgnorableCodePoint || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
