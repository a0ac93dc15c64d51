public import BulwarkJSON

/// One problem in a catalog file, located: `FILE:LINE:COL: PATH: message`.
public struct CatalogProblem: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let path: JSONPath
    /// Where in the file, when known.
    public let location: SourceLocation?
    public let message: String

    public init(file: String, path: JSONPath = .root, location: SourceLocation?, message: String) {
        self.file = file
        self.path = path
        self.location = location
        self.message = message
    }

    public var description: String {
        let place = location.map { "\(file):\($0.line):\($0.column)" } ?? file
        return path.components.isEmpty ? "\(place): \(message)" : "\(place): \(path): \(message)"
    }
}

/// Reads Huawei IAM's authorization schema of one service (the answer of
/// `GET /v5/authorization-schemas/services/{service_code}`, `GetAuthorizationSchemaV5Response`
/// in the official SDKs) as a `ServiceCatalog`.
///
/// Every problem is reported, located; a document with any problem yields no catalog. Fields the
/// schema does not define are ignored (Huawei may add some); `permission_only`, `aliases`,
/// `required`, `condition_keys`, `dependent_actions`, `multi_valued` and `description` may be
/// left out (false or empty).
public struct HuaweiSchemaReader {
    public let file: String
    /// Names of global keys (`g:…`), folded, and the templates' prefixes, to check references.
    private let globalKeys: [ConditionKeyDefinition]
    private var problems: [CatalogProblem] = []

    public init(file: String, globalKeys: [ConditionKeyDefinition]) {
        self.file = file
        self.globalKeys = globalKeys
    }

    /// Whether the parsed document looks like a schema rather than Bulwark's own format
    /// (which names its service in a top-level `name`).
    public static func isSchema(_ root: JSONNode) -> Bool {
        guard case .object(let members) = root.value else { return true }
        return !members.contains { $0.key == "name" }
    }

    /// The service the document describes, or every problem found.
    public mutating func read(_ bytes: [UInt8]) -> Result<ServiceCatalog, CatalogErrors> {
        var reader = JSONReader(bytes: bytes)
        let root: JSONNode
        do {
            root = try reader.readDocument()
        } catch {
            return .failure(CatalogErrors([CatalogProblem(file: file, path: error.path, location: error.location, message: error.message)]))
        }
        return read(root)
    }

    public mutating func read(_ root: JSONNode) -> Result<ServiceCatalog, CatalogErrors> {
        problems = []
        dependentReferences = []
        let service = readService(root)
        if let service, problems.isEmpty { return .success(service) }
        return .failure(CatalogErrors(problems))
    }

    // MARK: Fields

    private mutating func problem(_ path: JSONPath, _ node: JSONNode?, _ message: String) {
        problems.append(CatalogProblem(file: file, path: path, location: node?.location, message: message))
    }

    /// A problem with the value of `key` in an object: located at the value.
    private mutating func problem(_ path: JSONPath, _ members: [JSONMember], _ key: String, _ fallback: JSONNode, _ message: String) {
        let node = members.first { $0.key == key }?.value ?? fallback
        problem(path.appending(key: key), node, message)
    }

    /// The members of an object, or nil (reported) when the node is not one.
    private mutating func object(_ node: JSONNode, _ path: JSONPath) -> [JSONMember]? {
        if case .object(let members) = node.value { return members }
        problem(path, node, "expected an object, found \(node.typeName)")
        return nil
    }

    private mutating func member(
        _ members: [JSONMember], _ key: String, in node: JSONNode, _ path: JSONPath, required: Bool
    ) -> JSONNode? {
        if let found = members.first(where: { $0.key == key }) { return found.value }
        if required { problem(path, node, "missing field \"\(key)\"") }
        return nil
    }

    private mutating func string(_ members: [JSONMember], _ key: String, in node: JSONNode, _ path: JSONPath, required: Bool = true)
        -> String?
    {
        guard let value = member(members, key, in: node, path, required: required) else { return nil }
        if case .string(let text) = value.value {
            if text.isEmpty && required { problem(path.appending(key: key), value, "\"\(key)\" is empty") }
            return text
        }
        problem(path.appending(key: key), value, "\"\(key)\" must be a string, found \(value.typeName)")
        return nil
    }

    private mutating func bool(_ members: [JSONMember], _ key: String, in node: JSONNode, _ path: JSONPath) -> Bool {
        guard let value = member(members, key, in: node, path, required: false) else { return false }
        if case .bool(let flag) = value.value { return flag }
        problem(path.appending(key: key), value, "\"\(key)\" must be true or false, found \(value.typeName)")
        return false
    }

