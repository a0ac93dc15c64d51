import Synchronization

/// How much access an action grants, as the service documentation classifies it.
public enum AccessLevel: String, Sendable, Hashable, Codable, CaseIterable {
    case list
    case read
    case write
    case permissionManagement = "permission_management"
    case tagging
}

/// The value type of a condition key.
public enum ConditionKeyType: String, Sendable, Hashable, Codable {
    case string, boolean, numeric, date, ip
}

/// One action of a service, e.g. `ims:images:share`.
public struct ActionDefinition: Sendable, Hashable {
    public let name: String
    public let description: String
    public let accessLevel: AccessLevel
    /// Resource types the action acts on (required or optional); empty means the resource must be `*`.
    public let resourceTypes: [String]
    /// Condition keys the action supports, global ones included (e.g. `g:TagKeys`): the union of
    /// its own keys and those of its resource types.
    public let conditionKeys: [String]
    /// Each resource type with whether it is required and the keys that apply only with it.
    /// Built-in catalogs mark every type required and keep every key on the action.
    public let resources: [ActionResource]
    /// Keys that apply whatever the resource (the schema's action-level `condition_keys`).
    public let actionConditionKeys: [String]
    /// A permission without an API of its own (Huawei's `permission_only`).
    public let permissionOnly: Bool
    /// Former or alternative names of the same permission: a statement that names an alias covers the action.
    public let aliases: [String]

    public init(
        name: String, description: String, accessLevel: AccessLevel, resourceTypes: [String], conditionKeys: [String],
        resources: [ActionResource]? = nil, permissionOnly: Bool = false, aliases: [String] = []
    ) {
        self.name = name
        self.description = description
        self.accessLevel = accessLevel
        self.resourceTypes = resourceTypes
        self.resources = resources ?? resourceTypes.map { ActionResource(type: $0, required: true, conditionKeys: []) }
        // Lists of a few keys: compared in place (catalogs with thousands of actions load at every command's start).
        let perResource = self.resources.flatMap(\.conditionKeys)
        if perResource.isEmpty {
            self.actionConditionKeys = conditionKeys
            self.conditionKeys = conditionKeys
        } else if perResource.count + conditionKeys.count < 32 {
            self.actionConditionKeys = conditionKeys.filter { key in !perResource.contains { Catalog.foldedEqual($0, key) } }
            var union = conditionKeys
            for key in perResource where !union.contains(where: { Catalog.foldedEqual($0, key) }) { union.append(key) }
            self.conditionKeys = union
        } else {
            // Many keys (a hostile schema): sets, so that loading stays linear.
            let perResourceFolded = Set(perResource.map(Catalog.fold))
            self.actionConditionKeys = conditionKeys.filter { !perResourceFolded.contains(Catalog.fold($0)) }
            var union = conditionKeys
            var seen = Set(conditionKeys.map(Catalog.fold))
            for key in perResource where seen.insert(Catalog.fold(key)).inserted { union.append(key) }
            self.conditionKeys = union
        }
        self.permissionOnly = permissionOnly
        self.aliases = aliases
    }

    /// The keys that apply to the action on a resource of `type`, case as catalogued.
    public func conditionKeys(onResourceType type: String) -> [String] {
        actionConditionKeys + (resources.first { $0.type == type }?.conditionKeys ?? [])
    }
}

/// A resource type an action acts on, as Huawei's schema lists it per action.
public struct ActionResource: Sendable, Hashable {
    /// The resource type's name in its service.
    public let type: String
    /// Whether every call of the action acts on such a resource (else it may act on another type).
    public let required: Bool
    /// Condition keys that apply only when the action acts on this type.
    public let conditionKeys: [String]

    public init(type: String, required: Bool, conditionKeys: [String]) {
        self.type = type
        self.required = required
        self.conditionKeys = conditionKeys
    }
}

/// An API operation of Huawei's schema: its id (as in the service's API reference and CTS
/// traces), the action it needs and the actions it may also need.
public struct OperationDefinition: Sendable, Hashable {
    public let id: String
    public let action: String
    public let dependentActions: [String]

