import BulwarkStore
import Foundation
import Logging
import PostgresNIO
import Testing

/// Two servers on one PostgreSQL database. Set BULWARK_TEST_POSTGRES to a server URL
/// (`postgres://USER:PASSWORD@HOST:PORT/DB`); `.ci/run` starts one and also sets
/// BULWARK_REQUIRE_POSTGRES=1, so in CI these tests run or fail — they are never skipped.
@Suite(.serialized) struct PostgresReplicaTests {
    static let url = ProcessInfo.processInfo.environment["BULWARK_TEST_POSTGRES"]
    static let required = ProcessInfo.processInfo.environment["BULWARK_REQUIRE_POSTGRES"] == "1"

    @Test func postgresIsAvailableWhenRequired() {
        if Self.required { #expect(Self.url != nil, "BULWARK_REQUIRE_POSTGRES=1 but BULWARK_TEST_POSTGRES is not set") }
    }

    /// A new empty database on the test server, so runs never see each other's rows.
    static func freshDatabase() async throws -> StoreLocation {
        guard case .postgres(let host, let port, let user, let password, let database) = try StoreLocation.parse(url!) else {
            throw StoreError("BULWARK_TEST_POSTGRES is not a postgres:// URL")
        }
        let name = "bulwark_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let client = PostgresClient(
            configuration: .init(host: host, port: port, username: user, password: password, database: database, tls: .disable),
            backgroundLogger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        return .postgres(host: host, port: port, user: user, password: password, database: String(name))
    }

    /// How long until `check` holds, polling every 10 ms, giving up after `limit`.
    static func timeUntil(limit: Duration = .seconds(3), _ check: () async throws -> Bool) async throws -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < limit {
            if try await check() { return clock.now - start }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    @Test(.enabled(if: url != nil || required)) func replicasSeeEachOthersWritesWithinASecond() async throws {
        let store = try await Self.freshDatabase()
        let a = try TestServer(store: store)
        let b = try TestServer(store: store)
        try await a.run { httpA in
            try await b.run { httpB in
                try await Fixture.build(httpA)
                let seen = try await Self.timeUntil { try await Fixture.aliceCanGet(httpB) == "allowed" }
                let lag = try #require(seen, "replica B never saw replica A's writes")
                #expect(lag < .seconds(1))

                // And the other way round.
                #expect(try await httpB.delete("/v1/attachments?policy=read-images&target=iam::0a1b2c:group:readers").status == 200)
                let back = try #require(try await Self.timeUntil { try await Fixture.aliceCanGet(httpA) == "no_identity_allow" })
                #expect(back < .seconds(1))

                // Refusals keep their meaning through PostgreSQL's transaction wrapper.
                #expect(try await httpB.delete("/v1/scps/FullAccess").errorCode == "conflict")
                #expect(
                    try await httpB.post("/v1/policies", #"{"id":"x","account":"0a1b2c","document":{"Version":"5.0","Statement":[]}}"#).status == 422)

                // Writers on both replicas at once: every write lands exactly once, in one order.
                let before = try #require(try await httpA.get("/v1/organization").object["revision"] as? Int)
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<20 {
                        let http = i % 2 == 0 ? httpA : httpB
                        group.addTask {
                            try await http.post("/v1/scps", #"{"id":"s\#(i)","document":\#(Fixture.denyShareSCP)}"#).status
                        }
                    }
                    for try await status in group { #expect(status == 201) }
                }
                for http in [httpA, httpB] {
                    let settled = try await Self.timeUntil {
                        try await http.get("/v1/organization").object["revision"] as? Int == before + 20
                    }
                    #expect(settled != nil)
                    #expect((try await http.get("/v1/scps").object["scps"] as? [Any])?.count == 21)
                }
            }
        }
    }

    @Test(.enabled(if: url != nil || required)) func aFailedWriteLeavesNothingBehind() async throws {
        guard case .postgres(let host, let port, let user, let password, let database) = try await Self.freshDatabase() else { return }
        let store = PostgresStore(host: host, port: port, user: user, password: password, database: database, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            try await store.prepare()
            var held = try await store.load()
            let target = try StoreTests.sampleState()
            held = try await store.update(base: held) { old in old.replaced(by: target, result: ()) }.stored
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                _ = try await store.update(base: held) { state -> StateChange<Void> in
                    _ = state
                    throw Boom()
                }
            }
            let loaded = try await store.load()
            #expect(loaded.revision == 1)
            #expect(loaded.state == target)
            #expect(try await store.currentRevision() == 1)
            group.cancelAll()
        }
    }
}