    /// The elements of an array field with their paths; empty (and reported) when it is not an array.
    private mutating func array(_ members: [JSONMember], _ key: String, in node: JSONNode, _ path: JSONPath, required: Bool = false)
        -> [(node: JSONNode, path: JSONPath)]
    {
        guard let value = member(members, key, in: node, path, required: required) else { return [] }
        guard case .array(let elements) = value.value else {
            problem(path.appending(key: key), value, "\"\(key)\" must be an array, found \(value.typeName)")
            return []
        }
        return elements.enumerated().map { ($0.element, path.appending(key: key).appending(index: $0.offset)) }
    }

    /// An array of strings, each with its node (for locating later checks).
    private mutating func strings(_ members: [JSONMember], _ key: String, in node: JSONNode, _ path: JSONPath)
        -> [(text: String, node: JSONNode, path: JSONPath)]
    {
        array(members, key, in: node, path).compactMap { element in
            if case .string(let text) = element.node.value { return (text, element.node, element.path) }
            problem(element.path, element.node, "expected a string, found \(element.node.typeName)")
            return nil
        }
    }

    /// `description` is `{"en_us", "zh_cn"}` in the SDK's model; a plain string is taken too.
    private mutating func description(_ members: [JSONMember], in node: JSONNode, _ path: JSONPath) -> String {
        guard let value = member(members, "description", in: node, path, required: false) else { return "" }
        switch value.value {
        case .string(let text): return text
        case .null: return ""
        case .object(let parts):
            for key in ["en_us", "zh_cn"] {
                if let part = parts.first(where: { $0.key == key }), case .string(let text) = part.value.value, !text.isEmpty { return text }
            }
            return ""
        default:
            problem(path.appending(key: "description"), value, "\"description\" must be an object {\"en_us\", \"zh_cn\"}, found \(value.typeName)")
            return ""
        }
    }

    // MARK: The document

    /// Value types by their schema names (folded).
    static let valueTypes: [String: ConditionKeyType] = [
        "string": .string, "numeric": .numeric, "number": .numeric, "boolean": .boolean, "bool": .boolean, "date": .date,
        "ip_address": .ip, "ipaddress": .ip, "ip": .ip,
    ]

