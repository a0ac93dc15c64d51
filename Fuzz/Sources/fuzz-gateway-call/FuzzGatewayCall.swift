import BulwarkCatalog
import BulwarkEnforcement
import BulwarkEngine
import BulwarkOrganization
import BulwarkWorkspace
import Foundation
import FuzzDriver

/// The gateway's handling of a call up to the decision, on the example organization
/// (examples/gateway/workspace; run from the project root or set BULWARK_FUZZ_WORKSPACE).
/// The input is `METHOD PATH?QUERY\nAUTHORIZATION\nBODY`: the path and query are read
/// strictly, the Authorization header parsed, the call signed as alice would and verified,
/// routed and decided. Every outcome is a decision or a `CallRefusal`; none is a crash.
let catalog = try! Catalog.bundled()  // the bundled catalog; the fuzzer cannot run without it
let workspace: Workspace = {
    let folder = ProcessInfo.processInfo.environment["BULWARK_FUZZ_WORKSPACE"] ?? "examples/gateway/workspace"
    let loaded = Workspace.load(directory: folder, catalog: catalog)
    precondition(loaded.problems.isEmpty && !loaded.accounts.isEmpty, "cannot load the workspace \(folder): \(loaded.problems)")
    return loaded
}()
let alice = try! workspace.organization.resolve(principal: "iam::0a1b2c:user:alice")  // in the example: checked above
let authorizer = Authorizer(policies: alice.policies, catalog: catalog)
let decider = try! CallDecider(catalog: catalog, region: "cn-north-4", services: ["ims", "swr"], trustedProxies: [])
let credentials = CredentialStore([.init(accessKey: "AK", secretKey: "SK", principal: "iam::0a1b2c:user:alice")])
let now = Date(timeIntervalSince1970: 1_795_452_761)
let stamp = "20261123T165241Z"

func fuzzGatewayCall(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let lines = bytes.split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false)
    let requestLine = String(decoding: lines[0], as: UTF8.self)
    let authorization = lines.count > 1 ? String(decoding: lines[1], as: UTF8.self) : ""
    let body = lines.count > 2 ? Array(lines[2]) : []
    let parts = requestLine.split(separator: " ", maxSplits: 1)
    guard parts.count == 2 else { return 0 }
    let method = String(parts[0])
    let pathAndQuery = String(parts[1])
    let path = String(pathAndQuery.prefix { $0 != "?" })
    let query = pathAndQuery.contains("?") ? String(pathAndQuery.drop { $0 != "?" }.dropFirst()) : ""

    // The Authorization header as an attacker writes it: parsed or refused.
    _ = try? RequestSignature.parse(authorization: authorization)

    let target: CallTarget
    do { target = try CallTarget(path: path, query: query) } catch { return 0 }
    // Signed as the client would, then verified as the gateway does: it must verify.
    let headers = [("Host", "gateway"), ("X-Sdk-Date", stamp), ("Content-Type", "application/json")]
    do {
        let canonical = try RequestSignature.canonicalRequest(
            method: method, target: target, headers: headers, signedHeaders: ["content-type", "host", "x-sdk-date"], body: body)
        let signature = RequestSignature.signature(canonicalRequest: canonical, date: stamp, secretKey: "SK")
        let header = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-sdk-date, Signature=\(signature)"
        let (parsed, credential) = try RequestSignature.authenticateHeaders(
            authorization: header, headers: headers, credentials: credentials, now: now)
        try RequestSignature.verify(parsed, secretKey: credential.secretKey, method: method, target: target, headers: headers, body: body, now: now)
    } catch {
        fatalError("a call signed by its own client does not verify: \(error)")
    }
    do {
        let route = try decider.route(method: method, target: target)
        let decision = try decider.decide(
            method: method, target: target, route: route, body: body, facts: CallFacts(peer: "192.0.2.1", now: now),
            principal: alice, authorizer: authorizer, organization: workspace.organization)
        precondition(!decision.checks.isEmpty, "a routed call is decided on at least one action")
    } catch {
        precondition((400...499).contains(error.status), "a refusal is a 4xx: \(error)")
    }
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzGatewayCall) }
}