    public init(id: String, action: String, dependentActions: [String]) {
        self.id = id
        self.action = action
        self.dependentActions = dependentActions
    }
}

/// A case in which a qualified API row applies, e.g. "required only for quickly importing a data disk image".
public struct RequiredOnly: Sendable, Hashable, Codable {
    /// Stable id, e.g. `data-disk-import`.
    public let id: String
    /// The seed's words.
    public let text: String
}

/// One row of a service's API table: calling `method path` needs `action` and its dependencies.
public struct APIRow: Sendable, Hashable, Codable {
    public let method: String
    /// Path template with `{parameters}`.
    public let path: String
    public let action: String
    /// Actions the caller must also hold.
    public let dependencies: [String]
    /// Present when the row applies only in a named case.
    public let requiredOnly: RequiredOnly?

    public init(method: String, path: String, action: String, dependencies: [String], requiredOnly: RequiredOnly? = nil) {
        self.method = method
        self.path = path
        self.action = action
        self.dependencies = dependencies
        self.requiredOnly = requiredOnly
    }

    /// The row that stands for a schema operation: no method, the operation id as its path.
    public init(operation: OperationDefinition) {
        self.init(method: "", path: operation.id, action: operation.action, dependencies: operation.dependentActions)
    }

    /// `METHOD /path`, or `operation ID` for a schema operation.
    public var label: String { method.isEmpty ? "operation \(path)" : "\(method) \(path)" }
}

/// A request field that feeds authorization — a body field such as `tags`, or a query
/// parameter written `query:NAME` — and the API rows (`METHOD /template`) that document it.
/// Which calls carry a field is the service's fact, so it is catalog data; how a field becomes
/// condition keys is the enforcement point's (`CallContextBuilder`).
public struct RequestField: Sendable, Hashable, Codable {
    public let name: String
    /// `METHOD /template` of each row documenting the field.
    public let apis: [String]

    public init(name: String, apis: [String]) {
        self.name = name
        self.apis = apis
    }
}

/// A resource type and the template of its URNs.
public struct ResourceTypeDefinition: Sendable, Hashable, Codable {
    public let name: String
    /// e.g. `ims:<region>:<account-id>:image:<image-id>`.
    public let urn: String

    public init(name: String, urn: String) {
        self.name = name
        self.urn = urn
    }
}

/// A condition key: its name, value type and whether a request may carry several values.
public struct ConditionKeyDefinition: Sendable, Hashable, Codable {
    public let name: String
    public let type: ConditionKeyType
    public let multiValued: Bool
    /// Sensitive keys (global ones naming the principal) must not be used with wildcards.
    public let sensitive: Bool?
    public let description: String?

    public init(name: String, type: ConditionKeyType, multiValued: Bool, sensitive: Bool? = nil, description: String? = nil) {
        self.name = name
        self.type = type
        self.multiValued = multiValued
        self.sensitive = sensitive
        self.description = description
    }

    /// True for templates such as `g:RequestTag/<tag-key>`, which stand for one key per tag.
    public var isTemplate: Bool { name.hasSuffix("<tag-key>") }

    /// For a template, the fixed part before `<tag-key>` (e.g. `g:RequestTag/`).
    public var templatePrefix: String? { isTemplate ? String(name.dropLast("<tag-key>".count)) : nil }
}

/// Everything the catalog knows about one service.
public struct ServiceCatalog: Sendable, Hashable {
    /// Service prefix, e.g. `ims`.
    public let name: String
    public let title: String
    /// The date of the source document, or the schema's `version`.
    public let updated: String
    public let resourceTypes: [ResourceTypeDefinition]
    public let conditionKeys: [ConditionKeyDefinition]
    public let actions: [ActionDefinition]
    public let apis: [APIRow]
    /// Actions that API rows depend on but no action table lists; they are known actions.
    public let referencedActions: [String]
    /// Request fields that feed authorization, with the rows documenting each.
    public let requestFields: [RequestField]
    /// API operations by id (from a Huawei schema; empty for the built-in catalogs).
    public let operations: [OperationDefinition]
    /// The file it was read from, for messages (empty for catalogs made in code).
    public let source: String
    /// Folded action name → its index in `actions` (the first of duplicates). Made with the
    /// service, so that schemas read on every core are indexed there too.
    let actionIndex: [String: Int]

