import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import BulwarkTestSupport
import Testing

/// Thousands of mutated documents: parsing never crashes, every failure is located.
@Suite("Fuzzing the parsers")
struct FuzzTests {
    static let tokens: [String] = [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u12", "null", "true", "-", "1e999", "0", "\n", "é", "\u{0}", "*", "?", "Allow", "Deny",
        "NotAction", "Condition", "IfExists", "ForAllValues:",
    ]

    static func mutate(_ text: String, _ rng: inout SeededGenerator) -> String {
        var scalars = Array(text.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !scalars.isEmpty else { break }
            let i = Int.random(in: 0..<scalars.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: scalars.remove(at: i)
            case 1: scalars.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &rng)].unicodeScalars, at: i)
            case 2:
                let j = Int.random(in: 0..<scalars.count, using: &rng)
                scalars.swapAt(i, j)
            default:
                let end = min(scalars.count, i + Int.random(in: 1...20, using: &rng))
                scalars.insert(contentsOf: scalars[i..<end], at: end)
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    @Test func mutatedPoliciesParseOrFailWithALocation() {
        var rng = SeededGenerator(seed: 0xB01A)
        var generator = ScenarioGenerator(seed: 7)
        let request = AuthorizationRequest(action: "ims:images:get", resource: "ims:r:acct:image:1")
        var parsed = 0
        var rejected = 0
        for _ in 0..<4000 {
            let text = Self.mutate(generator.policyText(), &rng)
            do {
                let p = try PolicyParser.parse(text)
                for s in p.statements { _ = s.mismatch(for: request) }
                _ = Authorizer(policies: PolicySet(identityPolicies: [NamedPolicy(id: "p", policy: p)])).explain(request)
                parsed += 1
            } catch {
                rejected += 1
                #expect(error.location.line >= 1 && error.location.column >= 1)
                #expect(error.path.description.hasPrefix("$"))
                #expect(!error.message.isEmpty && !error.message.contains("\n"))
            }
        }
        #expect(parsed > 100 && rejected > 100)
    }

    @Test func mutatedAuthorizeInputsDecodeOrFailWithALocation() throws {
        var rng = SeededGenerator(seed: 0x5EED)
        let base = try String(contentsOf: packageRoot().appendingPathComponent("Tests/BulwarkTests/Fixtures/authorize-batch.json"), encoding: .utf8)
        var rejected = 0
        for _ in 0..<2000 {
            let text = Self.mutate(base, &rng)
            do {
                let input = try AuthorizationInput.decode(bytes: Array(text.utf8))
                let authorizer = Authorizer(policies: input.policies)
                for r in input.requests { _ = authorizer.explain(r) }
            } catch {
                rejected += 1
                #expect(error.location.line >= 1 && error.location.column >= 1)
                #expect(error.path.description.hasPrefix("$"))
            }
        }
        #expect(rejected > 100)
    }

    @Test func randomBytesNeverCrashTheReader() {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var reader = JSONReader(bytes: bytes)
            _ = try? reader.readDocument()
        }
    }
}
