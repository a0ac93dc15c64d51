@_spi(Testing) import BulwarkAnalysis
import BulwarkCatalog
import BulwarkEngine
import BulwarkOrganization
import BulwarkPolicy
import BulwarkValidation
import BulwarkWorkspace
import Foundation
import Testing

@Suite struct AnalysisTests {
    let catalog = try! Catalog.bundled()
    var analyzer: PolicyAnalyzer { PolicyAnalyzer(catalog: catalog) }

    func identity(_ text: String, id: String = "p") throws -> AccessModel { AccessModel.single(try named(id, text), asSCP: false) }

    /// Requests inside the analysis universe (catalog actions, URNs of their resource types).
    func sampleRequests(_ g: inout ScenarioGenerator, count: Int) throws -> [AuthorizationRequest] {
        let byType: [String: [String]] = [
            "image": [
                "ims:cn-north-4:acct:image:img-1", "ims:cn-north-4:other:image:img-2", "ims:cn-north-4:acct:image:img-12",
                "ims:eu-west-0:acct:image:x",
            ],
            "repo": ["swr:cn-north-4:acct:repo:team/web", "swr:cn-north-4:acct:repo:ops/db", "swr:ap-1:acct:repo:team/x"],
        ]
        let actions = ["ims:images:get", "ims:images:share", "ims:quotas:get", "swr:repo:upload", "swr:repo:download", "swr::listQuotas"]
        return try (0..<count).map { _ in
            let base = try g.request()
            let action = g.pick(actions)
            let types = catalog.action(named: action)!.resourceTypes
            let resource = types.isEmpty ? "*" : g.pick(types.flatMap { byType[$0] ?? [] })
            return AuthorizationRequest(action: action, resource: resource, context: base.context)
        }
    }

