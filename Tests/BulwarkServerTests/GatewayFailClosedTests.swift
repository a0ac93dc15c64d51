import BulwarkCatalog
import BulwarkEmulator
import BulwarkEnforcement
import BulwarkGateway
import BulwarkJSON
import BulwarkServer
import BulwarkWorkspace
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// SPEC §9 "Fail closed": calls signed with a real access key, crafted as an attacker would.
/// Each refusal is asserted together with what the emulator received: nothing of it.
@Suite struct GatewayFailClosedTests {
    static let alice = (key: "ALICEKEY", secret: "alice-secret")
    static let mallory = (key: "MALLORYKEY", secret: "mallory-secret")
    static let region = "cn-north-4"

    /// The example organization plus mallory, who may read, update, delete and add members
    /// to image MINE only.
    static func workspace() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-gw-ws-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: packageRoot + "/examples/gateway/workspace", toPath: folder)
        let onlyMine = #"""
            {"Version": "5.0", "Statement": [
              {"Effect": "Allow", "Action": ["ims:images:get", "ims:images:deleteImage", "ims:images:updateImage", "ims:images:addMember"],
               "Resource": ["ims:*:0a1b2c:image:MINE"]},
              {"Effect": "Allow", "Action": ["ims:images:list"], "Resource": ["*"]}]}
            """#
        try onlyMine.write(toFile: folder + "/accounts/dev/policies/only-mine.json", atomically: true, encoding: .utf8)
        let account = try String(contentsOfFile: folder + "/accounts/dev/account.yaml", encoding: .utf8)
        try (account + "  - name: mallory\n    policies: [only-mine]\n").write(
            toFile: folder + "/accounts/dev/account.yaml", atomically: true, encoding: .utf8)
        return folder
    }

    /// A gateway on the workspace with the emulator as IMS and SWR, and a client that signs.
    static func withGateway(
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        _ body: @Sendable (Gateway, Caller) async throws -> Void
    ) async throws {
        let folder = try workspace()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let catalog = try Catalog.bundled()
        let loaded = Workspace.load(directory: folder, catalog: catalog)
        #expect(loaded.problems.isEmpty, "\(loaded.problems)")
        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.upstreams = ["ims": .emulator, "swr": .emulator]
        configuration.emulator = try Emulator(path: folder + "/emulator.sqlite", account: Emulator.defaultAccount).upstream
        configuration.decisionLog = folder + "/decisions.jsonl"
        configure(&configuration)
        var logger = Logger(label: "gateway-fail-closed")
        logger.logLevel = .critical
        let credentials = CredentialStore([
            .init(accessKey: alice.key, secretKey: alice.secret, principal: "iam::0a1b2c:user:alice"),
            .init(accessKey: mallory.key, secretKey: mallory.secret, principal: "iam::0a1b2c:user:mallory"),
        ])
        let gateway = try Gateway(
            configuration: configuration, catalog: catalog, source: .organization(loaded.organization), credentials: credentials, logger: logger)
        try await gateway.application().test(.live) { client in
            try await body(gateway, Caller(client: client))
        }
    }

    /// Signs like huaweicloudsdkcore (host, x-sdk-date and content-type signed).
    struct Caller: Sendable {
        let client: any TestClientProtocol

        struct Reply {
            let status: Int
            let headers: HTTPFields
            let text: String
            var message: String { ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])?["error_msg"] as? String ?? "" }
        }

        func headers(
            _ method: String, signing path: String, query: String = "", body: [UInt8], as who: (key: String, secret: String),
            extra: [(String, String)] = []
        ) throws -> HTTPFields {
            let stamp = GatewayLiveTests.stamp(Date())
            let headers = [("Content-Type", "application/json"), ("Host", "localhost"), ("X-Sdk-Date", stamp)]
            let canonical = try RequestSignature.canonicalRequest(
                method: method, path: path, query: query, headers: headers + extra, signedHeaders: ["content-type", "host", "x-sdk-date"], body: body)
            let signature = RequestSignature.signature(canonicalRequest: canonical, date: stamp, secretKey: who.secret)
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            fields[HTTPField.Name("X-Sdk-Date")!] = stamp
            fields[.authorization] = "SDK-HMAC-SHA256 Access=\(who.key), SignedHeaders=content-type;host;x-sdk-date, Signature=\(signature)"
            return fields
        }

        /// Sends `body` to `uri`, signed for `signing` (the same path unless a test replays a signature elsewhere).
        func call(
            _ method: HTTPRequest.Method, _ uri: String, body: [UInt8] = [], as who: (key: String, secret: String) = GatewayFailClosedTests.alice,
            signing: String? = nil, headers: HTTPFields? = nil
        ) async throws -> Reply {
            let path = signing ?? String(uri.prefix { $0 != "?" })
            let query = uri.contains("?") ? String(uri.drop { $0 != "?" }.dropFirst()) : ""
            let fields = try headers ?? self.headers(method.rawValue, signing: path, query: query, body: body, as: who)
            let response = try await client.execute(uri: uri, method: method, headers: fields, body: body.isEmpty ? nil : ByteBuffer(bytes: body))
            return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
        }
    }

    static func text(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func forwarded(_ gateway: Gateway) throws -> [Emulator.Received] { try gateway.configuration.emulator!.received() }

    @Test func bodiesTheGatewayCannotReadAreRefusedAndNeverForwarded() async throws {
        try await Self.withGateway { gateway, caller in
            let share = "/v2/images/img-1/members"
            // The control: read as sent, the share outside the organization is denied by the SCP.
            #expect(try await caller.call(.post, share, body: Self.text(#"{"member":"9z9z9z"}"#)).status == 403)
            var utf16 = [UInt8(0xFF), 0xFE]
            for unit in #"{"member":"9z9z9z"}"#.utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
            let attempts: [(String, [UInt8])] = [
                ("duplicate key", Self.text(#"{"member":"7p7p7p","member":"9z9z9z"}"#)),
                ("duplicate key by escape", Self.text(#"{"member":"7p7p7p","\u006dember":"9z9z9z"}"#)),
                ("byte-order mark", [0xEF, 0xBB, 0xBF] + Self.text(#"{"member":"9z9z9z"}"#)),
                (
                    "65-deep array",
                    Self.text(#"{"member":"9z9z9z","x":"# + String(repeating: "[", count: 65) + String(repeating: "]", count: 65) + "}")
                ),
                ("UTF-16", utf16),
                ("trailing garbage", Self.text(#"{"member":"9z9z9z"} x"#)),
                ("not JSON", Self.text("member=9z9z9z")),
            ]
            for (what, body) in attempts {
                let reply = try await caller.call(.post, share, body: body)
                #expect(reply.status == 400, "\(what): \(reply.status) \(reply.text)")
                #expect(reply.message.hasPrefix("the body is not JSON the gateway can read, so it cannot be authorized"), "\(what): \(reply.message)")
            }
            // A qualified row is not skipped by an unreadable body either.
            let patch = #"[{"op":"replace","path":"/enterprise_project_id","value":"p-1"}]"#
            #expect(try await caller.call(.patch, "/v2/cloudimages/MINE", body: Self.text(patch), as: Self.mallory).status == 403)
            let deep = "[" + String(repeating: "[", count: 65) + String(repeating: "]", count: 65) + "," + patch.dropFirst()
            #expect(try await caller.call(.patch, "/v2/cloudimages/MINE", body: Self.text(deep), as: Self.mallory).status == 400)
            #expect(try Self.forwarded(gateway).isEmpty)
        }
    }

    @Test func aBodyImagesArrayNamesResourcesOnlyForTheRowThatDocumentsIt() async throws {
        try await Self.withGateway { gateway, caller in
            let mine = Self.text(#"{"images":["MINE"]}"#)
            let get = try await caller.call(.get, "/v2/images/VICTIM", body: mine, as: Self.mallory)
            #expect(get.status == 403)
            #expect(get.message.contains("denied: ims:images:get on ims:cn-north-4:0a1b2c:image:VICTIM"), "\(get.message)")
            #expect(try await caller.call(.delete, "/v2/images/VICTIM", body: mine, as: Self.mallory).status == 403)
            #expect(try await caller.call(.get, "/v2/images/MINE", as: Self.mallory).status == 404)  // forwarded; no such image upstream

            // /v1/cloudimages/members takes its images from the body: each one is checked.
            let add = #"{"images":["MINE"],"projects":["7p7p7p"]}"#
            #expect(try await caller.call(.post, "/v1/cloudimages/members", body: Self.text(add), as: Self.mallory).status == 200)
            let both = try await caller.call(
                .post, "/v1/cloudimages/members", body: Self.text(#"{"images":["MINE","VICTIM"],"projects":["7p7p7p"]}"#), as: Self.mallory)
            #expect(both.status == 403 && both.message.contains("image:VICTIM"))
            for body in [
                #"{"images":[],"projects":["7p7p7p"]}"#, #"{"images":[1],"projects":["7p7p7p"]}"#, #"{"projects":["7p7p7p"]}"#, #"{"images":"MINE"}"#,
            ] {
                #expect(try await caller.call(.post, "/v1/cloudimages/members", body: Self.text(body), as: Self.mallory).status == 400, "\(body)")
            }
            let paths = try Self.forwarded(gateway).map { "\($0.method) \($0.path)" }
            #expect(paths == ["GET /v2/images/MINE", "POST /v1/cloudimages/members"])
        }
    }

    @Test func aDeclaredPayloadHashIsNeverTrusted() async throws {
        try await Self.withGateway { gateway, caller in
            let path = "/v2/images/img-1/members"
            let original = Self.text(#"{"member":"7p7p7p"}"#)
            let hash = SHA256.hash(data: original).map { String(format: "%02x", $0) }.joined()
            // Captured: a signed share with the organization, carrying the body's hash.
            var fields = try caller.headers("POST", signing: path, body: original, as: Self.alice, extra: [("X-Sdk-Content-Sha256", hash)])
            fields[HTTPField.Name("X-Sdk-Content-Sha256")!] = hash
            // Replayed with another body (outside the organization) and the original's hash.
            let replay = try await caller.call(.post, path, body: Self.text(#"{"member":"9z9z9z"}"#), headers: fields)
            #expect(replay.status == 401)
            #expect(replay.message == "X-Sdk-Content-Sha256 does not match the body received")
            var unsigned = try caller.headers("POST", signing: path, body: original, as: Self.alice)
            unsigned[HTTPField.Name("X-Sdk-Content-Sha256")!] = "UNSIGNED-PAYLOAD"
            #expect(try await caller.call(.post, path, body: original, headers: unsigned).status == 401)
            // The same capture with its own body is decided and forwarded (the emulator has no img-1: 404).
            #expect(try await caller.call(.post, path, body: original, headers: fields).status == 404)
            #expect(try Self.forwarded(gateway).map(\.body) == [#"{"member":"7p7p7p"}"#])
        }
    }

    @Test func oneSignatureIsForOnePath() async throws {
        try await Self.withGateway { gateway, caller in
            let body = Self.text(#"{"member":"7p7p7p"}"#)
            // Signed for /v2/images/img-1/members, sent as one segment "img-1/members".
            for uri in ["/v2/images/img-1%2Fmembers", "/v2/images/img-1%2fmembers", "/v2/images/img-1%5Cmembers"] {
                let reply = try await caller.call(.post, uri, body: body, signing: "/v2/images/img-1/members")
                #expect(reply.status == 400, "\(uri): \(reply.text)")
                #expect(reply.message.contains("encoded / or \\"), "\(uri): \(reply.message)")
            }
            for uri in [
                "/v2/images/MINE/../VICTIM", "/v2/images/./MINE", "/v2//images/MINE", "/v2/images/%zz", "/v2/images/%C3%28", "/v2/images/a%00b",
            ] {
                #expect(try await caller.call(.get, uri, as: Self.mallory, signing: "/v2/images/MINE").status == 400, "\(uri)")
            }
            // A percent-encoded segment that is not a separator is decoded once, the same way
            // for the signature, the decision and the forwarded call.
            // Decoded once, never twice: %254DINE is the image "%4DINE", not MINE.
            let twice = try await caller.call(.get, "/v2/images/%254DINE", as: Self.mallory)
            #expect(twice.status == 403 && twice.message.contains("image:%4DINE"), "\(twice.text)")
            let encoded = try await caller.call(.get, "/v2/images/MI%4EE", as: Self.mallory)
            #expect(encoded.status == 404, "\(encoded.text)")  // allowed and forwarded; the emulator has no such image
            #expect(try Self.forwarded(gateway).map(\.path) == ["/v2/images/MINE"])
        }
    }

    @Test func aRepeatedQueryParameterThatFeedsTheContextIsRefused() async throws {
        try await Self.withGateway { gateway, caller in
            // Refused before the signature is looked at; a client could not even sign it (the
            // SDK's canonical query keeps both, which the gateway refuses to guess between).
            let fields = try caller.headers("GET", signing: "/v2/cloudimages", body: [], as: Self.alice)
            let reply = try await caller.call(.get, "/v2/cloudimages?enterprise_project_id=a&enterprise_project_id=b", headers: fields)
            #expect(reply.status == 400)
            #expect(reply.message.contains("enterprise_project_id appears more than once"))
            #expect(try await caller.call(.get, "/v2/cloudimages?enterprise_project_id=a&limit=1").status == 200)
            #expect(try Self.forwarded(gateway).map(\.path) == ["/v2/cloudimages"])
        }
    }

    @Test func bodiesAreBoundedBeforeTheyAreRead() async throws {
        let small: (inout GatewayConfiguration) -> Void = {
            $0.maxBodyBytes = 1_000
            $0.maxInflightBodyBytes = 1_000
        }
        try await Self.withGateway(configure: small) { gateway, caller in
            let big = [UInt8](repeating: UInt8(ascii: " "), count: 5_000)
            // Unsigned: 401 from the headers alone, whatever the body.
            let anonymous = try await caller.client.execute(
                uri: "/v2/cloudimages/action", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: big))
            #expect(anonymous.status.code == 401)
            // Signed, but larger than the limit: 413.
            let signed = try await caller.call(.post, "/v2/cloudimages/action", body: big)
            #expect(signed.status == 413)
            #expect(signed.message.contains("--max-body-bytes"))
            #expect(try Self.forwarded(gateway).isEmpty)
        }
    }

    @Test func theInflightBudgetRefusesWhatDoesNotFit() {
        let budget = BodyBudget(limit: 100)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(50))
        #expect(budget.inUse == 60)
        budget.release(60)
        #expect(budget.reserve(100))
        #expect(!budget.reserve(1))
    }

    @Test func aWrongMethodIs405WithAllowAndAMethodOverrideIsRefused() async throws {
        try await Self.withGateway { gateway, caller in
            let put = try await caller.call(.put, "/v2/cloudimages")
            #expect(put.status == 405)
            #expect(put.headers[.allow] == "GET")
            let options = try await caller.call(.options, "/v2/images/MINE")
            #expect(options.status == 405)
            #expect(options.headers[.allow] == "DELETE, GET, PATCH")
            var fields = try caller.headers("GET", signing: "/v2/images/MINE", body: [], as: Self.mallory)
            fields[HTTPField.Name("X-HTTP-Method-Override")!] = "DELETE"
            #expect(try await caller.call(.get, "/v2/images/MINE", headers: fields).status == 400)
            #expect(try Self.forwarded(gateway).isEmpty)
        }
    }
}
