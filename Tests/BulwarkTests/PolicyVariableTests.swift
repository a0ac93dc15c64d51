import BulwarkAnalysis
import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import BulwarkTestSupport
import BulwarkValidation
import Testing

/// The 1-based column of the first `${` in one-line JSON text.
func dollarColumn(_ json: String) -> Int {
    json.distance(from: json.startIndex, to: json.firstRange(of: "${")!.lowerBound) + 1
}

/// SPEC §2 "Policy variables" and "Empty strings", rule by rule.
@Suite("Policy variables")
struct PolicyVariableTests {
    /// The decision of one Allow statement on `resource` with this context, through the compiled
    /// authorizer (with the catalog) and the reference evaluator, which must agree.
    func allowed(resource pattern: String, _ resource: String, _ contextJSON: String) throws -> Bool {
        try allowed(statement: #"{"Effect":"Allow","Action":"*","Resource":"\#(pattern)"}"#, resource, contextJSON)
    }

    func allowed(statement: String, _ resource: String = "*", _ contextJSON: String = "{}") throws -> Bool {
        let set = PolicySet(identityPolicies: [try named("p", #"{"Version":"5.0","Statement":["# + statement + "]}")])
        let catalog = try Catalog.bundled()
        let request = AuthorizationRequest(action: "swr:repo:upload", resource: resource, context: try context(contextJSON))
        let compiled = Authorizer(policies: set, catalog: catalog).authorize(request)
        let reference = ReferenceAuthorizer(policies: set, scope: VariableScope(catalog: catalog)).authorize(request)
        #expect(compiled == reference)
        return compiled.decision == .allow
    }

    static let own = "swr:*:*:repo:${g:UserName}/*"

    @Test func eachUserManagesTheirOwnRepositories() throws {
        #expect(try allowed(resource: Self.own, "swr:r:a:repo:alice/app", #"{"g:UserName":"alice"}"#))
        #expect(try !allowed(resource: Self.own, "swr:r:a:repo:bob/app", #"{"g:UserName":"alice"}"#))
        // Never the literal text.
        #expect(try !allowed(resource: Self.own, "swr:r:a:repo:${g:UserName}/app", "{}"))
    }

    /// An aligned trie's variable group: a value without `:` proves the entry, a value with one
    /// cannot match a resource of that colon count; compiled and reference agree either way.
    @Test func valuesWithColonsInAlignedGroups() throws {
        let text = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":["swr:*:${g:DomainId}:repo:team/*"]}]}"#
        let set = PolicySet(identityPolicies: [try named("p", text)])
        let compiled = Authorizer(policies: set, catalog: try Catalog.bundled())
        let reference = ReferenceAuthorizer(policies: set, scope: VariableScope(catalog: try Catalog.bundled()))
        let cases: [(domain: String, resource: String, allowed: Bool)] = [
            ("0a1b2c", "swr:cn-north-4:0a1b2c:repo:team/web", true),
            ("0a1b2c", "swr:cn-north-4:0a1b2c:repo:ops/web", false),
            ("0a1b2c", "swr:cn-north-4:9z9z9z:repo:team/web", false),
            // The value's `:` makes the substituted pattern one colon longer than the resource.
            ("0a:1b", "swr:cn-north-4:0a:1b:repo:team/web", true),
            ("0a:1b", "swr:cn-north-4:0a:repo:team/web", false),
            ("0a", "swr:cn-north-4:0a:1b:repo:team/web", false),
        ]
        for c in cases {
            let request = AuthorizationRequest(
                action: "swr:repo:upload", resource: c.resource, context: RequestContext(["g:DomainId": [.string(c.domain)]]))
            #expect(compiled.authorize(request) == reference.authorize(request), "\(c)")
            #expect(compiled.decide(request).decision == (c.allowed ? .allow : .deny), "\(c)")
        }
    }

    @Test func keyNamesAreCaseInsensitiveAndSpacesIgnored() throws {
        #expect(try allowed(resource: "swr:*:*:repo:${ G:USERNAME }/*", "swr:r:a:repo:alice/app", #"{"g:username":"alice"}"#))
    }

    @Test func missingListAndNullValuesDoNotResolve() throws {
        for context in ["{}", #"{"g:UserName":null}"#, #"{"g:UserName":[]}"#, #"{"g:UserName":["alice"]}"#, #"{"g:UserName":["alice","bob"]}"#] {
            #expect(try !allowed(resource: Self.own, "swr:r:a:repo:alice/app", context), "\(context)")
        }
    }

    @Test func numbersAndBooleansResolveToTheirJSONText() throws {
        #expect(try allowed(resource: "swr:*:*:repo:${swr:Size}/*", "swr:r:a:repo:5.50/x", #"{"swr:Size":5.50}"#))
        #expect(try allowed(resource: "swr:*:*:repo:${g:MFAPresent}/*", "swr:r:a:repo:true/x", #"{"g:MFAPresent":true}"#))
    }

    @Test func insertedTextIsLiteral() throws {
        // A `*` or `?` in a user name matches only itself.
        #expect(try allowed(resource: Self.own, "swr:r:a:repo:*/app", #"{"g:UserName":"*"}"#))
        #expect(try !allowed(resource: Self.own, "swr:r:a:repo:alice/app", #"{"g:UserName":"*"}"#))
        #expect(try !allowed(resource: Self.own, "swr:r:a:repo:x/app", #"{"g:UserName":"?"}"#))
        // So is a default.
        let defaulted = "swr:*:*:repo:${g:UserName, 'te*'}/*"
        #expect(try allowed(resource: defaulted, "swr:r:a:repo:te*/app", "{}"))
        #expect(try !allowed(resource: defaulted, "swr:r:a:repo:team/app", "{}"))
    }

    @Test func substitutionRunsOnce() throws {
        #expect(try allowed(resource: Self.own, "swr:r:a:repo:${g:SourceVpce}/app", #"{"g:UserName":"${g:SourceVpce}","g:SourceVpce":"v"}"#))
        #expect(try !allowed(resource: Self.own, "swr:r:a:repo:v/app", #"{"g:UserName":"${g:SourceVpce}","g:SourceVpce":"v"}"#))
    }

    @Test func defaultsAndQuotes() throws {
        let pattern = "swr:*:*:repo:${g:UserName , 'o''brien' }/*"
        #expect(try allowed(resource: pattern, "swr:r:a:repo:o'brien/app", "{}"))
        #expect(try allowed(resource: pattern, "swr:r:a:repo:alice/app", #"{"g:UserName":"alice"}"#))
        // An empty default is text too.
        #expect(try allowed(resource: "swr:*:*:repo:${g:UserName, ''}x", "swr:r:a:repo:x", "{}"))
    }

    @Test func escapesStandForTheCharacters() throws {
        #expect(try allowed(resource: "swr:*:*:repo:a${*}b", "swr:r:a:repo:a*b", "{}"))
        #expect(try !allowed(resource: "swr:*:*:repo:a${*}b", "swr:r:a:repo:axyb", "{}"))
        #expect(try allowed(resource: "swr:*:*:repo:a${?}b", "swr:r:a:repo:a?b", "{}"))
        #expect(try !allowed(resource: "swr:*:*:repo:a${?}b", "swr:r:a:repo:axb", "{}"))
        #expect(try allowed(resource: "swr:*:*:repo:a${$}b$c$", "swr:r:a:repo:a$b$c$", "{}"))
    }

    @Test func emptyStringIsAPresentValue() throws {
        #expect(try allowed(resource: "swr:*:*:repo:x${g:UserName}y", "swr:r:a:repo:xy", #"{"g:UserName":""}"#))
        #expect(try !conditionHolds(#"{"Null":{"g:UserName":true}}"#, #"{"g:UserName":""}"#))
        #expect(try conditionHolds(#"{"Null":{"g:UserName":false}}"#, #"{"g:UserName":""}"#))
        #expect(try conditionHolds(#"{"ForAllValues:StringEquals":{"g:TagKeys":[""]}}"#, #"{"g:TagKeys":[""]}"#))
        #expect(try !conditionHolds(#"{"ForAllValues:StringEquals":{"g:TagKeys":["a"]}}"#, #"{"g:TagKeys":[""]}"#))
    }

    @Test func anUnresolvedResourcePatternMatchesNothingButTheOthersCount() throws {
        let statement = #"{"Effect":"Allow","Action":"*","Resource":["swr:*:*:repo:${g:UserName}/*","swr:*:*:repo:shared/*"]}"#
        #expect(try allowed(statement: statement, "swr:r:a:repo:shared/x"))
        #expect(try !allowed(statement: statement, "swr:r:a:repo:alice/x"))
    }

    @Test func anUnresolvedNotResourceMakesTheStatementNotApply() throws {
        let deny = #"{"Effect":"Deny","Action":"*","NotResource":["swr:*:*:repo:${g:UserName}/*"]}"#
        let allow = #"{"Effect":"Allow","Action":"*","Resource":"*"}"#
        // Resolved: denies everything outside the user's repositories.
        #expect(try !allowed(statement: allow + "," + deny, "swr:r:a:repo:bob/x", #"{"g:UserName":"alice"}"#))
        #expect(try allowed(statement: allow + "," + deny, "swr:r:a:repo:alice/x", #"{"g:UserName":"alice"}"#))
        // Unresolved: the Deny does not apply at all.
        #expect(try allowed(statement: allow + "," + deny, "swr:r:a:repo:bob/x", "{}"))
    }

    @Test func anUnresolvedVariableAfterAValueTooLongToMatchStillMakesNotResourceNotMatch() throws {
        // The first value alone is longer than the resource; the second variable does not resolve.
        let deny = #"{"Effect":"Deny","Action":"*","NotResource":"swr:*:*:repo:${g:UserName}${g:SourceVpce}"}"#
        let allow = #"{"Effect":"Allow","Action":"*","Resource":"*"}"#
        let long = String(repeating: "x", count: 200)
        #expect(try allowed(statement: allow + "," + deny, "swr:r:a:repo:b", #"{"g:UserName":"\#(long)"}"#))
        #expect(try !allowed(statement: allow + "," + deny, "swr:r:a:repo:b", #"{"g:UserName":"\#(long)","g:SourceVpce":"v"}"#))
    }

    @Test func anUnresolvedConditionValueMakesTheClauseFalseWhateverTheOperator() throws {
        for op in [
            "StringEquals", "StringNotEquals", "StringEqualsIfExists", "StringNotEqualsIfExists", "ForAllValues:StringEquals", "StringMatch", "Null",
        ] {
            let condition = #"{"\#(op)":{"g:SourceVpce":"${g:UserName}"}}"#
            #expect(try !conditionHolds(condition, "{}"), "\(op), key missing")
            #expect(try !conditionHolds(condition, #"{"g:SourceVpce":"v"}"#), "\(op), key present")
        }
        // With a default the clause is evaluated as usual.
        #expect(try conditionHolds(#"{"StringNotEquals":{"g:SourceVpce":"${g:UserName, 'x'}"}}"#, "{}"))
    }

    @Test func conditionValuesAreSubstitutedForEveryOperatorType() throws {
        #expect(
            try conditionHolds(#"{"StringEquals":{"g:SourceVpce":"vpce-${g:UserName}"}}"#, #"{"g:SourceVpce":"vpce-alice","g:UserName":"alice"}"#))
        #expect(try conditionHolds(#"{"StringMatch":{"g:SourceVpce":"vpce-${g:UserName}-*"}}"#, #"{"g:SourceVpce":"vpce-a-1","g:UserName":"a"}"#))
        #expect(try !conditionHolds(#"{"StringMatch":{"g:SourceVpce":"${g:UserName}"}}"#, #"{"g:SourceVpce":"vpce","g:UserName":"v*"}"#))
        #expect(try conditionHolds(#"{"NumberLessThan":{"swr:Size":"${g:PrincipalTag/limit}"}}"#, #"{"swr:Size":3,"g:PrincipalTag/limit":"4"}"#))
        #expect(
            try conditionHolds(
                #"{"IpAddress":{"g:SourceIp":"${g:PrincipalTag/net}"}}"#, #"{"g:SourceIp":"10.1.1.1","g:PrincipalTag/net":"10.0.0.0/8"}"#))
        #expect(try conditionHolds(#"{"Bool":{"g:MFAPresent":"${g:PrincipalTag/mfa}"}}"#, #"{"g:MFAPresent":true,"g:PrincipalTag/mfa":"TRUE"}"#))
    }

    @Test func aValueWithAColonNeverShiftsTheIndexFields() throws {
        // The index files this pattern by its literal fields in another order; a value holding a
        // `:` must not make a resource with those fields look matched.
        // (Filed in the aligned trie as `ims:img:` + variable + `:*:*`.)
        let statement = #"{"Effect":"Allow","Action":"*","Resource":"ims:${g:UserName}:*:*:img"}"#
        #expect(try !allowed(statement: statement, "ims:x:y:z:img", #"{"g:UserName":"x:y"}"#))
        #expect(try allowed(statement: statement, "ims:x:y:z:w:img", #"{"g:UserName":"x:y"}"#))
        #expect(try allowed(statement: statement, "ims:x:y:z:img", #"{"g:UserName":"x"}"#))
        let other = #"{"Effect":"Allow","Action":"*","Resource":"ims:*:${g:UserName}:image:*"}"#
        #expect(try !allowed(statement: other, "ims:r:acct:image:img", #"{"g:UserName":"acct:r"}"#))
        #expect(try allowed(statement: other, "ims:r:acct:r:image:img", #"{"g:UserName":"acct:r"}"#))
    }

    @Test func manyVariableGroupsOnOnePathAndALongResource() throws {
        // 2,000 groups at one node (one default each): the walk's buffer grows with the policies,
        // not with their product with a 100,000-byte resource.
        let statements = (0..<2_000).map { #"{"Effect":"Allow","Action":"*","Resource":"swr:r:a:repo:${g:UserName, 'd\#($0)'}"}"# }
        let set = PolicySet(identityPolicies: [try named("p", #"{"Version":"5.0","Statement":["# + statements.joined(separator: ",") + "]}")])
        let authorizer = Authorizer(policies: set, catalog: try Catalog.bundled())
        #expect(authorizer.decide(AuthorizationRequest(action: "swr:repo:upload", resource: "swr:r:a:repo:d1234")).decision == .allow)
        let long = "swr:r:a:repo:d1" + String(repeating: "x", count: 100_000)
        #expect(authorizer.decide(AuthorizationRequest(action: "swr:repo:upload", resource: long)).decision == .deny)
    }

    @Test func keysTheCatalogListsAsMultiValuedNeverResolve() throws {
        let statement = #"{"Effect":"Allow","Action":"*","Resource":"swr:*:*:repo:${g:TagKeys}/*"}"#
        #expect(try !allowed(statement: statement, "swr:r:a:repo:env/x", #"{"g:TagKeys":"env"}"#))
        // Without a catalog nothing says the key is multi-valued: a single scalar resolves.
        let p = try policy(#"{"Version":"5.0","Statement":["# + statement + "]}")
        #expect(
            p.statements[0].matches(
                AuthorizationRequest(action: "a:b:c", resource: "swr:r:a:repo:env/x", context: try context(#"{"g:TagKeys":"env"}"#))))
    }

    @Test func variablesAreNotSubstitutedInActions() throws {
        let statement = #"{"Effect":"Allow","Action":"swr:repo:${g:UserName}","Resource":"*"}"#
        #expect(try !allowed(statement: statement, "*", #"{"g:UserName":"upload"}"#))
    }

    @Test func malformedVariablesAreGrammarErrorsAtTheirDollar() throws {
        let cases: [(String, String)] = [
            ("x${g:UserName", "has no closing }"), ("${}", "names no condition key"), ("${a, b}", "must be quoted text"),
            ("${a, 'b}", "has no closing '"), ("${a 'b'}", "expected }"), ("ab${*x}", "names no condition key"),
        ]
        for (text, message) in cases {
            let json = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Resource":"\#(text)"}]}"#
            do {
                _ = try PolicyParser.parse(json)
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.code == .invalidPolicyVariable)
                #expect(error.diagnostic.message.contains(message), "\(error.diagnostic.message)")
                #expect(error.diagnostic.path.description == "$.Statement[0].Resource")
                let quote = json.firstRange(of: text)!.lowerBound
                let dollar = text.firstRange(of: "${")!.lowerBound
                let column = json.distance(from: json.startIndex, to: quote) + text.distance(from: text.startIndex, to: dollar) + 1
                #expect(error.diagnostic.location.column == column, "\(text)")
            }
        }
        // In conditions too; `$` alone and `$` before other text are literal.
        #expect(throws: PolicyParseError.self) {
            try PolicyParser.parse(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"a":["x","${"]}}}]}"#)
        }
        _ = try PolicyParser.parse(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Resource":"$a$"}]}"#)
    }

    @Test func explanationsShowWhatEachVariableBecame() throws {
        let text =
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Resource":"swr:*:*:repo:${g:UserName}/*","Condition":{"StringEquals":{"g:SourceVpce":"${g:PrincipalTag/vpce}"}}}]}"#
        let set = PolicySet(identityPolicies: [try named("p", text)])
        let resourceColumn = text.distance(from: text.startIndex, to: text.firstRange(of: "\"swr:")!.lowerBound) + 1
        let request = AuthorizationRequest(
            action: "swr:repo:upload", resource: "swr:r:a:repo:alice/x", context: try context(#"{"g:UserName":"alice"}"#))
        let explanation = Authorizer(policies: set).explain(request)
        #expect(explanation[0].variables.map(\.value) == ["swr:*:*:repo:alice/*", nil])
        #expect(explanation[0].variables[1].unresolved?.written == "${g:PrincipalTag/vpce}")
        #expect(explanation[0].failure?.reason.contains("does not resolve") == true)
        var json = JSONWriter()
        json.beginObject()
        AuthorizationOutput.writeExplanation(explanation, into: &json)
        json.endObject()
        #expect(
            json.text.contains(
                #""variables":[{"path":"$.Statement[0].Resource","line":1,"column":\#(resourceColumn),"written":"swr:*:*:repo:${g:UserName}/*","value":"swr:*:*:repo:alice/*"}"#
            ))
        #expect(json.text.contains(#""unresolved":"${g:PrincipalTag/vpce}""#))
    }
}

@Suite("Policy variables in the validator")
struct PolicyVariableValidationTests {
    func findings(_ text: String, type: PolicyType = .identity) throws -> [Finding] {
        PolicyValidator(catalog: try Catalog.bundled()).validate(text, type: type)
    }

    @Test func malformedVariableIsAnErrorAtItsDollar() throws {
        let text = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserName/*"}]}"#
        let finding = try #require(try findings(text).first { $0.code == .invalidPolicyVariable })
        #expect(finding.severity == .error)
        #expect(finding.diagnostic.location.column == dollarColumn(text))
    }

    @Test func denyWithoutDefaultIsASecurityWarning() throws {
        let deny = #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserName}/*"}]}"#
        let finding = try #require(try findings(deny).first { $0.code == .denyWithPolicyVariable })
        #expect(finding.severity == .securityWarning)
        #expect(finding.diagnostic.location.column == dollarColumn(deny))
        let defaulted =
            #"{"Version":"5.0","Statement":[{"Effect":"Deny","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserName, 'none'}/*"}]}"#
        #expect(try !findings(defaulted).contains { $0.code == .denyWithPolicyVariable })
        let allow = deny.replacingOccurrences(of: "Deny", with: "Allow")
        #expect(try findings(allow).map(\.code) == [])
    }

    @Test func variablesWhereTheyAreNotSubstitutedAreWarnings() throws {
        let found = try findings(
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:${g:UserName}","Resource":"*","Condition":{"StringEquals":{"${g:UserName}":"x"}}}]}"#
        )
        let warnings = found.filter { $0.code == .policyVariableNotSubstituted }
        #expect(warnings.map(\.diagnostic.path.description) == ["$.Statement[0].Action", #"$.Statement[0].Condition.StringEquals["${g:UserName}"]"#])
        #expect(warnings.allSatisfy { $0.severity == .warning })
    }

    @Test func theVariablesKeyMustBeKnown() throws {
        let text = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserNme}/*"}]}"#
        let finding = try #require(try findings(text).first { $0.code == .unknownConditionKey })
        #expect(finding.diagnostic.message.contains("did you mean g:UserName?"))
        #expect(finding.diagnostic.location.column == dollarColumn(text))
    }

    @Test func resourcesWithVariablesAreCheckedAsTheirSkeleton() throws {
        // `${...}` is not part of the URN's shape: no INVALID_URN or RESOURCE_TYPE_MISMATCH for it.
        #expect(
            try findings(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserName}/*"}]}"#)
                .isEmpty)
        let wrongType = try findings(
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":"ims:*:*:image:${g:UserName}"}]}"#)
        #expect(wrongType.map(\.code) == [.resourceTypeMismatch])
        // A variable pattern is covered only by what covers its skeleton, and covers only itself.
        let redundant = try findings(
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserName}/*"},{"Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:*"}]}"#
        )
        #expect(redundant.map(\.code) == [.redundantStatement])
        #expect(redundant.first?.diagnostic.path.description == "$.Statement[0]")
    }
}

@Suite("Policy variables in the analysis")
struct PolicyVariableAnalysisTests {
    static let byVariable =
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:${g:UserName}/*"}]}"#
    static let byName = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"swr:repo:upload","Resource":"swr:*:*:repo:alice/*"}]}"#

    func model(_ text: String, fixed: String = "{}") throws -> AccessModel {
        AccessModel(policies: PolicySet(identityPolicies: [try named("p", text)]), fixedContext: try context(fixed))
    }

    @Test func variablesOfKeysThePrincipalFixesAreSubstituted() throws {
        let analyzer = PolicyAnalyzer(catalog: try Catalog.bundled())
        let alice = #"{"g:UserName":"alice"}"#
        let same = analyzer.difference(old: try model(Self.byName, fixed: alice), new: try model(Self.byVariable, fixed: alice))
        #expect(same.added.isEmpty && same.removed.isEmpty && same.undecided.isEmpty)
        let bob = analyzer.difference(old: try model(Self.byName, fixed: alice), new: try model(Self.byVariable, fixed: #"{"g:UserName":"bob"}"#))
        #expect(bob.added.count == 1 && bob.removed.count == 1)
        // A fixed key given as a list does not resolve: the statement grants nothing.
        let list = analyzer.difference(
            old: try model(Self.byName, fixed: alice), new: try model(Self.byVariable, fixed: #"{"g:UserName":["alice"]}"#))
        #expect(list.added.isEmpty && list.removed.count == 1 && list.undecided.isEmpty)
    }

    @Test func anyOtherVariableMakesTheAnswerUnknownNamingIt() throws {
        let analyzer = PolicyAnalyzer(catalog: try Catalog.bundled())
        let diff = analyzer.difference(old: try model(Self.byName), new: try model(Self.byVariable))
        #expect(diff.undecided.map(\.action) == ["swr:repo:upload"])
        #expect(diff.undecided.first?.reason.contains("${g:UserName}") == true)
        #expect(diff.added.isEmpty && diff.removed.isEmpty)
    }
}

@Suite("Substituted pattern matcher")
struct SubstitutedMatcherTests {
    /// The allocation-free matcher the compiled authorizer uses for patterns with variables
    /// agrees with `GlobPattern` on random patterns and texts (an empty variable at the end
    /// makes the template the same pattern).
    @Test func agreesWithGlobPattern() throws {
        var rng = SeededGenerator(seed: 42)
        let alphabet: [String] = ["a", "b", ":", "é", "*", "?", "/"]
        let context = try context(#"{"g:K":""}"#)
        for _ in 0..<20_000 {
            let pattern = (0..<Int.random(in: 0...7, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            let text = (0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.filter { $0 != "*" && $0 != "?" }.randomElement(using: &rng)! }
                .joined()
            let template = try #require(try PolicyTemplate.parse(pattern + "${g:K}"))
            var t = text
            let fast = t.withUTF8 { template.matches(resource: $0, in: context, scope: .none) }
            #expect(fast == GlobPattern(pattern).matches(text), "\(pattern) on \(text)")
        }
    }
}

/// SPEC §10 trust policies, as the parser and the validator read them.
@Suite("Trust policies")
struct TrustPolicyTests {
    @Test func principalsParseOnlyInTheTrustGrammar() throws {
        let text =
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"sts:agencies:assume","Principal":{"IAM":["0a1b2c","iam::0a1b2c:user:ci"],"Service":"service.ecs"}}]}"#
        let trust = try PolicyParser.parse(text, grammar: .trust)
        let principal = try #require(trust.statements[0].principal)
        #expect(principal.iam.map(\.text) == ["0a1b2c", "iam::0a1b2c:user:ci"])
        #expect(principal.services.map(\.text) == ["service.ecs"])
        #expect(principal.iam[1].span.path.description == "$.Statement[0].Principal.IAM[1]")
        #expect(!principal.isNegated && !principal.isWildcard)
        // The same document is no identity policy.
        do {
            _ = try PolicyParser.parse(text)
            Issue.record("an identity policy with Principal parsed")
        } catch { #expect(error.code == .unsupportedPrincipal) }
        // "*" is the only string principal; unknown principal types are refused.
        #expect(
            try PolicyParser.parse(
                text.replacingOccurrences(of: #"{"IAM":["0a1b2c","iam::0a1b2c:user:ci"],"Service":"service.ecs"}"#, with: #""*""#), grammar: .trust
            ).statements[0].principal?.isWildcard == true)
        for bad in [#""alice""#, #"{"AWS":["1"]}"#, #"{}"#, #"{"IAM":[1]}"#, "[]"] {
            let document = text.replacingOccurrences(of: #"{"IAM":["0a1b2c","iam::0a1b2c:user:ci"],"Service":"service.ecs"}"#, with: bad)
            do {
                _ = try PolicyParser.parse(document, grammar: .trust)
                Issue.record("\(bad) parsed")
            } catch { #expect(error.code == .invalidPrincipal, "\(bad)") }
        }
    }

    @Test func theExampleTrustPolicyIsClean() throws {
        let text = try String(contentsOf: packageRoot().appendingPathComponent("examples/trust-policies/deploy-by-ci.json"), encoding: .utf8)
        #expect(PolicyValidator(catalog: try Catalog.bundled()).validate(text, type: .trust).isEmpty)
    }

    @Test func principalsAreCheckedEntryByEntry() throws {
        let text =
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:agencies:*"],"Principal":{"IAM":["0a1b2c","0a-1b","iam::0a1b2c:agency:deploy","iam::0a1b2c:user:*"],"Service":["service.ecs","ecs"]}}]}"#
        let findings = PolicyValidator(catalog: try Catalog.bundled()).validate(text, type: .trust)
        #expect(
            findings.filter { $0.code == .invalidPrincipal }.map(\.diagnostic.path.description) == [
                "$.Statement[0].Principal.IAM[1]", "$.Statement[0].Principal.IAM[3]", "$.Statement[0].Principal.Service[1]",
            ])
        // A wildcard action that reaches a trust action is fine.
        #expect(!findings.contains { $0.code == .trustActionNotSupported })
    }
}
