import BulwarkEngine
import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy

/// Reads the `"session"` object of a decision body (SPEC §10) strictly: unknown fields, wrong
/// types and session policies that break the grammar are 400s naming the JSON path.
enum SessionRequestDecoding {
    static let fields = ["agency", "sessionName", "sessionPolicies", "tags", "transitiveTagKeys", "sourceIdentity", "externalId"]

    static func decode(_ node: JSONNode, maxStatements: Int) throws(APIError) -> SessionRequest {
        let path = JSONPath.root.appending(key: "session")
        guard case .object(let members) = node.value else {
            throw APIError.badRequest("session must be an object, found \(node.typeName)", path: path, location: node.location)
        }
        var seen: Set<String> = []
        for member in members {
            guard fields.contains(member.key) else {
                throw APIError.badRequest(
                    "unknown field \(Excerpt.quoted(member.key)) in session; expected \(fields.joined(separator: ", "))",
                    path: path.appending(key: member.key), location: member.keyLocation)
            }
            guard seen.insert(member.key).inserted else {
                throw APIError.badRequest(
                    "duplicate field \(Excerpt.quoted(member.key)) in session", path: path.appending(key: member.key), location: member.keyLocation)
            }
        }
        func field(_ key: String) -> JSONNode? { members.first { $0.key == key }?.value }
        func string(_ key: String) throws(APIError) -> String? {
            guard let value = field(key) else { return nil }
            guard case .string(let s) = value.value else {
                throw APIError.badRequest(
                    "session.\(key) must be a string, found \(value.typeName)", path: path.appending(key: key), location: value.location)
            }
            return s
        }
        func required(_ key: String) throws(APIError) -> String {
            guard let s = try string(key) else { throw APIError.badRequest("session needs \(key)", path: path, location: node.location) }
            return s
        }
        func array(_ key: String) throws(APIError) -> [JSONNode]? {
            guard let value = field(key) else { return nil }
            guard case .array(let items) = value.value else {
                throw APIError.badRequest(
                    "session.\(key) must be an array, found \(value.typeName)", path: path.appending(key: key), location: value.location)
            }
            return items
        }

        var request = SessionRequest(agency: try required("agency"), sessionName: try required("sessionName"))
        request.sourceIdentity = try string("sourceIdentity")
        request.externalID = try string("externalId")
        if let items = try array("transitiveTagKeys") {
            request.transitiveTagKeys = try items.enumerated().map { i, item throws(APIError) in
                guard case .string(let s) = item.value else {
                    throw APIError.badRequest(
                        "session.transitiveTagKeys[\(i)] must be a string, found \(item.typeName)",
                        path: path.appending(key: "transitiveTagKeys").appending(index: i), location: item.location)
                }
                return s
            }
        }
        request.tags = try tags(field("tags"), path: path.appending(key: "tags"))
        if let items = try array("sessionPolicies") {
            var statements = 0
            var policies: [NamedPolicy] = []
            for (i, item) in items.enumerated() {
                let at = path.appending(key: "sessionPolicies").appending(index: i)
                let policy: Policy
                do {
                    if case .string(let text) = item.value {
                        policy = try PolicyParser.parse(text)
                    } else {
                        policy = try PolicyParser.parse(node: item)
                    }
                } catch {
                    // An object's errors are located in the body; a string's within its text.
                    var inBody = error.location
                    if case .string = item.value { inBody = item.location }
                    throw APIError.badRequest(
                        "session.sessionPolicies[\(i)]: \(error.message)", path: JSONPath(at.components + error.path.components), location: inBody)
                }
                statements += policy.statements.count
                if statements > maxStatements {
                    throw APIError(
                        status: 413, code: "too_many_statements",
                        message: "session policies have more than \(maxStatements) statements (--max-inline-statements)", path: at,
                        location: item.location)
                }
                policies.append(NamedPolicy(id: "session[\(i)]", policy: policy))
            }
            request.sessionPolicies = policies
        }
        return request
    }

    /// `{"KEY": "VALUE"}`, or Huawei's `[{"key": …, "value": …}]`, in order.
    private static func tags(_ node: JSONNode?, path: JSONPath) throws(APIError) -> [SessionTag] {
        guard let node else { return [] }
        switch node.value {
        case .object(let members):
            var out: [SessionTag] = []
            for member in members {
                guard case .string(let value) = member.value.value else {
                    throw APIError.badRequest(
                        "session.tags.\(member.key) must be a string, found \(member.value.typeName)", path: path.appending(key: member.key),
                        location: member.value.location)
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
                    throw APIError.badRequest(
                        "session.tags[\(i)] must be {\"key\": string, \"value\": string}", path: path.appending(index: i), location: item.location)
                }
                out.append(SessionTag(key: key, value: value))
            }
            return out
        default:
            throw APIError.badRequest(
                "session.tags must be an object of strings or an array of {key, value}, found \(node.typeName)", path: path,
                location: node.location)
        }
    }
}
