import BulwarkJSON
import BulwarkPolicy
import Testing

@Suite("Policy parser (grammar of policy language 5.0)")
struct PolicyParserTests {
    @Test func parsesAFullStatement() throws {
        let p = try policy(
            """
            {"Version": "5.0", "Statement": [{"Sid": "S1", "Effect": "Deny", "NotAction": "ims:images:share",
              "NotResource": ["ims:*:*:image:pub-*"], "Condition": {"StringEquals": {"g:UserName": ["a", "b"]}}}]}
            """)
        let s = p.statements[0]
        #expect(s.sid == "S1")
        #expect(s.effect == .deny)
        #expect(s.actions.isNegated && s.actions.wasString)
        #expect(s.resources?.isNegated == true)
        #expect(s.conditions.count == 1)
        #expect(s.conditions[0].span.path.description == #"$.Statement[0].Condition.StringEquals["g:UserName"]"#)
        #expect(s.conditions[0].span.location == SourceLocation(line: 2, column: 74))
        #expect(s.actions.patterns[0].span.path.description == "$.Statement[0].NotAction")
    }

    @Test func singleStatementObjectIsAccepted() throws {
        let p = try policy(#"{"Version":"5.0","Statement":{"Effect":"Allow","Action":"*"}}"#)
        #expect(p.statements.count == 1 && !p.statementWasArray)
        #expect(p.statements[0].resources == nil)
    }

    @Test(
        "grammar errors carry a code, a path and a location",
        arguments: [
            (#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#, "MISSING_VERSION", "$"),
            (#"{"Version":"1.1","Statement":[{"Effect":"Allow","Action":"*"}]}"#, "INVALID_VERSION", "$.Version"),
            (#"{"Version":5.0,"Statement":[{"Effect":"Allow","Action":"*"}]}"#, "INVALID_VERSION", "$.Version"),
            (#"{"Version":"5.0"}"#, "MISSING_STATEMENT", "$"),
            (#"{"Version":"5.0","Statement":[]}"#, "MISSING_STATEMENT", "$.Statement"),
            (#"{"Version":"5.0","Statement":"x"}"#, "INVALID_POLICY_ELEMENT", "$.Statement"),
            (#"{"Version":"5.0","Statement":[{"Action":"*"}]}"#, "MISSING_EFFECT", "$.Statement[0]"),
            (#"{"Version":"5.0","Statement":[{"Effect":"allow","Action":"*"}]}"#, "INVALID_EFFECT", "$.Statement[0].Effect"),
            (#"{"Version":"5.0","Statement":[{"Effect":"Allow"}]}"#, "MISSING_ACTION", "$.Statement[0]"),
            (#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","NotAction":"x"}]}"#, "ACTION_AND_NOTACTION", "$.Statement[0].NotAction"),
            (
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Principal":"*"}]}"#, "UNSUPPORTED_PRINCIPAL",
                "$.Statement[0].Principal"
            ),
            (
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"x"}]}"#, "INVALID_POLICY_ELEMENT",
                "$.Statement[0].NotResource"
            ),
            (#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":[1]}]}"#, "INVALID_POLICY_ELEMENT", "$.Statement[0].Action[0]"),
            (#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Resourse":"*"}]}"#, "INVALID_POLICY_ELEMENT", "$.Statement[0].Resourse"),
            (
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Condition":{"Bool":true}}]}"#, "INVALID_POLICY_ELEMENT",
                "$.Statement[0].Condition.Bool"
            ),
            (
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Condition":{"Bool":{"k":null}}}]}"#, "INVALID_POLICY_ELEMENT",
                "$.Statement[0].Condition.Bool.k"
            ),
            (
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Condition":{"Bool":{"k":[{}]}}}]}"#, "INVALID_POLICY_ELEMENT",
                "$.Statement[0].Condition.Bool.k[0]"
            ),
            (#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*"}],"Id":"x"}"#, "INVALID_POLICY_ELEMENT", "$.Id"),
            (#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Sid":1}]}"#, "INVALID_POLICY_ELEMENT", "$.Statement[0].Sid"),
            (#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*"}]"#, "JSON_SYNTAX_ERROR", "$.Statement"),
            (#"[]"#, "INVALID_POLICY_ELEMENT", "$"),
        ])
    func grammarErrors(text: String, code: String, path: String) {
        do {
            _ = try PolicyParser.parse(text)
            Issue.record("expected \(code)")
        } catch {
            #expect(error.code.rawValue == code, "\(error)")
            #expect(error.path.description == path, "\(error)")
            #expect(error.location.line >= 1 && error.location.column >= 1)
        }
    }

    @Test func diagnoseReportsEveryProblem() throws {
        var reader = JSONReader(text: #"{"Version":"4","Statement":[{"Effect":"X"},{"Effect":"Allow","Action":"*","Principal":"*"}]}"#)
        let (parsed, errors) = PolicyParser.diagnose(node: try reader.readDocument())
        #expect(parsed == nil)
        #expect(errors.map(\.code.rawValue) == ["INVALID_VERSION", "INVALID_EFFECT", "MISSING_ACTION", "UNSUPPORTED_PRINCIPAL"])
    }

    @Test func suggestionsForMisspelledElements() {
        do {
            _ = try PolicyParser.parse(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Actions":"*"}]}"#)
        } catch {
            #expect(error.message.contains("did you mean \"Action\"?"), "\(error.message)")
        }
    }

    @Test func oversizedDocumentsAreRefused() {
        let big =
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["#
            + Array(repeating: "\"ims:images:get\"", count: 80_000).joined(separator: ",") + "]}]}"
        #expect(throws: PolicyParseError.self) { try PolicyParser.parse(big) }
    }
}
