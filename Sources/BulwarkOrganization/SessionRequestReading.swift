import BulwarkEngine
public import BulwarkJSON
import BulwarkPolicy

/// Why a session object could not be read: what and where (JSON path and position).
public struct SessionRequestReadError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let path: JSONPath
    public let location: SourceLocation
    /// The session policies have more statements than allowed.
    public let isTooLarge: Bool

    public var description: String { "\(path) (line \(location.line), column \(location.column)): \(message)" }
}

extension SessionRequest {
    /// The fields of a session object: `{"agency", "sessionName", "sessionPolicies", "tags",
    /// "transitiveTagKeys", "sourceIdentity", "externalId"}`.
    public static let fields = ["agency", "sessionName", "sessionPolicies", "tags", "transitiveTagKeys", "sourceIdentity", "externalId"]

    /// Reads a session object strictly, wherever it comes from (a server body, the gateway's
    /// credentials file, a workspace test): unknown or repeated fields, wrong types and session
    /// policies that break the grammar are errors naming the JSON path. `tags` is
    /// `{"KEY": "VALUE"}` or Huawei's `[{"key", "value"}]`; session policies are policy
    /// objects or their text. Huawei's rules (names, tag sizes) are `check()`'s, at assume time.
    public static func read(_ node: JSONNode, path: JSONPath, maxStatements: Int = .max) throws(SessionRequestReadError) -> SessionRequest {
        func fail(_ message: String, _ at: JSONPath, _ location: SourceLocation, tooLarge: Bool = false) -> SessionRequestReadError {
            SessionRequestReadError(message: message, path: at, location: location, isTooLarge: tooLarge)
        }
        guard case .object(let members) = node.value else { throw fail("a session must be an object, found \(node.typeName)", path, node.location) }
        var seen: Set<String> = []
        for member in members {
            guard fields.contains(member.key) else {
                throw fail(
                    "unknown field \(Excerpt.quoted(member.key)) in the session; expected \(fields.joined(separator: ", "))",
                    path.appending(key: member.key), member.keyLocation)
            }
            guard seen.insert(member.key).inserted else {
                throw fail("duplicate field \(Excerpt.quoted(member.key)) in the session", path.appending(key: member.key), member.keyLocation)
            }
        }
        func field(_ key: String) -> JSONNode? { members.first { $0.key == key }?.value }
        func string(_ key: String) throws(SessionRequestReadError) -> String? {
            guard let value = field(key) else { return nil }
            guard case .string(let s) = value.value else {
                throw fail("\(key) must be a string, found \(value.typeName)", path.appending(key: key), value.location)
            }
            return s
        }
        func required(_ key: String) throws(SessionRequestReadError) -> String {
            guard let s = try string(key) else { throw fail("the session needs \(key)", path, node.location) }
            return s
        }
        func array(_ key: String) throws(SessionRequestReadError) -> [JSONNode]? {
            guard let value = field(key) else { return nil }
            guard case .array(let items) = value.value else {
                throw fail("\(key) must be an array, found \(value.typeName)", path.appending(key: key), value.location)
            }
            return items
        }

        var request = SessionRequest(agency: try required("agency"), sessionName: try required("sessionName"))
        request.sourceIdentity = try string("sourceIdentity")
        request.externalID = try string("externalId")
        for (i, item) in (try array("transitiveTagKeys") ?? []).enumerated() {
            guard case .string(let s) = item.value else {
                throw fail(
                    "transitiveTagKeys[\(i)] must be a string, found \(item.typeName)", path.appending(key: "transitiveTagKeys").appending(index: i),
                    item.location)
            }
            request.transitiveTagKeys.append(s)
        }
        if let tags = field("tags") { request.tags = try readTags(tags, path: path.appending(key: "tags")) }
        if let items = try array("sessionPolicies") {
            var statements = 0
            var policies: [NamedPolicy] = []
            for (i, item) in items.enumerated() {
                let at = path.appending(key: "sessionPolicies").appending(index: i)
                let policy: Policy
                do throws(PolicyParseError) {
                    if case .string(let text) = item.value {
                        policy = try PolicyParser.parse(text)
                    } else {
                        policy = try PolicyParser.parse(node: item)
                    }
                } catch {
                    // An object's errors are located where it is; a string's within its text.
                    var location = error.location
                    if case .string = item.value { location = item.location }
                    throw fail("session policy \(i): \(error.message)", JSONPath(at.components + error.path.components), location)
                }
                statements += policy.statements.count
                if statements > maxStatements {
                    throw fail("the session policies have more than \(maxStatements) statements", at, item.location, tooLarge: true)
                }
                policies.append(NamedPolicy(id: "session[\(i)]", policy: policy))
            }
            request.sessionPolicies = policies
        }
        return request
    }

    private static func readTags(_ node: JSONNode, path: JSONPath) throws(SessionRequestReadError) -> [SessionTag] {
        func fail(_ message: String, _ at: JSONPath, _ location: SourceLocation) -> SessionRequestReadError {
            SessionRequestReadError(message: message, path: at, location: location, isTooLarge: false)
        }
        switch node.value {
        case .object(let members):
            var out: [SessionTag] = []
            for member in members {
                guard case .string(let value) = member.value.value else {
                    throw fail(
                        "tag \(Excerpt.quoted(member.key)) must be a string, found \(member.value.typeName)", path.appending(key: member.key),
                        member.value.location)
                }
                out.append(SessionTag(key: member.key, value: value))
            }
            return out
        case .array(let items):
            var out: [SessionTag] = []
            for (i, item) in items.enumerated() {
                guard case .object(let members) = item.value, members.count == 2,
                    case .string(let key)? = members.first(where: { $0.key == "key" })?.value.value,
                    case .string(let value)? = members.first(where: { $0.key == "value" })?.value.value
                else {
                    throw fail("tags[\(i)] must be {\"key\": string, \"value\": string}", path.appending(index: i), item.location)
                }
                out.append(SessionTag(key: key, value: value))
            }
            return out
        default:
            throw fail("tags must be an object of strings or an array of {key, value}, found \(node.typeName)", path, node.location)
        }
    }
}
