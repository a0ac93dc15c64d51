import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy
import FuzzDriver

let catalog = try! Catalog.bundled()  // the bundled catalog; the fuzzer cannot run without it

/// Any bytes as a `bulwark authorize` input (SPEC §3): decoded and decided, or refused with
/// a location; `decide` agrees with `authorize`, also when the first identity policy bounds a
/// session (SPEC §10) and the compiled path must agree with the reference. The same bytes as a
/// session object: read or refused with a location, never a crash.
func fuzzAuthorizeInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var reader = JSONReader(bytes: bytes)
    if let node = try? reader.readDocument() {
        do { _ = try SessionRequest.read(node, path: .root, maxStatements: 100) } catch {
            precondition(!error.message.isEmpty, "a refusal says why")
        }
    }
    guard let input = try? AuthorizationInput.decode(bytes: bytes) else { return 0 }
    var bounded = input.policies
    bounded.sessionPolicies = Array(input.policies.identityPolicies.prefix(1))
    for set in [input.policies, bounded] {
        let authorizer = Authorizer(policies: set, catalog: catalog)
        let reference = ReferenceAuthorizer(policies: set, scope: VariableScope(catalog: catalog))
        for request in input.requests.prefix(64) {
            let full = authorizer.authorize(request)
            let quick = authorizer.decide(request)
            precondition(full.decision == quick.decision && full.reason == quick.reason, "decide and authorize disagree")
            precondition(full == reference.authorize(request), "the compiled and the reference evaluator disagree")
        }
    }
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzAuthorizeInput) }
}
