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
    /// Problems at byte offsets, located only at the end (most documents have none).
    private var problems: [(path: JSONPath, offset: Int, message: String)] = []
    /// Set when the document names its service in a top-level `name`: Bulwark's own format, not a schema.
    public private(set) var isBulwarkFormat = false
    /// Dependent actions of operations, kept to check once every catalog is known.
    /// Offsets are the dependents' byte offsets in the document (`JSONReader.locations(ofOffsets:in:)` locates them).
    public private(set) var dependentReferences: [(operation: String, action: String, offset: Int, path: JSONPath)] = []

    /// Each reader has its own: readers run on every core, and tables shared between them would
    /// have their reference counts contended by every key read.
    private let keyTables = SchemaKeyTables()

    public init(file: String, globalKeys: [ConditionKeyDefinition]) {
        self.file = file
        self.globals = Catalog(services: [], globalKeys: globalKeys)
    }

    /// Byte offsets of the strings of every list read (`strings`), one after another: a list
    /// keeps where its offsets start, so no list needs a second array of its own.
    private var offsets: [Int] = []

    /// What one action entry says, before references are resolved.
    private struct RawAction {
        var name: String?
        /// The access level when written as one of `AccessLevel`'s names (matched in place) …
        var level: AccessLevel?
        /// … or the text written otherwise.
        var levelText: String?
        var levelOffset = 0
        var nameOffset = 0
        var permissionOnly = false
        var description = ""
        var aliases = StringList()
        var keys = StringList()
        var resources: [RawResource] = []
    }

    /// One of an action's `resources`, before its template is resolved to a type.
    private struct RawResource {
        let template: String
        let offset: Int
        let required: Bool
        let keys: StringList
    }

    /// The strings of a list, and where their offsets start in `offsets`.
    private struct StringList {
        var texts: [String] = []
        var firstOffset = 0
    }

    /// The service the document describes, or every problem found.
    public mutating func read(_ bytes: [UInt8]) -> Result<ServiceCatalog, CatalogErrors> {
        problems = []
        offsets = []
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
        let ordered = problems.enumerated().sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }.map(\.element)
        let locations = JSONReader.locations(ofOffsets: ordered.map(\.offset), in: bytes)
        return .failure(
            CatalogErrors(
                zip(ordered, locations).map { problem, location in
                    CatalogProblem(file: file, path: problem.path, location: location, message: problem.message)
                }))
    }

    // MARK: Values

    private mutating func problem(_ path: JSONPath, _ offset: Int, _ message: String) {
        problems.append((path, offset, message))
    }

    /// A problem with the value at the cursor.
    private mutating func problemHere(_ reader: inout JSONReader, _ message: String) {
        problem(reader.currentPath, reader.peekOffset(), message)
    }

    /// Skips the value at the cursor.
    private func skip(_ reader: inout JSONReader) throws(JSONSyntaxError) { _ = try reader.readValue() }

    /// The string at the cursor with its offset; another kind of value is reported (and nil).
    private mutating func string(_ reader: inout JSONReader, _ key: String, required: Bool = true) throws(JSONSyntaxError) -> (
        text: String, offset: Int
    )? {
        guard let (text, offset) = try reader.readStringIfPresent() else {
            problemHere(&reader, "\"\(key)\" must be a string, found \(reader.peekKind()?.name ?? "nothing")")
            try skip(&reader)
            return nil
        }
        if text.isEmpty && required { problem(reader.currentPath, offset, "\"\(key)\" is empty") }
        return (text, offset)
    }

    private mutating func bool(_ reader: inout JSONReader, _ key: String) throws(JSONSyntaxError) -> Bool {
        guard reader.peekKind() == .boolean else {
            problemHere(&reader, "\"\(key)\" must be true or false, found \(reader.peekKind()?.name ?? "nothing")")
            try skip(&reader)
            return false
        }
        return try reader.readBool()
    }

    /// Calls `element` for each element of the array at the cursor; reports a value that is not an array.
    private mutating func array(
        _ reader: inout JSONReader, _ key: String, _ element: (inout Self, inout JSONReader, Int) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) {
        guard reader.peekKind() == .array else {
            problemHere(&reader, "\"\(key)\" must be an array, found \(reader.peekKind()?.name ?? "nothing")")
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

    /// The strings of the array at the cursor (their offsets appended to `offsets`); other elements reported.
    private mutating func strings(_ reader: inout JSONReader, _ key: String) throws(JSONSyntaxError) -> StringList {
        var out = StringList(firstOffset: offsets.count)
        try array(&reader, key) { (me: inout Self, reader: inout JSONReader, _: Int) throws(JSONSyntaxError) in
            guard let (text, offset) = try reader.readStringIfPresent() else {
                me.problemHere(&reader, "expected a string, found \(reader.peekKind()?.name ?? "nothing")")
                try me.skip(&reader)
                return
            }
            out.texts.append(text)
            me.offsets.append(offset)
        }
        return out
    }

    /// Reads the object at the cursor, calling `field` with each key (nil for a key the schema
    /// does not define, with the value at the cursor); returns which keys it had, or nil
    /// (reported) when the value is not an object. Two members with one key are a problem:
    /// readers disagree on which one counts.
    private mutating func object<Key: SchemaKeys>(
        _ reader: inout JSONReader, _ table: SchemaKeyTable<Key>,
        _ field: (inout Self, inout JSONReader, Key?) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) -> ObjectRead<Key>? {
        let offset = reader.peekOffset()
        guard reader.peekKind() == .object else {
            problemHere(&reader, "expected an object, found \(reader.peekKind()?.name ?? "nothing")")
            try skip(&reader)
            return nil
        }
        try reader.beginObject()
        var read = ObjectRead(table.cases, offset: offset)
        // A set: a hostile document may have many keys of its own in one object.
        var otherKeys: Set<String> = []
        while let (index, keyOffset) = try reader.nextKey(in: table.set) {
            let key = index < table.cases.count ? table.cases[index] : nil
            let isDuplicate: Bool
            if key != nil {
                isDuplicate = read.seen & (1 << index) != 0
                read.seen |= 1 << index
            } else {
                isDuplicate = !otherKeys.insert(reader.key(atOffset: keyOffset)).inserted
            }
            if isDuplicate {
                problem(reader.currentPath, keyOffset, "duplicate key \"\(key?.rawValue ?? reader.key(atOffset: keyOffset))\"")
                try skip(&reader)
                continue
            }
            try field(&self, &reader, key)
        }
        return read
    }

    /// Reports the required keys an object just read lacks. Called right after it is read, when
    /// the reader's path is still the object's (paths are built only for problems: they cost).
    private mutating func requireFields<Key: SchemaKeys>(_ reader: inout JSONReader, _ read: ObjectRead<Key>, _ table: SchemaKeyTable<Key>) {
        guard read.seen & table.requiredMask != table.requiredMask else { return }
        for key in table.required where !read.has(key) { problem(reader.currentPath, read.offset, "missing field \"\(key.rawValue)\"") }
    }

    /// `description` is `{"en_US", "zh_CN"}` on the wire (the SDK's `Description` model); the
    /// lowercase spellings and a plain string are taken too.
    private mutating func description(_ reader: inout JSONReader) throws(JSONSyntaxError) -> String {
        switch reader.peekKind() {
        case .string:
            return try reader.readString()
        case .null:
            try skip(&reader)
            return ""
        case .object:
            // The first non-empty text in the order of preference, whatever the order of the members.
            var best = (rank: Int.max, text: "")
            _ = try object(&reader, keyTables.description) {
                (me: inout Self, reader: inout JSONReader, key: DescriptionKey?) throws(JSONSyntaxError) in
                guard let key, key.preference < best.rank, reader.peekKind() == .string else {
                    try me.skip(&reader)
                    return
                }
                let text = try reader.readString()
                if !text.isEmpty { best = (key.preference, text) }
            }
            return best.text
        default:
            problemHere(&reader, "\"description\" must be an object {\"en_US\", \"zh_CN\"}, found \(reader.peekKind()?.name ?? "nothing")")
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
        var keyChecks: [(name: String, offset: Int, index: Int)] = []
        var operations: [(id: String, action: String, actionOffset: Int, dependents: StringList, index: Int)] = []
        var seenIDs: Set<String> = []
        var typeByTemplate: [String: String] = [:]
        var keyNames: Set<String> = []

        let top = try object(&reader, keyTables.top) { (me: inout Self, reader: inout JSONReader, key: TopKey?) throws(JSONSyntaxError) in
            switch key {
            case .name where reader.peekKind() == .string:
                me.isBulwarkFormat = true
                try me.skip(&reader)
            case .version:
                version = try me.string(&reader, "version")?.text ?? ""
            case .actions:
                try me.array(&reader, "actions") { (me: inout Self, reader: inout JSONReader, _: Int) throws(JSONSyntaxError) in
                    raws.append(try me.readAction(&reader))
                }
            case .resources:
                var typeNames: Set<String> = []
                try me.array(&reader, "resources") { (me: inout Self, reader: inout JSONReader, _: Int) throws(JSONSyntaxError) in
                    var name: String?
                    var urn: String?
                    var nameLocation = 0
                    var urnLocation = nameLocation
                    guard
                        let read = try me.object(
                            &reader, me.keyTables.resource,
                            { (me: inout Self, reader: inout JSONReader, key: ResourceKey?) throws(JSONSyntaxError) in
                                switch key {
                                case .typeName:
                                    if let string = try me.string(&reader, "type_name") { (name, nameLocation) = (string.text, string.offset) }
                                case .urnTemplate:
                                    if let string = try me.string(&reader, "urn_template") { (urn, urnLocation) = (string.text, string.offset) }
                                case nil: try me.skip(&reader)
                                }
                            })
                    else { return }
                    me.requireFields(&reader, read, me.keyTables.resource)
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
            case .conditions:
                try me.array(&reader, "conditions") { (me: inout Self, reader: inout JSONReader, index: Int) throws(JSONSyntaxError) in
                    var name: String?
                    var typeName: String?
                    var multiValued = false
                    var text = ""
                    var nameLocation = 0
                    var typeLocation = nameLocation
                    guard
                        let read = try me.object(
                            &reader, me.keyTables.condition,
                            { (me: inout Self, reader: inout JSONReader, key: ConditionField?) throws(JSONSyntaxError) in
                                switch key {
                                case .key:
                                    if let string = try me.string(&reader, "key") { (name, nameLocation) = (string.text, string.offset) }
                                case .valueType:
                                    if let string = try me.string(&reader, "value_type") { (typeName, typeLocation) = (string.text, string.offset) }
                                case .multiValued: multiValued = try me.bool(&reader, "multi_valued")
                                case .description: text = try me.description(&reader)
                                case nil: try me.skip(&reader)
                                }
                            })
                    else { return }
                    me.requireFields(&reader, read, me.keyTables.condition)
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
            case .operations:
                try me.array(&reader, "operations") { (me: inout Self, reader: inout JSONReader, index: Int) throws(JSONSyntaxError) in
                    var id: String?
                    var action: String?
                    var dependents = StringList()
                    var idLocation = 0
                    var actionLocation = idLocation
                    guard
                        let read = try me.object(
                            &reader, me.keyTables.operation,
                            { (me: inout Self, reader: inout JSONReader, key: OperationKey?) throws(JSONSyntaxError) in
                                switch key {
                                case .operationID:
                                    if let string = try me.string(&reader, "operation_id") { (id, idLocation) = (string.text, string.offset) }
                                case .operationAction:
                                    if let string = try me.string(&reader, "operation_action") {
                                        (action, actionLocation) = (string.text, string.offset)
                                    }
                                case .dependentActions: dependents = try me.strings(&reader, "dependent_actions")
                                case nil: try me.skip(&reader)
                                }
                            })
                    else { return }
                    me.requireFields(&reader, read, me.keyTables.operation)
                    guard let id, let action else { return }
                    if !seenIDs.insert(id).inserted {
                        me.problem(reader.currentPath.appending(key: "operation_id"), idLocation, "duplicate operation \(id)")
                        return
                    }
                    operations.append((id, action, actionLocation, dependents, index))
                }
            case .name, nil:
                try me.skip(&reader)
            }
        }
        guard let top, !isBulwarkFormat else { return nil }
        requireFields(&reader, top, keyTables.top)
        if top.has(.actions) && raws.isEmpty && problems.isEmpty {
            problem(Self.path(.key("actions")), top.offset, "the schema lists no actions")
        }

        // The service code: the prefix every action shares.
        var code: String?
        var codeSource = ""
        var actions: [ActionDefinition] = []
        // Folded name → index in `actions`: the duplicate check, and the service's index if all is well.
        var actionNames: [String: Int] = Dictionary(minimumCapacity: raws.count)
        var aliasOwners: Set<String> = []
        // The actions whose condition keys are checked once `conditions` is known (read after them).
        var keyedActions: [Int] = []
        actions.reserveCapacity(raws.count)
        // Few resource types (the usual): templates compared in place, cheaper than hashing them.
        func typeName(ofTemplate template: String) -> String? {
            resourceTypes.count <= 16 ? resourceTypes.first { $0.urn == template }?.name : typeByTemplate[template]
        }
        for (i, raw) in raws.enumerated() {
            guard let name = raw.name else { continue }
            // Paths are made only for problems: one per action would cost at every start.
            func namePath() -> JSONPath { Self.path(.key("actions"), .index(i), .key("name")) }
            let prefix = Self.servicePrefix(of: name)
            if prefix.isEmpty || !Self.hasTwoColons(name) {
                problem(namePath(), raw.nameOffset, "\"\(name)\" is not an action name (service:resource:action)")
                continue
            }
            if let code, !Catalog.foldedEqual(code, prefix) {
                problem(namePath(), raw.nameOffset, "\(name) is not an action of service \(code) (\(codeSource) is); a schema describes one service")
                continue
            }
            if code == nil { (code, codeSource) = (String(prefix), name) }
            // One lookup both checks for a duplicate and enters the name.
            var isNew = false
            Self.claim(&actionNames[Catalog.fold(name), default: -1], for: actions.count, isNew: &isNew)
            if !isNew {
                problem(namePath(), raw.nameOffset, "duplicate action \(name)")
                continue
            }
            keyedActions.append(i)
            var resources: [ActionResource] = []
            var typesOfAction: Set<String> = []
            for (r, resource) in raw.resources.enumerated() {
                func resourcePath() -> JSONPath { Self.path(.key("actions"), .index(i), .key("resources"), .index(r), .key("urn_template")) }
                guard let type = typeName(ofTemplate: resource.template) else {
                    problem(resourcePath(), resource.offset, "\(resource.template) is the URN template of no resource type in \"resources\"")
                    continue
                }
                // Compared in place for the usual few; a set for a hostile many (no quadratic time).
                let listed = raw.resources.count < 16 ? resources.contains { $0.type == type } : !typesOfAction.insert(type).inserted
                if listed {
                    problem(resourcePath(), resource.offset, "resource type \"\(type)\" is listed twice for \(name)")
                    continue
                }
                resources.append(ActionResource(type: type, required: resource.required, conditionKeys: resource.keys.texts))
            }
            guard let level = raw.level ?? raw.levelText.flatMap({ AccessLevel(rawValue: Catalog.fold($0)) }) else {
                guard let levelText = raw.levelText else { continue }  // missing or not a string: reported
                problem(
                    Self.path(.key("actions"), .index(i), .key("access_level")), raw.levelOffset,
                    "unknown access level \"\(levelText)\" (expected one of \(AccessLevel.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            actions.append(
                ActionDefinition(
                    name: name, description: raw.description, accessLevel: level, resourceTypes: resources.map(\.type),
                    conditionKeys: raw.keys.texts, resources: resources, permissionOnly: raw.permissionOnly, aliases: raw.aliases.texts))
        }
        for (i, raw) in raws.enumerated() {
            for (a, alias) in raw.aliases.texts.enumerated() {
                let (offset, path) = (offsets[raw.aliases.firstOffset + a], Self.path(.key("actions"), .index(i), .key("aliases"), .index(a)))
                if actionNames[Catalog.fold(alias)] != nil {
                    problem(path, offset, "alias \(alias) is the name of an action")
                } else if !aliasOwners.insert(Catalog.fold(alias)).inserted {
                    problem(path, offset, "alias \(alias) is given twice")
                }
            }
        }
        guard let code else { return nil }

        // Keys belong to this service (or are global), and every key an action names is defined.
        for (name, offset, index) in keyChecks where !Catalog.foldedEqual(Self.servicePrefix(of: name), code) {
            problem(
                Self.path(.key("conditions"), .index(index), .key("key")), offset,
                "condition key \(name) is not a key of \(code) (write \(code):NAME)")
        }
        // Thousands of references name a few dozen keys: each distinct text is resolved once.
        var defined: [String: Bool] = [:]
        func isDefined(_ text: String) -> Bool {
            if let known = defined[text] { return known }
            let known = keyNames.contains(Catalog.fold(text)) || globals.conditionKey(named: text) != nil
            defined[text] = known
            return known
        }
        func checkKeys(_ list: StringList, at path: @autoclosure () -> JSONPath) {
            for (k, key) in list.texts.enumerated() where !isDefined(key) {
                problem(
                    path().appending(key: "condition_keys").appending(index: k), offsets[list.firstOffset + k],
                    "condition key \(key) is neither in \"conditions\" nor a global key")
            }
        }
        for i in keyedActions {
            checkKeys(raws[i].keys, at: Self.path(.key("actions"), .index(i)))
            for (r, resource) in raws[i].resources.enumerated() {
                checkKeys(resource.keys, at: Self.path(.key("actions"), .index(i), .key("resources"), .index(r)))
            }
        }

        // Operations: their actions are this schema's; dependents are checked once every catalog is merged.
        var definitions: [OperationDefinition] = []
        for operation in operations {
            guard actionNames[Catalog.fold(operation.action)] != nil else {
                problem(
                    Self.path(.key("operations"), .index(operation.index), .key("operation_action")), operation.actionOffset,
                    "\(operation.action) is no action of this schema")
                continue
            }
            definitions.append(OperationDefinition(id: operation.id, action: operation.action, dependentActions: operation.dependents.texts))
            for (d, action) in operation.dependents.texts.enumerated() {
                let path = Self.path(.key("operations"), .index(operation.index), .key("dependent_actions"), .index(d))
                dependentReferences.append((operation.id, action, offsets[operation.dependents.firstOffset + d], path))
            }
        }
        // The index holds each name at the position it was to take; an action checked but not kept
        // (a problem, so no catalog is made) would shift them: then the service indexes itself.
        guard actionNames.count == actions.count else {
            return ServiceCatalog(
                name: code, title: code.uppercased(), updated: version, resourceTypes: resourceTypes, conditionKeys: keys, actions: actions,
                operations: definitions, source: file)
        }
        return ServiceCatalog(
            name: code, title: code.uppercased(), updated: version, resourceTypes: resourceTypes, conditionKeys: keys, actions: actions,
            apis: [], referencedActions: [], requestFields: [], operations: definitions, source: file, actionIndex: actionNames)
    }

    /// One entry of `actions`.
    private mutating func readAction(_ reader: inout JSONReader) throws(JSONSyntaxError) -> RawAction {
        var raw = RawAction()
        guard
            let read = try object(
                &reader, keyTables.action,
                { (me: inout Self, reader: inout JSONReader, key: ActionKey?) throws(JSONSyntaxError) in
                    guard let key else { return try me.skip(&reader) }
                    switch key {
                    case .name:
                        if let string = try me.string(&reader, key.rawValue) { (raw.name, raw.nameOffset) = (string.text, string.offset) }
                    case .accessLevel:
                        raw.levelOffset = reader.peekOffset()
                        if let index = reader.matchString(in: me.keyTables.accessLevels) {
                            raw.level = AccessLevel.allCases[index]
                        } else if let string = try me.string(&reader, key.rawValue) {
                            raw.levelText = string.text
                        }
                    case .permissionOnly: raw.permissionOnly = try me.bool(&reader, key.rawValue)
                    case .description: raw.description = try me.description(&reader)
                    case .aliases: raw.aliases = try me.strings(&reader, key.rawValue)
                    case .conditionKeys: raw.keys = try me.strings(&reader, key.rawValue)
                    case .resources:
                        try me.array(&reader, key.rawValue) { (me: inout Self, reader: inout JSONReader, _: Int) throws(JSONSyntaxError) in
                            var template: String?
                            var offset = 0
                            var required = false
                            var keys = StringList()
                            guard
                                let read = try me.object(
                                    &reader, me.keyTables.actionResource,
                                    { (me: inout Self, reader: inout JSONReader, key: ActionResourceKey?) throws(JSONSyntaxError) in
                                        switch key {
                                        case .urnTemplate:
                                            if let string = try me.string(&reader, "urn_template") {
                                                (template, offset) = (string.text, string.offset)
                                            }
                                        case .required: required = try me.bool(&reader, "required")
                                        case .conditionKeys: keys = try me.strings(&reader, "condition_keys")
                                        case nil: try me.skip(&reader)
                                        }
                                    })
                            else { return }
                            me.requireFields(&reader, read, me.keyTables.actionResource)
                            guard let template else { return }
                            raw.resources.append(RawResource(template: template, offset: offset, required: required, keys: keys))
                        }
                    }
                })
        else { return raw }
        requireFields(&reader, read, keyTables.action)
        return raw
    }

    /// Enters `value` in a dictionary slot that holds -1 when new (the `default:` of its subscript).
    private static func claim(_ slot: inout Int, for value: Int, isNew: inout Bool) {
        guard slot < 0 else { return }
        slot = value
        isNew = true
    }

    /// Whether `name` has exactly two colons (service:resource:action).
    private static func hasTwoColons(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in bytes.reduce(0) { $0 + ($1 == UInt8(ascii: ":") ? 1 : 0) } == 2 }
    }

    static func servicePrefix(of name: String) -> Substring {
        name[..<(name.utf8.firstIndex(of: UInt8(ascii: ":")) ?? name.endIndex)]
    }
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

/// The keys of one kind of object in a schema document, matched in place as they are read.
private protocol SchemaKeys: RawRepresentable<String>, CaseIterable, Equatable, Sendable where AllCases == [Self] {}

/// A kind's keys in order, and as the reader's key set.
private struct SchemaKeyTable<Key: SchemaKeys>: Sendable {
    let cases: [Key]
    let set: JSONKeySet
    /// The keys an object of this kind must have, and their bits.
    let required: [Key]
    let requiredMask: UInt64

    init(required: [Key]) {
        self.cases = Key.allCases
        self.set = JSONKeySet(cases.map(\.rawValue))
        self.required = required
        let cases = self.cases
        self.requiredMask = required.reduce(0) { mask, key in mask | 1 << cases.firstIndex(of: key)! }
    }
}

/// The tables of every kind of object in a schema document.
private struct SchemaKeyTables: Sendable {
    let top = SchemaKeyTable<TopKey>(required: [.version, .actions, .resources])
    let action = SchemaKeyTable<ActionKey>(required: [.name, .accessLevel])
    let actionResource = SchemaKeyTable<ActionResourceKey>(required: [.urnTemplate])
    let resource = SchemaKeyTable<ResourceKey>(required: [.typeName, .urnTemplate])
    let condition = SchemaKeyTable<ConditionField>(required: [.key, .valueType])
    let operation = SchemaKeyTable<OperationKey>(required: [.operationID, .operationAction])
    let description = SchemaKeyTable<DescriptionKey>(required: [])
    /// Access levels by their names as schemas write them, matched in place.
    let accessLevels = JSONKeySet(AccessLevel.allCases.map(\.rawValue))
}

/// Which keys an object had (bits by the key's position in its table), and where it starts.
private struct ObjectRead<Key: SchemaKeys> {
    let cases: [Key]
    let offset: Int
    var seen: UInt64 = 0

    init(_ cases: [Key], offset: Int) {
        self.cases = cases
        self.offset = offset
    }

    func has(_ key: Key) -> Bool { cases.firstIndex(of: key).map { seen & (1 << $0) != 0 } ?? false }
}

private enum TopKey: String, SchemaKeys {
    case name, version, actions, resources, conditions, operations
}

private enum ActionKey: String, SchemaKeys {
    case name
    case accessLevel = "access_level"
    case permissionOnly = "permission_only"
    case description, aliases, resources
    case conditionKeys = "condition_keys"
}

private enum ActionResourceKey: String, SchemaKeys {
    case urnTemplate = "urn_template"
    case required
    case conditionKeys = "condition_keys"
}

private enum ResourceKey: String, SchemaKeys {
    case typeName = "type_name"
    case urnTemplate = "urn_template"
}

private enum ConditionField: String, SchemaKeys {
    case key
    case valueType = "value_type"
    case multiValued = "multi_valued"
    case description
}

private enum OperationKey: String, SchemaKeys {
    case operationID = "operation_id"
    case operationAction = "operation_action"
    case dependentActions = "dependent_actions"
}

/// The texts of a `description`, in order of preference.
private enum DescriptionKey: String, SchemaKeys {
    case enUS = "en_US"
    case enUSLowercase = "en_us"
    case zhCN = "zh_CN"
    case zhCNLowercase = "zh_cn"

    var preference: Int {
        switch self {
        case .enUS: 0
        case .enUSLowercase: 1
        case .zhCN: 2
        case .zhCNLowercase: 3
        }
    }
}
