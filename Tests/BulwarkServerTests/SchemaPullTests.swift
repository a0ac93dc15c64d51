import BulwarkCatalog
import BulwarkCloud
import BulwarkEmulator
import BulwarkEnforcement
import BulwarkStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `catalog pull` (SPEC §12) against the emulator's IAM authorization-schema API on a real
/// socket: calls signed by `RequestSignature.sign`, verified by the emulator. (The same API is
/// called with Huawei's own IAM v5 client in tests/sdk/test_schemas.py.)
@Suite struct SchemaPullTests {
    static let key = CloudCredentials(accessKey: "AKPULL", secretKey: "pull-secret")
    static let store = CredentialStore([CredentialStore.Entry(accessKey: "AKPULL", secretKey: "pull-secret", principal: "iam::0a1b2c:user:alice")])
    static let evs = Array(FileManager.default.contents(atPath: packageRoot + "/examples/catalogs/evs.json")!)
    static let swr = try! Catalog.bundled().exportHuaweiSchema(service: "swr")!

    static func emulator() throws -> Emulator {
        try Emulator(path: Emulator.temporaryPath(), account: "0a1b2c", schemas: ["evs": evs, "swr": swr], credentials: store)
    }

    static let unsignedSchemaCall = SignedCall(
        method: "GET", path: "/v5/authorization-schemas/services/evs", query: "", headers: [], authorization: nil, body: [])

    static func temporaryFolder() -> String { NSTemporaryDirectory() + "bulwark-pull-\(UUID().uuidString)" }

    @Test func aSignedCallVerifiesAndATamperedOneDoesNot() throws {
        let now = Date()
        let headers = try RequestSignature.sign(
            method: "GET", host: "iam.example:8443", path: "/v5/authorization-schemas/services/evs", query: "a=1&b=x%2Fy",
            accessKey: "AKPULL", secretKey: "pull-secret", securityToken: "token-1", now: now)
        #expect(headers.map(\.0) == ["X-Sdk-Date", "X-Security-Token", "Authorization"])
        let all = [("Host", "iam.example:8443")] + headers
        let header = try RequestSignature.parse(authorization: headers[2].1)
        #expect(header.signedHeaders == ["host", "x-sdk-date", "x-security-token"])
        try RequestSignature.verify(
            header, secretKey: "pull-secret", method: "GET", path: "/v5/authorization-schemas/services/evs", query: "b=x%2Fy&a=1",
            headers: all, body: [], now: now)
        #expect(throws: RequestSignature.Failure.self) {
            try RequestSignature.verify(
                header, secretKey: "pull-secret", method: "GET", path: "/v5/authorization-schemas/services/swr", query: "a=1&b=x%2Fy",
                headers: all, body: [], now: now)
        }
        #expect(RequestSignature.formatDate(Date(timeIntervalSince1970: 1_764_435_600)) == "20251129T170000Z")
    }

    @Test func theEmulatorPagesRegisteredServicesAndRefusesUnsignedCalls() async throws {
        let emulator = try Self.emulator()
        func call(_ path: String, _ query: String = "", secret: String = "pull-secret") async throws -> Emulator.Response {
            let signed = try RequestSignature.sign(
                method: "GET", host: "localhost", path: path, query: query, accessKey: "AKPULL", secretKey: secret, now: Date())
            let headers = [("Host", "localhost")] + signed
            return await emulator.handleControlPlane(
                SignedCall(method: "GET", path: path, query: query, headers: headers, authorization: signed.last!.1, body: []))
        }
        let first = try await call("/v5/authorization-schemas/registered-services", "limit=1")
        #expect(first.status == 200)
        let page = try JSONSerialization.jsonObject(with: Data(first.body)) as! [String: Any]
        #expect(page["service_codes"] as? [String] == ["evs"])
        let marker = (page["page_info"] as! [String: Any])["next_marker"] as! String
        let second = try await call(
            "/v5/authorization-schemas/registered-services", "limit=1&marker=\(marker.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        let next = try JSONSerialization.jsonObject(with: Data(second.body)) as! [String: Any]
        #expect(next["service_codes"] as? [String] == ["swr"])
        #expect((next["page_info"] as! [String: Any])["next_marker"] == nil)
        #expect(try await call("/v5/authorization-schemas/services/evs").body == Self.evs)
        #expect(try await call("/v5/authorization-schemas/services/ecs").status == 404)
        #expect(try await call("/v5/authorization-schemas/services/evs", secret: "wrong").status == 401)
        let unsigned = await emulator.handleControlPlane(Self.unsignedSchemaCall)
        #expect(unsigned.status == 401)
        let open = try Emulator(path: Emulator.temporaryPath(), account: "0a1b2c", schemas: ["evs": Self.evs])
        #expect(await open.handleControlPlane(Self.unsignedSchemaCall).status == 401)
    }

    @Test func pullWritesTheSchemasAndDecidesWithThem() async throws {
        let emulator = try Self.emulator()
        try await emulator.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let endpoint = "http://127.0.0.1:\(client.port!)"
            let signed = try SignedClient(endpoint: endpoint, credentials: Self.key, attempts: 1)
            defer { Task { await signed.shutdown() } }
            #expect(try await SchemaPull.registeredServices(signed) == ["evs", "swr"])
            let folder = Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let loaded = try await SchemaPull.pull(services: ["evs", "swr"], client: signed, into: folder, builtIn: try Catalog.bundled()) { _ in }
            #expect(FileManager.default.contents(atPath: folder + "/evs.json").map(Array.init) == Self.evs)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["evs.json", "swr.json"])
            #expect(loaded.notices.count == 1)  // swr replaces the built-in one
            #expect(loaded.catalog.service(named: "evs")?.operations.count == 7)

            // A service the cloud has no schema for: the call is named, nothing is written.
            let empty = Self.temporaryFolder()
            await #expect {
                _ = try await SchemaPull.pull(services: ["evs", "ecs"], client: signed, into: empty, builtIn: try Catalog.bundled()) { _ in }
            } throws: { error in
                (error as? CloudError)?.description.hasPrefix("GET /v5/authorization-schemas/services/ecs: HTTP 404") == true
            }
            #expect(!FileManager.default.fileExists(atPath: empty))

            // A key the emulator does not know: 401, named.
            let stranger = try SignedClient(endpoint: endpoint, credentials: CloudCredentials(accessKey: "AKPULL", secretKey: "nope"), attempts: 1)
            await #expect {
                _ = try await SchemaPull.registeredServices(stranger)
            } throws: { error in
                (error as? CloudError)?.description.contains("HTTP 401") == true
            }
            await stranger.shutdown()
        }
    }

    @Test func credentialsFilesMustBePrivateAndComplete() throws {
        let folder = Self.temporaryFolder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/client.yaml"
        try "accessKey: AK\nsecretKey: SK\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: CloudError.self) { try CloudCredentials.load(path: path) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try CloudCredentials.load(path: path).accessKey == "AK")
        try "accessKey: AK\nsecret: SK\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        do {
            _ = try CloudCredentials.load(path: path)
            Issue.record("a file with an unknown field loaded")
        } catch {
            #expect(error.description == "\(path):2:1: unknown field \"secret\"; expected accessKey, secretKey, securityToken")
        }
    }
}

