import BulwarkEngine
import BulwarkPolicy
import BulwarkTestSupport

/// Random but realistic policies and requests over a small vocabulary, so that
/// matches and mismatches both happen often.
struct ScenarioGenerator {
    var rng: SeededGenerator

    static let actions = [
        "ims:images:get", "ims:images:share", "ims:quotas:get", "swr:repo:upload", "swr:repo:download", "swr::listQuotas", "obs:object:GetObject",
        "ecs:servers:list", "IMS:IMAGES:GET",
    ]
    static let actionPatterns = [
        "*", "ims:*", "ims:images:*", "*:get", "swr:repo:*", "ims:images:get", "IMS:Images:Share", "ims:images:?et", "swr::*", "*:*:GetObject",
        "swr:repo:upload", "ecs:*", "*s:*:list",
    ]
    static let resources = [
        "*", "ims:cn-north-4:acct:image:img-1", "ims:cn-north-4:other:image:img-2", "swr:cn-north-4:acct:repo:team/web",
        "swr:cn-north-4:acct:repo:ops/db", "ims:cn-north-4:acct:image:img-12", "", "ims:cn-north-4:acct:image:img-*",
        "ims:cn-north-4:acct:image:team", "ims:cn-north-4:acct:image", "ims:x:acct:image",
    ]
    static let resourcePatterns = [
        "*", "ims:*", "ims:cn-north-4:acct:image:*", "swr:*:acct:repo:team/*", "ims:*:image:img-?", "swr:*", "ims:cn-north-4:acct:image:img-1",
        "ims:cn-north-4:acct:image:img-1*", "ims:cn-north-4:acct:image:img-1?", "*:repo:*", "swr:cn-north-4:acct:repo:team/web",
    ]
    /// Patterns with policy variables (SPEC §2), mixed into the others.
    static let variableResourcePatterns = [
        "swr:*:acct:repo:${g:UserName}/*", "ims:cn-north-4:acct:image:${g:UserName}", "ims:cn-north-4:acct:image:${ g:username , 'img-12'}",
        "ims:*:acct:image:${g:UserName}*", "${g:UserName}", "*:repo:${g:SourceVpce}/*", "ims:cn-north-4:acct:image:img-${*}",
        "ims:${g:TagKeys}:acct:image:*", "ims:cn-north-4:${g:UserName, 'acct'}:image:img-1", "ims:cn-north-4:${g:UserName}:*",
        "ims:*:${g:UserName}:*", "swr:cn-north-4:${g:SourceVpce}", "ims:${g:UserName}:*:*:img-1",
    ]
    /// With `awkwardURNs`: resources with extra, missing or empty fields and patterns with wildcards
    /// in early fields, which the compiled authorizer indexes field by field.
    static let awkwardResources = [
        "ims:a:b:acct:image:img-1", "ims:cn-north-4:acct:image:img-1:x", "ims:é:acct:image:img-1", "ims::acct:image:img-1",
        "swr:cn-north-4:acct:repo:team/w:eb", "ims:cn-north-4:acct:image:img-1", "ims:x:acct:image:img-12", "swr:r:acct:repo:team/web",
        "ims:acct:image", "ims:x:acct:image:img-1?",
    ]
    static let awkwardResourcePatterns = [
        "ims:*:acct:image:img-1*", "ims:?:acct:image:img-1", "swr:*:*:repo:team/*", "ims:*:acct:*:img-1", "ims:cn-north-4:*:image:img-1?",
        "*:acct:image:*", "ims:*:acct:image:img-1:*", "ims:*:acct:image:*", "ims:*:*:image:img-1", "ims:*:acct:image:img-1",
        "ims:*:acct:image:img-1?", "ims::acct:image:*", "ims:*:*:*:*",
    ]
    var awkwardURNs = false
    /// Policy variables in Resource patterns and condition values (the analysis answers
    /// `unknown` for most of them, so its tests leave them out).
    var variables = false
    /// Policy sets may carry session policies (SPEC §10).
    var sessions = false

