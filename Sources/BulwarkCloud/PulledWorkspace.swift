public import BulwarkCatalog
import BulwarkJSON
import BulwarkOrganization
import BulwarkWorkspace
import Foundation

/// A pulled organization written as the workspace of SPEC §5: the same cloud state gives the
/// same bytes (everything sorted, no timestamps), so `git diff` of two pulls shows what changed.
/// Huawei's ids are kept next to the names (`id`, `scpIds`, `policyIds`) for `bulwark plan`.
public enum PulledWorkspace {
    /// Relative path → contents.
    public static func files(of pulled: PulledOrganization) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        let accountFolders = folderNames(pulled)
        if let tree = pulled.tree {
            var yaml = YAMLText()
            yaml.comment("Pulled from Huawei Cloud by `bulwark pull`. Ids are Huawei's; `bulwark plan` names what it changes by them.")
            for (account, reason) in pulled.unread.sorted(by: { $0.account < $1.account }) {
                yaml.comment("Not read: \(account): \(reason)")
            }
            // Node names are unique in a workspace; Huawei's OU names only among siblings.
            var nodeNames: [String: String] = [tree.rootID: "root"]
            var taken: Set<String> = ["root"]
            for account in tree.accounts.sorted(by: { $0.id < $1.id }) {
                nodeNames[account.id] = accountFolders[account.id]
                taken.insert(accountFolders[account.id]!)
            }
            for unit in tree.units.sorted(by: { $0.id < $1.id }) {
                let name = taken.contains(unit.name) ? "\(unit.name)-\(unit.id)" : unit.name
                nodeNames[unit.id] = name
                taken.insert(name)
            }
            yaml.line("organization:")
            yaml.field("id", tree.id, indent: 1)
            yaml.field("rootId", tree.rootID, indent: 1)
            yaml.field("managementAccount", nodeNames[tree.managementAccount] ?? tree.managementAccount, indent: 1)
            yaml.line("  scpsEnabled: \(tree.scpsEnabled)")
            for (key, nodes) in [("ous", tree.units), ("accounts", tree.accounts)] where !nodes.isEmpty {
                yaml.line("")
                yaml.line("\(key):")
                for node in nodes.sorted(by: { nodeNames[$0.id]! < nodeNames[$1.id]! }) {
                    yaml.item("name", nodeNames[node.id]!)
                    yaml.field("id", node.id, indent: 2)
                    yaml.field("parent", nodeNames[node.parent] ?? node.parent, indent: 2)
                }
            }
            if tree.scpsEnabled {
                let fullAccess = tree.scps.filter(\.builtIn).map(\.id)
                let detached = ([tree.rootID] + tree.units.map(\.id) + tree.accounts.map(\.id))
                    .filter { node in !fullAccess.contains { tree.attachments[$0]?.contains(node) == true } }
                    .map { nodeNames[$0]! }.sorted()
                if !detached.isEmpty {
                    yaml.line("")
                    yaml.list("detachFullAccess", detached, indent: 0)
                }
                let scpNames = fileNames(tree.scps.filter { !$0.builtIn }.map { ($0.id, $0.name) })
                let custom = tree.scps.filter { !$0.builtIn }.sorted { scpNames[$0.id]! < scpNames[$1.id]! }
                if !custom.isEmpty {
                    yaml.line("")
                    yaml.line("scpAttachments:")
                    for scp in custom {
                        yaml.item("scp", scpNames[scp.id]!)
                        yaml.list("targets", (tree.attachments[scp.id] ?? []).compactMap { nodeNames[$0] }.sorted(), indent: 2)
                    }
                    for scp in custom { files["scps/\(scpNames[scp.id]!).json"] = Array(PrettyJSON.text(scp.content).utf8) }
                }
            }
            if tree.scpsEnabled {
                let scpNames = fileNames(tree.scps.filter { !$0.builtIn }.map { ($0.id, $0.name) })
                let named = tree.scps.map { ($0.builtIn ? "FullAccess" : scpNames[$0.id]!, $0.id) }.sorted { $0.0 < $1.0 }
                if !named.isEmpty {
                    yaml.line("")
                    yaml.line("scpIds:")
                    for (name, id) in named { yaml.field(name, id, indent: 1) }
                }
            }
            files["organization.yaml"] = Array(yaml.text.utf8)
        }
        for (account, iam) in pulled.iam {
            let folder = "accounts/" + accountFolders[account]!
            let policyNames = fileNames(iam.policies.map { ($0.id, $0.name) })
            // A name from the cloud never becomes a path as it is: `../x` would write outside the folder.
            let trustNames = fileNames(iam.agencies.map { ($0.id, $0.name) })
            var yaml = YAMLText()
            yaml.comment("IAM of account \(pulled.accountNames[account] ?? account) (\(account)), pulled by `bulwark pull`.")
            func policies(of id: String) -> [String] { (iam.attached[id] ?? []).compactMap { policyNames[$0] }.sorted() }
            let groupNames = Dictionary(uniqueKeysWithValues: iam.groups.map { ($0.id, $0.name) })
            if !iam.groups.isEmpty {
                yaml.line("groups:")
                for group in iam.groups.sorted(by: { $0.name < $1.name }) {
                    yaml.item("name", group.name)
                    yaml.field("id", group.id, indent: 2)
                    yaml.list("policies", policies(of: group.id), indent: 2)
                }
            }
            for (key, principals) in [("users", iam.users), ("agencies", iam.agencies)] where !principals.isEmpty {
                yaml.line("\(key):")
                for principal in principals.sorted(by: { $0.name < $1.name }) {
                    yaml.item("name", principal.name)
                    yaml.field("id", principal.id, indent: 2)
                    if !principal.groups.isEmpty { yaml.list("groups", principal.groups.compactMap { groupNames[$0] }.sorted(), indent: 2) }
                    yaml.list("policies", policies(of: principal.id), indent: 2)
                    if principal.trustPolicy != nil { yaml.field("trustPolicy", trustNames[principal.id]!, indent: 2) }
                    if let duration = principal.maxSessionDuration { yaml.line("    maxSessionDuration: \(duration)") }
                    if !principal.tags.isEmpty {
                        yaml.line("    tags:")
                        for (key, value) in principal.tags.sorted(by: { $0.key < $1.key }) { yaml.field(key, value, indent: 3) }
                    }
                }
            }
            if !iam.policies.isEmpty {
                yaml.line("policyIds:")
                for policy in iam.policies.sorted(by: { policyNames[$0.id]! < policyNames[$1.id]! }) {
                    yaml.field(policyNames[policy.id]!, policy.id, indent: 1)
                }
            }
            let system = iam.policies.filter(\.system).map { policyNames[$0.id]! }.sorted()
            if !system.isEmpty { yaml.list("systemPolicies", system, indent: 0) }
            files["\(folder)/account.yaml"] = Array(yaml.text.utf8)
            for policy in iam.policies { files["\(folder)/policies/\(policyNames[policy.id]!).json"] = Array(PrettyJSON.text(policy.document).utf8) }
            for agency in iam.agencies {
                if let trust = agency.trustPolicy {
                    files["\(folder)/trust-policies/\(trustNames[agency.id]!).json"] = Array(PrettyJSON.text(trust).utf8)
                }
            }
        }
        return files
    }

    /// What of `pulled` the files do not read back as: principals, their ids, tags and groups,
    /// groups and policy names, per account. Empty when the workspace says what the cloud holds;
    /// a pull that cannot write a name faithfully must not pretend it did.
    public static func mismatches(_ files: [String: [UInt8]], of pulled: PulledOrganization, catalog: Catalog) -> [String] {
        let workspace = Workspace.load(files: files, catalog: catalog)
        let folders = folderNames(pulled)
        var problems: [String] = []
        for (account, iam) in pulled.iam.sorted(by: { $0.key < $1.key }) {
            let name = pulled.accountNames[account] ?? account
            guard let read = workspace.accounts[folders[account]!] else {
                problems.append("account \(name): its folder does not read back")
                continue
            }
            let groupNames = Dictionary(uniqueKeysWithValues: iam.groups.map { ($0.id, $0.name) })
            for (kind, principals) in [(Principal.Kind.user, iam.users), (.agency, iam.agencies)] {
                for principal in principals {
                    guard let back = read.principal(kind, named: principal.name), back.id == principal.id, back.tags == principal.tags,
                        Set(back.groups) == Set(principal.groups.compactMap { groupNames[$0] })
                    else {
                        problems.append("account \(name): \(kind.rawValue) \(Excerpt.of(principal.name)) does not read back as the cloud has it")
                        continue
                    }
                }
            }
            if Set(read.groups.keys) != Set(iam.groups.map(\.name)) { problems.append("account \(name): its groups do not read back") }
        }
        return problems
    }

    /// Account id → its folder: the account's name when it is a safe, unique file name, else its id.
    static func folderNames(_ pulled: PulledOrganization) -> [String: String] {
        let ids = Set(pulled.accountNames.keys).union(pulled.iam.keys).union(pulled.tree?.accounts.map(\.id) ?? [])
        return fileNames(ids.map { ($0, pulled.accountNames[$0] ?? $0) })
    }

    /// id → a file name for each (id, name): the name when it is safe and unique, else
    /// `name-id`; the id when the name is not safe; a hash of the id when neither is. Names and
    /// ids come from the cloud: none becomes a path component unchecked.
    static func fileNames(_ items: [(id: String, name: String)]) -> [String: String] {
        func safeID(_ id: String) -> String { isSafe(id) ? id : "id-" + fnv1a(id) }
        var count: [String: Int] = [:]
        for item in items where isSafe(item.name) { count[item.name, default: 0] += 1 }
        var names: [String: String] = [:]
        for item in items {
            guard isSafe(item.name) else {
                names[item.id] = safeID(item.id)
                continue
            }
            names[item.id] = count[item.name]! > 1 ? "\(item.name)-\(safeID(item.id))" : item.name
        }
        return names
    }

    /// 64-bit FNV-1a in hex: a stable short name for text that cannot be a file name.
    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128 && name != "." && name != ".." && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.@".unicodeScalars.contains($0) }
    }

    /// What a pull owns in a workspace folder; everything else there (`.git`, `tests/`,
    /// `catalogs/`, a README) is the user's and is never touched.
    static let ownedEntries = ["organization.yaml", "organization.yml", "organization.json", "scps", "accounts"]

    /// Writes `files` as the workspace `directory`, replacing only what a pull owns
    /// (`StagedWrite`): a failed pull leaves the folder as it was, and its other files stay.
    public static func write(_ files: [String: [UInt8]], into directory: String) throws(CloudError) {
        try StagedWrite.write(files, into: directory, owning: ownedEntries, what: "the workspace")
    }
}

