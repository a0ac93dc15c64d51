import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import PropertyBased
import Testing

@Suite("Evaluation invariants (property tests)")
struct PropertyTests {
    @Test func addingADenyNeverTurnsDenyIntoAllow() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var g = ScenarioGenerator(seed: seed)
            g.variables = true
            let set = try! g.policySet()
            let request = try! g.request()
            let before = Authorizer(policies: set).authorize(request)
            var more = set
            let deny = try! named("added-deny", g.policyText(effect: "Deny"))
            if g.chance(0.5) || more.scpLevels.isEmpty {
                more.identityPolicies.append(deny)
            } else {
                more.scpLevels[Int.random(in: 0..<more.scpLevels.count, using: &g.rng)].append(deny)
            }
            let after = Authorizer(policies: more).authorize(request)
            #expect(!(before.decision == .deny && after.decision == .allow), "seed \(seed)")
        }
    }

    @Test func addingAnIdentityAllowNeverTurnsAllowIntoDeny() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var g = ScenarioGenerator(seed: seed)
            g.variables = true
            let set = try! g.policySet()
            let request = try! g.request()
            let before = Authorizer(policies: set).authorize(request)
            var more = set
            more.identityPolicies.append(try! named("added-allow", g.policyText(effect: "Allow")))
            let after = Authorizer(policies: more).authorize(request)
            #expect(!(before.decision == .allow && after.decision == .deny), "seed \(seed)")
        }
    }

    @Test func removingAllSCPLevelsNeverTurnsAllowIntoDeny() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var g = ScenarioGenerator(seed: seed)
            g.variables = true
            let set = try! g.policySet()
            let request = try! g.request()
            let before = Authorizer(policies: set).authorize(request)
            let after = Authorizer(policies: PolicySet(identityPolicies: set.identityPolicies)).authorize(request)
            #expect(!(before.decision == .allow && after.decision == .deny), "seed \(seed)")
        }
    }

    @Test func decisionAgreesWithItsExplanation() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var g = ScenarioGenerator(seed: seed)
            g.variables = true
            g.sessions = true
            let set = try! g.policySet()
            let request = try! g.request()
            let authorizer = Authorizer(policies: set)
            let result = authorizer.authorize(request)
            let explanation = authorizer.explain(request)
            let matchedDenies = explanation.filter { $0.matched && $0.statement.effect == .deny }.map(\.statement)
            switch result.reason {
            case .explicitDeny: #expect(result.matched == matchedDenies)
            case .allowed:
                #expect(matchedDenies.isEmpty)
                #expect(
                    result.matched
                        == explanation.filter { $0.matched && $0.statement.scpLevel == nil && !$0.statement.isSessionPolicy }.map(\.statement))
            case .noIdentityAllow, .scpNoAllow, .sessionNoAllow:
                #expect(matchedDenies.isEmpty)
                #expect(result.matched.isEmpty)
            case .trustDenied, .notTrusted, .assumeDenied:
                Issue.record("a policy set alone never gives \(result.reason)")
            }
            #expect(explanation.allSatisfy { $0.matched == ($0.failure == nil) })
        }
    }

    @Test func batchResultsEqualSingleResults() async throws {
        await propertyCheck(count: 40, input: Gen.uint64()) { seed in
            var g = ScenarioGenerator(seed: seed)
            g.variables = true
            let authorizer = Authorizer(policies: try! g.policySet())
            // Enough requests to span several chunks and workers.
            let requests = (0..<(BatchEvaluation.chunkSize / 64 + Int.random(in: 1...300, using: &g.rng))).map { _ in try! g.request() }
            var batched: [UInt8] = []
            BatchEvaluation.run(
                requests, authorizer: authorizer, explain: false,
                render: { _, result, _, bytes in
                    var json = JSONWriter()
                    AuthorizationOutput.write(result, explanation: nil, into: &json)
                    bytes += json.bytes
                    bytes.append(0x0A)
                },
                emit: { batched += $0 })
            var single: [UInt8] = []
            for request in requests {
                var json = JSONWriter()
                AuthorizationOutput.write(authorizer.authorize(request), explanation: nil, into: &json)
                single += json.bytes
                single.append(0x0A)
            }
            #expect(batched == single, "seed \(seed)")
        }
    }
}

@Suite("Scenario generator")
struct ScenarioGeneratorTests {
    /// The properties above only mean something if the generated scenarios reach every outcome.
    @Test func coversEveryReason() throws {
        var counts: [DecisionReason: Int] = [:]
        for seed in 0..<600 as Range<UInt64> {
            var g = ScenarioGenerator(seed: seed)
            g.variables = true
            let result = Authorizer(policies: try g.policySet()).authorize(try g.request())
            counts[result.reason, default: 0] += 1
        }
        for reason in [DecisionReason.allowed, .explicitDeny, .scpNoAllow, .noIdentityAllow] {
            #expect(counts[reason, default: 0] >= 30, "\(reason): \(counts)")
        }
    }
}
