public import BulwarkCatalog
public import BulwarkEngine
public import BulwarkPolicy

/// A session tag: `g:PrincipalTag/KEY` of the session, `g:RequestTag/KEY` of the assume.
public struct SessionTag: Sendable, Hashable {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// What a caller asks for when it assumes an agency (SPEC §10).
public struct SessionRequest: Sendable {
    /// The agency's URN, `iam::ACCOUNT:agency:NAME` (the account by id or name).
    public var agency: String
    public var sessionName: String
    /// Session policies: nil when none were given (then nothing narrows the session).
    public var sessionPolicies: [NamedPolicy]?
    public var tags: [SessionTag]
    /// Keys of `tags` that later sessions of a chain inherit.
    public var transitiveTagKeys: [String]
    public var sourceIdentity: String?
    public var externalID: String?

    public init(
        agency: String, sessionName: String, sessionPolicies: [NamedPolicy]? = nil, tags: [SessionTag] = [],
        transitiveTagKeys: [String] = [], sourceIdentity: String? = nil, externalID: String? = nil
    ) {
        self.agency = agency
        self.sessionName = sessionName
        self.sessionPolicies = sessionPolicies
        self.tags = tags
        self.transitiveTagKeys = transitiveTagKeys
        self.sourceIdentity = sourceIdentity
        self.externalID = externalID
    }

    /// Huawei's bounds on session tags and transitive tag keys.
    public static let maxTags = 20
    public static let maxTagKeyLength = 128
    public static let maxTagValueLength = 255

    /// Checks the request's own shape (names, tags, keys), independent of any caller. The error
    /// names the field: `sessionName`, `tags[2].key`, `transitiveTagKeys[0]`, ...
    public func check() throws(PrincipalError) {
        func fail(_ field: String, _ message: String) -> PrincipalError {
            PrincipalError(message: "\(field): \(message)", kind: .invalidSession)
        }
        if let problem = Self.nameProblem(sessionName) { throw fail("sessionName", problem) }
        if let sourceIdentity, let problem = Self.nameProblem(sourceIdentity) { throw fail("sourceIdentity", problem) }
        if let externalID, externalID.isEmpty || externalID.count > 1_224 {
            throw fail("externalId", "must have 1 to 1,224 characters")
        }
        if tags.count > Self.maxTags { throw fail("tags", "\(tags.count) session tags; Huawei allows \(Self.maxTags)") }
        var keys: Set<String> = []
        for (i, tag) in tags.enumerated() {
            if tag.key.isEmpty || tag.key.count > Self.maxTagKeyLength {
                throw fail("tags[\(i)].key", "a tag key has 1 to \(Self.maxTagKeyLength) characters")
            }
            if tag.value.count > Self.maxTagValueLength {
                throw fail("tags[\(i)].value", "a tag value has at most \(Self.maxTagValueLength) characters")
            }
            // Tag keys compare case-insensitively, as condition keys do: two spellings would be one key.
            if !keys.insert(CaseFolding.lowercase(tag.key)).inserted { throw fail("tags[\(i)].key", "duplicate tag key \"\(tag.key)\"") }
        }
        if transitiveTagKeys.count > Self.maxTags {
            throw fail("transitiveTagKeys", "\(transitiveTagKeys.count) transitive tag keys; Huawei allows \(Self.maxTags)")
        }
        for (i, key) in transitiveTagKeys.enumerated() where !keys.contains(CaseFolding.lowercase(key)) {
            throw fail("transitiveTagKeys[\(i)]", "\"\(key)\" is not the key of a session tag of this request")
        }
    }

    /// Session names and source identities: 2 to 64 letters, digits and `+=,.@-_`.
    static func nameProblem(_ name: String) -> String? {
        guard (2...64).contains(name.utf8.count) else { return "must have 2 to 64 characters" }
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                continue
            case UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "@"), UInt8(ascii: "-"),
                UInt8(ascii: "_"):
                continue
            default: return "\"\(name)\" has a character outside letters, digits and +=,.@-_"
            }
        }
        return nil
    }
}

