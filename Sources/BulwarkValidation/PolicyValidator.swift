public import BulwarkCatalog
import BulwarkJSON
import BulwarkPolicy

/// Checks policies against the grammar, the catalogs and the rules of SPEC §6.
///
/// Pure: give it bytes, get findings sorted by position. Statements that parse
/// are checked even when other parts of the policy have grammar errors.
public struct PolicyValidator: Sendable {
    public let catalog: Catalog
    /// Identity policies may be at most this many bytes.
    public static let identitySizeLimit = 6_144
    /// SCPs may be at most this many characters (Unicode scalars).
    public static let scpSizeLimit = 5_120

    private let actionIndex: ActionIndex

    public init(catalog: Catalog) {
        self.catalog = catalog
        self.actionIndex = ActionIndex(catalog: catalog)
    }

    /// Validates a policy given as text.
    public func validate(_ text: String, type: PolicyType) -> [Finding] {
        validate(bytes: Array(text.utf8), type: type)
    }

    /// Validates a policy document as given (its size is measured on these bytes).
    public func validate(bytes: [UInt8], type: PolicyType) -> [Finding] {
        var findings: [Finding] = []
        let start = SourceLocation(line: 1, column: 1)
        switch type {
        case .identity where bytes.count > Self.identitySizeLimit:
            findings.append(
                Finding(
                    code: .policyTooLarge, message: "the identity policy is \(bytes.count) bytes; the limit is \(Self.identitySizeLimit)",
                    path: .root, location: start))
        case .scp:
            let characters = String(decoding: bytes, as: UTF8.self).unicodeScalars.count
            if characters > Self.scpSizeLimit {
                findings.append(
                    Finding(
                        code: .policyTooLarge, message: "the SCP is \(characters) characters; the limit is \(Self.scpSizeLimit)", path: .root,
                        location: start))
            }
        default:
            break
        }
        var reader = JSONReader(bytes: bytes, limits: JSONLimits(maxDepth: 64, maxBytes: PolicyParser.maxDocumentBytes))
        let node: JSONNode
        do {
            node = try reader.readDocument()
        } catch {
            findings.append(Finding(code: .jsonSyntaxError, message: error.message, path: error.path, location: error.location))
            return findings
        }
        findings += emptyContainers(node, path: .root)
        let (statements, errors) = PolicyParser.diagnoseStatements(node: node, grammar: type == .trust ? .trust : .identity)
        for error in errors {
            var code = FindingCode(rawValue: error.code.rawValue) ?? .invalidPolicyElement
            if type == .scp && code == .unsupportedPrincipal { code = .scpUnsupportedElement }
            findings.append(Finding(code: code, message: error.message, path: error.path, location: error.location))
        }
        var checker = StatementChecker(catalog: catalog, index: actionIndex, type: type)
        for statement in statements { checker.check(statement) }
        // Trust statements differ by principal, which redundancy does not compare.
        if type != .trust { checker.checkRedundancy(statements) }
        findings += checker.findings
        return findings.sorted {
            ($0.location.line, $0.location.column, $0.code.rawValue) < ($1.location.line, $1.location.column, $1.code.rawValue)
        }
    }

    /// EMPTY_ARRAY / EMPTY_OBJECT anywhere below the root (an empty Statement is MISSING_STATEMENT instead).
    /// The path is kept as one stack and turned into a `JSONPath` only for a finding.
    private func emptyContainers(_ node: JSONNode, path: JSONPath) -> [Finding] {
        var out: [Finding] = []
        var stack = path.components
        walkEmpty(node, &stack, &out)
        return out
    }

    private func walkEmpty(_ node: JSONNode, _ stack: inout [JSONPathComponent], _ out: inout [Finding]) {
        switch node.value {
        case .array(let items):
            if items.isEmpty && !stack.isEmpty && stack != [.key("Statement")] {
                out.append(
                    Finding(
                        code: .emptyArray, message: "\(describe(stack.last!)) is an empty array; remove it or add values", path: JSONPath(stack),
                        location: node.location))
            }
            for (i, item) in items.enumerated() {
                stack.append(.index(i))
                walkEmpty(item, &stack, &out)
                stack.removeLast()
            }
        case .object(let members):
            if members.isEmpty && !stack.isEmpty {
                out.append(
                    Finding(
                        code: .emptyObject, message: "\(describe(stack.last!)) is an empty object; remove it", path: JSONPath(stack),
                        location: node.location))
            }
            for member in members {
                stack.append(.key(member.key))
                walkEmpty(member.value, &stack, &out)
                stack.removeLast()
            }
        default:
            break
        }
    }

    private func describe(_ component: JSONPathComponent) -> String {
        switch component {
        case .key(let k): JSONWriter.quoted(k)
        case .index(let i): "element \(i)"
        }
    }
}

