public import BulwarkCatalog
import BulwarkEngine
public import BulwarkJSON
public import BulwarkOrganization
import BulwarkPolicy
import BulwarkValidation
import Foundation

/// An organization described as code: a folder of YAML/JSON files read into an
/// `Organization`, with every problem found on the way. Built by `Workspace.load(directory:)`.
/// Its organization's fields read through it (`workspace.accounts`).
@dynamicMemberLookup
public struct Workspace: Sendable {
    /// Where it came from (a folder).
    public let root: String
    public var organization = Organization()
    public var problems: [WorkspaceProblem] = []
    /// Every policy file read (identity, SCP and trust policies), path → its document as JSON
    /// text: a JSON file exactly as written, a YAML file rewritten as JSON. What a store keeps.
    public var documents: [String: String] = [:]

    /// An empty workspace.
    public init(root: String) { self.root = root }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<Organization, T>) -> T {
        get { organization[keyPath: keyPath] }
        set { organization[keyPath: keyPath] = newValue }
    }
}

/// Something wrong in a workspace, with where it is.
public struct WorkspaceProblem: LocatedError, Sendable, Hashable {
    /// File relative to the workspace root.
    public let file: String
    /// What and where in the file.
    public let diagnostic: Diagnostic

    public init(file: String, location: SourceLocation, message: String, path: JSONPath = .root) {
        self.file = file
        diagnostic = Diagnostic(message: message, path: path, location: location)
    }

    public var description: String { "\(file):\(location.line):\(location.column): \(message)" }
}

extension Workspace {
    /// Loads a workspace directory, collecting every problem instead of stopping at the first.
    ///
    /// Layout: `organization.yaml` (or `.json`), `scps/NAME.json|yaml`,
    /// `accounts/ACCOUNT/account.yaml`, `accounts/ACCOUNT/policies/NAME.json|yaml` and
    /// `accounts/ACCOUNT/trust-policies/NAME.json|yaml` (agencies' trust policies).
    public static func load(directory: String, catalog: Catalog) -> Workspace {
        var loader = WorkspaceLoader(source: .directory(directory), validator: PolicyValidator(catalog: catalog))
        return loader.load()
    }

    /// Loads a workspace given as files in memory: relative path (`organization.yaml`,
    /// `accounts/dev/account.yaml`, …) → contents, the layout of `load(directory:)`. A path
    /// that is absolute, has an empty, `.` or `..` component, or is not in the layout is a problem.
    public static func load(files: [String: [UInt8]], catalog: Catalog) -> Workspace {
        var loader = WorkspaceLoader(source: .files(files), validator: PolicyValidator(catalog: catalog))
        return loader.load()
    }
}

/// Where a workspace's files come from.
private enum WorkspaceSource {
    case directory(String)
    case files([String: [UInt8]])

    var name: String {
        switch self {
        case .directory(let root): root
        case .files: "(request body)"
        }
    }
}

private struct WorkspaceLoader {
    let source: WorkspaceSource
    let validator: PolicyValidator
    var workspace: Workspace

    init(source: WorkspaceSource, validator: PolicyValidator) {
        self.source = source
        self.validator = validator
        self.workspace = Workspace(root: source.name)
    }

    mutating func problem(_ file: String, _ location: SourceLocation, _ message: String) {
        workspace.problems.append(WorkspaceProblem(file: file, location: location, message: message))
    }

    /// The entries of a folder of the workspace: none when it does not exist; a problem
    /// (never a quiet "none") when it exists but cannot be read.
    mutating func entries(of folder: String) -> [String] {
        let root: String
        switch source {
        case .directory(let directory): root = directory
        case .files(let files):
            // The next path component of every file below `folder`, once each.
            let prefix = folder.isEmpty ? "" : folder + "/"
            return Array(
                Set(files.keys.filter { $0.hasPrefix(prefix) }.compactMap { $0.dropFirst(prefix.count).split(separator: "/").first.map(String.init) })
            )
        }
        let path = URL(fileURLWithPath: root).appendingPathComponent(folder).path
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        do { return try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            problem(folder.isEmpty ? "." : folder, SourceLocation(line: 1, column: 1), "cannot list the folder: \(error.localizedDescription)")
            return []
        }
    }

