import BulwarkServer
import Foundation
import HTTPTypes
import Testing

/// The committed OpenAPI document against the server: every route described, every
/// described operation exercised, every response valid against its schema.
@Suite struct OpenAPITests {
    static var document: [String: Any] { try! JSONSerialization.jsonObject(with: Data(try! OpenAPIDocument.bytes())) as! [String: Any] }
    static var paths: [String: [String: Any]] { document["paths"] as! [String: [String: Any]] }

    /// `METHOD /path/{param}` for every route registered in Routes.swift.
    static func registeredRoutes() throws -> Set<String> {
        let source = try String(contentsOfFile: packageRoot + "/Sources/BulwarkServer/Routes.swift", encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"(router|decide|manage)\.(get|post|put|patch|delete)\("([^"]+)""#)
        var routes: Set<String> = []
        for match in pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)) {
            let group = String(source[Range(match.range(at: 1), in: source)!])
            let method = String(source[Range(match.range(at: 2), in: source)!]).uppercased()
            var path = String(source[Range(match.range(at: 3), in: source)!])
            if group != "router" { path = "/v1/" + path }
            path = path.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            routes.insert("\(method) \(path)")
        }
        return routes
    }

    static var documentedOperations: Set<String> {
        var out: Set<String> = []
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] where item[method] != nil { out.insert("\(method.uppercased()) \(path)") }
        }
        return out
    }

    @Test func everyRouteIsDescribedAndNothingElse() throws {
        let routes = try Self.registeredRoutes()
        #expect(routes.count > 30)
        #expect(
            routes == Self.documentedOperations,
            "undocumented: \(routes.subtracting(Self.documentedOperations).sorted()); not served: \(Self.documentedOperations.subtracting(routes).sorted())"
        )
    }

    @Test func theSchemaCheckCatchesMismatches() throws {
        var problems: [String] = []
        let policy = try JSONSerialization.jsonObject(
            with: Data(#"{"id":"p","account":7,"defaultVersion":"v1","versions":["v1"],"attachedTo":[],"extra":true}"#.utf8))
        SchemaCheck.check(policy, against: ["$ref": "#/components/schemas/Policy"], at: "$", problems: &problems)
        #expect(
            problems.sorted() == ["$.account: expected string, found NSNumber", "$: extra is not described", "$: missing description"].sorted()
                || problems.count == 3, "\(problems)")
        problems = []
        let decision = try JSONSerialization.jsonObject(
            with: Data(
                #"{"decision":"maybe","reason":"allowed","matched":[{"policy":"p","statement":true,"sid":null,"effect":"Allow","scpLevel":null}]}"#
                    .utf8))
        SchemaCheck.check(decision, against: ["$ref": "#/components/schemas/Decision"], at: "$", problems: &problems)
        #expect(problems.count == 2, "\(problems)")
    }

    @Test func responsesMatchTheirSchemas() async throws {
        let calls = try await TestServer().run { http in
            try await Fixture.build(http)
            var calls: [(String, HTTP.Reply)] = []
            func call(_ method: HTTPRequest.Method, _ template: String, _ uri: String, _ body: String? = nil) async throws {
                calls.append(("\(method.rawValue) \(template)", try await http.send(method, uri, body)))
            }
            let alice = "iam::0a1b2c:user:alice"
            try await call(.get, "/healthz", "/healthz")
            try await call(.get, "/readyz", "/readyz")
            try await call(.get, "/metrics", "/metrics")
            try await call(.get, "/openapi.json", "/openapi.json")
            try await call(.post, "/v1/authorize", "/v1/authorize?explain=true", #"{"principal":"\#(alice)","request":{"action":"ims:images:get"}}"#)
            try await call(
                .post, "/v1/authorize/batch", "/v1/authorize/batch",
                #"{"principal":"\#(alice)","requests":[{"action":"ims:images:get"},{"action":"ims:images:share"}]}"#)
            try await call(
                .post, "/v1/authorize-api", "/v1/authorize-api",
                #"{"principal":"\#(alice)","apiRequest":{"service":"ims","method":"GET","path":"/v2/cloudimages"}}"#)
            try await call(.post, "/v1/simulate", "/v1/simulate", #"{"principal":"\#(alice)","request":{"action":"ims:images:get"}}"#)
            try await call(.post, "/v1/validate", "/v1/validate", #"{"policy":{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"]}]}}"#)
            try await call(
                .post, "/v5/policies/validate", "/v5/policies/validate?limit=1",
                #"{"policy_document":"{\"Version\":\"5.0\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ims:nope\",\"*\"]}]}","policy_type":"identity_policy"}"#
            )
            try await call(
                .post, "/v5/policies/check-no-new-access", "/v5/policies/check-no-new-access",
                #"{"existing_policy_document":"{\"Version\":\"5.0\",\"Statement\":[]}","#
                    + #""new_policy_document":"{\"Version\":\"5.0\",\"Statement\":[{\"Sid\":\"All\",\"Effect\":\"Allow\",\"Action\":[\"ims:images:list\"],\"Resource\":[\"*\"]}]}"}"#
            )
            try await call(.get, "/v1/organization", "/v1/organization")
            try await call(.put, "/v1/organization", "/v1/organization", #"{"id":"o-1","rootId":"r-1","scpsEnabled":true}"#)
            try await call(.get, "/v1/organization/nodes", "/v1/organization/nodes")
            try await call(.post, "/v1/organization/nodes", "/v1/organization/nodes", #"{"kind":"ou","name":"sandbox"}"#)
            try await call(.get, "/v1/organization/nodes/{name}", "/v1/organization/nodes/sandbox")
            try await call(.patch, "/v1/organization/nodes/{name}", "/v1/organization/nodes/sandbox", #"{"parent":"engineering"}"#)
            try await call(.delete, "/v1/organization/nodes/{name}", "/v1/organization/nodes/sandbox")
            try await call(.get, "/v1/policies", "/v1/policies")
            try await call(.post, "/v1/policies", "/v1/policies", #"{"id":"p2","account":"0a1b2c","document":\#(Fixture.readImages)}"#)
            try await call(.get, "/v1/policies/{id}", "/v1/policies/p2")
            try await call(.get, "/v1/policies/{id}/versions", "/v1/policies/p2/versions")
            try await call(.post, "/v1/policies/{id}/versions", "/v1/policies/p2/versions", #"{"document":\#(Fixture.readImages)}"#)
            try await call(.get, "/v1/policies/{id}/versions/{version}", "/v1/policies/p2/versions/v2")
            try await call(.put, "/v1/policies/{id}/default-version", "/v1/policies/p2/default-version", #"{"version":"v2"}"#)
            try await call(.delete, "/v1/policies/{id}/versions/{version}", "/v1/policies/p2/versions/v1")
            try await call(.delete, "/v1/policies/{id}", "/v1/policies/p2")
            try await call(.get, "/v1/scps", "/v1/scps")
            try await call(.post, "/v1/scps", "/v1/scps", #"{"id":"s1","document":\#(Fixture.denyShareSCP)}"#)
            try await call(.get, "/v1/scps/{id}", "/v1/scps/s1")
            try await call(.put, "/v1/scps/{id}", "/v1/scps/s1", #"{"description":"no sharing"}"#)
            try await call(.delete, "/v1/scps/{id}", "/v1/scps/s1")
            try await call(.get, "/v1/principals", "/v1/principals")
            try await call(.post, "/v1/principals", "/v1/principals", #"{"kind":"agency","account":"0a1b2c","name":"ops"}"#)
            try await call(.get, "/v1/principals/{urn}", "/v1/principals/iam::0a1b2c:agency:ops")
            let trust = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"sts:agencies:assume","Principal":"*"}]}"#
            try await call(
                .put, "/v1/principals/{urn}/settings", "/v1/principals/iam::0a1b2c:agency:ops/settings",
                #"{"trustPolicy":\#(trust),"tags":{"team":"ops"},"maxSessionDuration":3600}"#)
            try await call(
                .post, "/v1/authorize", "/v1/authorize",
                #"{"principal":"\#(alice)","session":{"agency":"iam::0a1b2c:agency:ops","sessionName":"s1"},"request":{"action":"ims:images:get"}}"#)
            try await call(.put, "/v1/principals/{urn}/groups", "/v1/principals/\(alice)/groups", #"{"groups":["readers"]}"#)
            try await call(.delete, "/v1/principals/{urn}", "/v1/principals/iam::0a1b2c:agency:ops")
            try await call(.get, "/v1/attachments", "/v1/attachments")
            try await call(.post, "/v1/attachments", "/v1/attachments", #"{"policy":"read-images","target":"\#(alice)"}"#)
            try await call(.delete, "/v1/attachments", "/v1/attachments?policy=read-images&target=\(alice)")
            try await call(.put, "/v1/organization/import", "/v1/organization/import", try ImportTests.body(try ImportTests.exampleFiles()))
            // Errors are described too.
            try await call(.put, "/v1/organization/import", "/v1/organization/import", #"{"files":{"scps/x.json":"{"}}"#)
            try await call(.get, "/v1/policies/{id}", "/v1/policies/nothing")
            try await call(
                .post, "/v1/scps", "/v1/scps", #"{"id":"bad","document":{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:nope"]}]}}"#)
            return calls
        }
        let exercised = Set(calls.map(\.0))
        #expect(exercised == Self.documentedOperations, "not exercised: \(Self.documentedOperations.subtracting(exercised).sorted())")
        for (operation, reply) in calls {
            let parts = operation.split(separator: " ")
            let op = try #require(Self.paths[String(parts[1])]?[parts[0].lowercased()] as? [String: Any], "\(operation) is not described")
            let responses = try #require(op["responses"] as? [String: Any])
            let described = try #require(
                responses[String(reply.status)] as? [String: Any], "\(operation) answered \(reply.status), which is not described: \(reply.text)")
            let content = try #require(described["content"] as? [String: Any])
            guard let json = content["application/json"] as? [String: Any] else { continue }
            let value = try #require(reply.json, "\(operation): not JSON: \(reply.text)")
            var problems: [String] = []
            SchemaCheck.check(value, against: json["schema"] as! [String: Any], at: "$", problems: &problems)
            #expect(problems.isEmpty, "\(operation) \(reply.status): \(problems.joined(separator: "; "))")
        }
    }
}

/// Enough of JSON Schema for our document: $ref, type (with null), required, properties,
/// additionalProperties: false, items, enum and oneOf.
enum SchemaCheck {
    static func check(_ value: Any, against schema: [String: Any], at path: String, problems: inout [String]) {
        if let ref = schema["$ref"] as? String {
            let name = String(ref.split(separator: "/").last!)
            let schemas = (OpenAPITests.document["components"] as! [String: Any])["schemas"] as! [String: Any]
            check(value, against: schemas[name] as! [String: Any], at: path, problems: &problems)
            return
        }
        let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
        if !types.isEmpty, !types.contains(where: { matches(value, $0) }) {
            problems.append("\(path): expected \(types.joined(separator: "|")), found \(type(of: value))")
            return
        }
        if let options = schema["oneOf"] as? [[String: Any]] {
            let passing = options.filter { option in
                var found: [String] = []
                check(value, against: option, at: path, problems: &found)
                return found.isEmpty
            }
            if passing.count != 1 { problems.append("\(path): matches \(passing.count) of the oneOf alternatives, not one") }
        }
        if let allowed = schema["enum"] as? [String], let s = value as? String, !allowed.contains(s) {
            problems.append("\(path): \(s) is not one of \(allowed)")
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { problems.append("\(path): missing \(key)") }
            for (key, item) in object {
                if let sub = properties[key] as? [String: Any] {
                    check(item, against: sub, at: "\(path).\(key)", problems: &problems)
                } else if schema["additionalProperties"] as? Bool == false {
                    problems.append("\(path): \(key) is not described")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
            for (i, item) in array.enumerated() { check(item, against: items, at: "\(path)[\(i)]", problems: &problems) }
        }
    }

    static func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" || String(cString: n.objCType) == "B" }

    static func matches(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "null": value is NSNull
        case "object": value is [String: Any]
        case "array": value is [Any]
        case "string": value is String
        case "boolean": (value as? NSNumber).map(isBoolean) ?? false
        case "integer": (value as? NSNumber).map { !isBoolean($0) && $0.doubleValue == $0.doubleValue.rounded() } ?? false
        case "number": value is NSNumber
        default: true
        }
    }
}

let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url.deleteLastPathComponent()
    }
    return url.path
}()
