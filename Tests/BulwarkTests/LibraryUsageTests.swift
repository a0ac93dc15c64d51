import BulwarkEngine
import BulwarkPolicy
import Testing

/// The README's library example, kept compiling and true.
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
    #expect(result.decision == .allow && result.reason == .allowed)
    #expect(result.matched.map(\.policyID) == ["team"])
    #expect(authorizer.explain(request).count == 1)
}
