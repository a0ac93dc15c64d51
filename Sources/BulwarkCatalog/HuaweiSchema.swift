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
/// Every problem is reported, located at the value it is about; a document with any problem
/// yields no catalog. Fields the schema does not define are ignored (Huawei may add some);
/// `permission_only`, `aliases`, `required`, `condition_keys`, `dependent_actions`,
/// `multi_valued` and `description` may be left out (false or empty). The document is read in
/// one streaming pass (no tree): a command may load dozens of schemas before it starts.
public struct HuaweiSchemaReader: Sendable {
    public let file: String
    /// The global keys (`g:…`) as a catalog, whose lookup (templates included) checks the keys actions name.
    private let globals: Catalog
    private var problems: [CatalogProblem] = []
    /// Set when the document names its service in a top-level `name`: Bulwark's own format, not a schema.
    public private(set) var isBulwarkFormat = false
    /// Dependent actions of operations, kept to check once every catalog is known.
    public private(set) var dependentReferences: [(operation: String, action: String, location: SourceLocation, path: JSONPath)] = []

    public init(file: String, globalKeys: [ConditionKeyDefinition]) {
        self.file = file
        self.globals = Catalog(services: [], globalKeys: globalKeys)
    }

    /// A reference read before what it refers to may be known (actions come before resources
    /// and conditions): checked at the end; its path is built only if it is a problem.
    private struct Reference {
        let text: String
        let location: SourceLocation
        let action: Int
        /// The resource's index within the action, or -1 for the action's own keys.
        let resource: Int
        /// The index in its array (`condition_keys`), or -1 for a single value (`urn_template`).
        let element: Int
    }

    /// What one action entry says, before references are resolved.
    private struct RawAction {
        var name: String?
        var level: String?
        var levelLocation = SourceLocation(line: 1, column: 1)
        var nameLocation = SourceLocation(line: 1, column: 1)
        var permissionOnly = false
        var description = ""
        var aliases: [(String, SourceLocation)] = []
        var keys: [String] = []
        var keyLocations: [SourceLocation] = []
        var resources: [(template: String, location: SourceLocation, required: Bool, keys: [String], keyLocations: [SourceLocation])] = []
    }

    /// The service the document describes, or every problem found.
    public mutating func read(_ bytes: [UInt8]) -> Result<ServiceCatalog, CatalogErrors> {
        problems = []
        dependentReferences = []
        isBulwarkFormat = false
        var reader = JSONReader(bytes: bytes)
        do {
            let service = try readService(&reader)
            if isBulwarkFormat { return .failure(CatalogErrors([])) }
            try reader.endDocument()
            if let service, problems.isEmpty { return .success(service) }
        } catch {
            // A document that does not parse: its syntax error is the one problem worth reading.
            return .failure(CatalogErrors([CatalogProblem(file: file, path: error.path, location: error.location, message: error.message)]))
        }
        // In file order, whatever order the checks found them in.
        return .failure(
            CatalogErrors(
                problems.sorted { a, b in
                    let (x, y) = (a.location ?? SourceLocation(line: 0, column: 0), b.location ?? SourceLocation(line: 0, column: 0))
                    return (x.line, x.column) < (y.line, y.column)
                }))
    }

    // MARK: Values

    private mutating func problem(_ path: JSONPath, _ location: SourceLocation, _ message: String) {
        problems.append(CatalogProblem(file: file, path: path, location: location, message: message))
    }

    /// A problem with the value at the cursor.
    private mutating func problemHere(_ reader: inout JSONReader, _ message: String) {
        problem(reader.currentPath, reader.peekLocation(), message)
    }

    /// Skips the value at the cursor.
    private func skip(_ reader: inout JSONReader) throws(JSONSyntaxError) { _ = try reader.readValue() }

    private mutating func string(_ reader: inout JSONReader, _ key: String, required: Bool = true) throws(JSONSyntaxError) -> String? {
        guard reader.peekTypeName() == "string" else {
            problemHere(&reader, "\"\(key)\" must be a string, found \(reader.peekTypeName() ?? "nothing")")
            try skip(&reader)
            return nil
        }
        let location = reader.peekLocation()
        guard case .string(let text) = try reader.readValue().value else { return nil }
        if text.isEmpty && required { problem(reader.currentPath, location, "\"\(key)\" is empty") }
        return text
    }