    static let conditions = [
        #"{"StringEquals":{"g:UserName":"alice"}}"#,
        #"{"StringNotEquals":{"g:UserName":["bob","carol"]}}"#,
        #"{"IpAddress":{"g:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}"#,
        #"{"NotIpAddress":{"g:SourceIp":"10.9.0.0/16"}}"#,
        #"{"ForAnyValue:StringEquals":{"g:TagKeys":["env","team"]}}"#,
        #"{"ForAllValues:StringEquals":{"g:TagKeys":["env","team"]}}"#,
        #"{"Bool":{"g:MFAPresent":true}}"#,
        #"{"BoolIfExists":{"g:MFAPresent":"true"}}"#,
        #"{"NumberLessThan":{"swr:Size":"5.5"}}"#,
        #"{"DateLessThan":{"g:CurrentTime":"2026-06-01T00:00:00Z"}}"#,
        #"{"ForAnyValue:StringNotMatch":{"ims:TargetOrgPaths":"o-1/r-1/*"}}"#,
        #"{"Null":{"g:SourceVpce":true}}"#,
        #"{"StringMatch":{"g:UserName":"a*"},"Bool":{"g:SecureTransport":true}}"#,
    ]
    static let variableConditions = [
        #"{"StringEquals":{"g:UserName":"${g:SourceVpce, 'alice'}"}}"#,
        #"{"StringMatch":{"g:SourceVpce":"${g:UserName}*"}}"#,
        #"{"StringNotEqualsIfExists":{"g:UserName":"${g:PrincipalTag/x}"}}"#,
        #"{"ForAnyValue:StringEquals":{"g:TagKeys":"${g:UserName}"}}"#,
    ]
    static let contextEntries = [
        #""g:UserName":"alice""#, #""g:UserName":"bob""#, #""g:UserName":"anna""#,
        #""g:SourceIp":"10.1.2.3""#, #""g:SourceIp":"10.9.1.1""#, #""g:SourceIp":"192.168.0.1""#, #""g:SourceIp":"2001:db8::7""#,
        #""g:TagKeys":["env"]"#, #""g:TagKeys":["env","owner"]"#, #""g:TagKeys":[]"#,
        #""g:MFAPresent":true"#, #""g:MFAPresent":"false""#, #""swr:Size":5"#, #""swr:Size":"6""#,
        #""g:CurrentTime":"2026-01-01T00:00:00Z""#, #""g:CurrentTime":"2027-01-01""#,
        #""ims:TargetOrgPaths":["o-1/r-1/a","o-2/r-2/b"]"#, #""ims:TargetOrgPaths":["o-1/r-1/a"]"#,
        #""g:SourceVpce":"vpce-1""#, #""g:SecureTransport":"TRUE""#,
        #""g:UserName":"img-1""#, #""g:UserName":"team""#, #""g:UserName":["team"]"#, #""g:UserName":"*""#, #""g:TagKeys":"cn-north-4""#,
        #""g:SourceVpce":"team""#, #""g:PrincipalTag/x":"alice""#, #""g:UserName":"""#, #""g:UserName":"acct:image""#,
        #""g:SourceVpce":"acct:repo:team/web""#, #""g:UserName":"acct:image:img-1""#, #""g:UserName":"cn-north-4:acct""#,
    ]

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func statement(effect: String? = nil) -> String {
        let effect = effect ?? (chance(0.3) ? "Deny" : "Allow")
        var parts = [#""Effect":"\#(effect)""#]
        let actions = (0..<Int.random(in: 1...2, using: &rng)).map { _ in "\"\(pick(Self.actionPatterns))\"" }
        parts.append((chance(0.15) ? #""NotAction":"# : #""Action":"#) + "[" + actions.joined(separator: ",") + "]")
        if chance(0.7) {
            var pool = awkwardURNs ? Self.resourcePatterns + Self.awkwardResourcePatterns : Self.resourcePatterns
            if variables && chance(0.3) { pool += Self.variableResourcePatterns }
            let resources = (0..<Int.random(in: 1...2, using: &rng)).map { _ in "\"\(pick(pool))\"" }
            parts.append((chance(0.15) ? #""NotResource":"# : #""Resource":"#) + "[" + resources.joined(separator: ",") + "]")
        }
        if chance(0.5) { parts.append(#""Condition":"# + pick(variables ? Self.conditions + Self.variableConditions : Self.conditions)) }
        return "{" + parts.joined(separator: ",") + "}"
    }

    mutating func policyText(statements: Int? = nil, effect: String? = nil) -> String {
        let n = statements ?? Int.random(in: 1...3, using: &rng)
        return #"{"Version":"5.0","Statement":["# + (0..<n).map { _ in statement(effect: effect) }.joined(separator: ",") + "]}"
    }

    mutating func policySet() throws -> PolicySet {
        let identity = try (0..<Int.random(in: 0...3, using: &rng)).map { i in try named("identity[\(i)]", policyText()) }
        var levels: [[NamedPolicy]] = []
        if chance(0.6) {
            for k in 0..<Int.random(in: 1...3, using: &rng) {
                var level = [try named("scp[\(k)][0]", fullAccess)]
                if chance(0.2) { level = [] }
                if chance(0.5) { level.append(try named("scp[\(k)][1]", policyText())) }
                levels.append(level)
            }
        }
        var sessionPolicies: [NamedPolicy]?
        if sessions && chance(0.5) {
            sessionPolicies = try (0..<Int.random(in: 0...2, using: &rng)).map { i in try named("session[\(i)]", policyText()) }
        }
        return PolicySet(identityPolicies: identity, scpLevels: levels, sessionPolicies: sessionPolicies)
    }

    mutating func request() throws -> AuthorizationRequest {
        let entries = (0..<Int.random(in: 0...4, using: &rng)).map { _ in pick(Self.contextEntries) }
        var seen = Set<String>()
        let unique = entries.filter { seen.insert(String($0.split(separator: ":").prefix(2).joined())).inserted }
        let resource = awkwardURNs && chance(0.6) ? pick(Self.awkwardResources) : pick(Self.resources)
        return AuthorizationRequest(action: pick(Self.actions), resource: resource, context: try context("{" + unique.joined(separator: ",") + "}"))
    }
}
