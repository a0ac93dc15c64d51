import BulwarkServer
import BulwarkStore
import Foundation
import GRDB
import HTTPTypes
import Testing

/// SPEC §7 "Fail closed, bounded": what the server cannot read it refuses, and every limit
/// holds with a 4xx that names its flag.
@Suite struct FailClosedServerTests {
    static let denyShare = #"{"Version":"5.0","Statement":[{"Sid":"NoShare","Effect":"Deny","Action":["ims:images:share"]}]}"#
    static let allowAll = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:*"]}]}"#

    /// alice (dev, under engineering, which has the SCP deny-share) may do anything in IMS;
    /// bob (ops, under the root) may read images.
    static func build(_ http: HTTP) async throws {
        try await Fixture.build(http)
        let steps: [(HTTPRequest.Method, String, String)] = [
            (.post, "/v1/policies", #"{"id":"ims-all","account":"0a1b2c","document":\#(allowAll)}"#),
            (.post, "/v1/attachments", #"{"policy":"ims-all","target":"iam::0a1b2c:user:alice"}"#),
            (.post, "/v1/scps", #"{"id":"deny-share","document":\#(denyShare)}"#),
            (.post, "/v1/attachments", #"{"policy":"deny-share","target":"engineering"}"#),
            (.post, "/v1/organization/nodes", #"{"kind":"account","name":"ops","id":"9o9o9o"}"#),
            (.post, "/v1/policies", #"{"id":"ops-read","account":"9o9o9o","document":\#(Fixture.readImages)}"#),
            (.post, "/v1/principals", #"{"kind":"user","account":"9o9o9o","name":"bob","id":"u-bob"}"#),
            (.post, "/v1/attachments", #"{"policy":"ops-read","target":"iam::9o9o9o:user:bob"}"#),
        ]
        for (method, uri, body) in steps {
            let reply = try await http.send(method, uri, body)
            #expect(reply.status == 201, "\(method) \(uri): \(reply.status) \(reply.text)")
        }
    }

    static func aliceShares(_ http: HTTP) async throws -> HTTP.Reply {
        try await http.post(
            "/v1/authorize",
            #"{"principal":"iam::0a1b2c:user:alice","request":{"action":"ims:images:share","resource":"ims:cn-north-4:0a1b2c:image:img-1"}}"#)
    }

    static func bobGets(_ http: HTTP) async throws -> HTTP.Reply {
        try await http.post(
            "/v1/authorize",
            #"{"principal":"iam::9o9o9o:user:bob","request":{"action":"ims:images:get","resource":"ims:cn-north-4:9o9o9o:image:img-2"}}"#)
    }

    /// A hand edit of the database: the SCP's document no longer parses ("Effect":"Denny"),
    /// and the revision moves on, as after an upgrade or a careless UPDATE.
    static func breakSCP(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "UPDATE bulwark_entities SET body = replace(body, 'Deny', 'Denny') WHERE kind = 'scp' AND key = 'deny-share'")
            #expect(db.changesCount == 1)
            try db.execute(sql: "UPDATE bulwark_meta SET value = value + 1 WHERE name = 'revision'")
        }
    }

    @Test func aStoredPolicyThatNoLongerParsesIsNeverDropped() async throws {
        let server = try TestServer()
        guard case .sqlite(let path)? = server.configuration.store else {
            Issue.record("expected SQLite")
            return
        }
        try await server.run { http in
            try await Self.build(http)
            #expect(try await Self.aliceShares(http).object["reason"] as? String == "explicit_deny")
        }
        try Self.breakSCP(path)

        // Started on the broken revision: no good snapshot to fall back on, so every principal
        // under the SCP is refused (503) and the others are decided; /readyz and a metric say why.
        try await server.run(ready: false) { http in
            let refused = try await Self.aliceShares(http)
            #expect(refused.status == 503)
            #expect(refused.errorCode == "principal_unavailable")
            #expect(
                (refused.object["error"] as? [String: Any])?["message"] as? String
                    == "SCP \"deny-share\" attached to \"engineering\" cannot be found or read; nothing under it is decided without it (see /readyz)")
            let bob = try await Self.bobGets(http)
            #expect(bob.status == 200 && bob.object["reason"] as? String == "allowed")
            let ready = try await http.get("/readyz")
            #expect(ready.status == 503)
            #expect(ready.errorCode == "unreadable_policies")
            #expect(
                (ready.object["error"] as? [String: Any])?["message"] as? String
                    == "revision 16 has stored policies that do not parse: SCP \"deny-share\"; principals that need them are refused")
            let metrics = try await http.get("/metrics").text
            #expect(metrics.contains(#"bulwark_unreadable_policy{kind="scp",policy="deny-share"} 1"#))

            // The administrator repairs it through the API; decisions come back with the Deny.
            let fixed = try await http.put("/v1/scps/deny-share", #"{"document":\#(Self.denyShare)}"#)
            #expect(fixed.status == 200, "\(fixed.text)")
            #expect(try await http.get("/readyz").status == 200)
            #expect(try await Self.aliceShares(http).object["reason"] as? String == "explicit_deny")
            #expect(try await http.get("/metrics").text.contains(#"bulwark_unreadable_policy{kind="scp",policy="deny-share"} 0"#))

            // Broken again while a good snapshot serves: the next revision is not installed for
            // decisions, so the Deny keeps holding; management sees the newest state.
            try Self.breakSCP(path)
            let write = try await http.post("/v1/policies", #"{"id":"later","account":"9o9o9o","document":\#(Fixture.readImages)}"#)
            #expect(write.status == 201, "\(write.text)")
            let stale = try await Self.aliceShares(http)
            #expect(stale.status == 200 && stale.object["reason"] as? String == "explicit_deny")
            let readiness = try await http.get("/readyz")
            #expect(readiness.status == 503)
            #expect(
                ((readiness.object["error"] as? [String: Any])?["message"] as? String)?.hasSuffix(
                    "decisions stay on revision 17 until they are fixed") == true)
            #expect(try await http.get("/v1/policies/later").status == 200)
        }
    }

    @Test func batchesAndInlineStatementsAreBounded() async throws {
        let server = try TestServer { configuration in
            configuration.decisionLimits.maxBatchRequests = 3
            configuration.decisionLimits.maxInlineStatements = 2
        }
        try await server.run { http in
            let request = #"{"action":"ims:images:get"}"#
            let policy = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:*"]}]}"#
            let three = try await http.post(
                "/v1/authorize/batch", #"{"identityPolicies":[\#(policy)],"requests":[\#(request),\#(request),\#(request)]}"#, token: nil)
            #expect(three.status == 200)
            let four = try await http.post(
                "/v1/authorize/batch", #"{"identityPolicies":[\#(policy)],"requests":[\#(request),\#(request),\#(request),\#(request)]}"#, token: nil)
            #expect(four.status == 413)
            #expect(four.errorCode == "batch_too_large")
            #expect(
                (four.object["error"] as? [String: Any])?["message"] as? String
                    == "requests has 4 requests; the limit is 3 (--max-batch-requests): split the batch")
            let statements = try await http.post(
                "/v1/authorize", #"{"identityPolicies":[\#(policy),\#(policy),\#(policy)],"request":\#(request)}"#, token: nil)
            #expect(statements.status == 413)
            #expect(statements.errorCode == "too_many_statements")
        }
    }

    @Test func errorMessagesQuoteAtMost200CharactersOfAValue() async throws {
        try await TestServer().run { http in
            try await Fixture.build(http)
            let huge = String(repeating: "x", count: 1_000_000)
            let reply = try await http.post("/v1/policies", #"{"id":"\#(huge)","account":"0a1b2c","document":\#(Fixture.readImages)}"#)
            #expect(reply.status == 400)
            #expect(reply.text.utf8.count < 2_000)
            #expect(reply.text.contains("must be 1–128 characters, found 1000000"))
            let key = try await http.post("/v1/policies", #"{"\#(huge)":1}"#)
            #expect(key.status == 400)
            #expect(key.text.utf8.count < 3_000)
            #expect(key.text.contains("… (999800 more characters)"))
        }
    }

    @Test func idsRefuseInvisibleAndBidirectionalCharacters() async throws {
        try await TestServer().run { http in
            try await Fixture.build(http)
            for (id, code, position) in [
                ("pol\u{202E}icy", "U+202E", 4), ("a\u{200B}b", "U+200B", 2), ("x\u{FEFF}", "U+FEFF", 2), ("\u{2066}p", "U+2066", 1),
            ] {
                let reply = try await http.post("/v1/policies", #"{"id":"\#(id)","account":"0a1b2c","document":\#(Fixture.readImages)}"#)
                #expect(reply.status == 400)
                let message = (reply.object["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.hasSuffix("has an invisible or bidirectional-control character \(code) at character \(position)"), "\(message)")
            }
            // A visible non-ASCII id is fine.
            #expect(try await http.post("/v1/policies", #"{"id":"política","account":"0a1b2c","document":\#(Fixture.readImages)}"#).status == 201)
        }
    }

    @Test func aWrongMethodOnAKnownPathIs405WithAllow() async throws {
        try await TestServer().run { http in
            for (method, path, allow) in [
                (HTTPRequest.Method.delete, "/v1/authorize", "POST"), (.get, "/v1/authorize/batch", "POST"),
                (.post, "/v1/policies/p1", "DELETE, GET"), (.get, "/v1/policies/p1/default-version", "PUT"), (.put, "/healthz", "GET"),
            ] {
                let response = try await http.client.execute(
                    uri: path, method: method, headers: [.authorization: "Bearer \(TestServer.adminToken)"], body: nil)
                #expect(response.status.code == 405, "\(method) \(path)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
            }
            #expect(try await http.get("/v1/nothing").status == 404)
        }
    }

    @Test func brokenFramingIs400AndAHangUpIsNotAServerError() async throws {
        try await TestServer().run { http in
            let port = http.client.port!
            let chunked = try RawSocket(port: port)
            chunked.send("POST /v1/validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n{}")
            let answer = await offPool { chunked.receiveAll() } ?? ""
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")

            // A client that sends half its body and goes away.
            let quitter = try RawSocket(port: port)
            quitter.send("POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"policy\":")
            try await Task.sleep(for: .milliseconds(100))
            quitter.hangUp()
            try await Task.sleep(for: .milliseconds(300))
            let metrics = try await http.get("/metrics").text
            #expect(!metrics.contains(#"status="500""#), "\(metrics)")
        }
    }

    @Test func slowHeadsAndIdleConnectionsAreClosedAndConnectionsAreCapped() async throws {
        let server = try TestServer { configuration in
            configuration.connections.headerTimeout = .milliseconds(400)
            configuration.connections.maxConnections = 4
        }
        try await server.runListening { port in
            // A head that never ends is cut after the header timeout.
            let slow = try RawSocket(port: port, receiveTimeout: 3)
            slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
            let start = ContinuousClock.now
            #expect(await offPool { slow.closedByPeer() })
            #expect(ContinuousClock.now - start < .seconds(2))

            // Idle connections hold every slot (NIO accepts up to four per read before the cap
            // pauses accepting, so open more than that): a new one waits until the timeout frees one.
            let idle = try (0..<12).map { _ in try RawSocket(port: port) }
            let fifth = try RawSocket(port: port, receiveTimeout: 3)
            fifth.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let answered = ContinuousClock.now
            let reply = await offPool { fifth.receiveAll() } ?? ""
            #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply)")
            #expect(ContinuousClock.now - answered > .milliseconds(150))
            #expect(await offPool { idle.allSatisfy { $0.closedByPeer() } })
        }
    }
}