    private mutating func bool(_ reader: inout JSONReader, _ key: String) throws(JSONSyntaxError) -> Bool {
        guard reader.peekTypeName() == "boolean" else {
            problemHere(&reader, "\"\(key)\" must be true or false, found \(reader.peekTypeName() ?? "nothing")")
            try skip(&reader)
            return false
        }
        if case .bool(let flag) = try reader.readValue().value { return flag }
        return false
    }

    /// Calls `element` for each element of the array at the cursor; reports a value that is not an array.
    private mutating func array(
        _ reader: inout JSONReader, _ key: String, _ element: (inout Self, inout JSONReader, Int) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) {
        guard reader.peekTypeName() == "array" else {
            problemHere(&reader, "\"\(key)\" must be an array, found \(reader.peekTypeName() ?? "nothing")")
            try skip(&reader)
            return
        }
        try reader.beginArray()
        var i = 0
        while try reader.nextElement() {
            try element(&self, &reader, i)
            i += 1
        }
    }

    /// The strings of the array at the cursor, with their locations; other elements reported.
    private mutating func strings(_ reader: inout JSONReader, _ key: String) throws(JSONSyntaxError) -> [(String, SourceLocation)] {
        var out: [(String, SourceLocation)] = []
        try array(&reader, key) { (me: inout Self, reader: inout JSONReader, _: Int) throws(JSONSyntaxError) in
            let location = reader.peekLocation()
            guard reader.peekTypeName() == "string" else {
                me.problemHere(&reader, "expected a string, found \(reader.peekTypeName() ?? "nothing")")
                try me.skip(&reader)
                return
            }
            if case .string(let text) = try reader.readValue().value { out.append((text, location)) }
        }
        return out
    }

    /// Reads the object at the cursor, calling `field` with each key (the value at the cursor);
    /// returns the keys seen, or nil (reported) when the value is not an object. Two members with
    /// one key are a problem: readers disagree on which one counts.
    private mutating func object(
        _ reader: inout JSONReader, _ field: (inout Self, inout JSONReader, String) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) -> (keys: [String], location: SourceLocation)? {
        let location = reader.peekLocation()
        guard reader.peekTypeName() == "object" else {
            problemHere(&reader, "expected an object, found \(reader.peekTypeName() ?? "nothing")")
            try skip(&reader)
            return nil
        }
        try reader.beginObject()
        var keys: [String] = []
        while let (key, keyLocation) = try reader.nextKey() {
            if keys.contains(key) {
                problem(reader.currentPath, keyLocation, "duplicate key \"\(key)\"")
                try skip(&reader)
                continue
            }
            keys.append(key)
            try field(&self, &reader, key)
        }
        return (keys, location)
    }

    /// Reports the required keys an object just read lacks. Called right after it is read, when
    /// the reader's path is still the object's (paths are built only for problems: they cost).
    private mutating func requireFields(_ reader: inout JSONReader, _ read: (keys: [String], location: SourceLocation), _ required: [String]) {
        for key in required where !read.keys.contains(key) { problem(reader.currentPath, read.location, "missing field \"\(key)\"") }
    }

    /// `description` is `{"en_US", "zh_CN"}` on the wire (the SDK's `Description` model); the
    /// lowercase spellings and a plain string are taken too.
    private mutating func description(_ reader: inout JSONReader) throws(JSONSyntaxError) -> String {
        switch reader.peekTypeName() {
        case "string":
            if case .string(let text) = try reader.readValue().value { return text }
            return ""
        case "null":
            try skip(&reader)
            return ""
        case "object":
            guard case .object(let parts) = try reader.readValue().value else { return "" }
            for key in ["en_US", "en_us", "zh_CN", "zh_cn"] {
                if let part = parts.first(where: { $0.key == key }), case .string(let text) = part.value.value, !text.isEmpty { return text }
            }
            return ""
        default:
            problemHere(&reader, "\"description\" must be an object {\"en_US\", \"zh_CN\"}, found \(reader.peekTypeName() ?? "nothing")")
            try skip(&reader)
            return ""
        }
    }

    // MARK: The document

    /// Value types by their schema names (folded).
    static let valueTypes: [String: ConditionKeyType] = [
        "string": .string, "numeric": .numeric, "number": .numeric, "boolean": .boolean, "bool": .boolean, "date": .date,
        "ip_address": .ip, "ipaddress": .ip, "ip": .ip,
    ]

    private static func path(_ components: JSONPathComponent...) -> JSONPath { JSONPath(components) }

