import BulwarkEngine
import BulwarkPolicy
import Testing

@Suite("Evaluation order with SCP levels (SPEC §3)")
struct EvaluationTests {
    static let image = "ims:cn-north-4:0a1b2c:image:img-1"
    static let identity = statementPolicy("Allow", "ims:images:*", resource: "ims:*:0a1b2c:image:*")
    static let denyShare = statementPolicy("Deny", "ims:images:share")
    static let allowOnlyGet = statementPolicy("Allow", "ims:images:get")

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let levels: [[String]]
        let action: String
        let decision: Decision
        let reason: DecisionReason
        let scpLevel: Int?
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "FullAccess at every level allows", levels: [[fullAccess], [fullAccess], [fullAccess]],
            action: "ims:images:share", decision: .allow, reason: .allowed, scpLevel: nil),
        Row(
            name: "a deny at the OU level wins", levels: [[fullAccess], [fullAccess, denyShare], [fullAccess]],
            action: "ims:images:share", decision: .deny, reason: .explicitDeny, scpLevel: nil),
        Row(
            name: "the OU deny leaves other actions alone", levels: [[fullAccess], [fullAccess, denyShare], [fullAccess]],
            action: "ims:images:get", decision: .allow, reason: .allowed, scpLevel: nil),
        Row(
            name: "an account level without an allow denies", levels: [[fullAccess], [fullAccess], [denyShare]],
            action: "ims:images:get", decision: .deny, reason: .scpNoAllow, scpLevel: 2),
        Row(
            name: "an empty level allows nothing", levels: [[fullAccess], []],
            action: "ims:images:get", decision: .deny, reason: .scpNoAllow, scpLevel: 1),
        Row(
            name: "the first level without an allow is named", levels: [[fullAccess], [allowOnlyGet], []],
            action: "ims:images:share", decision: .deny, reason: .scpNoAllow, scpLevel: 1),
        Row(
            name: "management account: no SCP levels", levels: [],
            action: "ims:images:share", decision: .allow, reason: .allowed, scpLevel: nil),
        Row(
            name: "SCPs grant nothing by themselves", levels: [[fullAccess]],
            action: "swr:repo:upload", decision: .deny, reason: .noIdentityAllow, scpLevel: nil),
        Row(
            name: "explicit deny beats an SCP without allow", levels: [[denyShare]],
            action: "ims:images:share", decision: .deny, reason: .explicitDeny, scpLevel: nil),
    ]

    @Test(arguments: rows)
    func scpLevels(_ row: Row) throws {
        let levels = try row.levels.enumerated().map { k, level in
            try level.enumerated().map { i, text in try named("scp[\(k)][\(i)]", text) }
        }
        let authorizer = Authorizer(
            policies: PolicySet(identityPolicies: [try named("id", Self.identity)], scpLevels: levels))
        let result = authorizer.authorize(AuthorizationRequest(action: row.action, resource: Self.image))
        #expect(result.decision == row.decision)
        #expect(result.reason == row.reason)
        #expect(result.scpLevel == row.scpLevel)
    }

    @Test func matchedListsEveryDenyAndEveryAllow() throws {
        let two =
            #"{"Version":"5.0","Statement":[{"Sid":"A","Effect":"Allow","Action":"ims:*"},{"Sid":"B","Effect":"Allow","Action":"*:images:get"},{"Sid":"C","Effect":"Deny","Action":"swr:*"}]}"#
        let authorizer = Authorizer(
            policies: PolicySet(
                identityPolicies: [try named("p", two)],
                scpLevels: [[try named("full", fullAccess), try named("s", statementPolicy("Deny", "swr:repo:*"))]]))
        let allowed = authorizer.authorize(AuthorizationRequest(action: "IMS:Images:Get", resource: Self.image))
        #expect(allowed.reason == .allowed)
        #expect(allowed.matched.map(\.sid) == ["A", "B"])
        let denied = authorizer.authorize(AuthorizationRequest(action: "swr:repo:upload", resource: "x"))
        #expect(denied.reason == .explicitDeny)
        #expect(denied.matched.map(\.policyID) == ["p", "s"])
        #expect(denied.matched.map(\.scpLevel) == [nil, 0])
    }

    @Test func resourceRules() throws {
        func decide(_ resourceElement: String, _ resource: String, not: Bool = false) throws -> Bool {
            let key = not ? "NotResource" : "Resource"
            let p = try policy(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","\#(key)":\#(resourceElement)}]}"#)
            return p.statements[0].matches(AuthorizationRequest(action: "ims:quotas:get", resource: resource))
        }
        #expect(try decide(#""*""#, "*"))
        #expect(try !decide(#""ims:*""#, "*"))
        #expect(try decide(#""ims:*""#, "ims:r:a:image:1"))
        #expect(try !decide(#""IMS:*""#, "ims:r:a:image:1"))
        #expect(try decide(#"["ims:*:image:a?"]"#, "ims:r:acct:image:a1"))
        #expect(try decide(#"["ims:*"]"#, "*", not: true))
        #expect(try !decide(#"["*"]"#, "*", not: true))
        #expect(try !decide(#"["ims:*"]"#, "ims:x", not: true))
    }

    @Test func explanationNamesTheFirstFailingElement() throws {
        let text = """
            {"Version":"5.0","Statement":[
              {"Sid":"ByAction","Effect":"Allow","Action":"swr:*"},
              {"Sid":"ByResource","Effect":"Allow","Action":"ims:*","Resource":"ims:*:other:image:*"},
              {"Sid":"ByCondition","Effect":"Allow","Action":"ims:*","Condition":{"IpAddress":{"g:SourceIp":"10.0.0.0/8"}}},
              {"Sid":"ByNotAction","Effect":"Deny","NotAction":["swr:*","ims:quotas:*"]},
              {"Sid":"Unknown","Effect":"Allow","Action":"*","Condition":{"StringLike":{"a":"b"}}}
            ]}
            """
        let authorizer = Authorizer(policies: PolicySet(identityPolicies: [try named("p", text)]))
        let request = AuthorizationRequest(action: "ims:images:get", resource: Self.image, context: try context(#"{"g:SourceIp":"192.168.0.1"}"#))
        let explanation = authorizer.explain(request)
        #expect(explanation.map(\.matched) == [false, false, false, true, false])
        #expect(explanation[0].failure?.span.path.description == "$.Statement[0].Action")
        #expect(explanation[0].failure?.span.location.line == 2)
        #expect(explanation[1].failure?.span.path.description == "$.Statement[1].Resource")
        #expect(explanation[2].failure?.span.path.description == #"$.Statement[2].Condition.IpAddress["g:SourceIp"]"#)
        #expect(explanation[2].failure?.reason.contains("\"192.168.0.1\"") == true)
        #expect(explanation[4].failure?.span.path.description == "$.Statement[4].Condition.StringLike")
        #expect(explanation[4].failure?.reason.contains("unknown condition operator") == true)
        #expect(authorizer.authorize(request).reason == .explicitDeny)
    }
}
