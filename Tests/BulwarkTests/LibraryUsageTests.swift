import BulwarkEngine
import BulwarkPolicy
import Foundation
import Testing

/// The README's library example, kept compiling and true: the code below is the README's
/// example, and `readmeShowsThisExample` checks that every line of the README's block is here
/// (so the formatter leaves it as the README shows it).
// swift-format-ignore
@Test func readmeLibraryExample() throws {
    let policy = try PolicyParser.parse("""
        {"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": "ims:images:*",
          "Resource": "ims:*:0a1b2c:image:*",
          "Condition": {"IpAddress": {"g:SourceIp": "10.0.0.0/8"}}}]}
        """)
    let authorizer = Authorizer(policies: PolicySet(
        identityPolicies: [NamedPolicy(id: "team", policy: policy)],
        scpLevels: []))
    let request = AuthorizationRequest(
        action: "ims:images:get",
        resource: "ims:cn-north-4:0a1b2c:image:img-1",
        context: RequestContext(["g:SourceIp": [.string("10.1.2.3")]]))
    let result = authorizer.authorize(request)
    let verdict = authorizer.decide(request)
    let why = authorizer.explain(request)
    #expect(result.decision == .allow && result.reason == .allowed)
    #expect(result.matched.map(\.policyID) == ["team"])
    #expect(verdict.decision == .allow && verdict.reason == .allowed)
    #expect(why.count == 1)
}

@Test func readmeShowsThisExample() throws {
    let readme = try String(contentsOf: packageRoot().appendingPathComponent("README.md"), encoding: .utf8)
    let block = try #require(readme.components(separatedBy: "```swift\n").dropFirst().first?.components(separatedBy: "\n```").first)
    let here = try String(contentsOf: packageRoot().appendingPathComponent("Tests/BulwarkTests/LibraryUsageTests.swift"), encoding: .utf8)
    let lines = Set(here.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
    for line in block.split(separator: "\n") {
        // The README's comments say what the test's expectations check.
        let code = (line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line)).trimmingCharacters(in: .whitespaces)
        #expect(code.isEmpty || lines.contains(code), "README line not in the test: \(code)")
    }
}
