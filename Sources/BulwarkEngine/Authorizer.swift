public import BulwarkCatalog
import BulwarkJSON
public import BulwarkPolicy

/// A policy with the id decisions and explanations refer to it by.
public struct NamedPolicy: Sendable {
    public let id: String
    public let policy: Policy

    public init(id: String, policy: Policy) {
        self.id = id
        self.policy = policy
    }
}

/// The policies that govern one principal: its identity policies, when its account is in an
/// organization the SCPs of each level from the root down, and for an agency session the
/// session policies it was assumed with.
public struct PolicySet: Sendable {
    public var identityPolicies: [NamedPolicy]
    /// One entry per node on the path root → OU(s) → account. Empty means no SCP check;
    /// a level that is present but empty allows nothing.
    public var scpLevels: [[NamedPolicy]]
    /// Session policies (SPEC §10): nil when none were given. When given, a request needs an
    /// `Allow` in them as well (`session_no_allow`), and their `Deny` statements deny.
    public var sessionPolicies: [NamedPolicy]?

    public init(identityPolicies: [NamedPolicy], scpLevels: [[NamedPolicy]] = [], sessionPolicies: [NamedPolicy]? = nil) {
        self.identityPolicies = identityPolicies
        self.scpLevels = scpLevels
        self.sessionPolicies = sessionPolicies
    }
}

/// `allow` or `deny`.
public enum Decision: String, Sendable, Hashable {
    case allow, deny
}

/// Why a decision came out as it did, in evaluation order (SPEC §3).
public enum DecisionReason: String, Sendable, Hashable {
    /// A matching `Deny` in an identity policy or SCP.
    case explicitDeny = "explicit_deny"
    /// An SCP level has no matching `Allow`.
    case scpNoAllow = "scp_no_allow"
    /// A matching identity `Allow` and nothing against it.
    case allowed = "allowed"
    /// No identity policy allows the request.
    case noIdentityAllow = "no_identity_allow"
    /// A session was given session policies and none of them allows the request (SPEC §10).
    case sessionNoAllow = "session_no_allow"
    /// Assuming an agency: a `Deny` of its trust policy matched.
    case trustDenied = "trust_denied"
    /// Assuming an agency: no `Allow` of its trust policy matched.
    case notTrusted = "not_trusted"
    /// A request made through a session that could not be assumed.
    case assumeDenied = "assume_denied"
}

/// A statement that decided a request.
public struct DeterminingStatement: Sendable, Hashable {
    public let policyID: String
    /// 0-based index in the policy's statement list.
    public let statementIndex: Int
    public let sid: String?
    public let effect: Effect
    /// The SCP level the policy is attached at; nil for identity and session policies.
    public let scpLevel: Int?
    /// A session policy's statement (SPEC §10), not an identity policy's.
    public let isSessionPolicy: Bool

    public init(policyID: String, statementIndex: Int, sid: String?, effect: Effect, scpLevel: Int?, isSessionPolicy: Bool = false) {
        self.policyID = policyID
        self.statementIndex = statementIndex
        self.sid = sid
        self.effect = effect
        self.scpLevel = scpLevel
        self.isSessionPolicy = isSessionPolicy
    }

    /// The same statement, marked as a session policy's.
    public var inSessionPolicy: DeterminingStatement {
        DeterminingStatement(policyID: policyID, statementIndex: statementIndex, sid: sid, effect: effect, scpLevel: nil, isSessionPolicy: true)
    }
}

/// A decision with the statements that determined it.
public struct AuthorizationResult: Sendable, Hashable {
    public let decision: Decision
    public let reason: DecisionReason
    /// Every matching `Deny` (explicit_deny), every matching identity `Allow` (allowed), else empty.
    public let matched: [DeterminingStatement]
    /// For `scp_no_allow`: the first level without a matching `Allow`.
    public let scpLevel: Int?

