import BulwarkCatalog
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import BulwarkValidation
import Foundation

/// Something wrong in a workspace, with where it is.
public struct WorkspaceProblem: Sendable, Hashable, CustomStringConvertible {
    /// File relative to the workspace root.
    public let file: String
    public let location: SourceLocation
    public let message: String

    public var description: String { "\(file):\(location.line):\(location.column): \(message)" }
}

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

    public init(kind: Kind, name: String, id: String, account: String, policies: [String], groups: [String]) {
        self.kind = kind
        self.name = name
        self.id = id
        self.account = account
        self.policies = policies
        self.groups = groups
    }

    /// `iam::ACCOUNT-ID:user:NAME`.
    public func urn(accountID: String) -> String { "iam::\(accountID):\(kind.rawValue):\(name)" }
}

/// One account's IAM: principals, groups and identity policies.
public struct AccountIAM: Sendable {
    public let name: String
    public var principals: [Principal] = []
    /// Group name → policy names.
    public var groups: [String: [String]] = [:]
    /// Policy name → policy (its id is the file path in the workspace).
    public var policies: [String: NamedPolicy] = [:]

    public init(name: String) { self.name = name }
}

/// An organization described as code: its tree, SCPs and where they attach, and per
/// account its IAM. Built by `Workspace.load(directory:)`.
public struct Workspace: Sendable {
    public let root: String
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
    public var problems: [WorkspaceProblem] = []

    /// An empty workspace; `root` is where it came from (a folder, or a store's name).
    public init(root: String) { self.root = root }

    /// The deepest OU nesting Organizations allows.
    public static let maxOUDepth = 5

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
                    throw PrincipalError(message: "SCP \"\(name)\" attached to \"\(node.name)\" cannot be found or read; nothing under it is decided without it", kind: .unavailable)
                }
                return scp
            }
        }
    }
}

extension Workspace {
    /// Loads a workspace directory, collecting every problem instead of stopping at the first.
    ///
    /// Layout: `organization.yaml` (or `.json`), `scps/NAME.json|yaml`,
    /// `accounts/ACCOUNT/account.yaml` and `accounts/ACCOUNT/policies/NAME.json|yaml`.
    public static func load(directory: String, catalog: Catalog) -> Workspace {
        var loader = WorkspaceLoader(root: directory, validator: PolicyValidator(catalog: catalog))
        return loader.load()
    }
}

private struct WorkspaceLoader {
    let root: String
    let validator: PolicyValidator
    var workspace: Workspace

    init(root: String, validator: PolicyValidator) {
        self.root = root
        self.validator = validator
        self.workspace = Workspace(root: root)
    }

    mutating func problem(_ file: String, _ location: SourceLocation, _ message: String) {
        workspace.problems.append(WorkspaceProblem(file: file, location: location, message: message))
    }

    /// The entries of a folder of the workspace: none when it does not exist; a problem
    /// (never a quiet "none") when it exists but cannot be read.
    mutating func entries(of folder: String) -> [String] {
        let path = URL(fileURLWithPath: root).appendingPathComponent(folder).path
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        do { return try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            problem(folder.isEmpty ? "." : folder, SourceLocation(line: 1, column: 1), "cannot list the folder: \(error.localizedDescription)")
            return []
        }
    }

    /// Files of a folder with one of the accepted extensions, sorted.
    mutating func documents(in folder: String) -> [String] {
        let names = entries(of: folder)
        return names.filter { $0.hasSuffix(".json") || $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            .map { folder.isEmpty ? $0 : folder + "/" + $0 }
    }

    func stem(_ file: String) -> String {
        URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
    }

    mutating func read(_ file: String) -> (node: JSONNode, bytes: [UInt8])? {
        let url = URL(fileURLWithPath: root).appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            problem(file, SourceLocation(line: 1, column: 1), "cannot read the file")
            return nil
        }
        let text = String(decoding: data, as: UTF8.self)
        do {
            return (try DocumentReader.read(text, fileName: file), Array(data))
        } catch {
            problem(file, error.location, "syntax error: \(error.message)")
            return nil
        }
    }

    /// Parses and validates a policy file; validation errors are problems.
    mutating func policy(_ file: String, type: PolicyType) -> NamedPolicy? {
        guard let (node, bytes) = read(file) else { return nil }
        // Validate the JSON form so sizes and positions refer to the file as written.
        if file.hasSuffix(".json") {
            for finding in validator.validate(bytes: bytes, type: type) where finding.severity == .error {
                problem(file, finding.location, "\(finding.code.rawValue): \(finding.message) [\(finding.path)]")
            }
        }
        do {
            return NamedPolicy(id: file, policy: try PolicyParser.parse(node: node))
        } catch {
            if !file.hasSuffix(".json") { problem(file, error.location, "\(error.code.rawValue): \(error.message) [\(error.path)]") }
            return nil
        }
    }