    private mutating func readService(_ reader: inout JSONReader) throws(JSONSyntaxError) -> ServiceCatalog? {
        var version = ""
        var raws: [RawAction] = []
        var resourceTypes: [ResourceTypeDefinition] = []
        var keys: [ConditionKeyDefinition] = []
        var keyChecks: [(name: String, location: SourceLocation, index: Int)] = []
        var operations: [(id: String, action: String, actionLocation: SourceLocation, dependents: [(String, SourceLocation)], index: Int)] =
            []
        var seenIDs: Set<String> = []
        var typeByTemplate: [String: String] = [:]
        var keyNames: Set<String> = []

        let top = try object(&reader) { (me: inout Self, reader: inout JSONReader, key: String) throws(JSONSyntaxError) in
            switch key {
            case "name" where reader.peekTypeName() == "string":
                me.isBulwarkFormat = true
                try me.skip(&reader)
            case "version":
                version = try me.string(&reader, "version") ?? ""
            case "actions":
                try me.array(&reader, "actions") { (me: inout Self, reader: inout JSONReader, _: Int) throws(JSONSyntaxError) in
                    raws.append(try me.readAction(&reader))
                }
            case "resources":
                var typeNames: Set<String> = []
                try me.array(&reader, "resources") { (me: inout Self, reader: inout JSONReader, _: Int) throws(JSONSyntaxError) in
                    var name: String?
                    var urn: String?
                    var nameLocation = SourceLocation(line: 1, column: 1)
                    var urnLocation = nameLocation
                    guard
                        let read = try me.object(
                            &reader,
                            { (me: inout Self, reader: inout JSONReader, key: String) throws(JSONSyntaxError) in
                                switch key {
                                case "type_name":
                                    nameLocation = reader.peekLocation()
                                    name = try me.string(&reader, key)
                                case "urn_template":
                                    urnLocation = reader.peekLocation()
                                    urn = try me.string(&reader, key)
                                default: try me.skip(&reader)
                                }
                            })
                    else { return }
                    me.requireFields(&reader, read, ["type_name", "urn_template"])
                    guard let name, let urn else { return }
                    if !typeNames.insert(name).inserted {
                        me.problem(reader.currentPath.appending(key: "type_name"), nameLocation, "duplicate resource type \"\(name)\"")
                    } else if let other = typeByTemplate[urn] {
                        me.problem(
                            reader.currentPath.appending(key: "urn_template"), urnLocation,
                            "resource types \"\(other)\" and \"\(name)\" have the same URN template \(urn)")
                    } else {
                        typeByTemplate[urn] = name
                        resourceTypes.append(ResourceTypeDefinition(name: name, urn: urn))
                    }
                }
            case "conditions":
                try me.array(&reader, "conditions") { (me: inout Self, reader: inout JSONReader, index: Int) throws(JSONSyntaxError) in
                    var name: String?
                    var typeName: String?
                    var multiValued = false
                    var text = ""
                    var nameLocation = SourceLocation(line: 1, column: 1)
                    var typeLocation = nameLocation
                    guard
                        let read = try me.object(
                            &reader,
                            { (me: inout Self, reader: inout JSONReader, key: String) throws(JSONSyntaxError) in
                                switch key {
                                case "key":
                                    nameLocation = reader.peekLocation()
                                    name = try me.string(&reader, key)
                                case "value_type":
                                    typeLocation = reader.peekLocation()
                                    typeName = try me.string(&reader, key)
                                case "multi_valued": multiValued = try me.bool(&reader, key)
                                case "description": text = try me.description(&reader)
                                default: try me.skip(&reader)
                                }
                            })
                    else { return }
                    me.requireFields(&reader, read, ["key", "value_type"])
                    guard let name, let typeName else { return }
                    guard let type = Self.valueTypes[Catalog.fold(typeName)] else {
                        me.problem(
                            reader.currentPath.appending(key: "value_type"), typeLocation,
                            "unknown value type \"\(typeName)\" (expected string, numeric, boolean, date or ip_address)")
                        return
                    }
                    if !keyNames.insert(Catalog.fold(name)).inserted {
                        me.problem(reader.currentPath.appending(key: "key"), nameLocation, "duplicate condition key \"\(name)\"")
                        return
                    }
                    keyChecks.append((name, nameLocation, index))
                    keys.append(ConditionKeyDefinition(name: name, type: type, multiValued: multiValued, description: text.isEmpty ? nil : text))
                }
            case "operations":
                try me.array(&reader, "operations") { (me: inout Self, reader: inout JSONReader, index: Int) throws(JSONSyntaxError) in
                    var id: String?
                    var action: String?
                    var dependents: [(String, SourceLocation)] = []
                    var idLocation = SourceLocation(line: 1, column: 1)
                    var actionLocation = idLocation
                    guard
                        let read = try me.object(
                            &reader,
                            { (me: inout Self, reader: inout JSONReader, key: String) throws(JSONSyntaxError) in
                                switch key {
                                case "operation_id":
                                    idLocation = reader.peekLocation()
                                    id = try me.string(&reader, key)
                                case "operation_action":
                                    actionLocation = reader.peekLocation()
                                    action = try me.string(&reader, key)
                                case "dependent_actions": dependents = try me.strings(&reader, key)
                                default: try me.skip(&reader)
                                }
                            })
                    else { return }
                    me.requireFields(&reader, read, ["operation_id", "operation_action"])
                    guard let id, let action else { return }
                    if !seenIDs.insert(id).inserted {
                        me.problem(reader.currentPath.appending(key: "operation_id"), idLocation, "duplicate operation \(id)")
                        return
                    }
                    operations.append((id, action, actionLocation, dependents, index))
                }
            default:
                try me.skip(&reader)
            }
        }
        guard let top, !isBulwarkFormat else { return nil }
        requireFields(&reader, top, ["version", "actions", "resources"])
        if top.keys.contains("actions") && raws.isEmpty && problems.isEmpty {
            problem(Self.path(.key("actions")), top.location, "the schema lists no actions")
        }

        // The service code: the prefix every action shares.
        var code: String?
        var codeSource = ""
        var actions: [ActionDefinition] = []
        var actionNames: Set<String> = []
        var aliasOwners: Set<String> = []
        var references: [Reference] = []
        for (i, raw) in raws.enumerated() {
            guard let name = raw.name else { continue }
            let namePath = Self.path(.key("actions"), .index(i), .key("name"))
            let prefix = Self.servicePrefix(of: name)
            if prefix.isEmpty || name.split(separator: ":", omittingEmptySubsequences: false).count != 3 {
                problem(namePath, raw.nameLocation, "\"\(name)\" is not an action name (service:resource:action)")
                continue
            }
            if let code, Catalog.fold(code) != Catalog.fold(prefix) {
                problem(namePath, raw.nameLocation, "\(name) is not an action of service \(code) (\(codeSource) is); a schema describes one service")
                continue
            }
            if code == nil { (code, codeSource) = (prefix, name) }
            if !actionNames.insert(Catalog.fold(name)).inserted {
                problem(namePath, raw.nameLocation, "duplicate action \(name)")
                continue
            }
            for (k, key) in raw.keys.enumerated() {
                references.append(Reference(text: key, location: raw.keyLocations[k], action: i, resource: -1, element: k))
            }
            var resources: [ActionResource] = []
            for (r, resource) in raw.resources.enumerated() {
                for (k, key) in resource.keys.enumerated() {
                    references.append(Reference(text: key, location: resource.keyLocations[k], action: i, resource: r, element: k))
                }
                let resourcePath = Self.path(.key("actions"), .index(i), .key("resources"), .index(r), .key("urn_template"))
                guard let type = typeByTemplate[resource.template] else {
                    problem(resourcePath, resource.location, "\(resource.template) is the URN template of no resource type in \"resources\"")
                    continue
                }
                if resources.contains(where: { $0.type == type }) {
                    problem(resourcePath, resource.location, "resource type \"\(type)\" is listed twice for \(name)")
                    continue
                }
                resources.append(ActionResource(type: type, required: resource.required, conditionKeys: resource.keys))
            }
            guard let levelText = raw.level else { continue }
            guard let level = AccessLevel(rawValue: Catalog.fold(levelText)) else {
                problem(
                    Self.path(.key("actions"), .index(i), .key("access_level")), raw.levelLocation,
                    "unknown access level \"\(levelText)\" (expected one of \(AccessLevel.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            actions.append(
                ActionDefinition(
                    name: name, description: raw.description, accessLevel: level, resourceTypes: resources.map(\.type),
                    conditionKeys: raw.keys, resources: resources, permissionOnly: raw.permissionOnly, aliases: raw.aliases.map(\.0)))
        }
        for (i, raw) in raws.enumerated() {
            for (a, (alias, location)) in raw.aliases.enumerated() {
                let path = Self.path(.key("actions"), .index(i), .key("aliases"), .index(a))
                if actionNames.contains(Catalog.fold(alias)) {
                    problem(path, location, "alias \(alias) is the name of an action")
                } else if !aliasOwners.insert(Catalog.fold(alias)).inserted {
                    problem(path, location, "alias \(alias) is given twice")
                }
            }
        }
        guard let code else { return nil }

        // Keys belong to this service (or are global), and every key an action names is defined.
        for (name, location, index) in keyChecks where Catalog.fold(Self.servicePrefix(of: name)) != Catalog.fold(code) {
            problem(
                Self.path(.key("conditions"), .index(index), .key("key")), location,
                "condition key \(name) is not a key of \(code) (write \(code):NAME)")
        }
        for reference in references where !keyNames.contains(Catalog.fold(reference.text)) && globals.conditionKey(named: reference.text) == nil {
            var path = Self.path(.key("actions"), .index(reference.action))
            if reference.resource >= 0 { path = path.appending(key: "resources").appending(index: reference.resource) }
            path = path.appending(key: "condition_keys").appending(index: reference.element)
            problem(path, reference.location, "condition key \(reference.text) is neither in \"conditions\" nor a global key")
        }

        // Operations: their actions are this schema's; dependents are checked once every catalog is merged.
        var definitions: [OperationDefinition] = []
        for operation in operations {
            guard actionNames.contains(Catalog.fold(operation.action)) else {
                problem(
                    Self.path(.key("operations"), .index(operation.index), .key("operation_action")), operation.actionLocation,
                    "\(operation.action) is no action of this schema")
                continue
            }
            definitions.append(OperationDefinition(id: operation.id, action: operation.action, dependentActions: operation.dependents.map(\.0)))
            for (d, (action, location)) in operation.dependents.enumerated() {
                let path = Self.path(.key("operations"), .index(operation.index), .key("dependent_actions"), .index(d))
                dependentReferences.append((operation.id, action, location, path))
            }
        }
        return ServiceCatalog(
            name: code, title: code.uppercased(), updated: version, resourceTypes: resourceTypes, conditionKeys: keys, actions: actions,
            operations: definitions, source: file)
    }

    /// One entry of `actions`.
    private mutating func readAction(_ reader: inout JSONReader) throws(JSONSyntaxError) -> RawAction {
        var raw = RawAction()
        guard
            let read = try object(
                &reader,
                { (me: inout Self, reader: inout JSONReader, key: String) throws(JSONSyntaxError) in
                    switch key {
                    case "name":
                        raw.nameLocation = reader.peekLocation()
                        raw.name = try me.string(&reader, key)
                    case "access_level":
                        raw.levelLocation = reader.peekLocation()
                        raw.level = try me.string(&reader, key)
                    case "permission_only": raw.permissionOnly = try me.bool(&reader, key)
                    case "description": raw.description = try me.description(&reader)
                    case "aliases": raw.aliases = try me.strings(&reader, key)
                    case "condition_keys":
                        let keys = try me.strings(&reader, key)
                        raw.keys = keys.map(\.0)
                        raw.keyLocations = keys.map(\.1)
                    case "resources":
                        try me.array(&reader, key) { (me: inout Self, reader: inout JSONReader, _: Int) throws(JSONSyntaxError) in
                            var template: String?
                            var location = SourceLocation(line: 1, column: 1)
                            var required = false
                            var keys: [(String, SourceLocation)] = []
                            guard
                                let read = try me.object(
                                    &reader,
                                    { (me: inout Self, reader: inout JSONReader, key: String) throws(JSONSyntaxError) in
                                        switch key {
                                        case "urn_template":
                                            location = reader.peekLocation()
                                            template = try me.string(&reader, key)
                                        case "required": required = try me.bool(&reader, key)
                                        case "condition_keys": keys = try me.strings(&reader, key)
                                        default: try me.skip(&reader)
                                        }
                                    })
                            else { return }
                            me.requireFields(&reader, read, ["urn_template"])
                            guard let template else { return }
                            raw.resources.append((template, location, required, keys.map(\.0), keys.map(\.1)))
                        }
                    default: try me.skip(&reader)
                    }
                })
        else { return raw }
        requireFields(&reader, read, ["name", "access_level"])
        return raw
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
            json.field("en_US", action.description)
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
                json.field("en_US", text)
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