/// What a session carries beyond its agency: how it was assumed.
public struct SessionIdentity: Sendable, Hashable {
    /// The agency's canonical URN, `iam::ACCOUNT-ID:agency:NAME`.
    public let agencyURN: String
    public let sessionName: String
    /// Tags a later session of a chain inherits and cannot override.
    public let transitiveTags: [SessionTag]
    /// Set once in a chain and carried through it.
    public let sourceIdentity: String?
}

/// One assume of a chain: the agency and how the request to assume it was decided.
public struct AssumeStep: Sendable {
    /// The agency's canonical URN.
    public let agency: String
    /// The session's URN, `sts::ACCOUNT-ID:assumed-agency:NAME/SESSION` (also when refused:
    /// the session that was asked for).
    public let session: String
    /// `allowed`, a reason of SPEC §3 (the caller may not `sts:agencies:assume`, `sts::tagSession`
    /// or `sts::setSourceIdentity` on the agency), `trust_denied` or `not_trusted`.
    /// For `allowed`, `matched` lists the caller's allowing statements and the trust policy's.
    public let result: AuthorizationResult
}

extension Organization {
    /// The actions an assume is decided for, in SPEC §10's order.
    public static let assumeAction = "sts:agencies:assume"
    public static let tagSessionAction = "sts::tagSession"
    public static let setSourceIdentityAction = "sts::setSourceIdentity"

    /// Decides whether `caller` may assume `request.agency` (SPEC §10) and, when it may, the
    /// session it gets. `given` is the rest of the request context (source IP, time ...), read
    /// for every step. Throws for what cannot be decided: an unknown agency, a trust policy or
    /// policy that cannot be read, a request that breaks Huawei's rules.
    public func assume(
        _ request: SessionRequest, by caller: ResolvedPrincipal, context given: RequestContext = RequestContext(), catalog: Catalog? = nil
    ) throws(PrincipalError) -> (step: AssumeStep, session: ResolvedPrincipal?) {
        try request.check()
        let agency = try resolve(principal: request.agency)
        guard agency.principal.kind == .agency else {
            throw PrincipalError(message: "\(request.agency) is not an agency; write iam::ACCOUNT:agency:NAME")
        }
        // What a calling session carries on: its transitive tags may not be set again, its source identity not changed.
        let inherited = caller.session?.transitiveTags ?? []
        for (i, tag) in request.tags.enumerated()
        where inherited.contains(where: { CaseFolding.lowercase($0.key) == CaseFolding.lowercase(tag.key) }) {
            throw PrincipalError(
                message: "tags[\(i)].key: \"\(tag.key)\" is a transitive tag of the calling session and cannot be set again",
                kind: .invalidSession)
        }
        let carried = caller.session?.sourceIdentity
        if let carried, let asked = request.sourceIdentity, asked != carried {
            throw PrincipalError(
                message: "sourceIdentity: the calling session's source identity is \"\(carried)\" and cannot be changed", kind: .invalidSession)
        }
        let trust = try trustPolicy(of: agency)
        let accountID = agency.account?.id ?? agency.principalContext["g:PrincipalAccount"] ?? ""
        let sessionURN = "sts::\(accountID):assumed-agency:\(agency.principal.name)/\(request.sessionName)"
        func step(_ result: AuthorizationResult) -> AssumeStep { AssumeStep(agency: agency.urn, session: sessionURN, result: result) }

        var context = caller.context(adding: given)
        context.set("sts:AgencySessionName", [.string(request.sessionName)])
        if let externalID = request.externalID { context.set("sts:ExternalId", [.string(externalID)]) }
        if let sourceIdentity = request.sourceIdentity { context.set("sts:SourceIdentity", [.string(sourceIdentity)]) }
        for tag in request.tags { context.set("g:RequestTag/\(tag.key)", [.string(tag.value)]) }
        if !request.tags.isEmpty { context.set("g:TagKeys", request.tags.map { .string($0.key) }, isList: true) }
        if !request.transitiveTagKeys.isEmpty {
            context.set("sts:TransitiveTagKeys", request.transitiveTagKeys.map { .string($0) }, isList: true)
        }

        var actions = [Self.assumeAction]
        if !request.tags.isEmpty { actions.append(Self.tagSessionAction) }
        if request.sourceIdentity != nil { actions.append(Self.setSourceIdentityAction) }
        let permissions = Authorizer(policies: caller.policies, catalog: catalog)
        let scope = catalog.map(VariableScope.init(catalog:)) ?? .none
        let trustEvaluator = trust.map { TrustEvaluator(policy: $0, scope: scope) }
        var matched: [DeterminingStatement] = []
        for action in actions {
            let asked = AuthorizationRequest(action: action, resource: agency.urn, context: context)
            let own = permissions.authorize(asked)
            guard own.decision == .allow else { return (step(own), nil) }
            let trusted =
                trustEvaluator?.authorize(asked, caller: caller.trustCaller)
                ?? AuthorizationResult(decision: .deny, reason: .notTrusted, matched: [], scpLevel: nil)
            guard trusted.decision == .allow else { return (step(trusted), nil) }
            for statement in own.matched + trusted.matched where !matched.contains(statement) { matched.append(statement) }
        }
        let allowed = AuthorizationResult(decision: .allow, reason: .allowed, matched: matched, scpLevel: nil)
        return (step(allowed), session(of: agency, urn: sessionURN, request: request, caller: caller))
    }

