import BulwarkCatalog
import BulwarkEmulator
import BulwarkEnforcement
import BulwarkGateway
import BulwarkOrganization
import BulwarkRuntime
import BulwarkServer
import BulwarkStore
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The gateway on a real socket with `--store`: principals and policies from the server's
/// store, calls signed here with the same algorithm the SDK uses (checked against the SDK in
/// GatewayTests), the emulator as upstream.
@Suite struct GatewayLiveTests {
    static let accessKey = "AKALICE"
    static let secretKey = "alice-secret"

    /// Signs like huaweicloudsdkcore: host, x-sdk-date and content-type signed.
    static func signed(
        _ method: String, _ path: String, body: String, host: String, accessKey: String = accessKey, secret: String = secretKey,
        token: String? = nil, date: Date = Date()
    ) -> HTTPFields {
        let stamp = Self.stamp(date)
        var headers = [("Content-Type", "application/json"), ("Host", host), ("X-Sdk-Date", stamp)]
        var signedNames = ["content-type", "host", "x-sdk-date"]
        if let token {
            // As the SDK does for temporary credentials: the token is a header, and signed.
            headers.append(("X-Security-Token", token))
            signedNames.append("x-security-token")
        }
        let canonical = try! RequestSignature.canonicalRequest(
            method: method, path: path, query: "", headers: headers, signedHeaders: signedNames, body: Array(body.utf8))
        let signature = RequestSignature.signature(canonicalRequest: canonical, date: stamp, secretKey: secret)
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[HTTPField.Name("X-Sdk-Date")!] = stamp
        if let token { fields[HTTPField.Name("X-Security-Token")!] = token }
        fields[.authorization] = "SDK-HMAC-SHA256 Access=\(accessKey), SignedHeaders=\(signedNames.joined(separator: ";")), Signature=\(signature)"
        return fields
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// A gateway on the SQLite store in `folder`, IMS answered by the emulator.
    static func storeGateway(folder: String, credentials: CredentialStore) throws -> (Gateway, StateKeeper) {
        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.upstreams = ["ims": .emulator]
        configuration.emulator = try Emulator(path: folder + "/emulator.sqlite", account: Emulator.defaultAccount).upstream
        let catalog = try Catalog.bundled()
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .critical
        let keeper = try StateKeeper(location: .sqlite(path: folder + "/store.sqlite"), catalog: catalog, logger: logger)
        let gateway = try Gateway(configuration: configuration, catalog: catalog, source: .store(keeper), credentials: credentials, logger: logger)
        return (gateway, keeper)
    }

    @Test func decidesFromTheStoreAndForwardsOnlyWhatIsAllowed() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-gw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let location = StoreLocation.sqlite(path: folder + "/store.sqlite")
        // The store: alice in dev (0a1b2c) may list and read images; an SCP on the OU denies listing from 10.0.0.0/8.
        let store = try SQLiteStore(path: folder + "/store.sqlite")
        let state = try StoreTests.sampleState()
        _ = try await store.update(base: try await store.load()) { old in old.replaced(by: state, result: ()) }

        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.upstreams = ["ims": .emulator, "swr": .emulator]
        configuration.emulator = try Emulator(path: folder + "/emulator.sqlite", account: Emulator.defaultAccount).upstream
        configuration.decisionLog = folder + "/decisions.jsonl"
        let catalog = try Catalog.bundled()
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .critical
        let keeper = try StateKeeper(location: location, catalog: catalog, logger: logger)
        let credentials = CredentialStore([.init(accessKey: Self.accessKey, secretKey: Self.secretKey, principal: "iam::0a1b2c:user:alice")])
        let gateway = try Gateway(configuration: configuration, catalog: catalog, source: .store(keeper), credentials: credentials, logger: logger)

        try await gateway.application().test(.live) { client in
            // The test client sends the authority "localhost".
            let host = "localhost"
            func call(_ method: HTTPRequest.Method, _ path: String, _ body: String = "", headers: HTTPFields? = nil) async throws -> (
                Int, [String: Any]
            ) {
                let fields = headers ?? Self.signed(method.rawValue, path, body: body, host: host)
                let response = try await client.execute(
                    uri: path, method: method, headers: fields, body: body.isEmpty ? nil : ByteBuffer(string: body))
                let json = (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))) as? [String: Any] ?? [:]
                return (Int(response.status.code), json)
            }
            // The store is read in the background: wait until calls are decided.
            var status = 503
            for _ in 0..<100 where status == 503 {
                status = try await call(.get, "/v2/cloudimages").0
                if status == 503 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(status == 200)
            let (createStatus, created) = try await call(.post, "/v2/cloudimages/action", #"{"name":"web","instance_id":"i-1"}"#)
            #expect(createStatus == 403)  // read-images allows get and list only
            #expect(
                (created["error_msg"] as? String)?.contains(
                    "denied: ims:serverImages:create on *: no identity policy of iam::0a1b2c:user:alice allows it") == true)
            #expect(created["error_code"] as? String == "BWK.0403")

            // A wrong secret or an old date is 401 and reaches nothing.
            let wrong = Self.signed("GET", "/v2/cloudimages", body: "", host: host, secret: "nope")
            #expect(try await call(.get, "/v2/cloudimages", headers: wrong).0 == 401)
            let old = Self.signed("GET", "/v2/cloudimages", body: "", host: host, date: Date().addingTimeInterval(-3600))
            #expect(try await call(.get, "/v2/cloudimages", headers: old).1["error_msg"] as? String != nil)
            // A path no catalogued API has is refused, not forwarded.
            #expect(try await call(.get, "/v2/nothing-here").0 == 404)

            let received = try gateway.configuration.emulator!.received()
            #expect(received.map(\.path) == ["/v2/cloudimages"])
        }
        // Decisions from the store name the policy versions and the revision they were made on.
        let lines = try String(contentsOfFile: folder + "/decisions.jsonl", encoding: .utf8).split(separator: "\n")
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!records.isEmpty && records.count == lines.count)
        for record in records {
            #expect(record["policyVersions"] as? [String: String] == ["read-images": "v1"])
            #expect(record["revision"] as? Int != nil)
        }
    }

    @Test func aPrincipalWhosePolicyNoLongerParsesIsRefusedNotDecided() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-gw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: folder + "/store.sqlite")
        _ = try await store.update(base: try await store.load()) { old in old.replaced(by: try StoreTests.sampleState(), result: ()) }
        // A hand edit: alice's only policy no longer parses.
        try await DatabaseQueue(path: folder + "/store.sqlite").write { db in
            try db.execute(sql: "UPDATE bulwark_entities SET body = replace(body, 'Allow', 'Allo') WHERE kind = 'policy' AND key = 'read-images'")
            #expect(db.changesCount == 1)
        }
        let credentials = CredentialStore([.init(accessKey: Self.accessKey, secretKey: Self.secretKey, principal: "iam::0a1b2c:user:alice")])
        let (gateway, _) = try Self.storeGateway(folder: folder, credentials: credentials)
        try await gateway.application().test(.live) { client in
            var message = ""
            for _ in 0..<100 {
                let response = try await client.execute(
                    uri: "/v2/cloudimages", method: .get, headers: Self.signed("GET", "/v2/cloudimages", body: "", host: "localhost"))
                let json = (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))) as? [String: Any] ?? [:]
                message = json["error_msg"] as? String ?? ""
                #expect(response.status.code == 503)
                if !message.contains("not been loaded") { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(message == "the policies of iam::0a1b2c:user:alice cannot be read; nothing is decided without them")
            #expect(try gateway.configuration.emulator!.received().isEmpty)
        }
    }

    /// Temporary credentials with --store: the session is decided against each revision, so a
    /// trust policy that stops naming the caller stops the session.
    @Test func aSessionsAccessKeyFollowsTheStore() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-gw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: folder + "/store.sqlite")
        @Sendable func trust(_ principal: String) -> SubmittedDocument {
            StoreTests.document(
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"sts:agencies:assume","Principal":{"IAM":["\#(principal)"]}}]}"#)
        }
        let assume = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"sts:agencies:assume","Resource":"iam::0a1b2c:agency:ops"}]}"#
        var state = try StoreTests.sampleState()
        for command: ManagementCommand in [
            .createPolicy(id: "assume-ops", account: "0a1b2c", description: "", document: StoreTests.document(assume)),
            .addPrincipal(kind: .user, account: "0a1b2c", name: "ci", id: "u-ci", groups: []),
            .addPrincipal(
                kind: .agency, account: "0a1b2c", name: "ops", id: "a-ops", groups: [],
                settings: PrincipalSettings(trustPolicy: trust("iam::0a1b2c:user:ci"))),
            .attach(policy: "assume-ops", target: "iam::0a1b2c:user:ci"),
            .attach(policy: "read-images", target: "iam::0a1b2c:agency:ops"),
        ] {
            state = try state.applying(command, context: StoreTests.context).state
        }
        let initial = state
        _ = try await store.update(base: try await store.load()) { old in old.replaced(by: initial, result: ()) }

        let session = SessionRequest(agency: "iam::0a1b2c:agency:ops", sessionName: "run-1")
        let credentials = CredentialStore([
            .init(accessKey: "AKCI", secretKey: "ci-secret", principal: "iam::0a1b2c:user:ci", securityToken: "tok-1", session: session)
        ])
        let (gateway, keeper) = try Self.storeGateway(folder: folder, credentials: credentials)
        try await gateway.application().test(.live) { client in
            func call(_ method: HTTPRequest.Method, _ path: String, _ body: String = "", token: String? = "tok-1") async throws -> (Int, String) {
                let headers = Self.signed(method.rawValue, path, body: body, host: "localhost", accessKey: "AKCI", secret: "ci-secret", token: token)
                let response = try await client.execute(
                    uri: path, method: method, headers: headers, body: body.isEmpty ? nil : ByteBuffer(string: body))
                let json = (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))) as? [String: Any] ?? [:]
                return (Int(response.status.code), json["error_msg"] as? String ?? "")
            }
            var status = 503
            for _ in 0..<100 where status == 503 {
                status = try await call(.get, "/v2/cloudimages").0
                if status == 503 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(status == 200)
            let created = try await call(.post, "/v2/cloudimages/action", #"{"name":"web","instance_id":"i-1"}"#)
            #expect(created.0 == 403 && created.1.contains("no identity policy of sts::0a1b2c:assumed-agency:ops/run-1 allows it"), "\(created)")
            let missing = try await call(.get, "/v2/cloudimages", token: nil)
            #expect(missing.0 == 401 && missing.1.contains("X-Security-Token header is missing"))

            // The trust policy now names someone else: the session stops working.
            let changed = try initial.applying(
                .setSettings(principal: "iam::0a1b2c:agency:ops", settings: PrincipalSettings(trustPolicy: trust("iam::0a1b2c:user:alice"))),
                context: StoreTests.context
            ).state
            _ = try await store.update(base: try await store.load()) { old in old.replaced(by: changed, result: ()) }
            try await keeper.refresh()  // another connection wrote: SQLite keepers follow only their own writes
            let refused = try await call(.get, "/v2/cloudimages")
            #expect(refused.0 == 403)
            #expect(
                refused.1
                    == "iam::0a1b2c:user:ci may not assume iam::0a1b2c:agency:ops for the session sts::0a1b2c:assumed-agency:ops/run-1 (not_trusted)")
        }
    }
}