    private mutating func readService(_ root: JSONNode) -> ServiceCatalog? {
        let path = JSONPath.root
        guard let top = object(root, path) else { return nil }
        let version = string(top, "version", in: root, path) ?? ""
        let actionNodes = array(top, "actions", in: root, path, required: true)
        let resourceNodes = array(top, "resources", in: root, path, required: true)
        let conditionNodes = array(top, "conditions", in: root, path)
        let operationNodes = array(top, "operations", in: root, path)

        // The service code: the prefix every action shares.
        var code: String?
        var codeSource: String?

        // Resource types, by URN template (how actions refer to them).
        var resourceTypes: [ResourceTypeDefinition] = []
        var typeByTemplate: [String: String] = [:]
        var typeNames: Set<String> = []
        for (node, at) in resourceNodes {
            guard let fields = object(node, at) else { continue }
            guard let name = string(fields, "type_name", in: node, at), let urn = string(fields, "urn_template", in: node, at) else { continue }
            if !typeNames.insert(name).inserted {
                problem(at, fields, "type_name", node, "duplicate resource type \"\(name)\"")
                continue
            }
            if let other = typeByTemplate[urn] {
                problem(at, fields, "urn_template", node, "resource types \"\(other)\" and \"\(name)\" have the same URN template \(urn)")
                continue
            }
            typeByTemplate[urn] = name
            resourceTypes.append(ResourceTypeDefinition(name: name, urn: urn))
        }

        // Condition keys.
        var keys: [ConditionKeyDefinition] = []
        var keyNames: Set<String> = []
        var keyNodes: [(key: String, node: JSONNode, path: JSONPath)] = []
        for (node, at) in conditionNodes {
            guard let fields = object(node, at) else { continue }
            guard let name = string(fields, "key", in: node, at), let typeName = string(fields, "value_type", in: node, at) else { continue }
            let multiValued = bool(fields, "multi_valued", in: node, at)
            let text = description(fields, in: node, at)
            guard let type = Self.valueTypes[typeName.lowercased()] else {
                problem(
                    at, fields, "value_type", node,
                    "unknown value type \"\(typeName)\" (expected string, numeric, boolean, date or ip_address)")
                continue
            }
            if !keyNames.insert(name.lowercased()).inserted {
                problem(at, fields, "key", node, "duplicate condition key \"\(name)\"")
                continue
            }
            keyNodes.append((name, node, at))
            keys.append(ConditionKeyDefinition(name: name, type: type, multiValued: multiValued, description: text.isEmpty ? nil : text))
        }

        // Actions.
        var actions: [ActionDefinition] = []
        var actionNames: [String: JSONPath] = [:]
        var aliasRefs: [(alias: String, node: JSONNode, path: JSONPath)] = []
        var keyRefs: [(key: String, node: JSONNode, path: JSONPath)] = []
        for (node, at) in actionNodes {
            guard let fields = object(node, at) else { continue }
            guard let name = string(fields, "name", in: node, at) else { continue }
            let levelText = string(fields, "access_level", in: node, at)
            let permissionOnly = bool(fields, "permission_only", in: node, at)
            let text = description(fields, in: node, at)
            let aliases = strings(fields, "aliases", in: node, at)
            let actionKeys = strings(fields, "condition_keys", in: node, at)
            var resources: [ActionResource] = []
            for (resourceNode, resourceAt) in array(fields, "resources", in: node, at) {
                guard let resourceFields = object(resourceNode, resourceAt),
                    let template = string(resourceFields, "urn_template", in: resourceNode, resourceAt)
                else { continue }
                let required = bool(resourceFields, "required", in: resourceNode, resourceAt)
                let resourceKeys = strings(resourceFields, "condition_keys", in: resourceNode, resourceAt)
                keyRefs += resourceKeys.map { ($0.text, $0.node, $0.path) }
                guard let type = typeByTemplate[template] else {
                    problem(
                        resourceAt, resourceFields, "urn_template", resourceNode,
                        "\(template) is the URN template of no resource type in \"resources\"")
                    continue
                }
                if resources.contains(where: { $0.type == type }) {
                    problem(resourceAt, resourceFields, "urn_template", resourceNode, "resource type \"\(type)\" is listed twice for \(name)")
                    continue
                }
                resources.append(ActionResource(type: type, required: required, conditionKeys: resourceKeys.map(\.text)))
            }
            keyRefs += actionKeys.map { ($0.text, $0.node, $0.path) }
            aliasRefs += aliases.map { ($0.text, $0.node, $0.path) }

            let prefix = Self.servicePrefix(of: name)
            if prefix.isEmpty || name.split(separator: ":", omittingEmptySubsequences: false).count != 3 {
                problem(at, fields, "name", node, "\"\(name)\" is not an action name (service:resource:action)")
                continue
            }
            if let code, code.lowercased() != prefix.lowercased() {
                problem(
                    at, fields, "name", node,
                    "\(name) is not an action of service \(code) (\(codeSource ?? "the first action") is); a schema describes one service")
                continue
            }
            if code == nil {
                code = prefix
                codeSource = name
            }
            if actionNames[name.lowercased()] != nil {
                problem(at, fields, "name", node, "duplicate action \(name)")
                continue
            }
            actionNames[name.lowercased()] = at
            guard let levelText else { continue }
            guard let level = AccessLevel(rawValue: levelText.lowercased()) else {
                problem(
                    at, fields, "access_level", node,
                    "unknown access level \"\(levelText)\" (expected one of \(AccessLevel.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            actions.append(
                ActionDefinition(
                    name: name, description: text, accessLevel: level, resourceTypes: resources.map(\.type),
                    conditionKeys: actionKeys.map(\.text), resources: resources, permissionOnly: permissionOnly,
                    aliases: aliases.map(\.text)))
        }
        if actionNodes.isEmpty && problems.isEmpty { problem(path.appending(key: "actions"), root, "the schema lists no actions") }
        guard let code else { return nil }

        // Keys belong to this service (or are global), and every key an action names is defined.
        for (name, node, at) in keyNodes where Self.servicePrefix(of: name).lowercased() != code.lowercased() {
            problem(at.appending(key: "key"), node, "condition key \(name) is not a key of \(code) (write \(code):NAME)")
        }
        for (name, node, at) in keyRefs where !keyNames.contains(name.lowercased()) && !isGlobalKey(name) {
            problem(at, node, "condition key \(name) is neither in \"conditions\" nor a global key")
        }
        // Aliases: not an action's own name, not two actions'.
        var aliasOwners: Set<String> = []
        for (alias, node, at) in aliasRefs {
            if actionNames[alias.lowercased()] != nil {
                problem(at, node, "alias \(alias) is the name of an action")
            } else if !aliasOwners.insert(alias.lowercased()).inserted {
                problem(at, node, "alias \(alias) is given twice")
            }
        }

        // Operations: unique ids; their actions are checked against every catalog once merged.
        var operations: [OperationDefinition] = []
        var operationIDs: Set<String> = []
        for (node, at) in operationNodes {
            guard let fields = object(node, at) else { continue }
            guard let id = string(fields, "operation_id", in: node, at), let action = string(fields, "operation_action", in: node, at)
            else { continue }
            let dependents = strings(fields, "dependent_actions", in: node, at)
            if !operationIDs.insert(id).inserted {
                problem(at, fields, "operation_id", node, "duplicate operation \(id)")
                continue
            }
            if actionNames[action.lowercased()] == nil {
                problem(at, fields, "operation_action", node, "\(action) is no action of this schema")
                continue
            }
            operations.append(OperationDefinition(id: id, action: action, dependentActions: dependents.map(\.text)))
            dependentReferences += dependents.map { (id, $0.text, $0.node, $0.path) }
        }
        return ServiceCatalog(
            name: code, title: code.uppercased(), updated: version, resourceTypes: resourceTypes, conditionKeys: keys, actions: actions,
            operations: operations, source: file)
    }

    /// Dependent actions of operations, kept to check once every catalog is known.
    public private(set) var dependentReferences: [(operation: String, action: String, node: JSONNode, path: JSONPath)] = []

    private func isGlobalKey(_ name: String) -> Bool {
        let folded = name.lowercased()
        return globalKeys.contains { key in
            let keyName = key.name.lowercased()
            if keyName == folded { return true }
            guard let prefix = key.templatePrefix?.lowercased() else { return false }
            return folded.count > prefix.count && folded.hasPrefix(prefix)
        }
    }

    static func servicePrefix(of name: String) -> String { String(name.prefix { $0 != ":" }) }
}

/// Every problem found while loading catalogs; nothing was loaded.
public struct CatalogErrors: Error, Sendable, CustomStringConvertible {
    public let problems: [CatalogProblem]