/// A small YAML writer for the workspace's shapes; strings are quoted whenever YAML could
/// read them as something else.
struct YAMLText {
    private(set) var text = ""

    mutating func line(_ line: String) { text += line + "\n" }
    /// A comment; what a YAML reader would take as a line break or could not read becomes U+FFFD,
    /// so text from the cloud can never end the comment and start YAML of its own.
    mutating func comment(_ comment: String) {
        let scalars = comment.unicodeScalars.map { Self.isPrintable($0) && !Self.isBreak($0) ? $0 : "\u{FFFD}" }
        line("# " + String(String.UnicodeScalarView(scalars)))
    }

    /// YAML's printable characters (tab, line feed and return included).
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x9, 0xA, 0xD, 0x20...0x7E, 0x85, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: c.value != 0xFEFF
        default: false
        }
    }

    /// What YAML reads as a line break.
    static func isBreak(_ c: Unicode.Scalar) -> Bool { [0xA, 0xD, 0x85, 0x2028, 0x2029].contains(c.value) }

    mutating func field(_ key: String, _ value: String, indent: Int) {
        line(String(repeating: "  ", count: indent) + Self.scalar(key) + ": " + Self.scalar(value))
    }

    /// `  - key: value`, the first field of a list item.
    mutating func item(_ key: String, _ value: String) { line("  - " + Self.scalar(key) + ": " + Self.scalar(value)) }

    mutating func list(_ key: String, _ values: [String], indent: Int) {
        line(String(repeating: "  ", count: indent) + key + ": [" + values.map(Self.scalar).joined(separator: ", ") + "]")
    }

    static func scalar(_ text: String) -> String {
        let plain =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_./@".unicodeScalars.contains($0) }
            && !text.hasPrefix("-") && !text.hasPrefix(".") && !text.hasPrefix("@")
            && Double(text) == nil && !["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"].contains(text.lowercased())
            && !text.allSatisfy(\.isNumber) && !(text.first?.isNumber == true && text.contains { $0 == "e" || $0 == "E" })
        if plain { return text }
        var writer = JSONWriter()
        writer.string(text)
        // A JSON string is a YAML double-quoted one, except that YAML folds its other line breaks
        // (U+0085, U+2028, U+2029), drops a byte-order mark and refuses unprintable characters: escape them.
        var quoted = ""
        for c in writer.text.unicodeScalars {
            if isPrintable(c) && !isBreak(c) || c == "\n" {
                quoted.unicodeScalars.append(c)
            } else if c.value <= 0xFFFF {
                let hex = String(c.value, radix: 16)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                let hex = String(c.value, radix: 16)
                quoted += "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
            }
        }
        return quoted
    }
}

