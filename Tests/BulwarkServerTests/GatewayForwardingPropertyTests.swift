import BulwarkAPI
import BulwarkCatalog
import BulwarkEmulator
import BulwarkEnforcement
import BulwarkEngine
import BulwarkGateway
import BulwarkJSON
import BulwarkTestSupport
import BulwarkWorkspace
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The gateway's request path as a property: for generated calls — signed with real keys,
/// with paths, queries and bodies mangled the ways an attacker would — whatever reaches the
/// upstream must be allowed when decided afresh on exactly what the upstream received, read
/// by other parsers (Foundation's percent decoding and JSONSerialization), and must be the
/// method, path and bytes the client signed.
@Suite struct GatewayForwardingPropertyTests {
    struct Sent {
        let who: (key: String, secret: String)
        let principal: String
        let method: String
        let signedPath: String
        let body: [UInt8]
        let status: Int
        let forwarded: Bool
    }

    static let images = ["MINE", "VICTIM", "img-1"]

    static func baseCall(_ rng: inout SeededGenerator) -> (method: String, path: String, body: String) {
        let image = images.randomElement(using: &rng)!
        let account = ["7p7p7p", "9z9z9z", "0a1b2c"].randomElement(using: &rng)!
        let calls: [(String, String, String)] = [
            ("GET", "/v2/images/\(image)", ""),
            ("GET", "/v2/images/\(image)", #"{"images":["MINE"]}"#),
            ("DELETE", "/v2/images/\(image)", ""),
            ("POST", "/v2/images/\(image)/members", #"{"member":"\#(account)"}"#),
            ("POST", "/v1/cloudimages/members", #"{"images":["\#(image)"],"projects":["\#(account)"]}"#),
            ("PATCH", "/v2/cloudimages/\(image)", #"[{"op":"replace","path":"/enterprise_project_id","value":"p-1"}]"#),
            ("PATCH", "/v2/cloudimages/\(image)", #"[{"op":"replace","path":"/name","value":"n"}]"#),
            ("GET", "/v2/cloudimages", ""),
            ("POST", "/v2/cloudimages/action", #"{"name":"x","instance_id":"i-1","image_tags":[{"key":"env","value":"prod"}]}"#),
        ]
        return calls.randomElement(using: &rng)!
    }

    /// A path as sent: segments percent-encoded at random, sometimes with an encoded
    /// separator, a dot segment, a doubled or trailing slash.
    static func mangle(path: String, _ rng: inout SeededGenerator) -> String {
        var out = ""
        for byte in path.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c == "/", !out.isEmpty, Int.random(in: 0..<25, using: &rng) == 0 {
                out += ["%2F", "%2f", "%5C"].randomElement(using: &rng)!
            } else if c != "/", Int.random(in: 0..<6, using: &rng) == 0 {
                // Encoded once, or twice (`%254D`: the gateway must decode exactly once).
                out += String(format: Bool.random(using: &rng) ? "%%%02X" : (Bool.random(using: &rng) ? "%%%02x" : "%%25%02X"), byte)
            } else {
                out.append(c)
            }
        }
        switch Int.random(in: 0..<12, using: &rng) {
        case 0: out += "/"
        case 1: out = out.replacingOccurrences(of: "/images/", with: "/images/MINE/../")
        case 2: out = out.replacingOccurrences(of: "/v2/", with: "/v2//")
        case 3: out = out.replacingOccurrences(of: "/v2/", with: "/v2/./")
        default: break
        }
        return out
    }

    /// A body as sent: as written, or with a duplicate key, a BOM, deep nesting, an escaped
    /// key, UTF-16, trailing bytes, or whitespace.
    static func mangle(body: String, _ rng: inout SeededGenerator) -> [UInt8] {
        guard !body.isEmpty else { return Int.random(in: 0..<8, using: &rng) == 0 ? Array(#"{"images":["MINE"]}"#.utf8) : [] }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0 where body.hasPrefix("{"): return Array((#"{"member":"7p7p7p","images":["MINE"],"# + body.dropFirst()).utf8)
        case 1 where body.hasPrefix("{"):
            return Array(("{" + body.dropFirst().replacingOccurrences(of: "\"m", with: "\"\\u006d", options: [], range: nil)).utf8)
        case 2: return [0xEF, 0xBB, 0xBF] + Array(body.utf8)
        case 3:
            return Array(
                (body.hasPrefix("[")
                    ? "[" + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "," + body.dropFirst()
                    : String(body.dropLast()) + #","x":"# + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}").utf8)
        case 4: return body.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case 5: return Array((body + " x").utf8)
        case 6 where body.hasPrefix("{"):
            // The same key twice: the gateway must not pick one.
            return Array((String(body.dropLast()) + "," + body.dropFirst()).utf8)
        case 7: return Array(("\n " + body + "\t").utf8)
        default: return Array(body.utf8)
        }
    }

    @Test func whateverIsForwardedWasAuthorizedOnExactlyWhatWasForwarded() async throws {
        let folder = try GatewayFailClosedTests.workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let catalog = try Catalog.bundled()
        let workspace = Workspace.load(directory: folder, catalog: catalog)
        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.upstreams = ["ims": .emulator, "swr": .emulator]
        configuration.emulator = try Emulator(path: folder + "/emulator.sqlite", account: Emulator.defaultAccount).upstream
        let who = [
            (GatewayFailClosedTests.alice, "iam::0a1b2c:user:alice"), (GatewayFailClosedTests.mallory, "iam::0a1b2c:user:mallory"),
        ]
        let credentials = CredentialStore(who.map { .init(accessKey: $0.0.key, secretKey: $0.0.secret, principal: $0.1) })
        var logger = Logger(label: "gateway-property")
        logger.logLevel = .critical
        let gateway = try Gateway(
            configuration: configuration, catalog: catalog, source: .organization(workspace.organization), credentials: credentials, logger: logger)

        let sent: [Sent] = try await gateway.application().test(.live) { client in
            let caller = GatewayFailClosedTests.Caller(client: client)
            var rng = SeededGenerator(seed: 0xB0_1A_4C)
            var sent: [Sent] = []
            for _ in 0..<400 {
                let (identity, principal) = who.randomElement(using: &rng)!
                let base = Self.baseCall(&rng)
                let path = Self.mangle(path: base.path, &rng)
                let body = Self.mangle(body: base.body, &rng)
                // The client signs the path it sends when it can be signed at all; otherwise the
                // clean one (a replay onto a mangled path).
                let signable =
                    (try? RequestSignature.canonicalRequest(method: base.method, path: path, query: "", headers: [], signedHeaders: [], body: body))
                    != nil
                let signedPath = signable ? path : base.path
                var headers = try caller.headers(base.method, signing: signedPath, body: body, as: identity)
                // Headers an attacker adds after signing: a payload hash (the body's or another's),
                // a method override, a second date.
                switch Int.random(in: 0..<8, using: &rng) {
                case 0: headers[HTTPField.Name("X-Sdk-Content-Sha256")!] = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
                case 1:
                    headers[HTTPField.Name("X-Sdk-Content-Sha256")!] = SHA256.hash(data: Array("{}".utf8)).map { String(format: "%02x", $0) }.joined()
                case 2: headers[HTTPField.Name("X-HTTP-Method-Override")!] = "DELETE"
                case 3: headers.append(HTTPField(name: HTTPField.Name("X-Sdk-Date")!, value: "20200101T000000Z"))
                default: break
                }
                let reply = try await caller.call(HTTPRequest.Method(base.method)!, path, body: body, headers: headers)
                let gatewaySaid = ((try? JSONSerialization.jsonObject(with: Data(reply.text.utf8))) as? [String: Any])?["error_code"] as? String
                sent.append(
                    Sent(
                        who: identity, principal: principal, method: base.method, signedPath: signedPath, body: body, status: reply.status,
                        forwarded: !(gatewaySaid?.hasPrefix("BWK.") ?? false)))
            }
            return sent
        }

        let received = try gateway.configuration.emulator!.received()
        let forwarded = sent.filter(\.forwarded)
        #expect(forwarded.count == received.count)
        #expect(forwarded.count > 20 && forwarded.count < sent.count - 100, "a property over too few forwarded or refused calls proves little")
        for (call, upstream) in zip(forwarded, received) {
            // The method, path and bytes the client signed are what the upstream got.
            #expect(upstream.method == call.method)
            let upstreamSegments = upstream.path.split(separator: "/", omittingEmptySubsequences: false).map { String($0).removingPercentEncoding }
            let signedSegments = call.signedPath.split(separator: "/", omittingEmptySubsequences: false).map { String($0).removingPercentEncoding }
            #expect(upstreamSegments == signedSegments, "\(upstream.path) vs signed \(call.signedPath)")
            #expect(Array(upstream.body.utf8) == call.body)

            // Decided afresh on what the upstream read, with Foundation as the body's reader.
            var node: JSONNode? = nil
            if !call.body.isEmpty {
                let object = try JSONSerialization.jsonObject(with: Data(call.body), options: [.fragmentsAllowed])
                var reader = JSONReader(bytes: Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])))
                node = try reader.readDocument()
            }
            let resolved = try workspace.organization.resolve(principal: call.principal)
            let authorizer = Authorizer(policies: resolved.policies, catalog: catalog)
            guard case .rows(let rows, _) = APIRouter(catalog: catalog).route(service: "ims", method: call.method, path: upstream.path) else {
                Issue.record("forwarded \(call.method) \(upstream.path) matches no IMS row")
                continue
            }
            let row = "\(rows[0].method) \(rows[0].path)"
            let target = try CallTarget(path: upstream.path, query: "")
            let builder = CallContextBuilder(
                organization: workspace.organization, trustedProxies: [], fields: try RequestFieldTable(catalog: catalog))
            let context = resolved.context(adding: try builder.context(for: CallFacts(peer: "127.0.0.1"), body: node, target: target, row: row))
            let resources = try builder.bodyResources(body: node, row: row)?.map { "ims:cn-north-4:0a1b2c:image:\($0)" } ?? [nil]
            for resource in resources {
                let request = APIRequest(
                    service: "ims", method: call.method, path: upstream.path, region: "cn-north-4", accountID: "0a1b2c", context: context,
                    cases: CallContextBuilder.cases(method: call.method, path: target.path, body: node), resource: resource)
                let result = try APIAuthorizer(catalog: catalog, authorizer: authorizer).authorize(request)
                #expect(
                    result.decision == .allow,
                    "forwarded \(call.method) \(upstream.path) \(upstream.body) for \(call.principal), but re-decided: \(result.checks.map { "\($0.action) on \($0.resource): \($0.result.reason)" })"
                )
            }
        }
    }
}
