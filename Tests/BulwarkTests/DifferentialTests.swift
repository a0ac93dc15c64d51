import BulwarkCatalog
import BulwarkEngine
import BulwarkPolicy
import Testing

/// The compiled authorizer against the reference evaluator: same decision, reason,
/// SCP level and matched statements, on 100,000 generated policy-set/request pairs; and
/// `decide` gives the same decision, reason and level with one of the matched statements.
/// Every other seed composes the authorizer from parts compiled apart (identity policies, SCP
/// path), as the server's snapshots do.
@Suite("Compiled authorizer = reference evaluator")
struct DifferentialTests {
    @Test func agreeOnGeneratedPairs() throws {
        let catalog = try Catalog.bundled()
        var disagreements = 0
        var decided = 0
        for seed in 0..<1_000 as Range<UInt64> {
            var g = ScenarioGenerator(seed: seed &* 7919)
            g.awkwardURNs = seed % 3 != 0
            g.variables = seed % 4 != 1
            g.sessions = seed % 5 == 2
            let set = try g.policySet()
            let chosen = seed % 2 == 0 ? catalog : nil
            let compiled =
                seed % 4 < 2
                ? Authorizer(policies: set, catalog: chosen)
                : Authorizer(
                    identity: CompiledPolicies(identityPolicies: set.identityPolicies, catalog: chosen),
                    scpPath: CompiledPolicies(scpLevels: set.scpLevels, catalog: chosen), sessionPolicies: set.sessionPolicies, catalog: chosen)
            let reference = ReferenceAuthorizer(policies: set, scope: seed % 2 == 0 ? VariableScope(catalog: catalog) : .none)
            for _ in 0..<100 {
                let request = try g.request()
                let a = compiled.authorize(request)
                let b = reference.authorize(request)
                let verdict = compiled.decide(request)
                decided += 1
                let verdictAgrees =
                    verdict.decision == b.decision && verdict.reason == b.reason
                    && verdict.scpLevel == b.scpLevel
                    && (verdict.determining.map { b.matched.contains($0) } ?? b.matched.isEmpty)
                if a != b || !verdictAgrees {
                    disagreements += 1
                    if disagreements <= 5 {
                        Issue.record("seed \(seed): \(request.action) on \(request.resource): compiled \(a), decide \(verdict), reference \(b)")
                    }
                }
            }
        }
        #expect(decided == 100_000)
        #expect(disagreements == 0)
    }
}

@Suite("Compiled authorizer index")
struct CompiledIndexTests {
    @Test func statementsWithSeveralResourcePrefixesAreFoundUnderEach() throws {
        let text =
            #"{"Version":"5.0","Statement":[{"Sid":"Both","Effect":"Allow","Action":"*","Resource":["swr:*:acct:repo:team/*","ims:cn-north-4:acct:image:img-1*","ims:cn-north-4:acct:image:img-1?"]}]}"#
        let authorizer = Authorizer(policies: PolicySet(identityPolicies: [try named("p", text)]), catalog: try Catalog.bundled())
        for resource in ["swr:r:acct:repo:team/web", "ims:cn-north-4:acct:image:img-12", "ims:cn-north-4:acct:image:img-1"] {
            let result = authorizer.authorize(AuthorizationRequest(action: "ims:images:get", resource: resource))
            #expect(result.reason == .allowed, "\(resource)")
            #expect(result.matched.count == 1, "each statement is listed once")
        }
        #expect(
            authorizer.authorize(AuthorizationRequest(action: "ims:images:get", resource: "ims:cn-north-4:acct:image:img-2")).reason
                == .noIdentityAllow)
    }

    @Test func actionsOutsideTheUniverseFallBackToAFullScan() throws {
        let text = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"ecs:*"}]}"#
        let authorizer = Authorizer(policies: PolicySet(identityPolicies: [try named("p", text)]))
        #expect(authorizer.authorize(AuthorizationRequest(action: "ECS:servers:list")).reason == .allowed)
        #expect(authorizer.authorize(AuthorizationRequest(action: "evs:volumes:list")).reason == .noIdentityAllow)
    }
}
