import BulwarkAnalysis
import BulwarkCatalog
import BulwarkEngine
import BulwarkOrganization
import BulwarkPolicy
import BulwarkWorkspace
import Foundation
import Testing

/// SPEC §10: session policies in the engine, trust policies, assuming agencies, sessions and chains.
@Suite("Agencies, trust policies and sessions (SPEC §10)")
struct AgencyTests {
    static let catalog = try! Catalog.bundled()
    static let example = packageRoot().appendingPathComponent("examples/workspace").path
    static let pushWeb = "swr:cn-north-4:0a1b2c:repo:team/web"

    // MARK: Session policies in the engine

    @Test func sessionPoliciesBoundTheIdentityPolicies() throws {
        let identity = try named("id", statementPolicy("Allow", "swr:repo:*"))
        let narrow = try named("narrow", statementPolicy("Allow", "swr:repo:upload", resource: Self.pushWeb))
        let bounded = Authorizer(policies: PolicySet(identityPolicies: [identity], sessionPolicies: [narrow]), catalog: Self.catalog)
        let web = AuthorizationRequest(action: "swr:repo:upload", resource: Self.pushWeb)
        let api = AuthorizationRequest(action: "swr:repo:upload", resource: "swr:cn-north-4:0a1b2c:repo:team/api")
        #expect(bounded.authorize(web).reason == .allowed)
        // The allow names the identity statement: a session policy only bounds, it never grants.
        #expect(bounded.authorize(web).matched.map(\.policyID) == ["id"])
        #expect(bounded.authorize(api) == AuthorizationResult(decision: .deny, reason: .sessionNoAllow, matched: [], scpLevel: nil))
        #expect(bounded.decide(api).reason == .sessionNoAllow)
        // A session policy cannot grant what the identity policies do not.
        let wide = try named("wide", statementPolicy("Allow", "*"))
        let nothing = Authorizer(policies: PolicySet(identityPolicies: [], sessionPolicies: [wide]))
        #expect(nothing.authorize(web).reason == .noIdentityAllow)
        // Given but empty: nothing is allowed.
        let empty = Authorizer(policies: PolicySet(identityPolicies: [identity], sessionPolicies: []))
        #expect(empty.authorize(web).reason == .sessionNoAllow)
        // None given: no bound.
        #expect(Authorizer(policies: PolicySet(identityPolicies: [identity])).authorize(api).reason == .allowed)
    }

    @Test func sessionDenyIsExplicitAndSCPLevelsComeFirst() throws {
        let identity = try named("id", statementPolicy("Allow", "swr:repo:*"))
        let deny = try named("no-upload", statementPolicy("Deny", "swr:repo:upload"))
        let set = PolicySet(identityPolicies: [identity], sessionPolicies: [deny])
        let authorizer = Authorizer(policies: set, catalog: Self.catalog)
        let request = AuthorizationRequest(action: "swr:repo:upload", resource: Self.pushWeb)
        let result = authorizer.authorize(request)
        #expect(result.reason == .explicitDeny)
        #expect(result.matched.count == 1 && result.matched[0].isSessionPolicy && result.matched[0].policyID == "no-upload")
        #expect(ReferenceAuthorizer(policies: set).authorize(request) == result)
        #expect(authorizer.decide(request).determining?.isSessionPolicy == true)
        // An SCP level without an Allow is reported before the session policies' missing Allow.
        let scp = try named("scp", statementPolicy("Allow", "ims:*"))
        let narrow = try named("narrow", statementPolicy("Allow", "ims:*"))
        let levels = Authorizer(policies: PolicySet(identityPolicies: [identity], scpLevels: [[scp]], sessionPolicies: [narrow]))
        #expect(levels.authorize(request).reason == .scpNoAllow)
    }

