public import BulwarkEngine
public import BulwarkJSON
public import BulwarkPolicy

/// Malformed `authorize` input: not JSON, a wrong shape, or a policy that breaks the grammar.
public struct AuthorizationInputError: LocatedError, Sendable {
    /// What kind of refusal, so a server can answer with the right status.
    public enum Kind: Sendable {
        /// The bytes are not JSON the reader accepts.
        case syntax
        /// JSON of the wrong shape, or a policy that breaks the grammar.
        case invalid
        /// More requests than `ContractOptions.maxRequests`.
        case tooManyRequests
        /// More inline statements than `ContractOptions.maxInlineStatements`.
        case tooManyStatements
    }

    /// What and where; the path is in the input document, e.g. `$.identityPolicies[0].document.Statement[0].Effect`.
    public let diagnostic: Diagnostic
    public let kind: Kind

    public init(message: String, path: JSONPath, location: SourceLocation, kind: Kind = .invalid) {
        diagnostic = Diagnostic(message: message, path: path, location: location)
        self.kind = kind
    }

    /// The reader's error, as a syntax error of the input.
    public init(_ error: JSONSyntaxError) {
        diagnostic = error.diagnostic
        kind = .syntax
    }

    /// The parser's error, re-based onto the input document at `base`.
    public init(_ error: PolicyParseError, at base: JSONPath) {
        self.init(message: error.message, path: JSONPath(base.components + error.path.components), location: error.location)
    }
}

/// What a reader of the contracts accepts beyond SPEC §3 and §4 (the server's `principal`),
/// and where it stops (the server's limits). The CLI uses the defaults.
public struct ContractOptions: Sendable {
    /// Top-level fields accepted besides the contract's; their values are kept unread.
    public var extraFields: [String] = []
    /// Most requests in `requests`.
    public var maxRequests = Int.max
    /// Most statements across the inline policies.
    public var maxInlineStatements = Int.max

    public init(extraFields: [String] = [], maxRequests: Int = .max, maxInlineStatements: Int = .max) {
        self.extraFields = extraFields
        self.maxRequests = maxRequests
        self.maxInlineStatements = maxInlineStatements
    }
}

/// The top-level fields of a contract document that are not the contract's own: the
/// values of `ContractOptions.extraFields`, and where every field's value starts.
public struct ContractFields: Sendable {
    /// Extra field → its value.
    public var extras: [String: JSONNode] = [:]
    /// Every top-level field present → where its value starts.
    public var locations: [String: SourceLocation] = [:]

    public init() {}
}

/// The `bulwark authorize` input of SPEC §3: policies and one request or many.
public struct AuthorizationInput: Sendable {
    public var policies: PolicySet
    public var requests: [AuthorizationRequest]
    /// True when the input had `requests` (print `{"results": [...]}`), false for `request`.
    public var isBatch: Bool
    /// Extra fields and where each field is (for the server).
    public var fields = ContractFields()

    public init(policies: PolicySet, requests: [AuthorizationRequest], isBatch: Bool) {
        self.policies = policies
        self.requests = requests
        self.isBatch = isBatch
    }

    /// Reads and validates the whole input, for the CLI and the server alike. Requests are
    /// converted one at a time as they are read, so millions of them never exist as a JSON tree.
    public static func decode(bytes: [UInt8], options: ContractOptions = ContractOptions()) throws(AuthorizationInputError) -> AuthorizationInput {
        var reader = JSONReader(bytes: bytes)
        do {
            return try decode(&reader, options: options)
        } catch let error as AuthorizationInputError {
            throw error
        } catch let error as JSONSyntaxError {
            throw AuthorizationInputError(error)
        } catch {
            // Unreachable: the reader throws JSONSyntaxError and the decoders AuthorizationInputError.
            throw AuthorizationInputError(message: "\(error)", path: .root, location: SourceLocation(line: 1, column: 1))
        }
    }