    /// A chain of assumes: each step's caller the session of the step before (SPEC §10). Stops at
    /// the first refused step; the session is the last step's when every step is allowed.
    public func assume(
        chain requests: [SessionRequest], by caller: ResolvedPrincipal, context given: RequestContext = RequestContext(),
        catalog: Catalog? = nil
    ) throws(PrincipalError) -> (steps: [AssumeStep], session: ResolvedPrincipal?) {
        var steps: [AssumeStep] = []
        var current = caller
        for request in requests {
            let (step, session) = try assume(request, by: current, context: given, catalog: catalog)
            steps.append(step)
            guard let session else { return (steps, nil) }
            current = session
        }
        return (steps, steps.isEmpty ? nil : current)
    }

    /// The trust policy an agency names; nil when it names none (nobody may assume it).
    private func trustPolicy(of agency: ResolvedPrincipal) throws(PrincipalError) -> NamedPolicy? {
        guard let name = agency.principal.trustPolicy else { return nil }
        guard let policy = accounts[agency.principal.account]?.trustPolicies[name] else {
            throw PrincipalError(
                message: "trust policy \"\(name)\" of \(agency.urn) cannot be found or read; nobody assumes it without it", kind: .unavailable)
        }
        return policy
    }

    /// The session principal: the agency's policies and SCP path bounded by the session
    /// policies, its keys those of the agency's account, its tags the agency's overridden by the
    /// session's, then the caller's transitive tags.
    func session(of agency: ResolvedPrincipal, urn: String, request: SessionRequest, caller: ResolvedPrincipal) -> ResolvedPrincipal {
        var context = agency.principalContext.filter { !$0.key.hasPrefix("g:PrincipalTag/") }
        context["g:PrincipalUrn"] = urn
        context["g:PrincipalId"] = "\(agency.principal.id):\(request.sessionName)"
        context["g:PrincipalType"] = "AssumedAgency"
        // Tags by case-folded key, so a session tag overrides the agency's whatever its spelling.
        var tags: [String: (key: String, value: String)] = [:]
        for (key, value) in agency.principal.tags { tags[CaseFolding.lowercase(key)] = (key, value) }
        for tag in request.tags { tags[CaseFolding.lowercase(tag.key)] = (tag.key, tag.value) }
        let inherited = caller.session?.transitiveTags ?? []
        for tag in inherited { tags[CaseFolding.lowercase(tag.key)] = (tag.key, tag.value) }
        for tag in tags.values { context["g:PrincipalTag/\(tag.key)"] = tag.value }
        let sourceIdentity = caller.session?.sourceIdentity ?? request.sourceIdentity
        if let sourceIdentity { context["g:SourceIdentity"] = sourceIdentity }
        let transitive = Set(request.transitiveTagKeys.map(CaseFolding.lowercase))
        let identity = SessionIdentity(
            agencyURN: agency.urn, sessionName: request.sessionName,
            transitiveTags: inherited + request.tags.filter { transitive.contains(CaseFolding.lowercase($0.key)) },
            sourceIdentity: sourceIdentity)
        var policies = agency.policies
        policies.sessionPolicies = request.sessionPolicies
        return ResolvedPrincipal(
            principal: agency.principal, account: agency.account, urn: urn, policies: policies, principalContext: context,
            session: identity)
    }
}