    public init(decision: Decision, reason: DecisionReason, matched: [DeterminingStatement], scpLevel: Int?) {
        self.decision = decision
        self.reason = reason
        self.matched = matched
        self.scpLevel = scpLevel
    }
}

/// What one statement did with a request, for explanations.
public struct StatementExplanation: Sendable {
    public let statement: DeterminingStatement
    public let matched: Bool
    /// The first element that failed, when the statement did not match.
    public let failure: Failure?
    /// Each policy variable use of the statement (Resource/NotResource pattern or condition
    /// value) and what it became in this request; empty when the statement has none.
    public let variables: [VariableUse]

    public struct Failure: Sendable {
        public let span: SourceSpan
        public let reason: String
    }

    /// A string with policy variables, substituted for one request.
    public struct VariableUse: Sendable {
        public let span: SourceSpan
        /// The string as the policy wrote it.
        public let written: String
        /// What it became (literal `*`/`?` shown as `${*}`/`${?}`); nil when a variable did not resolve.
        public let value: String?
        /// The first variable that did not resolve and has no default.
        public let unresolved: PolicyVariable?
    }
}

extension VariableScope {
    /// The keys `catalog` lists as multi-valued, which a policy variable never resolves to, and
    /// its action aliases. Made once per catalog and shared (`Catalog.derived`): every compiled
    /// policy set asks, and the aliases take a pass over every action.
    public init(catalog: Catalog) {
        self = catalog.derived(VariableScope.self, VariableScope.init(computedFrom:))
    }

    private init(computedFrom catalog: Catalog) {
        var names = Set<String>()
        var prefixes: [String] = []
        for key in catalog.globalKeys + catalog.services.flatMap(\.conditionKeys) where key.multiValued {
            if let prefix = key.templatePrefix {
                prefixes.append(CaseFolding.lowercase(prefix))
            } else {
                names.insert(CaseFolding.lowercase(key.name))
            }
        }
        var groups: [String: [String]] = [:]
        for service in catalog.services {
            for action in service.actions where !action.aliases.isEmpty {
                let group = [CaseFolding.lowercase(action.name)] + action.aliases.map(CaseFolding.lowercase)
                for name in group { groups[name] = group.filter { $0 != name } }
            }
        }
        self.init(multiValuedKeys: names, multiValuedPrefixes: prefixes, actionAliases: groups)
    }
}

/// The reference evaluator: decides by visiting every statement, in the order SPEC §3
/// states. Kept simple and obviously right; the compiled `Authorizer` is tested against it.
public struct ReferenceAuthorizer: Sendable {
    public let policies: PolicySet
    /// The keys policy variables never resolve to, and the action aliases.
    public private(set) var scope: VariableScope
    private let identityDenies: [Entry]
    private let identityAllows: [Entry]
    private let scpDenies: [Entry]
    private let scpAllowsByLevel: [[Entry]]
    private let sessionDenies: [Entry]
    /// Nil when the set has no session policies.
    private let sessionAllows: [Entry]?

    /// A statement with what identifies it in results.
    private struct Entry: Sendable {
        let statement: Statement
        let reference: DeterminingStatement
    }

    /// The same evaluator with another scope (nothing is rebuilt).
    public func scoped(_ scope: VariableScope) -> ReferenceAuthorizer {
        var copy = self
        copy.scope = scope
        return copy
    }

