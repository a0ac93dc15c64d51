import Foundation
import Testing

/// SPEC §10 on the server: agencies with trust policies, tags and session durations in the
/// store, and `"session"` beside `"principal"` on the decision endpoints.
@Suite("Server: agencies and sessions")
struct SessionServerTests {
    static let assumeDeploy =
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:agencies:assume","sts::tagSession"],"Resource":["iam::0a1b2c:agency:deploy"]}]}"#
    static let trustCI =
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:agencies:assume","sts::tagSession"],"Principal":{"IAM":["iam::0a1b2c:user:ci"]}}]}"#
    static let push = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["swr:repo:upload"],"Resource":["swr:*:0a1b2c:repo:team/*"]}]}"#

    /// The fixture organization plus a CI user who may assume the agency `deploy`.
    static func build(_ http: HTTP) async throws {
        try await Fixture.build(http)
        let steps: [(String, String)] = [
            ("/v1/policies", #"{"id":"assume-deploy","account":"0a1b2c","document":\#(assumeDeploy)}"#),
            ("/v1/policies", #"{"id":"push","account":"0a1b2c","document":\#(push)}"#),
            ("/v1/principals", #"{"kind":"user","account":"0a1b2c","name":"ci","id":"u-ci"}"#),
            (
                "/v1/principals",
                #"{"kind":"agency","account":"0a1b2c","name":"deploy","id":"a-deploy","trustPolicy":\#(trustCI),"tags":{"team":"web"},"maxSessionDuration":7200}"#
            ),
            ("/v1/attachments", #"{"policy":"assume-deploy","target":"iam::0a1b2c:user:ci"}"#),
            ("/v1/attachments", #"{"policy":"push","target":"iam::0a1b2c:agency:deploy"}"#),
        ]
        for (uri, body) in steps {
            let reply = try await http.post(uri, body)
            #expect(reply.status == 201, "\(uri): \(reply.status) \(reply.text)")
        }
    }

    @Test func agenciesKeepTheirTrustPolicyTagsAndDuration() async throws {
        let server = try TestServer()
        try await server.run { http in
            try await Self.build(http)
            let agency = try await http.get("/v1/principals/iam::0a1b2c:agency:deploy")
            #expect(agency.status == 200)
            #expect(agency.object["tags"] as? [String: String] == ["team": "web"])
            #expect(agency.object["maxSessionDuration"] as? Int == 7200)
            #expect((agency.object["trustPolicy"] as? [String: Any])?["Version"] as? String == "5.0")
            // Replacing the settings; bad ones are refused with the field.
            let cleared = try await http.put("/v1/principals/iam::0a1b2c:agency:deploy/settings", #"{"trustPolicy":\#(Self.trustCI)}"#)
            #expect(cleared.status == 200 && cleared.object["tags"] == nil)
            let duration = try await http.put("/v1/principals/iam::0a1b2c:agency:deploy/settings", #"{"maxSessionDuration":60}"#)
            #expect(duration.status == 400 && duration.errorPath == "$.maxSessionDuration")
            let onUser = try await http.put("/v1/principals/iam::0a1b2c:user:ci/settings", #"{"trustPolicy":\#(Self.trustCI)}"#)
            #expect(onUser.status == 400 && onUser.errorPath == "$.trustPolicy")
            let badTrust = try await http.put(
                "/v1/principals/iam::0a1b2c:agency:deploy/settings",
                #"{"trustPolicy":{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"sts:agencies:assume"}]}}"#)
            #expect(badTrust.status == 422, "\(badTrust.text)")
            #expect(badTrust.text.contains("MISSING_PRINCIPAL"))
        }
    }

    @Test func decisionsForASession() async throws {
        let server = try TestServer()
        try await server.run { http in
            try await Self.build(http)
            let session = #""session":{"agency":"iam::0a1b2c:agency:deploy","sessionName":"build-7","tags":[{"key":"team","value":"api"}]}"#
            let allowed = try await http.post(
                "/v1/authorize",
                #"{"principal":"iam::0a1b2c:user:ci",\#(session),"request":{"action":"swr:repo:upload","resource":"swr:cn-north-4:0a1b2c:repo:team/web"}}"#
            )
            #expect(allowed.status == 200, "\(allowed.text)")
            #expect((allowed.object["assume"] as? [String: Any])?["reason"] as? String == "allowed")
            #expect(allowed.object["reason"] as? String == "allowed")
            // A session policy narrows it.
            let narrow =
                #""sessionPolicies":[{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:0a1b2c:repo:team/web"}]}]"#
            let bounded = try await http.post(
                "/v1/authorize",
                #"{"principal":"iam::0a1b2c:user:ci","session":{"agency":"iam::0a1b2c:agency:deploy","sessionName":"build-7",\#(narrow)},"requests":[{"action":"swr:repo:upload","resource":"swr:cn-north-4:0a1b2c:repo:team/web"},{"action":"swr:repo:upload","resource":"swr:cn-north-4:0a1b2c:repo:team/api"}]}"#
            )
            let reasons = (bounded.object["results"] as? [[String: Any]])?.compactMap { $0["reason"] as? String }
            #expect(reasons == ["allowed", "session_no_allow"], "\(bounded.text)")
            // Alice may not assume: every request is assume_denied, and the assume says why.
            let refused = try await http.post(
                "/v1/authorize",
                #"{"principal":"iam::0a1b2c:user:alice","session":{"agency":"iam::0a1b2c:agency:deploy","sessionName":"x1"},"request":{"action":"swr:repo:upload"}}"#
            )
            #expect(refused.object["reason"] as? String == "assume_denied")
            #expect((refused.object["assume"] as? [String: Any])?["reason"] as? String == "no_identity_allow")
            // Simulate shows the session's keys; its tags override the agency's.
            let simulated = try await http.post(
                "/v1/simulate",
                #"{"principal":"iam::0a1b2c:user:ci",\#(session),"request":{"action":"swr:repo:upload","resource":"swr:cn-north-4:0a1b2c:repo:team/web"}}"#
            )
            #expect(simulated.object["principal"] as? String == "sts::0a1b2c:assumed-agency:deploy/build-7")
            let context = simulated.object["context"] as? [String: Any]
            #expect(context?["g:PrincipalTag/team"] as? String == "api")
            #expect(context?["g:PrincipalId"] as? String == "a-deploy:build-7")
            // The API form too.
            let api = try await http.post(
                "/v1/authorize-api",
                #"{"principal":"iam::0a1b2c:user:alice","session":{"agency":"iam::0a1b2c:agency:deploy","sessionName":"x1"},"apiRequest":{"service":"swr","method":"GET","path":"/v2/manage/namespaces/team/repos/web","region":"cn-north-4"}}"#
            )
            #expect(api.status == 200 && api.object["reason"] as? String == "assume_denied", "\(api.text)")
        }
    }

    @Test func badSessionsAre4xxNamingTheField() async throws {
        let server = try TestServer()
        try await server.run { http in
            try await Self.build(http)
            func error(_ session: String, principal: Bool = true) async throws -> (Int, String?, String?) {
                let who = principal ? #""principal":"iam::0a1b2c:user:ci","# : ""
                let reply = try await http.post("/v1/authorize", #"{\#(who)"session":\#(session),"request":{"action":"swr:repo:upload"}}"#)
                return (reply.status, reply.errorCode, reply.errorPath)
            }
            #expect(try await error(#"{"agency":"iam::0a1b2c:agency:deploy","sessionName":"x"}"#) == (400, "invalid_session", "$.session"))
            #expect(try await error(#"{"agency":"iam::0a1b2c:agency:deploy"}"#) == (400, "invalid_request", "$.session"))
            #expect(
                try await error(#"{"agency":"iam::0a1b2c:agency:deploy","sessionName":"ok","color":1}"#) == (
                    400, "invalid_request", "$.session.color"
                ))
            #expect(
                try await error(#"{"agency":"iam::0a1b2c:agency:deploy","sessionName":"ok","tags":{"a":1}}"#)
                    == (400, "invalid_request", "$.session.tags.a"))
            #expect(
                try await error(#"{"agency":"iam::0a1b2c:agency:deploy","sessionName":"ok","sessionPolicies":[{"Version":"4.0","Statement":[]}]}"#)
                    == (400, "invalid_request", "$.session.sessionPolicies[0].Version"))
            #expect(try await error(#"{"agency":"iam::0a1b2c:agency:nobody","sessionName":"ok"}"#) == (404, "unknown_principal", "$.session.agency"))
            #expect(
                try await error(#"{"agency":"iam::0a1b2c:agency:deploy","sessionName":"ok"}"#, principal: false) == (
                    400, "invalid_request", "$.session"
                ))
        }
    }
}