    /// Files of a folder with one of the accepted extensions, sorted, one per name: a second
    /// file with the same name and another extension (`p.json` and `p.yaml`) is a problem,
    /// never silently read or left out.
    mutating func documents(in folder: String) -> [String] {
        let names = entries(of: folder)
        let files = names.filter { $0.hasSuffix(".json") || $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            .map { folder.isEmpty ? $0 : folder + "/" + $0 }
        var first: [String: String] = [:]
        return files.filter { file in
            if let earlier = first[stem(file)] {
                problem(file, SourceLocation(line: 1, column: 1), "duplicate name \"\(stem(file))\": \(earlier) has it too")
                return false
            }
            first[stem(file)] = file
            return true
        }
    }

    /// A relative path of the layout (`tests/` files are accepted and not read).
    static func inLayout(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
            let last = parts.last, last.hasSuffix(".json") || last.hasSuffix(".yaml") || last.hasSuffix(".yml")
        else { return false }
        switch parts.count {
        case 1: return true
        case 2: return parts[0] == "scps" || parts[0] == "tests"
        case 3: return parts[0] == "accounts"
        case 4: return parts[0] == "accounts" && (parts[2] == "policies" || parts[2] == "trust-policies")
        default: return false
        }
    }

    func stem(_ file: String) -> String {
        URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
    }

    mutating func read(_ file: String) -> (node: JSONNode, bytes: [UInt8])? {
        let data: [UInt8]
        switch source {
        case .directory(let root):
            guard let contents = FileManager.default.contents(atPath: URL(fileURLWithPath: root).appendingPathComponent(file).path) else {
                problem(file, SourceLocation(line: 1, column: 1), "cannot read the file")
                return nil
            }
            data = Array(contents)
        case .files(let files):
            guard let contents = files[file] else {
                problem(file, SourceLocation(line: 1, column: 1), "cannot read the file")
                return nil
            }
            data = contents
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
        if file.hasSuffix(".json") {
            workspace.documents[file] = String(decoding: bytes, as: UTF8.self)
        } else {
            var writer = JSONWriter()
            writer.value(node.value)
            workspace.documents[file] = writer.text
        }
        do {
            return NamedPolicy(id: file, policy: try PolicyParser.parse(node: node, grammar: type == .trust ? .trust : .identity))
        } catch {
            if !file.hasSuffix(".json") { problem(file, error.location, "\(error.code.rawValue): \(error.message) [\(error.path)]") }
            return nil
        }
    }

    mutating func load() -> Workspace {
        switch source {
        case .directory(let root):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                problem(".", SourceLocation(line: 1, column: 1), "\(root) is not a directory")
                return workspace
            }
        case .files(let files):
            for path in files.keys.sorted() where !Self.inLayout(path) {
                problem(
                    path.isEmpty ? "\"\" (an empty path)" : path, SourceLocation(line: 1, column: 1),
                    "not a file of the workspace layout (organization.yaml, scps/NAME, accounts/ACCOUNT/account.yaml, accounts/ACCOUNT/policies/NAME, accounts/ACCOUNT/trust-policies/NAME; .json, .yaml or .yml)"
                )
            }
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
        workspace.scps["FullAccess"] = NamedPolicy(id: "FullAccess", policy: Organization.fullAccess)
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

    /// A principal's `tags: {KEY: VALUE}`, with Huawei's bounds on keys and values.
    mutating func tags(_ f: Fields, owner: String, file: String) -> [String: String] {
        guard let node = f["tags"] else { return [:] }
        guard case .object(let members) = node.value else {
            problem(file, node.location, "tags of \(owner) must be a map of KEY: VALUE")
            return [:]
        }
        var tags: [String: String] = [:]
        var seen: Set<String> = []
        for member in members {
            guard let value = Fields.stringValue(member.value) else {
                problem(file, member.value.location, "tag \"\(member.key)\" of \(owner) must have a string value")
                continue
            }
            if member.key.isEmpty || member.key.count > SessionRequest.maxTagKeyLength || value.count > SessionRequest.maxTagValueLength {
                problem(
                    file, member.value.location,
                    "tag \"\(member.key)\" of \(owner): a key has 1 to \(SessionRequest.maxTagKeyLength) characters, a value at most \(SessionRequest.maxTagValueLength)"
                )
                continue
            }
            if !seen.insert(CaseFolding.lowercase(member.key)).inserted {
                problem(file, member.value.location, "duplicate tag \"\(member.key)\" of \(owner) (tag keys ignore case)")
                continue
            }
            tags[member.key] = value
        }
        return tags
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
            } else if ouDepth > Organization.maxOUDepth {
                problem(orgFileName, at, "\"\(name)\" is \(ouDepth) OU levels deep; Organizations allows \(Organization.maxOUDepth)")
            }
            let attached = workspace.attachments[name] ?? []
            if attached.count > Organization.maxSCPsPerNode {
                problem(
                    orgFileName, at,
                    "\(attached.count) SCPs are attached to \"\(name)\"; Organizations allows \(Organization.maxSCPsPerNode) per node")
            }
            if workspace.scpsEnabled && attached.isEmpty && name != workspace.managementAccount {
                problem(orgFileName, at, "no SCP is attached to \"\(name)\", so nothing below it is allowed")
            }
        }
    }

    mutating func loadAccount(_ directory: String) {
        var iam = AccountIAM(name: directory)
        for file in documents(in: "accounts/\(directory)/policies") {
            if let p = policy(file, type: .identity) { iam.policies[stem(file)] = p }
        }
        for file in documents(in: "accounts/\(directory)/trust-policies") {
            if let p = policy(file, type: .trust) { iam.trustPolicies[stem(file)] = p }
        }
        guard let file = documents(in: "accounts/\(directory)").first(where: { stem($0) == "account" }),
            let (node, _) = read(file)
        else {
            workspace.accounts[directory] = iam
            return
        }
        let doc = Fields(node)
        func policyNames(_ f: Fields, owner: String) -> [String] {
            let items = f.array("policies")
            if items.count > Organization.maxPoliciesPerPrincipal {
                problem(
                    file, f.location("policies"),
                    "\(owner) has \(items.count) identity policies attached; Huawei allows \(Organization.maxPoliciesPerPrincipal) per user, group or agency (20 on request)"
                )
            }
            return items.compactMap { item in
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
                let trustPolicy = f.string("trustPolicy")
                if let trustPolicy {
                    if kind != .agency {
                        problem(file, f.location("trustPolicy"), "trustPolicy belongs to agencies; user \(name) is assumed by nobody")
                    } else if iam.trustPolicies[trustPolicy] == nil {
                        problem(
                            file, f.location("trustPolicy"),
                            "agency \(name) names unknown trust policy \"\(trustPolicy)\" (trust policies live in accounts/\(directory)/trust-policies/)"
                        )
                    }
                }
                var maxSessionDuration: Int?
                if f["maxSessionDuration"] != nil {
                    let seconds = f.string("maxSessionDuration").flatMap { Int($0) }
                    if kind != .agency {
                        problem(file, f.location("maxSessionDuration"), "maxSessionDuration belongs to agencies")
                    } else if let seconds, Principal.sessionDurationRange.contains(seconds) {
                        maxSessionDuration = seconds
                    } else {
                        problem(
                            file, f.location("maxSessionDuration"),
                            "maxSessionDuration of agency \(name) must be a number of seconds from 3600 to 43200")
                    }
                }
                iam.put(
                    Principal(
                        kind: kind, name: name, id: f.string("id") ?? name, account: directory,
                        policies: policyNames(f, owner: "\(kind.rawValue) \(name)"), groups: groups,
                        tags: tags(f, owner: "\(kind.rawValue) \(name)", file: file), trustPolicy: trustPolicy,
                        maxSessionDuration: maxSessionDuration))
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
