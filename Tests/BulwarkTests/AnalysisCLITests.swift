import Foundation
import Testing

/// `bulwark diff`, `check` and `generate` as users and CI gates see them: exact output and exit codes.
/// Set BULWARK_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
@Suite("bulwark analysis CLI")
struct AnalysisCLITests {
    let old = "examples/analysis/swr-push-old.json"
    let new = "examples/analysis/swr-push-new.json"

    @Test func diffTextAndJSONGoldens() throws {
        let text = try runCLI(["diff", old, new])
        #expect(text.code == 1 && text.stderr.isEmpty)
        try expectGolden("diff-swr-push.txt", text.stdout)
        let json = try runCLI(["diff", old, new, "--format", "json"])
        #expect(json.code == 1)
        try expectGolden("diff-swr-push.json", json.stdout)
        let same = try runCLI(["diff", old, old])
        #expect(same.code == 0 && same.stdout.hasPrefix("equivalent:"))
        let workspaces = try runCLI(["diff", "--workspace", "examples/workspace", "examples/workspace", "--format", "json"])
        #expect(workspaces.code == 0 && workspaces.stdout.hasPrefix("{\"result\":\"equivalent\",\"principals\":[{\"principal\":\"iam::"))
        let workspacesText = try runCLI(["diff", "--workspace", "examples/workspace", "examples/workspace"])
        #expect(workspacesText.code == 0 && workspacesText.stdout.hasSuffix("equivalent: 0 of 6 principal(s) differ\n"))
    }

    @Test func checksExitZeroOnPassOneOnFail() throws {
        let fail = try runCLI(["check", "no-new-access", "--old", old, "--new", new, "--format", "json"])
        #expect(fail.code == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(fail.stdout.utf8)) as? [String: Any])
        #expect(object["result"] as? String == "FAIL")
        #expect((object["reasons"] as? [[String: Any]])?.count == 2)
        let pass = try runCLI(["check", "no-new-access", "--old", new, "--new", new])
        #expect(pass.code == 0 && pass.stdout.hasPrefix("PASS"))
        let notGranted = try runCLI(["check", "access-not-granted", "--policy", new, "--action", "swr:repo:delete*", "--format", "json"])
        #expect(notGranted.code == 0 && notGranted.stdout == "{\"result\":\"PASS\",\"reasons\":[]}\n")
        let granted = try runCLI([
            "check", "access-not-granted", "--policy", new, "--action", "swr:repo:upload", "--resource", "swr:cn-north-4:0a1b2c:repo:team-b/web",
        ])
        #expect(granted.code == 1 && granted.stdout.contains("granted by: policy \"swr-push-new\" statement 0 \"PushAnyTeam\""))
        let external = try runCLI(["check", "external-access", "--workspace", "examples/workspace"])
        #expect(external.code == 1)
        try expectGolden("check-external-access.txt", external.stdout)
    }

    @Test func undecidableConstructsExitThree() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-analysis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let mixed =
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"ims:images:get","Condition":{"StringEquals":{"g:Thing":"1"},"NumberLessThan":{"g:Thing":"2"}}}]}"#
        let path = dir.appendingPathComponent("mixed.json").path
        try mixed.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runCLI(["check", "no-new-access", "--old", path, "--new", path])
        // The same policy twice: still, a key read both as string and number cannot be decided exactly.
        #expect(result.code == 3)
        #expect(result.stdout.contains("UNKNOWN") && result.stdout.contains("g:Thing"))
    }

    @Test func badInputExitsTwoWithALocation() throws {
        let usage = try runCLI(["diff", old])
        #expect(usage.code == 2 && usage.stderr.contains("give OLD and NEW"))
        let broken = try runCLI(["diff", old, "examples/policies/broken-identity.json"])
        #expect(broken.code == 2 || broken.code == 1)
        let missing = try runCLI(["check", "access-not-granted", "--policy", new, "--action", "nope:*"])
        #expect(missing.code == 2 && missing.stderr.contains("no catalog action matches"))
        let log = try runCLI(["generate", "--log", "-"], stdin: "{\"principal\":\"p\",\"service\":\"ims\"}\n{oops\n")
        #expect(log.code == 2 && log.stderr.hasPrefix("bulwark: -:1:1: $: missing field \"method\""))
        let syntax = try runCLI(
            ["generate", "--log", "-"],
            stdin: #"{"principal":"p","service":"ims","method":"GET","path":"/v2/cloudimages","region":"r","account":"a"}"# + "\n{oops\n")
        #expect(syntax.code == 2 && syntax.stderr.hasPrefix("bulwark: -:2:2:"))
        let unknownAPI = try runCLI(
            ["generate", "--log", "-"],
            stdin: #"{"principal":"p","service":"ims","method":"GET","path":"/v9/nothing","region":"r","account":"a"}"# + "\n")
        #expect(unknownAPI.code == 2 && unknownAPI.stderr.contains("no ims API matches"))
    }

    @Test func generateGolden() throws {
        let result = try runCLI(["generate", "--log", "examples/analysis/calls.jsonl", "--generalize", "resource-id"])
        #expect(result.code == 0)
        try expectGolden("generate-resource-id.json", result.stdout)
        let validated = try runCLI(["validate", "-"], stdin: result.stdout)
        #expect(validated.code == 0 && validated.stdout.contains("0 errors, 0 security warnings, 0 warnings, 0 suggestions"))
    }
}
