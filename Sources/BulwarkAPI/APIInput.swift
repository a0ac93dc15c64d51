import BulwarkCatalog
public import BulwarkContract
public import BulwarkEngine
public import BulwarkJSON
import BulwarkPolicy

/// The `bulwark authorize-api` input of SPEC §4.
public struct APIAuthorizationInput: Sendable {
    public var policies: PolicySet
    public var request: APIRequest
    /// Extra fields and where each field is (for the server).
    public var fields = ContractFields()

    public init(policies: PolicySet, request: APIRequest) {
        self.policies = policies
        self.request = request
    }

    /// Reads and validates the whole input, for the CLI and the server alike; errors name
    /// the JSON path, line and column.
    public static func decode(bytes: [UInt8], options: ContractOptions = ContractOptions()) throws(AuthorizationInputError) -> APIAuthorizationInput {
        var reader = JSONReader(bytes: bytes)
        let root: JSONNode
        do throws(JSONSyntaxError) {
            if reader.peekTypeName() == nil { throw reader.error("the input is empty; expected a JSON object") }
            root = try reader.readDocument()
        } catch {
            throw AuthorizationInputError(error)
        }
        guard case .object(let members) = root.value else {
            throw AuthorizationInputError(message: "expected an object, found \(root.typeName)", path: .root, location: root.location)
        }
        var identity: [NamedPolicy] = []
        var levels: [[NamedPolicy]] = []
        var request: APIRequest?
        var fields = ContractFields()
        for member in members {
            let path = JSONPath.root.appending(key: member.key)
            fields.locations[member.key] = member.value.location
            switch member.key {
            case "identityPolicies":
                identity = try PolicyListDecoding.policies(member.value, path: path) { "identity[\($0)]" }
            case "scpLevels":
                levels = try PolicyListDecoding.levels(member.value, path: path)
            case "apiRequest":
                request = try apiRequest(member.value, path: path)
            case _ where options.extraFields.contains(member.key):
                fields.extras[member.key] = member.value
            default:
                let expected = ["identityPolicies", "scpLevels"] + options.extraFields
                throw AuthorizationInputError(
                    message: "unknown field \(Excerpt.quoted(member.key)); expected \(expected.joined(separator: ", ")) and apiRequest",
                    path: path, location: member.keyLocation)
            }
        }
        guard let request else {
            throw AuthorizationInputError(message: "missing apiRequest", path: .root, location: root.location)
        }
        let policies = try PolicyListDecoding.checked(
            PolicySet(identityPolicies: identity, scpLevels: levels), limit: options.maxInlineStatements, at: root.location)
        var input = APIAuthorizationInput(policies: policies, request: request)
        input.fields = fields
        return input
    }

    /// Decodes an `apiRequest` object of SPEC §4.
    public static func apiRequest(_ node: JSONNode, path: JSONPath) throws(AuthorizationInputError) -> APIRequest {
        guard case .object(let members) = node.value else {
            throw AuthorizationInputError(message: "apiRequest must be an object, found \(node.typeName)", path: path, location: node.location)
        }
        var strings: [String: String] = [:]
        var context = RequestContext()
        var cases: [String] = []
        let stringFields = ["service", "method", "path", "operation", "region", "accountId", "resource"]
        for member in members {
            let memberPath = path.appending(key: member.key)
            switch member.key {
            case let key where stringFields.contains(key):
                guard case .string(let s) = member.value.value else {
                    throw AuthorizationInputError(
                        message: "\(key) must be a string, found \(member.value.typeName)", path: memberPath, location: member.value.location)
                }
                strings[key] = s
            case "context":
                context = try RequestDecoding.context(member.value, path: memberPath)
            case "cases":
                guard case .array(let items) = member.value.value else {
                    throw AuthorizationInputError(
                        message: "cases must be an array of case ids, found \(member.value.typeName)", path: memberPath,
                        location: member.value.location)
                }
                for (i, item) in items.enumerated() {
                    guard case .string(let s) = item.value else {
                        throw AuthorizationInputError(
                            message: "a case id must be a string, found \(item.typeName)", path: memberPath.appending(index: i),
                            location: item.location)
                    }
                    cases.append(s)
                }
            default:
                throw AuthorizationInputError(
                    message:
                        "unknown field \(Excerpt.quoted(member.key)) in apiRequest; expected service, method and path (or operation), region, accountId, context, cases and resource",
                    path: memberPath, location: member.keyLocation)
            }
        }
        if strings["service"] == nil {
            throw AuthorizationInputError(message: "apiRequest has no service", path: path, location: node.location)
        }
        if let operation = strings["operation"] {
            // An operation id names the call: method, path and cases belong to the other form.
            if strings["method"] != nil || strings["path"] != nil || !cases.isEmpty {
                throw AuthorizationInputError(
                    message: "apiRequest gives operation \(Excerpt.quoted(operation)) and method, path or cases; give one form",
                    path: path, location: node.location)
            }
            var request = APIRequest(
                service: strings["service"]!, method: "", path: "", region: strings["region"] ?? "", accountID: strings["accountId"] ?? "",
                context: context, resource: strings["resource"])
            request.operation = operation
            return request
        }
        for required in ["method", "path"] where strings[required] == nil {
            throw AuthorizationInputError(message: "apiRequest has no \(required) (or operation)", path: path, location: node.location)
        }
        return APIRequest(
            service: strings["service"]!, method: strings["method"]!, path: strings["path"]!,
            region: strings["region"] ?? "", accountID: strings["accountId"] ?? "", context: context, cases: cases,
            resource: strings["resource"])
    }
}

/// Renders API decisions (SPEC §4).
public enum APIAuthorizationOutput {
    public static func json(_ result: APIAuthorizationResult) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("decision", result.decision.rawValue)
        json.key("checks")
        json.beginArray()
        for check in result.checks {
            json.beginObject()
            json.field("action", check.action)
            json.field("resource", check.resource)
            AuthorizationOutput.writeFields(check.result, into: &json)
            json.field(
                "requiredBy",
                check.requiredBy.label + (check.isDependency ? " (dependency of \(check.requiredBy.action))" : ""))
            json.endObject()
        }
        json.endArray()
        json.key("notApplied")
        json.beginArray()
        for row in result.notApplied { row.write(into: &json) }
        json.endArray()
        json.endObject()
        json.newline()
        return json.bytes
    }

    public static func text(_ result: APIAuthorizationResult, request: APIRequest) -> String {
        let call = request.operation.map { "\(request.service) operation \($0)" } ?? "\(request.method.uppercased()) \(request.path)"
        var lines = ["\(result.decision.rawValue.uppercased()) \(call)"]
        for check in result.checks {
            let mark = check.result.decision == .allow ? "allow" : "DENY "
            let why = check.result.decision == .allow ? "" : " (\(check.result.reason.rawValue))"
            let dependency = check.isDependency ? " [dependency of \(check.requiredBy.action)]" : ""
            lines.append("  \(mark) \(check.action) on \(check.resource)\(why)\(dependency)")
        }
        for row in result.notApplied {
            lines.append("  not applied: \(row.action) — \(row.requiredOnly?.text ?? "") (case \(row.requiredOnly?.id ?? ""))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
