import BulwarkServer
import BulwarkTestSupport
import Foundation
import Testing

/// `bulwark serve` over real sockets on SQLite: decisions, management, auth, errors, logs.
@Suite struct ServerTests {
    @Test func decisionEndpointsAnswerLikeTheCLI() async throws {
        try await TestServer().run { http in
            let inline =
                #"{"identityPolicies":[{"id":"p","document":{"Version":"5.0","Statement":[{"Sid":"Read","Effect":"Allow","Action":["ims:images:get"]}]}}],"scpLevels":[[{"id":"deny-all","document":{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:*"]},{"Effect":"Deny","Action":["ims:images:delete"]}]}}]],"#
            let single = try await http.post(
                "/v1/authorize", inline + #""request":{"action":"ims:images:get","resource":"ims:cn-north-4:0a1b2c:image:img-1"}}"#, token: nil)
            #expect(single.status == 200)
            #expect(single.object["decision"] as? String == "allow")
            #expect(single.object["reason"] as? String == "allowed")
            // Decision ids: the UUID version-4 layout, distinct per decision.
            let id = try #require(single.object["decisionId"] as? String)
            #expect(id.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil, "\(id)")
            let again = try await http.post(
                "/v1/authorize", inline + #""request":{"action":"ims:images:get","resource":"ims:cn-north-4:0a1b2c:image:img-1"}}"#, token: nil)
            #expect(again.object["decisionId"] as? String != id)
            #expect(single.text.contains(#""matched":[{"policy":"p","statement":0,"sid":"Read","effect":"Allow","scpLevel":null}]"#))

            let batch = try await http.post(
                "/v1/authorize/batch?explain=true",
                inline + #""requests":[{"action":"ims:images:get"},{"action":"ims:images:delete"},{"action":"ims:images:list"}]}"#, token: nil)
            let results = try #require(batch.object["results"] as? [[String: Any]])
            #expect(results.map { $0["reason"] as? String } == ["allowed", "explicit_deny", "no_identity_allow"])
            #expect(results.allSatisfy { $0["explanation"] is [Any] })
            // The batch endpoint wants requests.
            #expect(try await http.post("/v1/authorize/batch", inline + #""request":{"action":"ims:images:get"}}"#).status == 400)

            let api = try await http.post(
                "/v1/authorize-api",
                #"{"identityPolicies":[{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:import","ims:dataImages:create"]}]}],"apiRequest":{"service":"ims","method":"POST","path":"/v2/cloudimages/quickimport/action","region":"cn-north-4","accountId":"0a1b2c"}}"#
            )
            #expect(api.object["decision"] as? String == "deny")
            let checks = try #require(api.object["checks"] as? [[String: Any]])
            #expect(checks.map { $0["action"] as? String } == ["ims:images:import", "ims:dataImages:create", "ims:serverImages:create"])
            #expect(checks.map { $0["decision"] as? String } == ["allow", "allow", "deny"])
            let unknownPath = try await http.post("/v1/authorize-api", #"{"apiRequest":{"service":"ims","method":"GET","path":"/v2/cloudimagez"}}"#)
            #expect(unknownPath.status == 400)
            #expect(unknownPath.errorCode == "unknown_api")

            // Validation findings are located in the request body.
            let validated = try await http.post(
                "/v1/validate",
                "{\"type\":\"scp\",\n \"policy\": {\"Version\":\"5.0\",\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":[\"ims:images:share\"]}]}}")
            #expect(validated.status == 200)
            let findings = try #require(validated.object["findings"] as? [[String: Any]])
            let notAction = try #require(findings.first { $0["code"] as? String == "SCP_UNSUPPORTED_ELEMENT" })
            #expect(notAction["path"] as? String == "$.policy.Statement[0].NotAction")
            #expect(notAction["line"] as? Int == 2)
            #expect(notAction["column"] as? Int == 72)  // column 61 of the document, which starts at column 12
        }
    }

    @Test func storedPrincipalsFollowEveryManagementWrite() async throws {
        let server = try TestServer()
        try await server.run { http in
            try await Fixture.build(http)
            #expect(try await Fixture.aliceCanGet(http) == "allowed")

            // An SCP on the OU that denies reading wins; detaching it restores access.
            let scp = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"]},{"Effect":"Deny","Action":["ims:images:get"]}]}"#
            #expect(try await http.post("/v1/scps", #"{"id":"no-reads","document":\#(scp)}"#).status == 201)
            #expect(try await http.post("/v1/attachments", #"{"policy":"no-reads","target":"engineering"}"#).status == 201)
            #expect(try await Fixture.aliceCanGet(http) == "explicit_deny")
            #expect(try await http.delete("/v1/attachments?policy=no-reads&target=engineering").status == 200)
            #expect(try await Fixture.aliceCanGet(http) == "allowed")

            // The last SCP of a node stays (SPEC §11).
            let last = try await http.delete("/v1/attachments?policy=FullAccess&target=dev")
            #expect(last.status == 409)
            #expect((last.object["error"] as? [String: Any])?["code"] as? String == "limit_exceeded")
            // Beside a Deny-only SCP, detaching FullAccess leaves the account's level without an Allow.
            let denyOnly = #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":["ims:images:share"]}]}"#
            #expect(try await http.post("/v1/scps", #"{"id":"deny-only","document":\#(denyOnly)}"#).status == 201)
            #expect(try await http.post("/v1/attachments", #"{"policy":"deny-only","target":"dev"}"#).status == 201)
            #expect(try await http.delete("/v1/attachments?policy=FullAccess&target=dev").status == 200)
            let denied = try await http.post("/v1/authorize", #"{"principal":"iam::0a1b2c:user:alice","request":{"action":"ims:images:get"}}"#)
            #expect(denied.object["reason"] as? String == "scp_no_allow")
            #expect(denied.object["scpLevel"] as? Int == 2)
            #expect(try await http.post("/v1/attachments", #"{"policy":"FullAccess","target":"dev"}"#).status == 201)
            #expect(try await http.delete("/v1/attachments?policy=deny-only&target=dev").status == 200)

            // A new default version decides at once; rolling back restores the old one.
            let v2 = try await http.post(
                "/v1/policies/read-images/versions",
                #"{"document":"{\"Version\":\"5.0\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ims:images:list\"]}]}","setAsDefault":true}"#)
            #expect(v2.status == 201)
            #expect(v2.object["defaultVersion"] as? String == "v2")
            #expect(try await Fixture.aliceCanGet(http) == "no_identity_allow")
            #expect(try await http.put("/v1/policies/read-images/default-version", #"{"version":"v1"}"#).status == 200)
            #expect(try await Fixture.aliceCanGet(http) == "allowed")
            let versions = try await http.get("/v1/policies/read-images/versions")
            #expect((versions.object["versions"] as? [[String: Any]])?.map { $0["id"] as? String } == ["v1", "v2"])
            #expect(try await http.get("/v1/policies/read-images/versions/v2").object["isDefault"] as? Bool == false)

            // Moving the account out of the OU, then removing a user from the group.
            #expect(try await http.patch("/v1/organization/nodes/dev", #"{"parent":"root"}"#).status == 200)
            let simulated = try await http.post("/v1/simulate", #"{"principal":"iam::dev:user:alice","request":{"action":"ims:images:get"}}"#)
            #expect((simulated.object["context"] as? [String: Any])?["g:PrincipalOrgPath"] as? String == "o-1/r-1/0a1b2c")
            #expect(try await http.put("/v1/principals/iam::0a1b2c:user:alice/groups", #"{"groups":[]}"#).status == 200)
            #expect(try await Fixture.aliceCanGet(http) == "no_identity_allow")

            // Reads.
            #expect((try await http.get("/v1/organization").object["nodes"] as? [Any])?.count == 3)
            #expect((try await http.get("/v1/principals?account=0a1b2c").object["principals"] as? [Any])?.count == 2)
            #expect((try await http.get("/v1/scps").object["scps"] as? [[String: Any]])?.first?["id"] as? String == "FullAccess")
            #expect(try await http.get("/v1/attachments?policy=read-images").text.contains("iam::0a1b2c:group:readers"))
            #expect(try await http.get("/v1/principals/iam::0a1b2c:user:nobody").status == 404)
        }
        // The decision log has the request, the decision and the version that decided.
        let log = try String(contentsOfFile: server.decisionLogPath, encoding: .utf8)
        let lines = log.split(separator: "\n")
        #expect(lines.count >= 8)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["principal"] as? String == "iam::0a1b2c:user:alice")
        #expect(first["action"] as? String == "ims:images:get")
        #expect(first["policyVersions"] as? [String: String] == ["read-images": "v1"])
        #expect((first["context"] as? [String: Any])?["g:PrincipalUrn"] as? String == "iam::0a1b2c:user:alice")
    }

    @Test func managementNeedsTheTokenAndRefusesBadWrites() async throws {
        try await TestServer(decisionToken: "decide").run { http in
            try await Fixture.build(http)
            let before = try await http.get("/v1/organization").object["revision"] as? Int
            for token in [nil, "wrong", "test-admin-tokenX", "test-admin-toke", "decide"] {
                let reply = try await http.send(.post, "/v1/scps", #"{"id":"x","document":\#(Fixture.denyShareSCP)}"#, token: token)
                #expect(reply.status == 401)
                #expect(reply.errorCode == "unauthorized")
                #expect(try await http.send(.get, "/v1/policies", token: token).status == 401)
            }
            #expect(try await http.get("/v1/organization").object["revision"] as? Int == before)
            // Decisions have their own token here.
            #expect(try await http.post("/v1/authorize", #"{"request":{"action":"ims:images:get"}}"#, token: nil).status == 401)
            #expect(try await http.post("/v1/authorize", #"{"request":{"action":"ims:images:get"}}"#, token: "decide").status == 200)

            // Invalid policies are refused with findings; nothing changes.
            let bad = try await http.post(
                "/v1/policies",
                "{\"id\":\"bad\",\"account\":\"0a1b2c\",\n\"document\":{\"Version\":\"5.0\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ims:images:gett\"]}]}}"
            )
            #expect(bad.status == 422)
            #expect(bad.errorCode == "invalid_policy")
            let error = try #require(bad.object["error"] as? [String: Any])
            #expect(error["path"] as? String == "$.document.Statement[0].Action[0]")
            #expect(error["line"] as? Int == 2)
            #expect((error["message"] as? String)?.contains("ims:images:get") == true)
            #expect(try await http.get("/v1/policies/bad").status == 404)

            // Conflicts and unknown references.
            #expect(try await http.delete("/v1/policies/read-images").errorCode == "conflict")
            #expect(try await http.delete("/v1/organization/nodes/engineering").errorCode == "conflict")
            #expect(try await http.post("/v1/attachments", #"{"policy":"read-images","target":"iam::0a1b2c:user:bob"}"#).errorCode == "not_found")
            #expect(try await http.delete("/v1/scps/FullAccess").errorCode == "conflict")
            #expect(try await http.get("/v1/organization").object["revision"] as? Int == before)
        }
    }

    @Test func badInputGetsA4xxWithAJSONErrorNeverA500() async throws {
        try await TestServer(maxBodyBytes: 4096).run { http in
            try await Fixture.build(http)
            let cases: [(String, String, Int, String)] = [
                ("/v1/authorize", "", 400, "invalid_json"),
                ("/v1/authorize", "{", 400, "invalid_json"),
                ("/v1/authorize", "[1]", 400, "invalid_request"),
                ("/v1/authorize", #"{"request":{"action":"ims:images:get"},"requests":[]}"#, 400, "invalid_request"),
                ("/v1/authorize", #"{"request":{"action":5}}"#, 400, "invalid_request"),
                ("/v1/authorize", #"{"principal":"iam::0a1b2c:user:bob","request":{"action":"a"}}"#, 404, "unknown_principal"),
                ("/v1/authorize", #"{"principal":"iam::0a1b2c:user:alice","identityPolicies":[],"request":{"action":"a"}}"#, 400, "invalid_request"),
                ("/v1/authorize", #"{"request":{"action":"a"}}"# + String(repeating: " ", count: 5000), 413, "body_too_large"),
                ("/v1/validate", #"{"policy":{},"type":"rcp"}"#, 400, "invalid_request"),
                ("/v1/policies", #"{"id":"p","account":"0a1b2c","document":{},"extra":1}"#, 400, "invalid_request"),
                ("/v1/principals", #"{"kind":"robot","account":"0a1b2c","name":"r"}"#, 400, "invalid_request"),
                ("/v1/nothing", "{}", 404, "no_route"),
            ]
            for (uri, body, status, code) in cases {
                let reply = try await http.post(uri, body)
                #expect(reply.status == status, "\(uri) \(body.prefix(60)): \(reply.status) \(reply.text)")
                #expect(reply.errorCode == code, "\(uri) \(body.prefix(60)): \(reply.text)")
            }
            let unknownField = try await http.post("/v1/authorize", "{\n  \"request\": {\"action\": \"a\"},\n  \"requestz\": 1}")
            #expect(unknownField.text.contains(#""path":"$.requestz","line":3,"column":3"#))

            // Random damage to valid bodies: always a JSON answer below 500.
            let seeds = [
                #"{"principal":"iam::0a1b2c:user:alice","request":{"action":"ims:images:get","resource":"*","context":{"g:SourceIp":"10.0.0.1"}}}"#,
                #"{"identityPolicies":[{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:*"],"Condition":{"IpAddress":{"g:SourceIp":["10.0.0.0/8"]}}}]}],"requests":[{"action":"ims:images:get"}]}"#,
            ]
            var generator = SeededGenerator(seed: 7)
            for i in 0..<150 {
                var bytes = Array(seeds[i % seeds.count].utf8)
                for _ in 0..<(1 + Int(generator.next() % 3)) {
                    let at = Int(generator.next() % UInt64(bytes.count))
                    switch generator.next() % 3 {
                    case 0: bytes.remove(at: at)
                    case 1:
                        let junk = Array(#"{}[]",:0x\"#.utf8)
                        bytes.insert(junk[Int(generator.next() % UInt64(junk.count))], at: at)
                    default: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
                    }
                }
                let reply = try await http.post("/v1/authorize", String(decoding: bytes, as: UTF8.self))
                #expect(reply.status == 200 || (400..<500).contains(reply.status), "\(reply.status) for \(String(decoding: bytes, as: UTF8.self))")
                if reply.status != 200 { #expect(reply.errorCode != nil) }
            }
        }
    }

    @Test func operationsEndpoints() async throws {
        try await TestServer().run { http in
            #expect(try await http.get("/healthz", token: nil).status == 200)
            #expect(try await http.get("/readyz", token: nil).object["status"] as? String == "ready")
            try await Fixture.build(http)
            _ = try await Fixture.aliceCanGet(http)
            let metrics = try await http.get("/metrics", token: nil).text
            #expect(metrics.contains(#"bulwark_decisions_total{decision="allow",reason="allowed"} 1"#))
            #expect(metrics.contains("bulwark_decision_duration_seconds_bucket"))
            #expect(metrics.contains("bulwark_snapshot_revision 7"))
            #expect(metrics.contains(#"bulwark_http_requests_total{method="POST",route="/v1/authorize",status="200"} 1"#))
            let openapi = try await http.get("/openapi.json", token: nil)
            #expect(openapi.object["openapi"] as? String == "3.1.0")
        }
    }
}

/// Start-up rules for tokens (no server needed).
@Suite struct ServerConfigurationTests {
    @Test func aDefaultStartGeneratesAPrivateTokenAndOtherBindsNeedOne() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-config-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        guard ProcessInfo.processInfo.environment["BULWARK_ADMIN_TOKEN"] == nil else { return }
        var local = ServerConfiguration()
        local.dataDirectory = folder
        let path = try #require(try local.prepare())
        #expect(path == folder + "/admin-token")
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        #expect(local.adminToken?.count == 64)
        // The same token on the next start.
        var again = ServerConfiguration()
        again.dataDirectory = folder
        _ = try again.prepare()
        #expect(again.adminToken == local.adminToken)
        // Any other bind must be given a token on purpose.
        var open = ServerConfiguration()
        open.dataDirectory = folder
        open.host = "0.0.0.0"
        #expect(throws: ServerConfiguration.StartError.self) { try open.prepare() }
        open.adminToken = "given"
        #expect(try open.prepare() == nil)
    }
}
