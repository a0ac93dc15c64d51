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
    /// Where the trace is in the text it was read from (byte offset, path): `TraceText.place(of:)` locates it.
    public var sourceOffset = 0
    public var sourcePath = JSONPath.root

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
    /// One streaming pass: fields are matched in place, others skipped (a trace file holds millions).
    public static func read(_ text: TraceText) -> [Result<CTSTrace, TraceProblem>] {
        var reader = JSONReader(bytes: text.bytes)
        var decoder = TraceDecoder(text: text)
        do {
            let results = try decoder.readTrace(&reader, path: text.path, topLevel: text.path == .root)
            try reader.endDocument()
            return results
        } catch {
            return [
                .failure(
                    TraceProblem(location: text.locate(error.location), path: text.path.appending(error.path), message: error.message, traceID: nil))
            ]
        }
    }
}

/// The fields of a trace, matched in place.
private enum TraceKey: Int, CaseIterable {
    case traceID, traceName, time, serviceType, resourceType, resourceID, resourceURL, httpMethod, operationID, endpoint, sourceIP, code
    case resourceAccountID, user, traces

    var name: String {
        switch self {
        case .traceID: "trace_id"
        case .traceName: "trace_name"
        case .time: "time"
        case .serviceType: "service_type"
        case .resourceType: "resource_type"
        case .resourceID: "resource_id"
        case .resourceURL: "resource_url"
        case .httpMethod: "http_method"
        case .operationID: "operation_id"
        case .endpoint: "endpoint"
        case .sourceIP: "source_ip"
        case .code: "code"
        case .resourceAccountID: "resource_account_id"
        case .user: "user"
        case .traces: "traces"
        }
    }

    static let set = JSONKeySet(allCases.map(\.name))
}

/// The fields of a trace's `user`.
private enum UserKey: Int, CaseIterable {
    case principalURN, accountID, type, name, principalID, accessKeyID

    var name: String {
        switch self {
        case .principalURN: "principal_urn"
        case .accountID: "account_id"
        case .type: "type"
        case .name: "name"
        case .principalID: "principal_id"
        case .accessKeyID: "access_key_id"
        }
    }

    static let set = JSONKeySet(allCases.map(\.name))
}

/// Reads trace objects from a `JSONReader`; a field of the wrong type makes the trace a
/// problem (located), the rest of the text is still read.
private struct TraceDecoder {
    let text: TraceText
    /// The first problem of the trace being read: (offset, path, message).
    private var problem: (offset: Int, path: JSONPath, message: String)?

    init(text: TraceText) { self.text = text }

    /// The trace at the cursor, or the traces of a `ListTraces` answer (`topLevel` only).
    mutating func readTrace(_ reader: inout JSONReader, path: JSONPath, topLevel: Bool) throws(JSONSyntaxError) -> [Result<CTSTrace, TraceProblem>] {
        let start = reader.peekOffset()
        guard reader.peekKind() == .object else {
            _ = try reader.readValue()
            return [.failure(located(start, path, "a trace is an object", traceID: nil))]
        }
        problem = nil
        var fields = [String?](repeating: nil, count: TraceKey.allCases.count)
        var seen: UInt32 = 0
        var time: Int64?
        var user = CTSUser()
        var hasUser = false
        var listed: [Result<CTSTrace, TraceProblem>]?
        try reader.beginObject()
        while let (index, offset) = try reader.nextKey(in: TraceKey.set) {
            guard let key = TraceKey(rawValue: index) else {
                _ = try reader.readValue()
                continue
            }
            if seen & (1 << index) != 0 {
                note(offset, path, "duplicate field \"\(key.name)\"")
                _ = try reader.readValue()
                continue
            }
            seen |= 1 << index
            switch key {
            case .time: time = try integer(&reader, path.appending(key: key.name), key.name)
            case .user:
                hasUser = true
                user = try readUser(&reader, path: path.appending(key: "user"))
            case .traces where topLevel && reader.peekKind() == .array:
                var items: [Result<CTSTrace, TraceProblem>] = []
                try reader.beginArray()
                var i = 0
                while try reader.nextElement() {
                    var inner = TraceDecoder(text: text)
                    items += try inner.readTrace(&reader, path: path.appending(key: "traces").appending(index: i), topLevel: false)
                    i += 1
                }
                listed = items
            case .traces: _ = try reader.readValue()
            default: fields[index] = try string(&reader, path.appending(key: key.name), key.name)
            }
        }
        let id = fields[TraceKey.traceID.rawValue]
        if let listed {
            // A ListTraces answer, unless it is also a trace: then which one it is cannot be told.
            guard id != nil else { return listed }
            return [.failure(located(start, path, "both a trace (trace_id) and a ListTraces answer (traces); neither is read", traceID: id))]
        }
        if let problem { return [.failure(located(problem.offset, problem.path, problem.message, traceID: id))] }
        for required in [TraceKey.traceID, .serviceType] where (fields[required.rawValue] ?? "").isEmpty {
            let what = fields[required.rawValue] == nil ? "missing field \"\(required.name)\"" : "\"\(required.name)\" is empty"
            return [.failure(located(start, path, what, traceID: id))]
        }
        guard hasUser else { return [.failure(located(start, path, "missing field \"user\"", traceID: id))] }
        var trace = CTSTrace(traceID: id!, serviceType: fields[TraceKey.serviceType.rawValue]!, user: user)
        trace.time = time
        trace.traceName = fields[TraceKey.traceName.rawValue]
        trace.resourceType = fields[TraceKey.resourceType.rawValue]
        trace.resourceID = fields[TraceKey.resourceID.rawValue]
        trace.resourceURL = fields[TraceKey.resourceURL.rawValue]
        trace.httpMethod = fields[TraceKey.httpMethod.rawValue]
        trace.operationID = fields[TraceKey.operationID.rawValue]
        trace.endpoint = fields[TraceKey.endpoint.rawValue]
        trace.sourceIP = fields[TraceKey.sourceIP.rawValue]
        trace.code = fields[TraceKey.code.rawValue]
        trace.resourceAccountID = fields[TraceKey.resourceAccountID.rawValue]
        trace.sourceOffset = start
        trace.sourcePath = path
        return [.success(trace)]
    }

