import BulwarkCatalog
import BulwarkValidation
import Testing

/// Every finding code: one policy that triggers it, one near miss that does not.
struct CodeCase: CustomTestStringConvertible, Sendable {
    let code: String
    let type: PolicyType
    let hit: String
    let miss: String
    var testDescription: String { code }
}

private func stmt(_ body: String) -> String { #"{"Version":"5.0","Statement":[{"# + body + "}]}" }
private func stmts(_ bodies: String...) -> String {
    #"{"Version":"5.0","Statement":["# + bodies.map { "{" + $0 + "}" }.joined(separator: ",") + "]}"
}

@Suite("bulwark validate: findings")
struct ValidationTests {
    /// With the example third service, whose alias raises ACTION_IS_ALIAS (built-in catalogs have no aliases).
    static let validator = PolicyValidator(catalog: catalogWithEVS)

    static func findings(_ text: String, _ type: PolicyType = .identity) -> [Finding] {
        validator.validate(text, type: type)
    }

    static let cases: [CodeCase] = [
        CodeCase(code: "JSON_SYNTAX_ERROR", type: .identity, hit: #"{"Version":"5.0","#, miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "MISSING_VERSION", type: .identity, hit: #"{"Statement":[{"Effect":"Deny","Action":"ims:images:get"}]}"#,
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "INVALID_VERSION", type: .identity, hit: #"{"Version":"1.1","Statement":[{"Effect":"Deny","Action":"ims:images:get"}]}"#,
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "MISSING_STATEMENT", type: .identity, hit: #"{"Version":"5.0","Statement":[]}"#,
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "INVALID_POLICY_ELEMENT", type: .identity, hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Resources":"*""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Resource":"*""#)),
        CodeCase(
            code: "MISSING_EFFECT", type: .identity, hit: stmt(#""Action":"ims:images:get""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "INVALID_EFFECT", type: .identity, hit: stmt(#""Effect":"deny","Action":"ims:images:get""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "MISSING_ACTION", type: .identity, hit: stmt(#""Effect":"Deny""#), miss: stmt(#""Effect":"Deny","NotAction":"ims:images:get""#)),
        CodeCase(
            code: "ACTION_AND_NOTACTION", type: .identity, hit: stmt(#""Effect":"Deny","Action":"ims:images:get","NotAction":"ims:images:list""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "UNSUPPORTED_PRINCIPAL", type: .identity, hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Principal":"*""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "UNKNOWN_SERVICE", type: .identity, hit: stmt(#""Effect":"Deny","Action":"ecs:servers:list""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:list""#)),
        CodeCase(
            code: "UNKNOWN_ACTION", type: .identity, hit: stmt(#""Effect":"Deny","Action":"ims:images:gett""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:update""#)),
        CodeCase(
            code: "INVALID_URN", type: .identity, hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Resource":"image-1""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Resource":"ims:cn-north-4:0a1b:image:image-1""#)),
        CodeCase(
            code: "RESOURCE_TYPE_MISMATCH", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"swr:repo:upload","Resource":"swr:*:*:namespace:team""#),
            miss: stmt(#""Effect":"Deny","Action":"swr:repo:upload","Resource":"swr:*:*:repo:team/*""#)),
        CodeCase(
            code: "RESOURCE_MUST_BE_WILDCARD", type: .identity, hit: stmt(#""Effect":"Deny","Action":"ims:quotas:get","Resource":"ims:*:*:image:*""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:quotas:get","Resource":"*""#)),
        CodeCase(
            code: "UNKNOWN_OPERATOR", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"StringLike":{"g:UserName":"a"}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"StringMatch":{"g:UserName":"a*"}}"#)),
        CodeCase(
            code: "UNKNOWN_CONDITION_KEY", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:share","Condition":{"StringEquals":{"ims:TargetOrgPath":"a"}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:share","Condition":{"ForAnyValue:StringEquals":{"ims:TargetOrgPaths":"a"}}"#)),
        CodeCase(
            code: "CONDITION_KEY_NOT_SUPPORTED", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"Bool":{"ims:Encrypted":true}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:copyInRegion","Condition":{"Bool":{"ims:Encrypted":true}}"#)),
        CodeCase(
            code: "DATA_TYPE_MISMATCH", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"IpAddress":{"g:SourceIp":"10.0.0.0/33"}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"IpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#)),
        CodeCase(
            code: "POLICY_TOO_LARGE", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Sid":""# + String(repeating: "x", count: 6_100) + #"""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Sid":""# + String(repeating: "x", count: 6_000) + #"""#)),
        CodeCase(
            code: "SCP_ALLOW_WITH_CONDITION", type: .scp, hit: stmt(#""Effect":"Allow","Action":"ims:*","Condition":{"Bool":{"g:MFAPresent":true}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:*","Condition":{"Bool":{"g:MFAPresent":false}}"#)),
        CodeCase(
            code: "SCP_ALLOW_RESOURCE_NOT_WILDCARD", type: .scp, hit: stmt(#""Effect":"Allow","Action":"ims:*","Resource":"ims:*:*:image:*""#),
            miss: stmt(#""Effect":"Allow","Action":"ims:*","Resource":"*""#)),
        CodeCase(
            code: "SCP_UNSUPPORTED_ELEMENT", type: .scp, hit: stmt(#""Effect":"Allow","NotAction":"ims:images:share""#),
            miss: stmt(#""Effect":"Deny","NotAction":"ims:images:share""#)),
        CodeCase(
            code: "SCP_INVALID_ACTION_WILDCARD", type: .scp, hit: stmt(#""Effect":"Deny","Action":"ims:*:share""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:*""#)),
        CodeCase(
            code: "ALLOW_WITH_NOT_ACTION", type: .identity,
            hit: stmt(#""Effect":"Allow","NotAction":"ims:images:share","Resource":"ims:*:*:image:*""#),
            miss: stmt(#""Effect":"Deny","NotAction":"ims:images:share""#)),
        CodeCase(
            code: "ALLOW_WITH_NOT_RESOURCE", type: .identity,
            hit: stmt(#""Effect":"Allow","Action":"ims:images:get","NotResource":"ims:*:*:image:secret-*""#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","NotResource":"ims:*:*:image:public-*""#)),
        CodeCase(
            code: "OVERLY_PERMISSIVE", type: .identity, hit: stmt(#""Effect":"Allow","Action":"swr:*""#),
            miss: stmt(#""Effect":"Allow","Action":"swr:*","Resource":"swr:*:0a1b:repo:team/*""#)),
        CodeCase(
            code: "WILDCARD_IN_SENSITIVE_KEY", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"StringNotMatch":{"g:PrincipalAccount":"0a1b*"}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"StringNotEquals":{"g:PrincipalAccount":"0a1b2c"}}"#)),
        CodeCase(
            code: "FORALLVALUES_WITH_SINGLE_VALUED_KEY", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"ForAllValues:StringEquals":{"g:UserName":"a"}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"ForAllValues:StringEquals":{"g:TagKeys":"a"}}"#)),
        CodeCase(
            code: "NULL_WITH_IF_EXISTS", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"NullIfExists":{"g:SourceVpce":true}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"Null":{"g:SourceVpce":true}}"#)),
        CodeCase(
            code: "MISSING_SET_OPERATOR", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:create","Condition":{"StringEquals":{"g:TagKeys":"env"}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:create","Condition":{"ForAnyValue:StringEquals":{"g:TagKeys":"env"}}"#)),
        CodeCase(
            code: "REDUNDANT_STATEMENT", type: .identity,
            hit: stmts(
                #""Effect":"Allow","Action":"ims:images:get","Resource":"ims:*:0a1b:image:*""#,
                #""Effect":"Allow","Action":"ims:images:get","Resource":"ims:*:0a1b:image:img-1""#),
            miss: stmts(
                #""Effect":"Allow","Action":"ims:images:get","Resource":"ims:*:0a1b:image:*""#,
                #""Effect":"Allow","Action":"ims:images:get","Resource":"ims:*:9z9z:image:img-1""#)),
        CodeCase(
            code: "REDUNDANT_ACTION", type: .identity, hit: stmt(#""Effect":"Deny","Action":["ims:images:*","ims:images:get"]"#),
            miss: stmt(#""Effect":"Deny","Action":["ims:images:*","ims:quotas:get"]"#)),
        CodeCase(
            code: "ACTION_IS_ALIAS", type: .identity, hit: stmt(#""Effect":"Deny","Action":["evs:volumes:modify"]"#),
            miss: stmt(#""Effect":"Deny","Action":["evs:volumes:update"]"#)),
        CodeCase(
            code: "EMPTY_ARRAY", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"StringEquals":{"g:UserName":[]}}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{"StringEquals":{"g:UserName":["a"]}}"#)),
        CodeCase(
            code: "EMPTY_OBJECT", type: .identity, hit: stmt(#""Effect":"Deny","Action":"ims:images:get","Condition":{}"#),
            miss: stmt(#""Effect":"Deny","Action":"ims:images:get""#)),
        CodeCase(
            code: "INVALID_POLICY_VARIABLE", type: .identity,
            hit: stmt(#""Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserName/*""#),
            miss: stmt(#""Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserName}/*""#)),
        CodeCase(
            code: "DENY_WITH_POLICY_VARIABLE", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"swr:repo:upload","NotResource":"swr:*:*:repo:${g:UserName}/*""#),
            miss: stmt(#""Effect":"Deny","Action":"swr:repo:upload","NotResource":"swr:*:*:repo:${g:UserName, 'nobody'}/*""#)),
        CodeCase(
            code: "MISSING_PRINCIPAL", type: .trust, hit: stmt(#""Effect":"Allow","Action":"sts:agencies:assume""#),
            miss: stmt(#""Effect":"Allow","Action":"sts:agencies:assume","Principal":{"IAM":["0a1b2c"]}"#)),
        CodeCase(
            code: "PRINCIPAL_AND_NOTPRINCIPAL", type: .trust,
            hit: stmt(#""Effect":"Deny","Action":"sts:agencies:assume","Principal":{"IAM":["0a1b2c"]},"NotPrincipal":{"IAM":["9z9z9z"]}"#),
            miss: stmt(#""Effect":"Deny","Action":"sts:agencies:assume","NotPrincipal":{"IAM":["9z9z9z"]}"#)),
        CodeCase(
            code: "INVALID_PRINCIPAL", type: .trust,
            hit: stmt(#""Effect":"Allow","Action":"sts:agencies:assume","Principal":{"IAM":["iam::0a1b2c:role:ci"]}"#),
            miss: stmt(#""Effect":"Allow","Action":"sts:agencies:assume","Principal":{"IAM":["iam::0a1b2c:user:ci"]}"#)),
        CodeCase(
            code: "TRUST_ACTION_NOT_SUPPORTED", type: .trust,
            hit: stmt(#""Effect":"Allow","Action":"sts:agencies:assumeRole","Principal":{"IAM":["0a1b2c"]}"#),
            miss: stmt(#""Effect":"Allow","Action":["sts:agencies:assume","sts::tagSession"],"Principal":{"IAM":["0a1b2c"]}"#)),
        CodeCase(
            code: "OVERLY_PERMISSIVE_TRUST", type: .trust, hit: stmt(#""Effect":"Allow","Action":"sts:agencies:assume","Principal":"*""#),
            miss: stmt(#""Effect":"Allow","Action":"sts:agencies:assume","Principal":"*","Condition":{"StringEquals":{"g:PrincipalOrgId":"o-1"}}"#)),
        CodeCase(
            code: "POLICY_VARIABLE_NOT_SUBSTITUTED", type: .identity,
            hit: stmt(#""Effect":"Deny","Action":"swr:repo:${g:UserName}""#),
            miss: stmt(#""Effect":"Deny","Action":"swr:repo:upload","Condition":{"StringEquals":{"g:SourceVpce":"${g:UserName}"}}"#)),
    ]

    @Test("every code triggers, and its near miss does not", arguments: cases)
    func code(_ c: CodeCase) {
        let hit = Self.findings(c.hit, c.type)
        #expect(hit.contains { $0.code.rawValue == c.code }, "\(hit.map { "\($0.code.rawValue): \($0.message)" })")
        let miss = Self.findings(c.miss, c.type)
        #expect(!miss.contains { $0.code.rawValue == c.code }, "\(miss.map { "\($0.code.rawValue): \($0.message)" })")
    }

    @Test func everyCodeHasACase() {
        let covered = Set(Self.cases.map(\.code))
        #expect(Set(FindingCode.allCases.map(\.rawValue)) == covered)
    }

    @Test func severitiesFollowTheSpec() {
        #expect(FindingCode.unknownService.severity == .warning)
        #expect(FindingCode.policyTooLarge.severity == .error)
        #expect(FindingCode.scpInvalidActionWildcard.severity == .error)
        #expect(FindingCode.overlyPermissive.severity == .securityWarning)
        #expect(FindingCode.missingSetOperator.severity == .warning)
        #expect(FindingCode.emptyArray.severity == .suggestion)
    }

    @Test func findingsCarryPathLineAndColumn() throws {
        let text = """
            {"Version": "5.0", "Statement": [
              {"Effect": "Allow", "Action": "ims:images:get",
               "Condition": {"Bool": {"g:MFAPresent": "yes"}}}]}
            """
        let finding = try #require(Self.findings(text).first { $0.code == .dataTypeMismatch })
        #expect(finding.path.description == #"$.Statement[0].Condition.Bool["g:MFAPresent"]"#)
        #expect(finding.location.line == 3)
        #expect(finding.location.column == 43)
        #expect(finding.severity == .error)
    }

    @Test func overlyPermissiveNamesTheActions() throws {
        let f = try #require(Self.findings(stmt(#""Effect":"Allow","Action":"ims:images:*""#)).first { $0.code == .overlyPermissive })
        #expect(f.message.contains("ims:images:share"))
        let star = try #require(Self.findings(stmt(#""Effect":"Allow","Action":"*""#)).first { $0.code == .overlyPermissive })
        #expect(star.message.contains("ims (26 actions), sts (4 actions), swr (54 actions)"))
    }

    @Test func typosGetSuggestions() {
        let messages = Self.findings(stmt(#""Effect":"Deny","Action":["swr:repo:creatRepoShare","imss:images:get"]"#)).map(\.message)
        #expect(messages.contains { $0.contains("did you mean swr:repo:createRepoShare?") })
        #expect(messages.contains { $0.contains("did you mean ims?") })
    }

    @Test func scpSizeCountsCharacters() {
        let sid = String(repeating: "é", count: 5_000)  // 10,000 bytes, about 5,070 characters in all
        let text = stmt(#""Effect":"Deny","Action":"ims:images:get","Sid":""# + sid + #"""#)
        #expect(!Self.findings(text, .scp).contains { $0.code == .policyTooLarge })
        #expect(Self.findings(text, .identity).contains { $0.code == .policyTooLarge })
    }

    @Test func cleanPolicyHasNoFindings() {
        let text = stmts(
            #""Sid":"Pull","Effect":"Allow","Action":["swr:repo:download","swr:repo:getRepo"],"Resource":"swr:cn-north-4:0a1b:repo:team/*""#,
            #""Sid":"Quota","Effect":"Allow","Action":"swr::listQuotas","Resource":"*""#,
            #""Sid":"NoShare","Effect":"Deny","Action":"ims:images:share","Condition":{"ForAnyValue:StringNotMatch":{"ims:TargetOrgPaths":"o-1/r-1/*"}}"#
        )
        #expect(Self.findings(text).isEmpty, "\(Self.findings(text).map(\.message))")
    }
}
