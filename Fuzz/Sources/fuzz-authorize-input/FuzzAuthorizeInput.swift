import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import FuzzDriver

let catalog = try! Catalog.bundled()  // the bundled catalog; the fuzzer cannot run without it

/// Any bytes as a `bulwark authorize` input (SPEC §3): decoded and decided, or refused with
/// a location; `decide` agrees with `authorize`.
func fuzzAuthorizeInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let input = try? AuthorizationInput.decode(bytes: bytes) else { return 0 }
    let authorizer = Authorizer(policies: input.policies, catalog: catalog)
    for request in input.requests.prefix(64) {
        let full = authorizer.authorize(request)
        let quick = authorizer.decide(request)
        precondition(full.decision == quick.decision && full.reason == quick.reason, "decide and authorize disagree")
    }
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzAuthorizeInput) }
}
