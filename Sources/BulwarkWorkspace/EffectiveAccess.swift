public import BulwarkCatalog
public import BulwarkEngine
public import BulwarkJSON
public import BulwarkOrganization
import BulwarkPolicy

/// What a principal may do with one action: on which resources, under which conditions,
/// and which denies may still apply. Computed from the catalog and the statements, not by sampling.
public struct ActionAccess: Sendable {
    public struct Grant: Sendable {
        /// `Resource` patterns (or `NOT ...` for NotResource); `*` when absent.
        public let resources: [String]
        /// The conditions, rendered; empty when unconditional.
        public let conditions: [String]
        public let source: DeterminingStatement
    }

    public let action: ActionDefinition
    public let grants: [Grant]
    /// Deny statements that cover the action but only for some resources or conditions.
    public let partialDenies: [Grant]
}

public enum EffectiveAccess {
    /// Every catalogued action the principal can be allowed, grouped by service then access level.
    /// Actions an SCP level never allows, or an unconditional Deny on every resource removes, are left out.
    public static func compute(_ policies: PolicySet, catalog: Catalog) -> [ActionAccess] {
        var out: [ActionAccess] = []
        for service in catalog.services {
            let order = Dictionary(uniqueKeysWithValues: AccessLevel.allCases.enumerated().map { ($1, $0) })
            for action in service.actions.sorted(by: { (order[$0.accessLevel]!, $0.name) < (order[$1.accessLevel]!, $1.name) }) {
                let names = ([action.name] + action.aliases).map(CaseFolding.lowercase)
                func covers(_ s: Statement) -> Bool { s.actions.covers(anyOf: names) }
                // Every SCP level needs an Allow for the action.
                func allows(_ level: [NamedPolicy]) -> Bool {
                    level.contains { p in p.policy.statements.contains { $0.effect == .allow && covers($0) } }
                }
                // A session's policies bound it like one more level (SPEC §10).
                let gated = policies.scpLevels.allSatisfy(allows) && (policies.sessionPolicies.map(allows) ?? true)
                guard gated else { continue }
                var denies: [ActionAccess.Grant] = []
                var fullyDenied = false
                let all =
                    policies.identityPolicies.map { ($0, nil as Int?) }
                    + policies.scpLevels.enumerated().flatMap { k, level in level.map { ($0, k as Int?) } }
                    + (policies.sessionPolicies ?? []).map { ($0, nil as Int?) }
                for (policy, level) in all {
                    for s in policy.policy.statements where s.effect == .deny && covers(s) {
                        let grant = Self.grant(s, policy: policy, level: level)
                        if grant.conditions.isEmpty
                            && (s.resources == nil
                                || (s.resources?.isNegated == false && s.resources!.patterns.contains { $0.glob.matchesEverything }))
                        {
                            fullyDenied = true
                        }
                        denies.append(grant)
                    }
                }
                if fullyDenied { continue }
                var grants: [ActionAccess.Grant] = []
                for policy in policies.identityPolicies {
                    for s in policy.policy.statements where s.effect == .allow && covers(s) {
                        grants.append(Self.grant(s, policy: policy, level: nil))
                    }
                }
                if !grants.isEmpty { out.append(ActionAccess(action: action, grants: grants, partialDenies: denies)) }
            }
        }
        return out
    }

    static func grant(_ s: Statement, policy: NamedPolicy, level: Int?) -> ActionAccess.Grant {
        let resources: [String]
        if let list = s.resources {
            resources = list.patterns.map { (list.isNegated ? "NOT " : "") + $0.text }
        } else {
            resources = ["*"]
        }
        let conditions = s.conditions.map { c in
            "\(c.operatorName) \(c.key) [\(c.values.map(\.value.description).joined(separator: ", "))]"
        }
        return ActionAccess.Grant(
            resources: resources, conditions: conditions,
            source: DeterminingStatement(policyID: policy.id, statementIndex: s.index, sid: s.sid, effect: s.effect, scpLevel: level))
    }

    /// People's form: service, access level, then one line per action.
    public static func text(_ access: [ActionAccess]) -> String {
        var lines: [String] = []
        var lastService = ""
        var lastLevel = ""
        for entry in access {
            let service = ServicePrefix.of(entry.action.name)
            if service != lastService {
                lines.append(service)
                lastService = service
                lastLevel = ""
            }
            if entry.action.accessLevel.rawValue != lastLevel {
                lines.append("  \(entry.action.accessLevel.rawValue)")
                lastLevel = entry.action.accessLevel.rawValue
            }
            for grant in entry.grants {
                let when = grant.conditions.isEmpty ? "" : " when " + grant.conditions.joined(separator: " and ")
                lines.append(
                    "    \(entry.action.name) on \(grant.resources.joined(separator: ", "))\(when)  (\(grant.source.policyID) #\(grant.source.statementIndex))"
                )
            }
            for deny in entry.partialDenies {
                let when = deny.conditions.isEmpty ? "" : " when " + deny.conditions.joined(separator: " and ")
                lines.append(
                    "      except on \(deny.resources.joined(separator: ", "))\(when)  (deny: \(deny.source.policyID) #\(deny.source.statementIndex))"
                )
            }
        }
        lines.append("\(access.count) actions")
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ access: [ActionAccess]) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        writeActions(access, into: &json)
        json.endObject()
        json.newline()
        return json.bytes
    }

    /// `{"principal", "actions", "agencies": [{"agency", "chain", "session", "conditional",
    /// "actions"}]}`: what `principal` may do itself and through every agency it reaches
    /// (`bulwark access --via-agencies --format json`, and the web console).
    public static func json(principal: ResolvedPrincipal, reached: [AgencyReach], catalog: Catalog) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("principal", principal.urn)
        writeActions(compute(principal.policies, catalog: catalog), into: &json)
        json.key("agencies")
        json.beginArray()
        for reach in reached {
            json.beginObject()
            json.field("agency", reach.chain.last!)
            json.field("chain", reach.chain)
            json.field("session", reach.session.urn)
            json.field("conditional", reach.conditional)
            writeActions(compute(reach.session.policies, catalog: catalog), into: &json)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.newline()
        return json.bytes
    }

    /// Writes `"actions": [...]` into an open object.
    public static func writeActions(_ access: [ActionAccess], into json: inout JSONWriter) {
        json.key("actions")
        json.beginArray()
        func write(_ g: ActionAccess.Grant) {
            json.beginObject()
            json.field("resources", g.resources)
            json.field("conditions", g.conditions)
            json.field("policy", g.source.policyID)
            json.field("statement", g.source.statementIndex)
            json.field("scpLevel", g.source.scpLevel)
            json.endObject()
        }
        for entry in access {
            json.beginObject()
            json.field("action", entry.action.name)
            json.field("accessLevel", entry.action.accessLevel.rawValue)
            json.key("grants")
            json.beginArray()
            entry.grants.forEach(write)
            json.endArray()
            json.key("exceptions")
            json.beginArray()
            entry.partialDenies.forEach(write)
            json.endArray()
            json.endObject()
        }
        json.endArray()
    }
}