    private mutating func readUser(_ reader: inout JSONReader, path: JSONPath) throws(JSONSyntaxError) -> CTSUser {
        var user = CTSUser()
        guard reader.peekKind() == .object else {
            note(reader.peekOffset(), path, "\"user\" must be an object, found \(reader.peekKind()?.name ?? "nothing")")
            _ = try reader.readValue()
            return user
        }
        try reader.beginObject()
        var seen: UInt32 = 0
        while let (index, offset) = try reader.nextKey(in: UserKey.set) {
            guard let key = UserKey(rawValue: index) else {
                _ = try reader.readValue()
                continue
            }
            // Two principals in one trace: which one called cannot be told.
            if seen & (1 << index) != 0 {
                note(offset, path, "duplicate field \"user.\(key.name)\"")
                _ = try reader.readValue()
                continue
            }
            seen |= 1 << index
            let value = try string(&reader, path.appending(key: key.name), "user.\(key.name)")
            switch key {
            case .principalURN: user.principalURN = value
            case .accountID: user.accountID = value
            case .type: user.type = value
            case .name: user.name = value
            case .principalID: user.principalID = value
            case .accessKeyID: user.accessKeyID = value
            }
        }
        return user
    }

    /// A string field; null counts as absent (CTS writes nulls for fields it has no value for).
    private mutating func string(_ reader: inout JSONReader, _ path: JSONPath, _ name: String) throws(JSONSyntaxError) -> String? {
        if let (text, _) = try reader.readStringIfPresent() { return text }
        if reader.peekKind() != .null {
            note(reader.peekOffset(), path, "\"\(name)\" must be a string, found \(reader.peekKind()?.name ?? "nothing")")
        }
        _ = try reader.readValue()
        return nil
    }

    /// An integer field (`time`); a string of digits is taken too (trace files written by hand).
    private mutating func integer(_ reader: inout JSONReader, _ path: JSONPath, _ name: String) throws(JSONSyntaxError) -> Int64? {
        let offset = reader.peekOffset()
        let node = try reader.readValue()
        switch node.value {
        case .number(let text), .string(let text):
            guard let value = Int64(text) else {
                note(offset, path, "\"\(name)\" must be an integer (milliseconds), found \(text)")
                return nil
            }
            return value
        case .null: return nil
        default:
            note(offset, path, "\"\(name)\" must be an integer, found \(node.typeName)")
            return nil
        }
    }

    /// Keeps the trace's first problem.
    private mutating func note(_ offset: Int, _ path: JSONPath, _ message: String) {
        if problem == nil { problem = (offset, path, message) }
    }

    private func located(_ offset: Int, _ path: JSONPath, _ message: String, traceID: String?) -> TraceProblem {
        let inner = JSONReader.locations(ofOffsets: [offset], in: text.bytes)[0]
        return TraceProblem(location: text.locate(inner), path: path, message: message, traceID: traceID)
    }
}

extension TraceText {
    /// `LINE:COL: PATH` of a trace read from this text, for messages about it.
    public func place(of trace: CTSTrace) -> String {
        let location = locate(JSONReader.locations(ofOffsets: [trace.sourceOffset], in: bytes)[0])
        return "\(location.line):\(location.column): \(trace.sourcePath)"
    }

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