    private static func decode(_ reader: inout JSONReader, options: ContractOptions) throws -> AuthorizationInput {
        var identity: [NamedPolicy]?
        var levels: [[NamedPolicy]]?
        var single: AuthorizationRequest?
        var many: [AuthorizationRequest]?
        var fields = ContractFields()
        let start = reader.peekLocation()
        if reader.peekTypeName() == nil { throw reader.error("the input is empty; expected a JSON object") }
        if reader.peekTypeName() != "object" {
            // JSON of another type is the wrong shape; anything else is a syntax error (below).
            var probe = reader
            if let node = try? probe.readDocument() {  // safe: it only chooses between two refusals
                throw AuthorizationInputError(message: "expected an object, found \(node.typeName)", path: .root, location: node.location)
            }
        }
        try reader.beginObject()
        while let (key, keyLocation) = try reader.nextKey() {
            let path = JSONPath.root.appending(key: key)
            fields.locations[key] = reader.peekLocation()
            switch key {
            case "identityPolicies":
                let node = try reader.readValue()
                identity = try PolicyListDecoding.policies(node, path: path) { "identity[\($0)]" }
            case "scpLevels":
                levels = try PolicyListDecoding.levels(try reader.readValue(), path: path)
            case "request":
                single = try RequestDecoding.request(try reader.readValue(), path: path)
            case "requests":
                guard reader.peekTypeName() == "array" else {
                    let node = try reader.readValue()
                    throw AuthorizationInputError(
                        message: "requests must be an array of requests, found \(node.typeName)", path: path, location: node.location)
                }
                var list: [AuthorizationRequest] = []
                try reader.beginArray()
                var i = 0
                while try reader.nextElement() {
                    let node = try reader.readValue()
                    // Past the limit, count the rest without converting them, for the message.
                    if i < options.maxRequests { list.append(try RequestDecoding.request(node, path: path.appending(index: i))) }
                    i += 1
                }
                if i > options.maxRequests {
                    throw AuthorizationInputError(
                        message: "requests has \(i) requests; the limit is \(options.maxRequests)", path: path,
                        location: fields.locations[key]!, kind: .tooManyRequests)
                }
                many = list
            case _ where options.extraFields.contains(key):
                fields.extras[key] = try reader.readValue()
            default:
                let expected = ["identityPolicies", "scpLevels", "request"] + options.extraFields
                throw AuthorizationInputError(
                    message: "unknown field \(Excerpt.quoted(key)); expected \(expected.joined(separator: ", ")) or requests",
                    path: path, location: keyLocation)
            }
        }
        try reader.endDocument()
        if single != nil && many != nil {
            throw AuthorizationInputError(message: "give either request or requests, not both", path: .root, location: start)
        }
        guard let requests = many ?? single.map({ [$0] }) else {
            throw AuthorizationInputError(message: "missing request (or requests)", path: .root, location: start)
        }
        let policies = try PolicyListDecoding.checked(
            PolicySet(identityPolicies: identity ?? [], scpLevels: levels ?? []), limit: options.maxInlineStatements, at: start)
        var input = AuthorizationInput(policies: policies, requests: requests, isBatch: many != nil)
        input.fields = fields
        return input
    }
}

/// Decoding lists of policies: `[{"id", "document"} | document, ...]` and SCP levels.
public enum PolicyListDecoding {
    /// `policies` when its statements are at most `limit`.
    public static func checked(_ policies: PolicySet, limit: Int, at location: SourceLocation) throws(AuthorizationInputError) -> PolicySet {
        guard limit < Int.max else { return policies }
        let statements = (policies.identityPolicies + policies.scpLevels.joined()).reduce(0) { $0 + $1.policy.statements.count }
        if statements > limit {
            throw AuthorizationInputError(
                message: "the inline policies have \(statements) statements; the limit is \(limit)", path: .root, location: location,
                kind: .tooManyStatements)
        }
        return policies
    }

    /// An array of `{"id", "document"}` entries or bare policy documents.
    public static func policies(_ node: JSONNode, path: JSONPath, defaultID: (Int) -> String) throws(AuthorizationInputError) -> [NamedPolicy] {
        guard case .array(let items) = node.value else {
            throw AuthorizationInputError(message: "expected an array of policies, found \(node.typeName)", path: path, location: node.location)
        }
        var out: [NamedPolicy] = []
        for (i, item) in items.enumerated() {
            out.append(try namedPolicy(item, path: path.appending(index: i), defaultID: defaultID(i)))
        }
        return out
    }

    public static func namedPolicy(_ node: JSONNode, path: JSONPath, defaultID: String) throws(AuthorizationInputError) -> NamedPolicy {
        guard case .object(let members) = node.value else {
            throw AuthorizationInputError(message: "a policy must be an object, found \(node.typeName)", path: path, location: node.location)
        }
        guard members.contains(where: { $0.key == "document" }) else {
            return NamedPolicy(id: defaultID, policy: try parsePolicy(node, base: path))
        }
        var id = defaultID
        var document: JSONNode?
        for member in members {
            switch member.key {
            case "id":
                guard case .string(let s) = member.value.value else {
                    throw AuthorizationInputError(
                        message: "id must be a string, found \(member.value.typeName)", path: path.appending(key: "id"),
                        location: member.value.location)
                }
                id = s
            case "document":
                document = member.value
            default:
                throw AuthorizationInputError(
                    message: "unknown field \(Excerpt.quoted(member.key)) in a policy entry; expected id and document",
                    path: path.appending(key: member.key), location: member.keyLocation)
            }
        }
        return NamedPolicy(id: id, policy: try parsePolicy(document!, base: path.appending(key: "document")))
    }