/// The catalogs a store holds (SPEC §12): `serve --catalog` writes them, a server started
/// without `--catalog` on the same store reads them, on SQLite and on PostgreSQL.
@Suite(.serialized) struct StoredCatalogTests {
    static let files = [
        CatalogFile(name: "catalogs/evs.json", bytes: SchemaPullTests.evs),
        CatalogFile(name: "catalogs/swr.json", bytes: SchemaPullTests.swr),
    ]

    static func roundTrip(_ location: StoreLocation) async throws {
        let logger = Logger(label: "test")
        #expect(try await StoredCatalogs.synchronize(location, given: nil, logger: logger).isEmpty)
        #expect(try await StoredCatalogs.synchronize(location, given: files, logger: logger) == files)
        let read = try await StoredCatalogs.synchronize(location, given: nil, logger: logger)
        #expect(read == files)
        let catalog = try Catalog.bundled().merging(read).catalog
        #expect(catalog.service(named: "evs")?.operations.count == 7)
        // Given again, the set replaces what the store held (not merged with it).
        let one = [files[0]]
        _ = try await StoredCatalogs.synchronize(location, given: one, logger: logger)
        #expect(try await StoredCatalogs.synchronize(location, given: nil, logger: logger) == one)
    }

    @Test func sqliteKeepsTheCatalogs() async throws {
        try await Self.roundTrip(.sqlite(path: Emulator.temporaryPath()))
    }

    @Test(.enabled(if: PostgresReplicaTests.url != nil || PostgresReplicaTests.required))
    func postgresKeepsTheCatalogs() async throws {
        try await Self.roundTrip(try await PostgresReplicaTests.freshDatabase())
    }
}

/// Fail closed: a server on a store whose catalogs do not load refuses to start.
@Suite struct StoredCatalogServeTests {
    @Test func aServerRefusesStoredCatalogsThatDoNotLoad() async throws {
        let folder = NSTemporaryDirectory() + "bulwark-stored-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let broken = CatalogFile(name: "catalogs/evs.json", bytes: Array(#"{"version": "1", "resources": []}"#.utf8))
        _ = try await StoredCatalogs.synchronize(.sqlite(path: folder + "/bulwark.sqlite"), given: [broken], logger: Logger(label: "test"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("bulwark")
        process.arguments = ["serve", "--data-dir", folder, "--port", "0"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(text.contains("bulwark: the store's catalogs have 1 problem(s):\ncatalogs/evs.json:1:1: missing field \"actions\""))
    }
}
