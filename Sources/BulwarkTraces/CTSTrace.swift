public import BulwarkJSON

/// One CTS trace, with the fields of the official SDK's `Traces` model that say who called
/// what (others are ignored), and `http_method` (Bulwark's convention: the model has none).
public struct CTSTrace: Sendable {
    public var traceID: String
    public var traceName: String?
    /// Milliseconds since 1970-01-01 UTC.
    public var time: Int64?
    /// The service, e.g. `IMS` (compared with catalogs case-insensitively).
    public var serviceType: String
    public var resourceType: String?
    public var resourceID: String?
    public var resourceURL: String?
    public var httpMethod: String?
    public var operationID: String?
    public var endpoint: String?
    public var sourceIP: String?
    /// The HTTP status as CTS writes it, a string (`"200"`).
    public var code: String?
    public var resourceAccountID: String?
    public var user: CTSUser

    /// Whether the call succeeded: a 2xx or 3xx `code`.
    public var succeeded: Bool {
        guard let code, let status = Int(code) else { return false }
        return (200..<400).contains(status)
    }

    public init(traceID: String, serviceType: String, user: CTSUser) {
        self.traceID = traceID
        self.serviceType = serviceType
        self.user = user
    }
}

/// The caller of a traced call (the SDK's `UserInfo`).
public struct CTSUser: Sendable {
    /// `iam::ACCOUNT:user:NAME`, or for a session `sts::ACCOUNT:assumed-agency:AGENCY/SESSION`.
    public var principalURN: String?
    public var accountID: String?
    /// `User`, `AssumedAgency` or `ExternalUser`.
    public var type: String?
    /// For a session of an agency, `DOMAIN/AGENCY`; else the user's name.
    public var name: String?
    public var principalID: String?
    public var accessKeyID: String?

    public init() {}
}

/// A trace that cannot be read, located in its file.
public struct TraceProblem: Error, Sendable, CustomStringConvertible {
    public let location: SourceLocation
    public let path: JSONPath
    public let message: String
    /// The trace's id, when it could be read.
    public let traceID: String?

    public var description: String { "\(location.line):\(location.column): \(path): \(message)" }
}

extension CTSTrace {
    /// Reads the trace of a text cut out by `TraceSplitter` (the traces, for a `ListTraces`
    /// answer): each one read or located as a problem, in file order; locations are the file's.
    public static func read(_ text: TraceText) -> [Result<CTSTrace, TraceProblem>] {
        var reader = JSONReader(bytes: text.bytes)
        let node: JSONNode
        do { node = try reader.readDocument() } catch {
            return [
                .failure(
                    TraceProblem(location: text.locate(error.location), path: text.path.appending(error.path), message: error.message, traceID: nil))
            ]
        }
        // A `ListTraces` answer: its `traces` are the traces.
        if text.path == .root, case .object(let members) = node.value, !members.contains(where: { $0.key == "trace_id" }),
            let list = members.first(where: { $0.key == "traces" })
        {
            let path = JSONPath.root.appending(key: "traces")
            guard case .array(let items) = list.value.value else {
                return [
                    .failure(
                        TraceProblem(location: text.locate(list.value.location), path: path, message: "\"traces\" must be an array", traceID: nil))
                ]
            }
            return items.enumerated().map { i, item in decode(item, in: text, path: path.appending(index: i)) }
        }
        return [decode(node, in: text, path: text.path)]
    }