    mutating func load() -> Workspace {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            problem(".", SourceLocation(line: 1, column: 1), "\(root) is not a directory")
            return workspace
        }
        loadSCPs()
        let orgFile = documents(in: "").first { stem($0) == "organization" }
        if let orgFile { loadOrganization(orgFile) }
        for accountDir in entries(of: "accounts").sorted() {
            loadAccount(accountDir)
        }
        if orgFile != nil { checkTree() }
        workspace.problems.sort { ($0.file, $0.location.line, $0.location.column) < ($1.file, $1.location.line, $1.location.column) }
        return workspace
    }

    mutating func loadSCPs() {
        workspace.scps["FullAccess"] = NamedPolicy(id: "FullAccess", policy: Workspace.fullAccess)
        for file in documents(in: "scps") {
            let name = stem(file)
            if name == "FullAccess" {
                problem(file, SourceLocation(line: 1, column: 1), "FullAccess is built in; give this SCP another name")
                continue
            }
            if let policy = policy(file, type: .scp) { workspace.scps[name] = policy }
        }
    }

    mutating func loadOrganization(_ file: String) {
        guard let (node, _) = read(file) else { return }
        let doc = Fields(node)
        let org = Fields(doc["organization"])
        workspace.organizationID = org.string("id") ?? "o-1"
        let rootID = org.string("rootId") ?? "r-1"
        workspace.managementAccount = org.string("managementAccount")
        workspace.scpsEnabled = org.bool("scpsEnabled") ?? true
        workspace.nodes["root"] = OrganizationNode(kind: .root, name: "root", id: rootID, parent: nil)
        for (kind, key) in [(OrganizationNode.Kind.ou, "ous"), (.account, "accounts")] {
            for item in doc.array(key) {
                let f = Fields(item)
                guard let name = f.string("name") else {
                    problem(file, item.location, "\(kind == .ou ? "an OU" : "an account") needs a name")
                    continue
                }
                if workspace.nodes[name] != nil {
                    problem(file, item.location, "duplicate name \"\(name)\" in the organization tree")
                    continue
                }
                let id = f.string("id") ?? (kind == .ou ? "ou-\(name)" : name)
                workspace.nodes[name] = OrganizationNode(kind: kind, name: name, id: id, parent: f.string("parent") ?? "root")
                nodeLocations[name] = item.location
            }
        }
        orgFileName = file
        if let management = workspace.managementAccount, workspace.nodes[management]?.kind != .account {
            problem(file, org.location("managementAccount"), "managementAccount \"\(management)\" is not an account of the tree")
        }
        // FullAccess is attached everywhere once SCPs are enabled, unless detached.
        let detached = Set(doc.array("detachFullAccess").compactMap { Fields.stringValue($0) })
        if workspace.scpsEnabled {
            for name in workspace.nodes.keys where !detached.contains(name) { workspace.attachments[name, default: []].append("FullAccess") }
        }
        for item in doc.array("scpAttachments") {
            let f = Fields(item)
            guard let scp = f.string("scp") else {
                problem(file, item.location, "an attachment needs scp")
                continue
            }
            if workspace.scps[scp] == nil {
                problem(file, f.location("scp"), "unknown SCP \"\(scp)\"; known: \(workspace.scps.keys.sorted().joined(separator: ", "))")
            }
            for target in f.array("targets") {
                guard let name = Fields.stringValue(target) else { continue }
                if workspace.nodes[name] == nil {
                    problem(file, target.location, "unknown attachment target \"\(name)\"")
                } else if !(workspace.attachments[name] ?? []).contains(scp) {
                    workspace.attachments[name, default: []].append(scp)
                }
            }
        }
    }

    var nodeLocations: [String: SourceLocation] = [:]
    var orgFileName = "organization.yaml"

    /// Parents exist, no cycles, OUs at most 5 deep, every node has an SCP.
    mutating func checkTree() {
        for (name, node) in workspace.nodes.sorted(by: { $0.key < $1.key }) where node.kind != .root {
            let at = nodeLocations[name] ?? SourceLocation(line: 1, column: 1)
            guard let parent = node.parent, let parentNode = workspace.nodes[parent] else {
                problem(orgFileName, at, "\"\(name)\" has unknown parent \"\(node.parent ?? "")\"")
                continue
            }
            if parentNode.kind == .account {
                problem(orgFileName, at, "\"\(name)\" has an account (\"\(parent)\") as parent")
            }
            var seen: Set<String> = [name]
            var current = node.parent
            var ouDepth = node.kind == .ou ? 1 : 0
            var cycle = false
            while let c = current, let n = workspace.nodes[c], n.kind != .root {
                if !seen.insert(c).inserted {
                    cycle = true
                    break
                }
                if n.kind == .ou { ouDepth += 1 }
                current = n.parent
            }
            if cycle {
                problem(orgFileName, at, "\"\(name)\" is in a cycle of parents")
            } else if ouDepth > Workspace.maxOUDepth {
                problem(orgFileName, at, "\"\(name)\" is \(ouDepth) OU levels deep; Organizations allows \(Workspace.maxOUDepth)")
            }
            if workspace.scpsEnabled && (workspace.attachments[name] ?? []).isEmpty && name != workspace.managementAccount {
                problem(orgFileName, at, "no SCP is attached to \"\(name)\", so nothing below it is allowed")
            }
        }
    }

    mutating func loadAccount(_ directory: String) {
        var iam = AccountIAM(name: directory)
        for file in documents(in: "accounts/\(directory)/policies") {
            let name = stem(file)
            if iam.policies[name] != nil {
                problem(file, SourceLocation(line: 1, column: 1), "duplicate policy name \"\(name)\"")
                continue
            }
            if let p = policy(file, type: .identity) { iam.policies[name] = p }
        }
        guard let file = documents(in: "accounts/\(directory)").first(where: { stem($0) == "account" }),
            let (node, _) = read(file)
        else {
            workspace.accounts[directory] = iam
            return
        }
        let doc = Fields(node)
        func policyNames(_ f: Fields, owner: String) -> [String] {
            f.array("policies").compactMap { item in
                guard let name = Fields.stringValue(item) else { return nil }
                if iam.policies[name] == nil {
                    problem(file, item.location, "\(owner) names unknown policy \"\(name)\" (policies live in accounts/\(directory)/policies/)")
                }
                return name
            }
        }
        for item in doc.array("groups") {
            let f = Fields(item)
            guard let name = f.string("name") else { continue }
            if iam.groups[name] != nil { problem(file, item.location, "duplicate group \"\(name)\"") }
            iam.groups[name] = policyNames(f, owner: "group \(name)")
        }
        var names: Set<String> = []
        for (kind, key) in [(Principal.Kind.user, "users"), (.agency, "agencies")] {
            for item in doc.array(key) {
                let f = Fields(item)
                guard let name = f.string("name") else {
                    problem(file, item.location, "a \(kind.rawValue) needs a name")
                    continue
                }
                if !names.insert("\(kind.rawValue):\(name)").inserted { problem(file, item.location, "duplicate \(kind.rawValue) \"\(name)\"") }
                let groups = f.array("groups").compactMap { g -> String? in
                    guard let group = Fields.stringValue(g) else { return nil }
                    if iam.groups[group] == nil { problem(file, g.location, "\(kind.rawValue) \(name) is in unknown group \"\(group)\"") }
                    return group
                }
                iam.principals.append(
                    Principal(kind: kind, name: name, id: f.string("id") ?? name, account: directory,
                              policies: policyNames(f, owner: "\(kind.rawValue) \(name)"), groups: groups))
            }
        }
        if workspace.nodes[directory] == nil && !workspace.nodes.isEmpty {
            problem(file, node.location, "account folder \"\(directory)\" is not an account of the organization tree")
        }
        workspace.accounts[directory] = iam
    }
}

/// Small helpers for reading object fields from a located tree.
struct Fields {
    let members: [JSONMember]
    let node: JSONNode?

    init(_ node: JSONNode?) {
        self.node = node
        if case .object(let m) = node?.value { members = m } else { members = [] }
    }

    subscript(_ key: String) -> JSONNode? { members.first { $0.key == key }?.value }

    func string(_ key: String) -> String? { self[key].flatMap(Fields.stringValue) }

    func bool(_ key: String) -> Bool? {
        if case .bool(let b) = self[key]?.value { return b }
        return nil
    }

    func array(_ key: String) -> [JSONNode] {
        if case .array(let items) = self[key]?.value { return items }
        return []
    }

    func location(_ key: String) -> SourceLocation {
        members.first { $0.key == key }?.value.location ?? node?.location ?? SourceLocation(line: 1, column: 1)
    }

    static func stringValue(_ node: JSONNode) -> String? {
        switch node.value {
        case .string(let s): s
        case .number(let n): n
        default: nil
        }
    }
}