    public init(
        name: String, title: String, updated: String, resourceTypes: [ResourceTypeDefinition], conditionKeys: [ConditionKeyDefinition],
        actions: [ActionDefinition], apis: [APIRow] = [], referencedActions: [String] = [], requestFields: [RequestField] = [],
        operations: [OperationDefinition] = [], source: String = ""
    ) {
        var index: [String: Int] = Dictionary(minimumCapacity: actions.count)
        for (i, action) in actions.enumerated() where index[Catalog.fold(action.name)] == nil { index[Catalog.fold(action.name)] = i }
        self.init(
            name: name, title: title, updated: updated, resourceTypes: resourceTypes, conditionKeys: conditionKeys, actions: actions,
            apis: apis, referencedActions: referencedActions, requestFields: requestFields, operations: operations, source: source,
            actionIndex: index)
    }

    /// `actionIndex` as the caller made it (the schema reader has it from its duplicate check).
    init(
        name: String, title: String, updated: String, resourceTypes: [ResourceTypeDefinition], conditionKeys: [ConditionKeyDefinition],
        actions: [ActionDefinition], apis: [APIRow], referencedActions: [String], requestFields: [RequestField],
        operations: [OperationDefinition], source: String, actionIndex: [String: Int]
    ) {
        self.actionIndex = actionIndex
        self.name = name
        self.title = title
        self.updated = updated
        self.resourceTypes = resourceTypes
        self.conditionKeys = conditionKeys
        self.actions = actions
        self.apis = apis
        self.referencedActions = referencedActions
        self.requestFields = requestFields
        self.operations = operations
        self.source = source
    }

    /// The operation with this id (exact: operation ids are case-sensitive).
    public func operation(_ id: String) -> OperationDefinition? { operations.first { $0.id == id } }
}

/// The catalogs of every service plus the shared global condition keys.
public struct Catalog: Sendable {
    public let services: [ServiceCatalog]
    public let globalKeys: [ConditionKeyDefinition]
    /// Problems and notes found while loading (the bundled catalog has notes only).
    public let issues: [CatalogIssue]

    /// Folded names of actions whose service is not their prefix (catalogs made in code; the
    /// loader refuses them in files) → where they are. Others are found through their service.
    private let misplacedActions: [String: ActionPosition]
    /// Folded alias → the action it names.
    private let actionsByFoldedAlias: [String: ActionPosition]
    /// Actions API rows reference that no service's table lists.
    private let referencedActionNames: Set<String>
    private let keysByFoldedName: [String: ConditionKeyDefinition]
    /// Tag-key templates (`g:resourcetag/`) with their definitions, folded once.
    private let templateKeys: [(prefix: String, key: ConditionKeyDefinition)]
    private let servicesByFoldedName: [String: Int]
    /// Values other modules derive from this catalog, made once and shared by its copies.
    private let derivedValues = DerivedValues()