    @Test func exactAnalysisSeesTheSessionPolicies() throws {
        let analyzer = PolicyAnalyzer(catalog: Self.catalog)
        let identity = try named("id", statementPolicy("Allow", "swr:repo:*"))
        let narrow = try named("narrow", statementPolicy("Allow", "swr:repo:upload", resource: Self.pushWeb))
        let agency = AccessModel(policies: PolicySet(identityPolicies: [identity]))
        let session = AccessModel(policies: PolicySet(identityPolicies: [identity], sessionPolicies: [narrow]))
        let diff = analyzer.difference(old: agency, new: session)
        #expect(diff.added.isEmpty && !diff.removed.isEmpty && diff.undecided.isEmpty)
        let reference = ReferenceAuthorizer(policies: session.policies)
        for region in diff.removed { #expect(reference.authorize(region.example).decision == .deny) }
        // Uploading to team/web is in both: no region removes it.
        let web = AuthorizationRequest(action: "swr:repo:upload", resource: Self.pushWeb)
        #expect(reference.authorize(web).decision == .allow)
        #expect(!diff.removed.contains { region in region.actions == ["swr:repo:upload"] && region.example.resource == Self.pushWeb })
    }

    // MARK: Trust policies

    func trust(_ principal: String, effect: String = "Allow", action: String = "sts:agencies:assume", condition: String? = nil) throws
        -> NamedPolicy
    {
        var statement = #"{"Effect":"\#(effect)","Action":["\#(action)"],"Principal":\#(principal)"#
        if let condition { statement += #","Condition":"# + condition }
        let text = #"{"Version":"5.0","Statement":["# + statement + "}]}"
        return NamedPolicy(id: "trust", policy: try PolicyParser.parse(text, grammar: .trust))
    }

    @Test func trustPrincipalsNameAccountsURNsEveryoneOrEveryoneElse() throws {
        let user = TrustCaller(accountID: "0a1b2c", urns: ["iam::0a1b2c:user:ci"])
        let session = TrustCaller(
            accountID: "5p5p5p", urns: ["iam::5p5p5p:agency:builder", "sts::5p5p5p:assumed-agency:builder/run-1"])
        let request = AuthorizationRequest(action: "sts:agencies:assume", resource: "iam::0a1b2c:agency:deploy")
        func reason(_ policy: NamedPolicy, _ caller: TrustCaller) -> DecisionReason {
            TrustEvaluator(policy: policy).authorize(request, caller: caller).reason
        }
        #expect(reason(try trust(#"{"IAM":["0a1b2c"]}"#), user) == .allowed)
        #expect(reason(try trust(#"{"IAM":["0a1b2c"]}"#), session) == .notTrusted)
        #expect(reason(try trust(#"{"IAM":["iam::0a1b2c:user:ci"]}"#), user) == .allowed)
        #expect(reason(try trust(#"{"IAM":["iam::0a1b2c:user:cid"]}"#), user) == .notTrusted)
        // A trust policy names the agency; its sessions match it.
        #expect(reason(try trust(#"{"IAM":["iam::5p5p5p:agency:builder"]}"#), session) == .allowed)
        #expect(reason(try trust(#""*""#), session) == .allowed)
        #expect(reason(try trust(#"{"Service":["service.ecs"]}"#), user) == .notTrusted)
        // Action must match: a trust statement for tagSession does not let anyone assume.
        #expect(reason(try trust(#""*""#, action: "sts::tagSession"), user) == .notTrusted)
        let notPrincipal = NamedPolicy(
            id: "np",
            policy: try PolicyParser.parse(
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"sts:agencies:assume","NotPrincipal":{"IAM":["0a1b2c"]}}]}"#,
                grammar: .trust))
        #expect(reason(notPrincipal, user) == .notTrusted)
        #expect(reason(notPrincipal, session) == .allowed)
    }

    @Test func aTrustDenyWinsAndConditionsReadTheAssumeContext() throws {
        let text = #"""
            {"Version":"5.0","Statement":[
              {"Effect":"Allow","Action":"sts:agencies:assume","Principal":"*","Condition":{"StringEquals":{"sts:ExternalId":"s3cret"}}},
              {"Effect":"Deny","Action":"sts:agencies:assume","Principal":"*","Condition":{"StringNotEquals":{"g:PrincipalOrgId":"o-1"}}}]}
            """#
        let evaluator = TrustEvaluator(policy: NamedPolicy(id: "t", policy: try PolicyParser.parse(text, grammar: .trust)))
        let caller = TrustCaller(accountID: "0a1b2c", urns: [])
        func decide(_ keys: [String: String]) -> AuthorizationResult {
            evaluator.authorize(
                AuthorizationRequest(
                    action: "sts:agencies:assume", resource: "iam::0a1b2c:agency:deploy",
                    context: RequestContext(keys.mapValues { [.string($0)] })), caller: caller)
        }
        #expect(decide(["sts:ExternalId": "s3cret", "g:PrincipalOrgId": "o-1"]).reason == .allowed)
        #expect(decide(["sts:ExternalId": "guess", "g:PrincipalOrgId": "o-1"]).reason == .notTrusted)
        let denied = decide(["sts:ExternalId": "s3cret", "g:PrincipalOrgId": "o-9"])
        #expect(denied.reason == .trustDenied && denied.matched.map(\.statementIndex) == [1])
    }

    // MARK: Assuming in a workspace

    func example() -> Organization {
        let ws = Workspace.load(directory: Self.example, catalog: Self.catalog)
        #expect(ws.problems.isEmpty, "\(ws.problems)")
        return ws.organization
    }

    @Test func theCIUserAssumesTheDeployAgencyAndItsSessionDecides() throws {
        let org = example()
        let ci = try org.resolve(principal: "iam::dev:user:ci")
        let (step, session) = try org.assume(
            SessionRequest(agency: "iam::dev:agency:ci-deployer", sessionName: "build-42"), by: ci, catalog: Self.catalog)
        #expect(step.result.reason == .allowed)
        #expect(step.agency == "iam::0a1b2c:agency:ci-deployer")
        #expect(
            step.result.matched.map(\.policyID) == [
                "accounts/dev/policies/assume-ci-deployer.json", "accounts/dev/trust-policies/deploy-by-ci.json",
            ])
        let s = try #require(session)
        #expect(s.urn == "sts::0a1b2c:assumed-agency:ci-deployer/build-42")
        #expect(s.principalContext["g:PrincipalUrn"] == s.urn)
        #expect(s.principalContext["g:PrincipalId"] == "ci-deployer:build-42")
        #expect(s.principalContext["g:PrincipalType"] == "AssumedAgency")
        #expect(s.principalContext["g:PrincipalOrgPath"] == "o-1/r-1/ou-eng/0a1b2c")
        #expect(s.principalContext["g:PrincipalTag/team"] == "web")
        // The session decides with the agency's policies, not the CI user's.
        let authorizer = Authorizer(policies: s.policies, catalog: Self.catalog)
        let push = AuthorizationRequest(action: "swr:repo:upload", resource: Self.pushWeb, context: s.defaultContext)
        #expect(authorizer.authorize(push).reason == .allowed)
        let ownPermissions = Authorizer(policies: ci.policies, catalog: Self.catalog)
        #expect(ownPermissions.authorize(push).reason == .noIdentityAllow)
    }

    @Test func refusalsGiveTheFirstFailingStepsReason() throws {
        let org = example()
        let request = SessionRequest(agency: "iam::0a1b2c:agency:ci-deployer", sessionName: "x1")
        // Alice has no identity allow for sts:agencies:assume.
        let alice = try org.resolve(principal: "iam::0a1b2c:user:alice")
        let (aliceStep, aliceSession) = try org.assume(request, by: alice, catalog: Self.catalog)
        #expect(aliceStep.result.reason == .noIdentityAllow && aliceSession == nil)
        #expect(aliceStep.session == "sts::0a1b2c:assumed-agency:ci-deployer/x1")
        // A caller allowed to assume, but not named by the trust policy; an agency without one.
        let chain = try chainOrganization()
        let chainCI = try chain.resolve(principal: "iam::0a1b2c:user:ci")
        for agency in ["locked", "untrusting"] {
            let step = try chain.assume(SessionRequest(agency: "iam::0a1b2c:agency:\(agency)", sessionName: "x1"), by: chainCI).step
            #expect(step.result == AuthorizationResult(decision: .deny, reason: .notTrusted, matched: [], scpLevel: nil))
        }
        // Session tags need sts::tagSession: the CI user has it; a source identity needs
        // sts::setSourceIdentity, which nobody grants.
        let ci = try org.resolve(principal: "iam::0a1b2c:user:ci")
        var tagged = request
        tagged.tags = [SessionTag(key: "team", value: "api")]
        #expect(try org.assume(tagged, by: ci, catalog: Self.catalog).step.result.reason == .allowed)
        var sourced = request
        sourced.sourceIdentity = "alice"
        let refused = try org.assume(sourced, by: ci, catalog: Self.catalog).step.result
        #expect(refused.reason == .noIdentityAllow)
    }

    @Test func sessionTagsOverrideAgencyTagsAndTransitiveTagsFollowTheChain() throws {
        let org = try chainOrganization()
        let ci = try org.resolve(principal: "iam::0a1b2c:user:ci")
        let first = SessionRequest(
            agency: "iam::0a1b2c:agency:deploy", sessionName: "one", tags: [SessionTag(key: "Team", value: "api")],
            transitiveTagKeys: ["team"], sourceIdentity: "ci-run-7")
        let second = SessionRequest(agency: "iam::0a1b2c:agency:release", sessionName: "two")
        let chain = try org.assume(chain: [first, second], by: ci, catalog: Self.catalog)
        #expect(chain.steps.map(\.result.reason) == [.allowed, .allowed])
        let last = try #require(chain.session)
        #expect(last.urn == "sts::0a1b2c:assumed-agency:release/two")
        // release's own tag team=ops is overridden by the transitive tag of the first session.
        #expect(last.defaultContext["g:PrincipalTag/team"]?.map(\.text) == ["api"])
        #expect(last.principalContext["g:SourceIdentity"] == "ci-run-7")
        // A transitive tag cannot be set again, a source identity not changed.
        let session = try #require(try org.assume(first, by: ci, catalog: Self.catalog).session)
        var retag = second
        retag.tags = [SessionTag(key: "TEAM", value: "web")]
        #expect(throws: PrincipalError.self) { try org.assume(retag, by: session, catalog: Self.catalog) }
        var changed = second
        changed.sourceIdentity = "someone-else"
        #expect(throws: PrincipalError.self) { try org.assume(changed, by: session, catalog: Self.catalog) }
    }

    /// A fresh temporary folder holding `files`.
    func writeWorkspace(_ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bulwark-agencies-\(UUID().uuidString)")
        for (path, text) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return dir.path
    }

    /// A workspace of `files` (plus an organization with account dev = 0a1b2c), loaded cleanly.
    func organization(_ files: [String: String]) throws -> Organization {
        var all = files
        all["organization.yaml"] = all["organization.yaml"] ?? "organization: {id: o-1}\naccounts:\n  - {name: dev, id: \"0a1b2c\"}\n"
        let ws = Workspace.load(directory: try writeWorkspace(all), catalog: Self.catalog)
        #expect(ws.problems.isEmpty, "\(ws.problems)")
        return ws.organization
    }

    static func allow(_ action: String, _ resource: String) -> String {
        #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["\#(action)"],"Resource":["\#(resource)"]}]}"#
    }

    static func trusting(_ principal: String, condition: String? = nil) -> String {
        let when = condition.map { #","Condition":"# + $0 } ?? ""
        return #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:agencies:assume"],"Principal":\#(principal)\#(when)}]}"#
    }

    @Test func reachableAgenciesFollowChainsAndStopAtCycles() throws {
        let org = try organization([
            "accounts/dev/account.yaml": """
            users: [{name: u, policies: [assume-a1-a3]}]
            agencies:
              - {name: a1, policies: [assume-a2], trustPolicy: from-u}
              - {name: a2, policies: [assume-a1, read], trustPolicy: from-a1}
              - {name: a3, policies: [read], trustPolicy: with-external-id}
              - {name: a4, policies: [read], trustPolicy: from-u}
            """,
            "accounts/dev/policies/assume-a1-a3.json": Self.allow("sts:agencies:assume", #"iam::0a1b2c:agency:a1","iam::0a1b2c:agency:a3"#),
            "accounts/dev/policies/assume-a2.json": Self.allow("sts:agencies:assume", "iam::0a1b2c:agency:a2"),
            "accounts/dev/policies/assume-a1.json": Self.allow("sts:agencies:assume", "iam::0a1b2c:agency:a1"),
            "accounts/dev/policies/read.json": Self.allow("ims:images:get", "*"),
            "accounts/dev/trust-policies/from-u.json": Self.trusting(#"{"IAM":["iam::0a1b2c:user:u"]}"#),
            "accounts/dev/trust-policies/from-a1.json": Self.trusting(#"{"IAM":["iam::0a1b2c:agency:a1"]}"#),
            "accounts/dev/trust-policies/with-external-id.json": Self.trusting(
                #""*""#, condition: #"{"StringEquals":{"sts:ExternalId":"k-1"}}"#),
        ])
        let u = try org.resolve(principal: "iam::0a1b2c:user:u")
        let (reached, problems) = org.reachableAgencies(from: u, catalog: Self.catalog)
        #expect(problems.isEmpty)
        // a4 trusts u, but u may not assume it: not reached. a2 only through a1; its way back to a1 ends.
        #expect(
            reached.map { "\($0.chain.joined(separator: " > "))\($0.conditional ? " (conditional)" : "")" } == [
                "iam::0a1b2c:agency:a1", "iam::0a1b2c:agency:a3 (conditional)", "iam::0a1b2c:agency:a1 > iam::0a1b2c:agency:a2",
            ])
        #expect(reached[2].session.urn == "sts::0a1b2c:assumed-agency:a2/bulwark-access")
    }

    @Test func trustPoliciesThatLetOutsidersInAreFound() throws {
        let agencies = ["outside-account", "org-pinned", "external-id", "denied-outside", "inside", "outside-urn"]
        var files: [String: String] = [
            "accounts/dev/account.yaml": "agencies:\n" + agencies.map { "  - {name: \($0), trustPolicy: \($0)}\n" }.joined(),
            "accounts/dev/trust-policies/outside-account.json": Self.trusting(#"{"IAM":["9z9z9z"]}"#),
            "accounts/dev/trust-policies/org-pinned.json": Self.trusting(#""*""#, condition: #"{"StringEquals":{"g:PrincipalOrgId":"o-1"}}"#),
            "accounts/dev/trust-policies/external-id.json": Self.trusting(#""*""#, condition: #"{"StringEquals":{"sts:ExternalId":"k"}}"#),
            "accounts/dev/trust-policies/inside.json": Self.trusting(#"{"IAM":["0a1b2c"]}"#),
            "accounts/dev/trust-policies/outside-urn.json": Self.trusting(#"{"IAM":["iam::9z9z9z:user:partner"]}"#),
        ]
        files["accounts/dev/trust-policies/denied-outside.json"] = #"""
            {"Version":"5.0","Statement":[
              {"Effect":"Allow","Action":"sts:agencies:assume","Principal":"*","Condition":{"StringEquals":{"sts:ExternalId":"k"}}},
              {"Effect":"Deny","Action":"sts:agencies:assume","Principal":"*","Condition":{"StringNotEquals":{"g:PrincipalOrgId":"o-1"}}}]}
            """#
        let (exposures, undecided) = ExternalAccess.trustExposures(try organization(files))
        #expect(undecided.isEmpty)
        #expect(
            exposures.map { "\($0.agency) by \($0.outsider)" } == [
                "iam::0a1b2c:agency:outside-account by any principal of account 9z9z9z, outside the organization",
                "iam::0a1b2c:agency:external-id by any principal of an account outside every organization",
                "iam::0a1b2c:agency:outside-urn by iam::9z9z9z:user:partner (account 9z9z9z is outside the organization)",
            ])
    }

    @Test func accessViaAgenciesAndExternalAccessFromTheCLI() throws {
        let access = try runCLI(["access", "--workspace", "examples/workspace", "--principal", "iam::0a1b2c:user:ci", "--via-agencies"])
        #expect(access.code == 0)
        try expectGolden("access-via-agencies.txt", access.stdout)
        let json = try runCLI([
            "access", "--workspace", "examples/workspace", "--principal", "iam::0a1b2c:user:ci", "--via-agencies", "--format", "json",
        ])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let agencies = try #require(object["agencies"] as? [[String: Any]])
        #expect(agencies.map { $0["chain"] as? [String] } == [["iam::0a1b2c:agency:ci-deployer"]])
        #expect(agencies.first?["conditional"] as? Bool == false)
        // The example's only agency is assumed from inside: the external-access check is as before.
        let check = try runCLI(["check", "external-access", "--workspace", "examples/workspace"])
        #expect(!check.stdout.contains("can be assumed from outside"))
    }

    /// CI user → deploy (tags, source identity) → release: a chain in one account.
    func chainOrganization() throws -> Organization {
        try organization([
            "accounts/dev/account.yaml": """
            users:
              - name: ci
                policies: [assume-all]
            agencies:
              - name: deploy
                policies: [assume-all]
                trustPolicy: any-in-account
                tags: {purpose: deploy}
              - name: release
                policies: [assume-all]
                trustPolicy: any-in-account
                tags: {team: ops}
              - name: locked
                trustPolicy: another-account
              - name: untrusting
            """,
            "accounts/dev/trust-policies/another-account.json":
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:*"],"Principal":{"IAM":["9z9z9z"]}}]}"#,
            "accounts/dev/policies/assume-all.json":
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:*"],"Resource":["iam::0a1b2c:agency:*"]}]}"#,
            "accounts/dev/trust-policies/any-in-account.json":
                #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["sts:*"],"Principal":{"IAM":["0a1b2c"]}}]}"#,
        ])
    }

    @Test func malformedSessionRequestsAreRefusedWithTheField() throws {
        let org = example()
        let ci = try org.resolve(principal: "iam::0a1b2c:user:ci")
        func message(_ request: SessionRequest) -> String? {
            do {
                _ = try org.assume(request, by: ci, catalog: Self.catalog)
                return nil
            } catch { return error.message }
        }
        let agency = "iam::0a1b2c:agency:ci-deployer"
        #expect(message(SessionRequest(agency: agency, sessionName: "a"))?.hasPrefix("sessionName: must have 2 to 64") == true)
        #expect(message(SessionRequest(agency: agency, sessionName: "has space"))?.hasPrefix("sessionName:") == true)
        let many = (0..<21).map { SessionTag(key: "k\($0)", value: "v") }
        #expect(message(SessionRequest(agency: agency, sessionName: "ok", tags: many)) == "tags: 21 session tags; Huawei allows 20")
        let twice = [SessionTag(key: "a", value: "1"), SessionTag(key: "A", value: "2")]
        #expect(message(SessionRequest(agency: agency, sessionName: "ok", tags: twice)) == #"tags[1].key: duplicate tag key "A""#)
        #expect(
            message(SessionRequest(agency: agency, sessionName: "ok", transitiveTagKeys: ["team"]))
                == #"transitiveTagKeys[0]: "team" is not the key of a session tag of this request"#)
        #expect(message(SessionRequest(agency: "iam::0a1b2c:user:alice", sessionName: "ok"))?.contains("is not an agency") == true)
        #expect(message(SessionRequest(agency: "iam::0a1b2c:agency:nobody", sessionName: "ok"))?.contains("no agency \"nobody\"") == true)
    }

    @Test func workspaceAgencyFieldsAreChecked() throws {
        let files: [String: String] = [
            "accounts/dev/account.yaml": """
            users:
              - name: u
                trustPolicy: t
            agencies:
              - name: a
                trustPolicy: missing
                maxSessionDuration: 60
                tags: {k: [1]}
            """
        ]
        let problems = Workspace.load(directory: try writeWorkspace(files), catalog: Self.catalog).problems.map(\.description)
        #expect(
            problems == [
                "accounts/dev/account.yaml:3:18: trustPolicy belongs to agencies; user u is assumed by nobody",
                "accounts/dev/account.yaml:6:18: agency a names unknown trust policy \"missing\" (trust policies live in accounts/dev/trust-policies/)",
                "accounts/dev/account.yaml:7:25: maxSessionDuration of agency a must be a number of seconds from 3600 to 43200",
                "accounts/dev/account.yaml:8:15: tag \"k\" of agency a must have a string value",
            ])
    }

    @Test func workspaceTestsDecideAsSessions() throws {
        let ws = Workspace.load(directory: Self.example, catalog: Self.catalog)
        let file = "tests/sessions.yaml"
        let text = """
            tests:
              - name: refused, but expected to pass
                principal: iam::0a1b2c:user:alice
                session: {agency: "iam::0a1b2c:agency:ci-deployer", sessionName: s1}
                action: swr:repo:upload
                expect: allow
            """
        let cases = try WorkspaceTestRunner.cases(file: file, text: text)
        let outcome = WorkspaceTestRunner.run(cases[0], workspace: ws, catalog: Self.catalog)
        #expect(!outcome.passed)
        #expect(outcome.details == "DENY (assume_denied): assuming iam::0a1b2c:agency:ci-deployer was refused (no_identity_allow)")
        let typo = text.replacingOccurrences(of: "sessionName: s1", with: "sessionName: s1, colour: red")
        #expect(throws: WorkspaceProblemError.self) { try WorkspaceTestRunner.cases(file: file, text: typo) }
        do { _ = try WorkspaceTestRunner.cases(file: file, text: typo) } catch {
            #expect(error.description.hasPrefix("tests/sessions.yaml:4:74: test 0: unknown field \"colour\" in the session"), "\(error.description)")
        }
    }

    // MARK: CLI

    @Test func simulateAssumeGoldens() throws {
        let base = [
            "simulate", "--workspace", "examples/workspace", "--principal", "iam::0a1b2c:user:ci", "--assume",
            "iam::0a1b2c:agency:ci-deployer", "--session-name", "build-42", "--session-policy", "examples/session-policies/push-web-only.json",
            "--action", "swr:repo:upload", "--format", "json",
        ]
        let narrowed = try runCLI(base + ["--resource", "swr:cn-north-4:0a1b2c:repo:team/api"])
        #expect(narrowed.code == 0 && narrowed.stderr.isEmpty)
        try expectGolden("simulate-assume-session-no-allow.json", narrowed.stdout)
        let allowed = try runCLI(base + ["--resource", Self.pushWeb])
        #expect(allowed.stdout.contains(#""principal":"sts::0a1b2c:assumed-agency:ci-deployer/build-42","decision":"allow","reason":"allowed""#))
        var alice = base
        alice[4] = "iam::0a1b2c:user:alice"
        let refused = try runCLI(alice + ["--resource", Self.pushWeb])
        #expect(
            refused.stdout
                == #"{"assume":{"decision":"deny","reason":"no_identity_allow","matched":[]},"principal":"sts::0a1b2c:assumed-agency:ci-deployer/build-42","decision":"deny","reason":"assume_denied","matched":[]}"#
                + "\n")
        let text = try runCLI(Array(base.dropLast(2)) + ["--resource", "swr:cn-north-4:0a1b2c:repo:team/api"])
        try expectGolden("simulate-assume.txt", text.stdout)
        // A chain prints one assume object per step.
        let chain = try runCLI(base + ["--assume", "iam::0a1b2c:agency:ci-deployer", "--resource", Self.pushWeb])
        #expect(chain.stdout.hasPrefix(#"{"assume":[{"decision":"allow""#))
        #expect(
            chain.stdout.contains(
                #""reason":"no_identity_allow","matched":[]}],"principal":"sts::0a1b2c:assumed-agency:ci-deployer/build-42","decision":"deny","reason":"assume_denied""#
            ))
    }

    @Test func simulateAssumeBadInputExitsTwo() throws {
        let base = ["simulate", "--workspace", "examples/workspace", "--principal", "iam::0a1b2c:user:ci", "--action", "swr:repo:upload"]
        let badName = try runCLI(base + ["--assume", "iam::0a1b2c:agency:ci-deployer", "--session-name", "x"])
        #expect(badName.code == 2)
        #expect(badName.stderr == "bulwark: sessionName: must have 2 to 64 characters\n")
        let noName = try runCLI(base + ["--assume", "iam::0a1b2c:agency:ci-deployer"])
        #expect(noName.code != 0 && noName.stderr.contains("--session-name"))
        let badTag = try runCLI(base + ["--assume", "iam::0a1b2c:agency:ci-deployer", "--session-name", "ok", "--session-tag", "novalue"])
        #expect(badTag.code == 2 && badTag.stderr == "bulwark: --session-tag novalue: expected KEY=VALUE\n")
        let orphan = try runCLI(base + ["--session-name", "ok"])
        #expect(orphan.code != 0 && orphan.stderr.contains("session options need --assume"))
    }
}