    /// The fields of one trace object; a missing or mistyped field it needs is a problem.
    static func decode(_ node: JSONNode, in text: TraceText, path: JSONPath) -> Result<CTSTrace, TraceProblem> {
        guard case .object(let members) = node.value else {
            return .failure(TraceProblem(location: text.locate(node.location), path: path, message: "a trace is an object", traceID: nil))
        }
        var fields = TraceFields(members: members, text: text, path: path)
        do throws(TraceProblem) {
            let id = try fields.string("trace_id", required: true)!
            fields.traceID = id
            let service = try fields.string("service_type", required: true)!
            guard let userNode = members.first(where: { $0.key == "user" })?.value else {
                throw fields.problem(at: node, "missing field \"user\"")
            }
            var trace = CTSTrace(traceID: id, serviceType: service, user: try fields.user(userNode))
            trace.traceName = try fields.string("trace_name")
            trace.time = try fields.integer("time")
            trace.resourceType = try fields.string("resource_type")
            trace.resourceID = try fields.string("resource_id")
            trace.resourceURL = try fields.string("resource_url")
            trace.httpMethod = try fields.string("http_method")
            trace.operationID = try fields.string("operation_id")
            trace.endpoint = try fields.string("endpoint")
            trace.sourceIP = try fields.string("source_ip")
            trace.code = try fields.string("code")
            trace.resourceAccountID = try fields.string("resource_account_id")
            return .success(trace)
        } catch {
            return .failure(error)
        }
    }
}

/// Reads typed fields of a trace object, locating what is wrong.
private struct TraceFields {
    let members: [JSONMember]
    let text: TraceText
    let path: JSONPath
    var traceID: String?

    func problem(at node: JSONNode, _ message: String, keys: String...) -> TraceProblem {
        TraceProblem(location: text.locate(node.location), path: keys.reduce(path) { $0.appending(key: $1) }, message: message, traceID: traceID)
    }

    /// A string field; null counts as absent (CTS writes nulls for fields it has no value for).
    func string(_ key: String, required: Bool = false, in members: [JSONMember]? = nil, under prefix: String? = nil) throws(TraceProblem) -> String? {
        let name = prefix.map { "\($0).\(key)" } ?? key
        func problem(_ node: JSONNode, _ message: String) -> TraceProblem {
            prefix.map { self.problem(at: node, message, keys: $0, key) } ?? self.problem(at: node, message, keys: key)
        }
        guard let member = (members ?? self.members).first(where: { $0.key == key }) else {
            if required { throw TraceProblem(location: text.start, path: path, message: "missing field \"\(name)\"", traceID: traceID) }
            return nil
        }
        switch member.value.value {
        case .string(let value):
            if required && value.isEmpty { throw problem(member.value, "\"\(name)\" is empty") }
            return value
        case .null where !required: return nil
        default: throw problem(member.value, "\"\(name)\" must be a string, found \(member.value.typeName)")
        }
    }

    /// An integer field (`time`); a string of digits is taken too (trace files written by hand).
    func integer(_ key: String) throws(TraceProblem) -> Int64? {
        guard let member = members.first(where: { $0.key == key }) else { return nil }
        switch member.value.value {
        case .number(let text), .string(let text):
            guard let value = Int64(text) else {
                throw problem(at: member.value, "\"\(key)\" must be an integer (milliseconds), found \(text)", keys: key)
            }
            return value
        case .null: return nil
        default: throw problem(at: member.value, "\"\(key)\" must be an integer, found \(member.value.typeName)", keys: key)
        }
    }

    func user(_ node: JSONNode) throws(TraceProblem) -> CTSUser {
        guard case .object(let fields) = node.value else {
            throw problem(at: node, "\"user\" must be an object, found \(node.typeName)", keys: "user")
        }
        var user = CTSUser()
        user.principalURN = try string("principal_urn", in: fields, under: "user")
        user.accountID = try string("account_id", in: fields, under: "user")
        user.type = try string("type", in: fields, under: "user")
        user.name = try string("name", in: fields, under: "user")
        user.principalID = try string("principal_id", in: fields, under: "user")
        user.accessKeyID = try string("access_key_id", in: fields, under: "user")
        return user
    }
}

extension TraceText {
    /// A location within the trace's text as a location in its file.
    func locate(_ inner: SourceLocation) -> SourceLocation {
        inner.line == 1
            ? SourceLocation(line: start.line, column: start.column + inner.column - 1)
            : SourceLocation(line: start.line + inner.line - 1, column: inner.column)
    }
}

extension JSONPath {
    /// This path followed by `other`'s steps.
    func appending(_ other: JSONPath) -> JSONPath { JSONPath(components + other.components) }
}