    public init(services: [ServiceCatalog], globalKeys: [ConditionKeyDefinition], issues: [CatalogIssue] = []) {
        self.services = services.sorted { $0.name < $1.name }
        self.globalKeys = globalKeys
        self.issues = issues
        var byName: [String: Int] = [:]
        for (i, service) in self.services.enumerated() where byName[Self.fold(service.name)] == nil {
            byName[Self.fold(service.name)] = i
        }
        self.servicesByFoldedName = byName
        // Actions are indexed by their services (`ServiceCatalog.actionIndex`, made on the cores
        // that read them); only misplaced ones and aliases are indexed here.
        var misplaced: [String: ActionPosition] = [:]
        var referenced: Set<String> = []
        var keys: [String: ConditionKeyDefinition] = [:]
        var aliases: [String: ActionPosition] = [:]
        for (s, service) in self.services.enumerated() {
            let owner = byName[Self.fold(service.name)] == s
            for (a, action) in service.actions.enumerated() {
                let position = ActionPosition(service: Int32(s), action: Int32(a))
                if !owner || !Self.hasServicePrefix(action.name, service.name) {
                    if misplaced[Self.fold(action.name)] == nil { misplaced[Self.fold(action.name)] = position }
                }
                for alias in action.aliases where aliases[Self.fold(alias)] == nil { aliases[Self.fold(alias)] = position }
            }
            for name in service.referencedActions { referenced.insert(Self.fold(name)) }
            for key in service.conditionKeys { keys[Self.fold(key.name)] = key }
        }
        for key in globalKeys { keys[Self.fold(key.name)] = key }
        self.misplacedActions = misplaced
        let services = self.services
        func isAction(_ folded: String) -> Bool {
            Self.position(ofFolded: folded, services: services, byName: byName, misplaced: misplaced) != nil
        }
        // An alias that is also an action's own name stays that action (the loader reports it).
        self.actionsByFoldedAlias = aliases.filter { !isAction($0.key) }
        self.referencedActionNames = referenced.filter { !isAction($0) }
        self.keysByFoldedName = keys
        self.templateKeys = (globalKeys + services.flatMap(\.conditionKeys)).compactMap { key in key.templatePrefix.map { (Self.fold($0), key) } }
    }

    /// The value of type `T` derived from this catalog: made by `make` the first time it is
    /// asked for, then shared by every copy of the catalog (e.g. the engine's table of action
    /// names, which every compiled policy set would otherwise rebuild).
    public func derived<T: Sendable>(_ type: T.Type, _ make: (Catalog) -> T) -> T {
        if let known = derivedValues.values.withLock({ $0[ObjectIdentifier(type)] }) as? T { return known }
        let made = make(self)
        return derivedValues.values.withLock { values in
            // Another thread may have made it meanwhile: keep the first, so every user shares one.
            if let first = values[ObjectIdentifier(type)] as? T { return first }
            values[ObjectIdentifier(type)] = made
            return made
        }
    }

    /// A version string naming each service's source date, e.g. `ims@2025-02-25 swr@2024-12-02`.
    public var version: String { services.map { "\($0.name)@\($0.updated)" }.joined(separator: " ") }

    /// The service with this prefix (case-insensitive).
    public func service(named name: String) -> ServiceCatalog? {
        servicesByFoldedName[Self.fold(name)].map { services[$0] }
    }

    /// Every action of every service, in catalog order.
    public var allActions: [ActionDefinition] { services.flatMap(\.actions) }

    /// The action with this name (case-insensitive), if a service's action table lists it.
    public func action(named name: String) -> ActionDefinition? { position(ofFolded: Self.fold(name)).map(action(at:)) }

    /// Where the action with this folded name is: in the service its prefix names, else among the misplaced.
    private func position(ofFolded name: String) -> ActionPosition? {
        Self.position(ofFolded: name, services: services, byName: servicesByFoldedName, misplaced: misplacedActions)
    }

    private static func position(
        ofFolded name: String, services: [ServiceCatalog], byName: [String: Int], misplaced: [String: ActionPosition]
    ) -> ActionPosition? {
        let prefix = name.utf8.firstIndex(of: UInt8(ascii: ":")).map { String(name[..<$0]) } ?? name
        if let s = byName[prefix], let a = services[s].actionIndex[name] { return ActionPosition(service: Int32(s), action: Int32(a)) }
        return misplaced.isEmpty ? nil : misplaced[name]
    }

    /// Whether `action` starts with `service` and a colon, ASCII case ignored (anything else
    /// counts as misplaced, which is merely slower to find).
    private static func hasServicePrefix(_ action: String, _ service: String) -> Bool {
        var (action, service) = (action, service)
        return action.withUTF8 { name in
            service.withUTF8 { prefix in
                guard name.count > prefix.count, name[prefix.count] == UInt8(ascii: ":") else { return false }
                for i in 0..<prefix.count where name[i] != prefix[i] {
                    if name[i] | 0x20 != prefix[i] | 0x20 || (name[i] | 0x20) &- 0x61 >= 26 { return false }
                }
                return true
            }
        }
    }