    public init(policies: PolicySet, scope: VariableScope = .none) {
        self.policies = policies
        self.scope = scope
        func entries(_ policy: NamedPolicy, level: Int?, session: Bool = false) -> [Entry] {
            policy.policy.statements.map {
                Entry(
                    statement: $0,
                    reference: DeterminingStatement(
                        policyID: policy.id, statementIndex: $0.index, sid: $0.sid, effect: $0.effect, scpLevel: level,
                        isSessionPolicy: session))
            }
        }
        let identity = policies.identityPolicies.flatMap { entries($0, level: nil) }
        identityDenies = identity.filter { $0.statement.effect == .deny }
        identityAllows = identity.filter { $0.statement.effect == .allow }
        var denies: [Entry] = []
        var allows: [[Entry]] = []
        for (k, level) in policies.scpLevels.enumerated() {
            let all = level.flatMap { entries($0, level: k) }
            denies += all.filter { $0.statement.effect == .deny }
            allows.append(all.filter { $0.statement.effect == .allow })
        }
        scpDenies = denies
        scpAllowsByLevel = allows
        let session = policies.sessionPolicies.map { $0.flatMap { entries($0, level: nil, session: true) } }
        sessionDenies = session?.filter { $0.statement.effect == .deny } ?? []
        sessionAllows = session?.filter { $0.statement.effect == .allow }
    }

    /// Decides one request (SPEC §3, §10): explicit deny, then each SCP level needs an allow,
    /// then a session policy allow (when the set has session policies), then an identity allow.
    public func authorize(_ request: AuthorizationRequest) -> AuthorizationResult {
        var denies: [DeterminingStatement] = []
        for entry in identityDenies where entry.statement.matches(request, scope: scope) { denies.append(entry.reference) }
        for entry in scpDenies where entry.statement.matches(request, scope: scope) { denies.append(entry.reference) }
        for entry in sessionDenies where entry.statement.matches(request, scope: scope) { denies.append(entry.reference) }
        if !denies.isEmpty {
            return AuthorizationResult(decision: .deny, reason: .explicitDeny, matched: denies, scpLevel: nil)
        }
        for (k, allows) in scpAllowsByLevel.enumerated() where !allows.contains(where: { $0.statement.matches(request, scope: scope) }) {
            return AuthorizationResult(decision: .deny, reason: .scpNoAllow, matched: [], scpLevel: k)
        }
        if let sessionAllows, !sessionAllows.contains(where: { $0.statement.matches(request, scope: scope) }) {
            return AuthorizationResult(decision: .deny, reason: .sessionNoAllow, matched: [], scpLevel: nil)
        }
        let allows = identityAllows.filter { $0.statement.matches(request, scope: scope) }.map(\.reference)
        if allows.isEmpty {
            return AuthorizationResult(decision: .deny, reason: .noIdentityAllow, matched: [], scpLevel: nil)
        }
        return AuthorizationResult(decision: .allow, reason: .allowed, matched: allows, scpLevel: nil)
    }

    /// Every statement (identity policies, SCP levels in order, then session policies), whether it matched
    /// and, if not, the first element that failed.
    public func explain(_ request: AuthorizationRequest) -> [StatementExplanation] {
        var out: [StatementExplanation] = []
        func add(_ policy: NamedPolicy, level: Int?, session: Bool = false) {
            for statement in policy.policy.statements {
                let reference = DeterminingStatement(
                    policyID: policy.id, statementIndex: statement.index, sid: statement.sid, effect: statement.effect,
                    scpLevel: level, isSessionPolicy: session)
                let variables = statement.substitutions(in: request.context, scope: scope).map { use in
                    StatementExplanation.VariableUse(
                        span: use.span, written: use.written, value: use.result.unresolved == nil ? use.result.glob.text : nil,
                        unresolved: use.result.unresolved)
                }
                if let mismatch = statement.mismatch(for: request, scope: scope) {
                    let (span, reason) = statement.describe(mismatch, for: request, scope: scope)
                    out.append(
                        StatementExplanation(
                            statement: reference, matched: false, failure: .init(span: span, reason: reason), variables: variables))
                } else {
                    out.append(StatementExplanation(statement: reference, matched: true, failure: nil, variables: variables))
                }
            }
        }
        for policy in policies.identityPolicies { add(policy, level: nil) }
        for (k, level) in policies.scpLevels.enumerated() {
            for policy in level { add(policy, level: k) }
        }
        for policy in policies.sessionPolicies ?? [] { add(policy, level: nil, session: true) }
        return out
    }
}
