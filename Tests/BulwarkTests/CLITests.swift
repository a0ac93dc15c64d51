import Foundation
import Testing

/// Golden and exit-code tests of the real `bulwark` binary.
/// Set BULWARK_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
@Suite("bulwark CLI")
struct CLITests {
    static let fixtures = packageRoot().appendingPathComponent("Tests/BulwarkTests/Fixtures").path

    @Test func catalogExportGolden() throws {
        let run = try runCLI(["catalog", "export", "--format", "json"])
        #expect(run.code == 0)
        try expectGolden("catalog-export.json", run.stdout)
    }

    @Test func authorizeSingleGolden() throws {
        let run = try runCLI(["authorize", "--input", "\(Self.fixtures)/authorize-single.json", "--format", "json"])
        #expect(run.code == 0)
        #expect(run.stderr.isEmpty)
        try expectGolden("authorize-single.json", run.stdout)
    }

    @Test func authorizeBatchGolden() throws {
        let run = try runCLI(["authorize", "--input", "\(Self.fixtures)/authorize-batch.json", "--format", "json"])
        #expect(run.code == 0)
        try expectGolden("authorize-batch.json", run.stdout)
    }

    @Test func authorizeExplainGoldens() throws {
        let json = try runCLI(["authorize", "--input", "\(Self.fixtures)/authorize-single.json", "--format", "json", "--explain"])
        #expect(json.code == 0)
        try expectGolden("authorize-single-explain.json", json.stdout)
        let text = try runCLI(["explain", "--input", "\(Self.fixtures)/authorize-single.json"])
        #expect(text.code == 0)
        try expectGolden("explain-single.txt", text.stdout)
    }