    private func action(at position: ActionPosition) -> ActionDefinition {
        services[Int(position.service)].actions[Int(position.action)]
    }

    /// ASCII-fast lowercasing for lookups (catalog names are ASCII; others fall back to `lowercased()`).
    static func fold(_ name: String) -> String {
        // Most names have nothing to fold: the same string, found in one pass over its bytes.
        let unchanged = name.utf8.withContiguousStorageIfAvailable { bytes in !bytes.contains { $0 >= 0x80 || $0 &- 0x41 < 26 } }
        if unchanged == true { return name }
        var text = name
        // Scanned as bytes: catalogs with thousands of names are folded at every command's start.
        let folded: String?? = text.withUTF8 { bytes in
            var hasUpper = false
            for b in bytes {
                if b >= 0x80 { return nil }
                if b &- 0x41 < 26 { hasUpper = true }
            }
            guard hasUpper else { return .some(nil) }
            return String(unsafeUninitializedCapacity: bytes.count) { out in
                for i in 0..<bytes.count { out[i] = bytes[i] &- 0x41 < 26 ? bytes[i] | 0x20 : bytes[i] }
                return bytes.count
            }
        }
        switch folded {
        case .none: return name.lowercased()
        case .some(.none): return name
        case .some(.some(let lowered)): return lowered
        }
    }

    /// `fold(a) == fold(b)` without making either (ASCII compared in place).
    static func foldedEqual(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        var (x, y) = (String(a), String(b))
        let equal: Bool? = x.withUTF8 { p in
            y.withUTF8 { q in
                guard p.count == q.count else {
                    // ASCII folding keeps lengths; other scripts may not.
                    return p.contains { $0 >= 0x80 } || q.contains { $0 >= 0x80 } ? nil : false
                }
                for i in 0..<p.count where p[i] != q[i] {
                    if p[i] >= 0x80 || q[i] >= 0x80 { return nil }
                    if p[i] | 0x20 != q[i] | 0x20 || (p[i] | 0x20) &- 0x61 >= 26 { return false }
                }
                return true
            }
        }
        return equal ?? (fold(x) == fold(y))
    }

    /// The action `name` is an alias of (case-insensitive), if it is one.
    public func action(aliased name: String) -> ActionDefinition? { actionsByFoldedAlias[Self.fold(name)].map(action(at:)) }

    /// Whether the name is a catalogued action or one that API rows reference.
    public func isKnownAction(_ name: String) -> Bool {
        let folded = Self.fold(name)
        return position(ofFolded: folded) != nil || referencedActionNames.contains(folded)
    }

    /// The definition of a condition key (case-insensitive); tag keys such as
    /// `g:ResourceTag/env` resolve to their template.
    public func conditionKey(named name: String) -> ConditionKeyDefinition? {
        let folded = Self.fold(name)
        if let key = keysByFoldedName[folded] { return key }
        // Compared on UTF-8: the prefixes are ASCII, so a byte prefix is a character prefix.
        return templateKeys.first { template in
            folded.utf8.count > template.prefix.utf8.count && folded.utf8.starts(with: template.prefix.utf8)
        }?.key
    }

    /// The resource type `name` of `service`.
    public func resourceType(_ name: String, in service: String) -> ResourceTypeDefinition? {
        self.service(named: service)?.resourceTypes.first { $0.name == name }
    }
}

/// Something the loader noticed in a catalog file.
public struct CatalogIssue: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, note }
    public let severity: Severity
    /// The data file it is in.
    public let file: String
    public let message: String

    public init(severity: Severity, file: String, message: String) {
        self.severity = severity
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(severity.rawValue): \(message)" }
}

/// Where an action is: its service's index in `Catalog.services` and its index in that service's table.
private struct ActionPosition: Sendable {
    let service: Int32
    let action: Int32
}

/// Storage for `Catalog.derived(_:_:)`: a reference, so copies of a catalog share it.
private final class DerivedValues: Sendable {
    let values = Mutex<[ObjectIdentifier: any Sendable]>([:])
}