    public init(_ problems: [CatalogProblem]) { self.problems = problems }

    /// One line per problem.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension Catalog {
    /// The service as Huawei's authorization schema (the inverse of `HuaweiSchemaReader`).
    /// Built-in catalogs keep their API rows and request fields in Bulwark's own format only.
    public func exportHuaweiSchema(service name: String) -> [UInt8]? {
        guard let service = service(named: name) else { return nil }
        let templates = Dictionary(service.resourceTypes.map { ($0.name, $0.urn) }, uniquingKeysWith: { a, _ in a })
        var json = JSONWriter(reservingCapacity: 64 * 1024)
        json.beginObject()
        json.field("version", service.updated)
        json.key("actions")
        json.beginArray()
        for action in service.actions {
            json.beginObject()
            json.field("name", action.name)
            json.field("access_level", action.accessLevel.rawValue)
            json.field("permission_only", action.permissionOnly)
            json.key("description")
            json.beginObject()
            json.field("en_us", action.description)
            json.endObject()
            json.field("aliases", action.aliases)
            json.key("resources")
            json.beginArray()
            for resource in action.resources {
                json.beginObject()
                json.field("urn_template", templates[resource.type] ?? resource.type)
                json.field("required", resource.required)
                json.field("condition_keys", resource.conditionKeys)
                json.endObject()
            }
            json.endArray()
            json.field("condition_keys", action.actionConditionKeys)
            json.endObject()
        }
        json.endArray()
        json.key("resources")
        json.beginArray()
        for type in service.resourceTypes {
            json.beginObject()
            json.field("type_name", type.name)
            json.field("urn_template", type.urn)
            json.endObject()
        }
        json.endArray()
        json.key("conditions")
        json.beginArray()
        for key in service.conditionKeys {
            json.beginObject()
            json.field("key", key.name)
            json.field("value_type", key.type == .ip ? "ip_address" : key.type.rawValue)
            json.field("multi_valued", key.multiValued)
            if let text = key.description {
                json.key("description")
                json.beginObject()
                json.field("en_us", text)
                json.endObject()
            }
            json.endObject()
        }
        json.endArray()
        json.key("operations")
        json.beginArray()
        for operation in service.operations {
            json.beginObject()
            json.field("operation_id", operation.id)
            json.field("operation_action", operation.action)
            json.field("dependent_actions", operation.dependentActions)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.newline()
        return json.bytes
    }
}