    /// Parses a policy, re-basing error paths onto the input document.
    public static func parsePolicy(_ node: JSONNode, base: JSONPath) throws(AuthorizationInputError) -> Policy {
        do { return try PolicyParser.parse(node: node) } catch { throw AuthorizationInputError(error, at: base) }
    }

    /// `[[policy, ...], ...]`, one array per SCP level; unnamed policies are `scp[k][i]`.
    public static func levels(_ node: JSONNode, path: JSONPath) throws(AuthorizationInputError) -> [[NamedPolicy]] {
        guard case .array(let items) = node.value else {
            throw AuthorizationInputError(
                message: "scpLevels must be an array of arrays of policies, found \(node.typeName)", path: path, location: node.location)
        }
        var levels: [[NamedPolicy]] = []
        for (k, level) in items.enumerated() {
            levels.append(try policies(level, path: path.appending(index: k)) { "scp[\(k)][\($0)]" })
        }
        return levels
    }
}

/// Converting request objects and contexts (shared by `authorize` and future API forms).
public enum RequestDecoding {
    /// `{"action": ..., "resource": ..., "context": {...}}`; resource defaults to `"*"`.
    public static func request(_ node: JSONNode, path: JSONPath) throws(AuthorizationInputError) -> AuthorizationRequest {
        guard case .object(let members) = node.value else {
            throw AuthorizationInputError(message: "a request must be an object, found \(node.typeName)", path: path, location: node.location)
        }
        var action: String?
        var resource = "*"
        var context = RequestContext()
        for member in members {
            let memberPath = path.appending(key: member.key)
            switch member.key {
            case "action":
                guard case .string(let s) = member.value.value else {
                    throw AuthorizationInputError(
                        message: "action must be a string, found \(member.value.typeName)", path: memberPath, location: member.value.location)
                }
                action = s
            case "resource":
                guard case .string(let s) = member.value.value else {
                    throw AuthorizationInputError(
                        message: "resource must be a string, found \(member.value.typeName)", path: memberPath, location: member.value.location)
                }
                resource = s
            case "context":
                context = try self.context(member.value, path: memberPath)
            default:
                throw AuthorizationInputError(
                    message: "unknown field \(Excerpt.quoted(member.key)) in a request; expected action, resource and context",
                    path: memberPath, location: member.keyLocation)
            }
        }
        guard let action else {
            throw AuthorizationInputError(message: "the request has no action", path: path, location: node.location)
        }
        return AuthorizationRequest(action: action, resource: resource, context: context)
    }

    /// Condition key → string, number, boolean, null (missing) or an array of scalars.
    public static func context(_ node: JSONNode, path: JSONPath) throws(AuthorizationInputError) -> RequestContext {
        guard case .object(let members) = node.value else {
            throw AuthorizationInputError(
                message: "context must be an object of condition keys, found \(node.typeName)", path: path, location: node.location)
        }
        var context = RequestContext()
        var seen: [String: String] = [:]
        for member in members {
            let keyPath = path.appending(key: member.key)
            let folded = CaseFolding.lowercase(member.key)
            if let other = seen[folded] {
                throw AuthorizationInputError(
                    message: "context key \(Excerpt.quoted(member.key)) repeats \(Excerpt.quoted(other)); keys are case-insensitive",
                    path: keyPath, location: member.keyLocation)
            }
            seen[folded] = member.key
            switch member.value.value {
            case .null:
                continue
            case .array(let items):
                var values: [ScalarValue] = []
                for (i, item) in items.enumerated() {
                    values.append(try scalar(item, path: keyPath.appending(index: i)))
                }
                context.set(member.key, normalizedKey: folded, values, isList: true)
            default:
                context.set(member.key, normalizedKey: folded, [try scalar(member.value, path: keyPath)])
            }
        }
        return context
    }

    static func scalar(_ node: JSONNode, path: JSONPath) throws(AuthorizationInputError) -> ScalarValue {
        switch node.value {
        case .string(let s): return .string(s)
        case .number(let n): return .number(n)
        case .bool(let b): return .bool(b)
        default:
            throw AuthorizationInputError(
                message: "a context value must be a string, number or boolean (or an array of them), found \(node.typeName)",
                path: path, location: node.location)
        }
    }
}
