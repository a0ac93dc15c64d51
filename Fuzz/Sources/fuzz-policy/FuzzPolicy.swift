import BulwarkPolicy
import FuzzDriver

/// Any bytes as a policy document: a policy or a located grammar error, never a crash.
func fuzzPolicy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let policy = try PolicyParser.parse(bytes: bytes)
        precondition(!policy.statements.isEmpty, "a parsed policy has statements")
    } catch {
        precondition(!error.description.isEmpty, "a refusal says why")
    }
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzPolicy) }
}