/// A JSON document indented by two spaces, keys in their order, lists of plain values on one
/// line; text that is not JSON is written as it came (the workspace's loader reports it).
enum PrettyJSON {
    static func text(_ document: String) -> String {
        var reader = JSONReader(bytes: Array(document.utf8))
        guard let node = try? reader.readDocument() else { return document.hasSuffix("\n") ? document : document + "\n" }
        var out = ""
        write(node.value, indent: 0, into: &out)
        return out + "\n"
    }

    private static func write(_ value: JSONValue, indent: Int, into out: inout String) {
        let pad = String(repeating: "  ", count: indent + 1)
        switch value {
        case .array(let items) where items.allSatisfy({ !$0.value.isContainer }):
            out += "[" + items.map { scalar($0.value) }.joined(separator: ", ") + "]"
        case .array(let items):
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                write(item.value, indent: indent + 1, into: &out)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += String(repeating: "  ", count: indent) + "]"
        case .object(let members) where members.isEmpty:
            out += "{}"
        case .object(let members):
            out += "{\n"
            for (i, member) in members.enumerated() {
                out += pad + scalar(.string(member.key)) + ": "
                write(member.value.value, indent: indent + 1, into: &out)
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += String(repeating: "  ", count: indent) + "}"
        default:
            out += scalar(value)
        }
    }

    private static func scalar(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.value(value)
        return writer.text
    }
}

extension JSONValue {
    fileprivate var isContainer: Bool {
        switch self {
        case .array, .object: true
        default: false
        }
    }
}