    /// The property of SPEC §8: every claimed difference is real (its example request is decided
    /// differently by the reference evaluator), and when the answer is "equivalent" no sampled
    /// request is decided differently.
    @Test func diffAgreesWithBruteForceEvaluation() throws {
        var equivalent = 0
        var different = 0
        for seed in UInt64(1)...300 {
            var g = ScenarioGenerator(seed: seed)
            let oldText = g.policyText()
            // Half the time a small edit of the old policy, so equivalent answers come up too.
            let newText =
                g.chance(0.5) ? g.policyText() : oldText.replacingOccurrences(of: "\"Deny\"", with: g.chance(0.5) ? "\"Deny\"" : "\"Allow\"")
            let old = try identity(oldText, id: "old")
            let new = try identity(newText, id: "new")
            let diff = analyzer.difference(old: old, new: new)
            #expect(diff.undecided.isEmpty, "seed \(seed): \(diff.undecided)")
            let oldRef = ReferenceAuthorizer(policies: old.policies)
            let newRef = ReferenceAuthorizer(policies: new.policies)
            for region in diff.added {
                #expect(newRef.authorize(region.example).decision == .allow && oldRef.authorize(region.example).decision == .deny, "seed \(seed)")
                #expect(!region.grantedBy.isEmpty)
            }
            for region in diff.removed {
                #expect(oldRef.authorize(region.example).decision == .allow && newRef.authorize(region.example).decision == .deny, "seed \(seed)")
            }
            let samples = try sampleRequests(&g, count: 300)
            let differing = samples.filter { oldRef.authorize($0).decision != newRef.authorize($0).decision }
            if diff.verdict == .equivalent {
                equivalent += 1
                #expect(differing.isEmpty, "seed \(seed): equivalent, yet \(differing.first.map(AnalysisOutput.requestText) ?? "") differs")
            } else {
                different += 1
            }
            // A sampled difference in one direction means a region in that direction.
            if differing.contains(where: { newRef.authorize($0).decision == .allow }) { #expect(!diff.added.isEmpty, "seed \(seed)") }
            if differing.contains(where: { oldRef.authorize($0).decision == .allow }) { #expect(!diff.removed.isEmpty, "seed \(seed)") }
        }
        #expect(equivalent > 30 && different > 30)
    }

    @Test func wideningAnSWRPushPolicy() throws {
        let old = try identity(
            #"{"Version":"5.0","Statement":[{"Sid":"Push","Effect":"Allow","Action":["swr:repo:upload","swr:repo:download"],"Resource":"swr:cn-north-4:*:repo:team-a/*"}]}"#,
            id: "old")
        let new = try identity(
            #"{"Version":"5.0","Statement":[{"Sid":"Push","Effect":"Allow","Action":["swr:repo:upload","swr:repo:download"],"Resource":"swr:cn-north-4:*:repo:*"}]}"#,
            id: "new")
        let diff = analyzer.difference(old: old, new: new)
        #expect(diff.verdict == .different)
        #expect(diff.removed.isEmpty)
        #expect(diff.added.count == 1)
        let region = try #require(diff.added.first)
        #expect(region.actions == ["swr:repo:upload", "swr:repo:download"])
        #expect(region.resource == #""swr:cn-north-4:*:repo:*" except "swr:cn-north-4:*:repo:team-a/*""#)
        #expect(region.conditions.isEmpty)
        #expect(region.example.resource.hasPrefix("swr:cn-north-4:") && !region.example.resource.contains("team-a/"))
        #expect(region.grantedBy.map(\.sid) == ["Push"])
        // And the reverse is narrowing only.
        let back = analyzer.difference(old: new, new: old)
        #expect(back.added.isEmpty && back.removed.count == 1)
    }

    @Test func rewritingWithoutChangingMeaningIsEquivalent() throws {
        let a = try identity(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:*"],"Resource":"*"}]}"#)
        // The same actions spelled out in two statements: those with a resource type on "ims:*" (every
        // image URN), those without on "*" (the only resource their requests carry).
        let names = catalog.allActions.filter { $0.name.hasPrefix("ims:images:") }
        let list = { (xs: [ActionDefinition]) in xs.map { "\"\($0.name)\"" }.joined(separator: ",") }
        let typed = names.filter { !$0.resourceTypes.isEmpty }
        let untyped = names.filter { $0.resourceTypes.isEmpty }
        let b = try identity(
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":[\#(list(typed))],"Resource":"ims:*"},{"Effect":"Allow","Action":[\#(list(untyped))],"Resource":["*"]}]}"#
        )
        let diff = analyzer.difference(old: a, new: b)
        #expect(diff.verdict == .equivalent, "\(diff.added.map(\.actions)) \(diff.removed.map(\.actions))")
        // Without the second statement, exactly the untyped actions are lost.
        let c = try identity(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":[\#(list(typed))],"Resource":"ims:*"}]}"#)
        #expect(Set(analyzer.difference(old: a, new: c).removed.flatMap(\.actions)) == Set(untyped.map(\.name)))
    }

    @Test func conditionsAreComparedAsIntervalsAndLanguages() throws {
        func verdict(_ c1: String, _ c2: String) throws -> AccessDifference.Verdict {
            let p = { (c: String) in #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"ims:images:get","Condition":\#(c)}]}"# }
            return analyzer.difference(old: try identity(p(c1)), new: try identity(p(c2))).verdict
        }
        // One address block inside another, written two ways.
        #expect(
            try verdict(#"{"IpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{"IpAddress":{"g:SourceIp":["10.0.0.0/9","10.128.0.0/9"]}}"#) == .equivalent)
        #expect(try verdict(#"{"IpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{"IpAddress":{"g:SourceIp":["10.0.0.0/9"]}}"#) == .different)
        // Exact decimals: < 5.5 versus <= 5.49 differ (5.495 lies between).
        #expect(try verdict(#"{"NumberLessThan":{"swr:Size":"5.5"}}"#, #"{"NumberLessThanEquals":{"swr:Size":"5.49"}}"#) == .different)
        #expect(try verdict(#"{"NumberLessThan":{"swr:Size":"5.5"}}"#, #"{"NumberLessThan":{"swr:Size":"5.50"}}"#) == .equivalent)
        // Dates: a bare date is midnight UTC.
        #expect(
            try verdict(#"{"DateLessThan":{"g:CurrentTime":"2026-06-01"}}"#, #"{"DateLessThan":{"g:CurrentTime":"2026-06-01T00:00:00Z"}}"#)
                == .equivalent)
        #expect(
            try verdict(#"{"DateLessThan":{"g:CurrentTime":"2026-06-01"}}"#, #"{"DateLessThanEquals":{"g:CurrentTime":"2026-06-01"}}"#) == .different)
        // Globs: "team-*" is "team-" followed by anything, the same as StringStartWith.
        #expect(try verdict(#"{"StringMatch":{"g:UserName":"team-*"}}"#, #"{"StringStartWith":{"g:UserName":"team-"}}"#) == .equivalent)
        // Case-insensitive equality equals the union of its case spellings (ASCII, plus U+212A KELVIN SIGN for k).
        #expect(
            try verdict(#"{"StringEqualsIgnoreCase":{"g:UserName":"ok"}}"#, #"{"StringEquals":{"g:UserName":["ok","oK","Ok","OK"]}}"#) == .different)
        #expect(
            try verdict(
                #"{"StringEqualsIgnoreCase":{"g:UserName":"ok"}}"#, #"{"StringEquals":{"g:UserName":["ok","oK","Ok","OK","o\u212A","O\u212A"]}}"#)
                == .equivalent)
        // Multi-valued keys: ForAllValues over {a,b} is not ForAnyValue.
        #expect(
            try verdict(#"{"ForAllValues:StringEquals":{"g:TagKeys":["a","b"]}}"#, #"{"ForAnyValue:StringEquals":{"g:TagKeys":["a","b"]}}"#)
                == .different)
    }

    @Test func mixedValueTypesOnOneKeyAreUnknownNotGuessed() throws {
        let p =
            #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"ims:images:get","Condition":{"StringEquals":{"g:Thing":"1"},"NumberLessThan":{"g:Thing":"2"}}}]}"#
        let diff = analyzer.difference(
            old: try identity(p), new: try identity(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"ims:images:list"}]}"#))
        #expect(diff.undecided.map(\.action) == ["ims:images:get"])
        #expect(diff.undecided[0].reason.contains("g:Thing"))
        // The other action's difference is still certain.
        #expect(diff.verdict == .different)
    }

    @Test func scpDiffsCompareWhatTheSCPPermits() throws {
        let old = AccessModel.single(try named("old", #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"]}]}"#), asSCP: true)
        let new = AccessModel.single(
            try named(
                "new",
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"]},{"Effect":"Deny","Action":["ims:images:share"],"Condition":{"ForAnyValue:StringNotMatch":{"ims:TargetOrgPaths":"o-1/*"}}}]}"#
            ), asSCP: true)
        let diff = analyzer.difference(old: old, new: new)
        #expect(diff.added.isEmpty)
        #expect(diff.removed.map(\.actions) == [["ims:images:share"]])
        #expect(
            diff.removed[0].conditions == [#"not ForAnyValue:StringNotMatch ims:TargetOrgPaths ["o-1/*"]"#] || diff.removed[0].conditions.count == 1)
    }

    @Test func accessNotGrantedFindsTheGrantingStatement() throws {
        let p = try identity(
            #"{"Version":"5.0","Statement":[{"Sid":"Read","Effect":"Allow","Action":["ims:images:get","ims:images:list"],"Resource":"ims:*:acct:image:*"},{"Effect":"Deny","Action":"ims:images:get","Resource":"ims:*:acct:image:secret-*"}]}"#
        )
        let get = [catalog.action(named: "ims:images:get")!]
        #expect(!analyzer.grantedAccess(p, actions: get, resources: []).regions.isEmpty)
        #expect(analyzer.grantedAccess(p, actions: get, resources: ["ims:cn-north-4:acct:image:secret-1"]).regions.isEmpty)
        #expect(analyzer.grantedAccess(p, actions: get, resources: ["ims:cn-north-4:other:image:*"]).regions.isEmpty)
        let found = analyzer.grantedAccess(p, actions: get, resources: ["ims:cn-north-4:acct:image:*"]).regions
        #expect(found.count == 1 && found[0].grantedBy.map(\.sid) == ["Read"])
        #expect(!found[0].example.resource.contains("secret-"))
    }

    @Test func externalAccessFollowsThePathThroughSCPs() throws {
        let ws = Workspace.load(directory: packageRoot().appendingPathComponent("examples/workspace").path, catalog: catalog)
        let (findings, undecided) = ExternalAccess.check(ws.organization, analyzer: analyzer)
        #expect(undecided.isEmpty)
        // Only the management account's admin (no SCPs apply to it) can share images outside o-1;
        // alice's sharing policy is stopped by the engineering OU's deny.
        #expect(findings.map(\.principal) == ["iam::9m9m9m:user:admin"])
        #expect(findings[0].region.actions == ["ims:images:share"])
        let paths = findings[0].region.example.context["ims:TargetOrgPaths"]!.map(\.text)
        #expect(paths.contains { !$0.hasPrefix("o-1/") })
    }

    @Test func workspaceDiffComparesEachPrincipal() throws {
        let root = packageRoot().appendingPathComponent("examples/workspace").path
        let ws = Workspace.load(directory: root, catalog: catalog)
        let same = WorkspaceDiff.compare(old: ws.organization, new: ws.organization, analyzer: analyzer)
        #expect(!same.isEmpty && WorkspaceDiff.verdict(same) == .equivalent)
        // Detach the engineering OU's deny: alice may now share outside the organization.
        var loosened = ws
        loosened.attachments = loosened.attachments.mapValues { $0.filter { $0 != "deny-sharing-outside-org" } }
        let results = WorkspaceDiff.compare(old: ws.organization, new: loosened.organization, analyzer: analyzer)
        let alice = try #require(results.first { $0.principal.hasSuffix(":user:alice") })
        #expect(alice.difference.verdict == .different)
        #expect(alice.difference.added.contains { $0.actions.contains("ims:images:share") })
    }

    @Test func generatedPoliciesAreLeastPrivilegeAndClean() throws {
        let log = """
            {"principal":"iam::0a1b2c:user:alice","service":"ims","method":"GET","path":"/v2/images/img-1","region":"cn-north-4","account":"0a1b2c","time":"2026-11-20T10:00:00Z","outcome":"success"}
            {"principal":"iam::0a1b2c:user:alice","service":"ims","method":"POST","path":"/v2/images/img-1/members","region":"cn-north-4","account":"0a1b2c","outcome":"200"}
            {"principal":"iam::0a1b2c:user:alice","service":"swr","method":"DELETE","path":"/v2/manage/namespaces/team-a/repos/web","region":"cn-north-4","account":"0a1b2c","outcome":"denied"}

            """
        let entries = try PolicyGenerator.readLog(log)
        #expect(entries.count == 3)
        let text = try PolicyGenerator.generate(entries, catalog: catalog, generalization: .none)
        let generated = try identity(text)
        let validator = PolicyValidator(catalog: catalog)
        #expect(validator.validate(text, type: .identity).isEmpty)
        // Exactly the observed actions (share needs get as a dependency) on exactly img-1; nothing for the denied call.
        let allowed = PolicyAnalyzer(catalog: catalog).grantedAccess(generated, actions: catalog.allActions, resources: [])
        #expect(Set(allowed.regions.flatMap(\.actions)) == ["ims:images:get", "ims:images:share"])
        #expect(allowed.regions.allSatisfy { $0.resource == #""ims:cn-north-4:0a1b2c:image:img-1""# })
        #expect(PolicyGenerator.widen("ims:cn-north-4:0a1b2c:image:img-1", .resourceID) == "ims:cn-north-4:0a1b2c:image:*")
        #expect(PolicyGenerator.widen("ims:cn-north-4:0a1b2c:image:img-1", .type) == "ims:*:*:image:*")
        #expect(throws: AccessLogError.self) { try PolicyGenerator.readLog(#"{"principal":"p","service":"ims"}"#) }
    }

    /// Mutated logs are read or refused with a located error, never a crash; what is read either
    /// generates a clean policy or is refused for a call no API matches.
    @Test func mutatedAccessLogsNeverCrash() throws {
        let line =
            #"{"principal":"iam::0a1b2c:user:alice","service":"swr","method":"GET","path":"/v2/manage/namespaces/team-a","region":"cn-north-4","account":"0a1b2c","outcome":"200"}"#
        var g = ScenarioGenerator(seed: 99)
        let alphabet = Array(#"{}[]":,\/ax0-*?é"#.unicodeScalars)
        for _ in 0..<2_000 {
            var scalars = Array(line.unicodeScalars)
            for _ in 0..<Int.random(in: 1...4, using: &g.rng) {
                let i = Int.random(in: 0..<scalars.count, using: &g.rng)
                switch Int.random(in: 0..<3, using: &g.rng) {
                case 0: scalars.remove(at: i)
                case 1: scalars.insert(g.pick(alphabet), at: i)
                default: scalars[i] = g.pick(alphabet)
                }
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars)
            do {
                let entries = try PolicyGenerator.readLog(String(text))
                if entries.contains(where: \.succeeded), let policy = try? PolicyGenerator.generate(entries, catalog: catalog, generalization: .type)
                {
                    #expect(PolicyValidator(catalog: catalog).validate(policy, type: .identity).isEmpty, "\(String(text))")
                }
            } catch {
                #expect(error.location.line == 1 && error.location.column >= 1)
            }
        }
    }

    @Test func languageCellsAreExact() throws {
        let cells = try LanguageCells.cells(of: [.glob("a*"), .glob("*b"), .literal("ab")], within: nil)
        // Realizable: neither, a-only, b-only, a and b but not "ab", exactly "ab".
        #expect(
            Set(cells.map(\.membership)) == [
                [false, false, false], [true, false, false], [false, true, false], [true, true, false], [true, true, true],
            ])
        for cell in cells {
            #expect(GlobPattern("a*").matches(cell.witness) == cell.membership[0])
            #expect(GlobPattern("*b").matches(cell.witness) == cell.membership[1])
        }
        // Inside a URN template, a pattern that needs a colon in a placeholder is empty.
        let urn = try LanguageCells.cells(of: [.glob("ims:*:*:image:a:b")], within: .urnTemplate("ims:<region>:<account-id>:image:<image-id>"))
        #expect(urn.map(\.membership) == [[false]])
    }

    /// The case-insensitive automata list U+0130 and U+212A as the only non-ASCII scalars that
    /// lowercase to ASCII; this checks that claim over every scalar.
    @Test func onlyTwoNonASCIIScalarsLowercaseToASCII() {
        var found: [UInt32] = []
        for v in UInt32(0x80)...0x10FFFF {
            if let s = Unicode.Scalar(v), CaseFolding.lowercase(s).isASCII { found.append(v) }
        }
        #expect(found == [0x130, 0x212A])
    }
}
