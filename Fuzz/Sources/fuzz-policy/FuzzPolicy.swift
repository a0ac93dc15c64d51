import BulwarkPolicy
import FuzzDriver

/// Any bytes as a policy document, under the identity and the trust grammar: a policy or a
/// located grammar error, never a crash; a trust policy's statements all name a principal.
func fuzzPolicy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for grammar in [PolicyGrammar.identity, .trust] {
        do {
            let policy = try PolicyParser.parse(bytes: bytes, grammar: grammar)
            precondition(!policy.statements.isEmpty, "a parsed policy has statements")
            if grammar == .trust { precondition(policy.statements.allSatisfy { $0.principal != nil }, "trust statements name a principal") }
        } catch {
            precondition(!error.description.isEmpty, "a refusal says why")
        }
    }
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzPolicy) }
}