/// The catalog's actions, case-folded once, for resolving patterns. Parallel arrays
/// keep the per-pattern scans free of copies.
final class ActionIndex: Sendable {
    /// Every known action name, case-folded (catalogued ones first, then referenced ones).
    let folded: [String]
    let names: [String]
    let services: [String]
    /// The definition of catalogued actions; nil for referenced-only ones.
    let definitions: [ActionDefinition?]
    let serviceNames: [String]
    /// Action name → URN templates of its resource types, resolved once.
    let templates: [String: [String]]
    /// Per index: the URN templates of a catalogued action's resource types (empty for none).
    let templatesByIndex: [[String]]
    /// Every URN template, taken apart once.
    let templateShapes: [String: TemplateShape]
    /// Case-folded name → indices (a name may be catalogued and referenced); an alias → its action's.
    let indicesByFolded: [String: [Int]]
    /// Per index: the catalogued action's aliases, case-folded.
    let foldedAliases: [[String]]
    /// Per index: resource type → its URN template and the keys that apply with it (folded).
    let resourceKeys: [[(template: String, keys: Set<String>)]]
    /// Per index: the keys that apply whatever the resource (folded).
    let actionKeys: [Set<String>]

    init(catalog: Catalog) {
        var folded: [String] = []
        var names: [String] = []
        var services: [String] = []
        var definitions: [ActionDefinition?] = []
        for service in catalog.services {
            for action in service.actions {
                folded.append(CaseFolding.lowercase(action.name))
                names.append(action.name)
                services.append(service.name)
                definitions.append(action)
            }
            for referenced in service.referencedActions {
                folded.append(CaseFolding.lowercase(referenced))
                names.append(referenced)
                services.append(ServicePrefix.of(referenced))
                definitions.append(nil)
            }
        }
        self.folded = folded
        self.names = names
        self.services = services
        self.definitions = definitions
        self.serviceNames = catalog.services.map(\.name)
        var templates: [String: [String]] = [:]
        for service in catalog.services {
            for action in service.actions {
                templates[action.name] = action.resourceTypes.compactMap { type in
                    service.resourceTypes.first { $0.name == type }?.urn
                }
            }
        }
        self.templates = templates
        self.templatesByIndex = definitions.map { d in d.map { templates[$0.name] ?? [] } ?? [] }
        var shapes: [String: TemplateShape] = [:]
        for list in templates.values { for t in list where shapes[t] == nil { shapes[t] = TemplateShape(t) } }
        self.templateShapes = shapes
        var byFolded: [String: [Int]] = [:]
        for (i, name) in folded.enumerated() { byFolded[name, default: []].append(i) }
        let aliases = definitions.map { d in d?.aliases.map(CaseFolding.lowercase) ?? [] }
        for (i, list) in aliases.enumerated() { for alias in list where byFolded[alias] == nil { byFolded[alias] = [i] } }
        self.indicesByFolded = byFolded
        self.foldedAliases = aliases
        self.actionKeys = definitions.map { d in Set(d?.actionConditionKeys.map { $0.lowercased() } ?? []) }
        self.resourceKeys = zip(definitions, services).map { d, service in
            guard let d else { return [] }
            return d.resources.compactMap { resource in
                catalog.resourceType(resource.type, in: service).map { ($0.urn, Set(resource.conditionKeys.map { $0.lowercased() })) }
            }
        }
    }

    /// Indices of known actions (catalogued or referenced) the glob matches.
    func matching(_ glob: GlobPattern) -> [Int] {
        if glob.isLiteral { return indicesByFolded[glob.text] ?? [] }
        return folded.indices.filter { glob.matches(folded[$0]) || foldedAliases[$0].contains(where: glob.matches) }
    }

    /// Catalogued actions (with definitions) that the pattern list covers.
    func covered(by actions: PatternList) -> [ActionDefinition] {
        var out: [ActionDefinition] = []
        for i in folded.indices {
            guard let definition = definitions[i] else { continue }
            if actions.covers(anyOf: [folded[i]] + foldedAliases[i]) { out.append(definition) }
        }
        return out
    }
}

/// A URN template (`ims:<region>:<account-id>:image:<image-id>`) in the forms resource checks compare with.
struct TemplateShape: Sendable {
    /// Split at `:` into at most five parts.
    let segments: [String]
    let segmentBytes: [[UInt8]]
    /// The whole template with placeholders as `*` (`ims:*:*:image:*`).
    let glob: String
    /// The id part with placeholders as `*`.
    let idGlob: String
    /// The id part is placeholders only, so any id fits.
    let idMatchesAnything: Bool

    init(_ template: String) {
        segments = ColonFields(template, maxFields: 5).strings
        segmentBytes = segments.map { Array($0.utf8) }
        glob = StatementChecker.urnGlob(template)
        idGlob = segments.count == 5 ? StatementChecker.urnGlob(segments[4]) : glob
        idMatchesAnything = idGlob.utf8.allSatisfy { $0 == Wildcard.star }
    }
}