    /// Policy variables: what each became, in both formats.
    @Test func explainVariablesGolden() throws {
        let json = try runCLI(["authorize", "--input", "\(Self.fixtures)/authorize-variables.json", "--format", "json", "--explain"])
        #expect(json.code == 0)
        try expectGolden("authorize-variables-explain.json", json.stdout)
        let text = try runCLI(["explain", "--input", "\(Self.fixtures)/authorize-variables.json"])
        #expect(text.code == 0)
        try expectGolden("explain-variables.txt", text.stdout)
        // A broken variable is a grammar error: exit 2, located at its `${`.
        let input =
            #"{"identityPolicies":[{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Resource":"swr:*:*:repo:${g:UserName/*"}]}],"request":{"action":"swr:repo:upload"}}"#
        let broken = try runCLI(["authorize", "--input", "-", "--format", "json"], stdin: input)
        #expect(broken.code == 2)
        #expect(broken.stdout.isEmpty)
        let column = input.distance(from: input.startIndex, to: input.firstRange(of: "${")!.lowerBound) + 1
        #expect(
            broken.stderr.hasPrefix("bulwark: <stdin>:1:\(column): $.identityPolicies[0].Statement[0].Resource: policy variable \"g:UserName/\""),
            "\(broken.stderr)")
    }

    @Test func stdinInput() throws {
        let body = try String(contentsOfFile: "\(Self.fixtures)/authorize-single.json", encoding: .utf8)
        let run = try runCLI(["authorize", "--input", "-", "--format", "json"], stdin: body)
        #expect(run.code == 0)
        #expect(run.stdout.hasPrefix(#"{"decision":"deny","reason":"explicit_deny""#))
    }

    @Test func flagsForPeople() throws {
        let f = Self.fixtures
        let base = [
            "authorize", "--policy", "\(f)/image-admins.json",
            "--scp-level", "\(f)/full-access.json",
            "--scp-level", "\(f)/full-access.json,\(f)/deny-share-outside-org.json",
            "--action", "ims:images:share", "--resource", "ims:cn-north-4:0a1b2c:image:img-1", "--format", "json",
        ]
        let inside = try runCLI(base + ["--context", "ims:TargetOrgPaths=o-1/r-1/ou-2/acct"])
        #expect(
            inside.stdout
                == #"{"decision":"allow","reason":"allowed","matched":[{"policy":"image-admins","statement":0,"sid":"ManageTeamImages","effect":"Allow","scpLevel":null}]}"#
                + "\n")
        let outside = try runCLI(base + ["--context", "ims:TargetOrgPaths=o-1/r-1/x", "--context", "ims:TargetOrgPaths=o-9/r-2/y", "--fail-on-deny"])
        #expect(outside.code == 3)
        #expect(outside.stdout.contains(#""policy":"deny-share-outside-org","statement":0,"sid":"NoSharingOutsideOrg","effect":"Deny","scpLevel":1"#))
    }

    @Test(
        "malformed input exits 2 with one located line and no output",
        arguments: [
            ("not json", "<stdin>:1:1: $: expected an object"),
            (#"{"request":{"action":"a"},"extra":1}"#, #"$.extra: unknown field "extra""#),
            (
                #"{"identityPolicies":[{"Version":"5.0","Statement":[{"Effect":"Permit","Action":"*"}]}],"request":{"action":"a"}}"#,
                #"$.identityPolicies[0].Statement[0].Effect: Effect must be "Allow" or "Deny", found "Permit""#
            ),
            (
                #"{"identityPolicies":[{"id":"p","document":{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","NotAction":"x"}]}}],"request":{"action":"a"}}"#,
                "$.identityPolicies[0].document.Statement[0].NotAction: a statement has either Action or NotAction"
            ),
            (#"{"request":{"action":"a"},"requests":[]}"#, "give either request or requests"),
            (#"{"identityPolicies":[]}"#, "missing request"),
            (#"{"requests":[{"action":"a"},{"action":7}]}"#, "$.requests[1].action: action must be a string"),
            (#"{"request":{"action":"a","context":{"k":{"x":1}}}}"#, "$.request.context.k: a context value must be"),
            (#"{"request":{"action":"a","context":{"K":"1","k":"2"}}}"#, "keys are case-insensitive"),
            (#"{"scpLevels":[{}],"request":{"action":"a"}}"#, "$.scpLevels[0]: expected an array of policies"),
        ])
    func malformedInput(body: String, message: String) throws {
        let run = try runCLI(["authorize", "--input", "-", "--format", "json"], stdin: body)
        #expect(run.code == 2)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }

    @Test func policyFileErrorsNameFileLineAndColumn() throws {
        let run = try runCLI(["authorize", "--policy", "\(Self.fixtures)/bad-effect.json", "--action", "ims:images:get"])
        #expect(run.code == 2)
        #expect(run.stderr.contains("bad-effect.json:4:16: $.Statement[0].Effect: Effect must be"), "\(run.stderr)")
    }

    @Test func usageErrorsExit2() throws {
        let run = try runCLI(["authorize", "--input", "x.json", "--action", "a"])
        #expect(run.code == 2)
        #expect(run.stderr.split(separator: "\n").count == 1)
        let missing = try runCLI(["authorize", "--input", "/no/such/file.json"])
        #expect(missing.code == 2)
        #expect(missing.stderr.contains("no such file"))
    }

    @Test func versionNamesTheCatalog() throws {
        let run = try runCLI(["--version"])
        #expect(run.code == 0)
        #expect(run.stdout.contains("catalog ims@2025-02-25 sts@2026-11-30 swr@2024-12-02"))
    }

    @Test func catalogForPeople() throws {
        let list = try runCLI(["catalog", "list-actions", "--service", "ims", "--access-level", "permission_management"])
        #expect(list.stdout == "ims:images:share  permission_management  image\n1 actions\n")
        let show = try runCLI(["catalog", "show", "ims:images:import"])
        #expect(show.stdout.contains("POST /v2/cloudimages/quickimport/action — also needs ims:dataImages:create, ims:serverImages:create"))
        let typo = try runCLI(["catalog", "show", "ims:images:shar"])
        #expect(typo.code == 2)
        #expect(typo.stderr.contains("did you mean ims:images:share?"))
        let check = try runCLI(["catalog", "check"])
        #expect(check.code == 0)
        #expect(check.stdout.contains("0 errors, 5 notes"))
    }
}

@Suite("bulwark validate CLI")
struct ValidateCLITests {
    static let fixtures = packageRoot().appendingPathComponent("Tests/BulwarkTests/Fixtures").path

    @Test func cleanPolicyExitsZero() throws {
        let run = try runCLI(["validate", "\(Self.fixtures)/deny-share-outside-org.json", "--format", "json"])
        #expect(run.code == 0)
        #expect(run.stdout == #"{"findings":[],"summary":{"error":0,"security_warning":0,"warning":0,"suggestion":0}}"# + "\n")
    }

    @Test func brokenPoliciesGolden() throws {
        let scp = try runCLI(["validate", "--type", "scp", "\(Self.fixtures)/validate/broken-scp.json"])
        #expect(scp.code == 1)
        let identity = try runCLI(["validate", "\(Self.fixtures)/validate/broken-identity.json", "--format", "json"])
        #expect(identity.code == 1)
        let root = packageRoot().path + "/"
        try expectGolden("validate-broken-scp.txt", scp.stdout.replacingOccurrences(of: root, with: ""))
        try expectGolden("validate-broken-identity.json", identity.stdout)
    }

    @Test func directoriesGiveAnArrayAndASummary() throws {
        let run = try runCLI(["validate", "\(Self.fixtures)/validate", "--format", "json"])
        #expect(run.code == 1)
        let parsed = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 2)
        #expect(parsed?.first?["file"] as? String == "\(Self.fixtures)/validate/broken-identity.json")
        let text = try runCLI(["validate", "\(Self.fixtures)/validate"])
        #expect(text.stdout.hasSuffix("2 files: 12 errors, 6 security warnings, 4 warnings, 5 suggestions\n"), "\(text.stdout)")
    }

    @Test func sarifIsWellFormed() throws {
        let run = try runCLI(["validate", "--type", "scp", "--format", "sarif", "\(Self.fixtures)/validate/broken-scp.json"])
        #expect(run.code == 1)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        let runs = try #require(log["runs"] as? [[String: Any]])
        let results = try #require(runs[0]["results"] as? [[String: Any]])
        #expect(results.count == 7)
        let first = results[0]
        #expect(first["ruleId"] as? String == "SCP_UNSUPPORTED_ELEMENT")
        let region = ((first["locations"] as? [[String: Any]])?[0]["physicalLocation"] as? [String: Any])?["region"] as? [String: Any]
        #expect(region?["startLine"] as? Int == 6)
        #expect(region?["startColumn"] as? Int == 20)
    }

    @Test func stdinSyntaxErrorIsAFinding() throws {
        let run = try runCLI(["validate", "-", "--format", "json"], stdin: "{\"Version\": ")
        #expect(run.code == 1)
        #expect(run.stdout.contains(#""code":"JSON_SYNTAX_ERROR""#))
    }

    @Test func unreadableFileExitsTwo() throws {
        let run = try runCLI(["validate", "/no/such/policy.json"])
        #expect(run.code == 2)
        #expect(run.stdout.isEmpty)
    }
}

@Suite("bulwark authorize-api CLI")
struct AuthorizeAPICLITests {
    @Test func contractGolden() throws {
        let run = try runCLI(["authorize-api", "--input", packageRoot().path + "/examples/authorize-api-quickimport.json", "--format", "json"])
        #expect(run.code == 0)
        try expectGolden("authorize-api-quickimport.json", run.stdout)
    }

    @Test func unknownPathExitsTwo() throws {
        let body = #"{"apiRequest":{"service":"swr","method":"GET","path":"/v2/manage/namespace","region":"r","accountId":"a"}}"#
        let run = try runCLI(["authorize-api", "--input", "-", "--format", "json"], stdin: body)
        #expect(run.code == 2)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("closest known paths: /v2/manage/namespaces"), "\(run.stderr)")
    }

    @Test func flagsAndFailOnDeny() throws {
        let run = try runCLI([
            "authorize-api", "--policy", packageRoot().path + "/examples/policies/image-admins.json", "--service", "ims",
            "--method", "POST", "--path", "/v2/images/img-1/members", "--region", "cn-north-4", "--account", "9z9z9z", "--fail-on-deny",
        ])
        #expect(run.code == 3)
        #expect(
            run.stdout == """
                DENY POST /v2/images/img-1/members
                  DENY  ims:images:share on ims:cn-north-4:9z9z9z:image:img-1 (no_identity_allow)
                  DENY  ims:images:get on ims:cn-north-4:9z9z9z:image:img-1 (no_identity_allow) [dependency of ims:images:share]

                """)
    }

    @Test func malformedInputNamesThePath() throws {
        let run = try runCLI(
            ["authorize-api", "--input", "-"], stdin: #"{"apiRequest":{"service":"ims","method":"GET","path":"/v2/cloudimages","cases":[1]}}"#)
        #expect(run.code == 2)
        #expect(run.stderr.contains("$.apiRequest.cases[0]: a case id must be a string"))
    }
}
