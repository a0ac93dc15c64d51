import BulwarkAPI
public import BulwarkCatalog
public import BulwarkJSON
import BulwarkPolicy

/// One API call from an access log (the shape Cloud Trace Service records).
public struct AccessLogEntry: Sendable {
    public let principal: String
    public let service: String
    public let method: String
    public let path: String
    public let region: String
    public let account: String
    public let time: String?
    /// `success`/`allowed`, `denied`/`failure`, or an HTTP status; only successful calls count.
    public let outcome: String
    /// 1-based line in the log.
    public let line: Int

    public var succeeded: Bool {
        switch outcome.lowercased() {
        case "success", "succeeded", "allowed", "allow", "ok": return true
        default:
            if let status = Int(outcome) { return (200..<400).contains(status) }
            return false
        }
    }
}

/// A log line that cannot be read, with where.
public struct AccessLogError: LocatedError, Sendable {
    /// What and where: the location's line is the log line, the path is inside that line's object.
    public let diagnostic: Diagnostic

    init(line: Int, column: Int, path: JSONPath, message: String) {
        diagnostic = Diagnostic(message: message, path: path, location: SourceLocation(line: line, column: column))
    }

    public var description: String { "\(location.line):\(location.column): \(path): \(message)" }
}

/// `bulwark generate --log`: the least-privilege identity policy for what a principal did.
public enum PolicyGenerator {
    /// How far observed resources are widened.
    public enum Generalization: String, Sendable, CaseIterable {
        /// The URNs exactly as the calls touched them.
        case none
        /// Any resource of the same type in the same region and account (`...:image:*`).
        case resourceID = "resource-id"
        /// Any resource of the same type, in any region and account (`ims:*:*:image:*`).
        case type
    }

    /// Reads JSON lines: `principal`, `service`, `method`, `path`, `region`, `account` (strings,
    /// required), `time`, `outcome` (optional; outcome defaults to success). Unknown fields are ignored,
    /// since trace records carry many more. Blank lines are skipped.
    public static func readLog(_ text: String) throws(AccessLogError) -> [AccessLogEntry] {
        var entries: [AccessLogEntry] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            let number = i + 1
            var reader = JSONReader(text: String(line))
            let node: JSONNode
            do { node = try reader.readDocument() } catch {
                throw AccessLogError(line: number, column: error.location.column, path: error.path, message: error.message)
            }
            guard case .object(let members) = node.value else {
                throw AccessLogError(line: number, column: node.location.column, path: .root, message: "expected an object, found \(node.typeName)")
            }
            func field(_ name: String, required: Bool) throws(AccessLogError) -> String? {
                guard let member = members.first(where: { $0.key == name }) else {
                    if required {
                        throw AccessLogError(line: number, column: node.location.column, path: .root, message: "missing field \"\(name)\"")
                    }
                    return nil
                }
                switch member.value.value {
                case .string(let s): return s
                case .number(let n) where name == "outcome": return n
                default:
                    throw AccessLogError(
                        line: number, column: member.value.location.column, path: JSONPath.root.appending(key: name),
                        message: "expected a string, found \(member.value.typeName)")
                }
            }
            entries.append(
                AccessLogEntry(
                    principal: try field("principal", required: true)!, service: try field("service", required: true)!,
                    method: try field("method", required: true)!, path: try field("path", required: true)!,
                    region: try field("region", required: true)!, account: try field("account", required: true)!,
                    time: try field("time", required: false), outcome: try field("outcome", required: false) ?? "success",
                    line: number))
        }
        return entries
    }

    /// The policy allowing exactly the actions (and their dependencies) the successful calls
    /// needed, on the resources they touched widened as `generalization` says. Calls that match
    /// no catalogued API are errors: a policy that silently drops a call would not be least privilege.
    public static func generate(
        _ entries: [AccessLogEntry], catalog: Catalog, generalization: Generalization
    ) throws(AccessLogError) -> String {
        let router = APIRouter(catalog: catalog)
        var uses: [(action: String, resource: String)] = []
        for entry in entries where entry.succeeded {
            // Values become parts of URNs: a colon would shift the parts, a wildcard would grant more than was used.
            for (field, value, forbidden) in [("region", entry.region, ":*?"), ("account", entry.account, ":*?"), ("path", entry.path, "*?")] {
                if let bad = value.first(where: { forbidden.contains($0) }) {
                    throw AccessLogError(
                        line: entry.line, column: 1, path: JSONPath.root.appending(key: field),
                        message: "\(JSONWriter.quoted(value)) cannot be part of a resource URN (it contains \(JSONWriter.quoted(String(bad))))")
                }
            }
            let request = APIRequest(service: entry.service, method: entry.method, path: entry.path, region: entry.region, accountID: entry.account)
            let plan: APIPlan
            do { plan = try router.plan(request) } catch {
                throw AccessLogError(line: entry.line, column: 1, path: JSONPath.root.appending(key: "path"), message: error.message)
            }
            uses += plan.checks.map { ($0.action, $0.resource) }
        }
        return policy(allowing: uses, catalog: catalog, generalization: generalization)
    }

    /// The policy allowing exactly these uses (an action on a resource, as a call needed it),
    /// the resources widened as `generalization` says: one statement per set of resources.
    public static func policy(
        allowing uses: [(action: String, resource: String)], catalog: Catalog, generalization: Generalization
    ) -> String {
        var resourcesByAction: [String: Set<String>] = [:]
        for (action, resource) in uses {
            let name = catalog.action(named: action)?.name ?? action
            resourcesByAction[name, default: []].insert(widen(resource, generalization))
        }
        // Actions needing the same resources share a statement.
        var groups: [[String]: [String]] = [:]
        for (action, resources) in resourcesByAction {
            let sorted = resources.contains("*") ? ["*"] : resources.sorted()
            groups[sorted, default: []].append(action)
        }
        // Written by hand to be read and reviewed: one statement per block, one value per line.
        let statements = groups.sorted { $0.value.min()! < $1.value.min()! }.enumerated().map { i, group in
            func list(_ values: [String]) -> String {
                "[\n" + values.map { "        " + JSONWriter.quoted($0) }.joined(separator: ",\n") + "\n      ]"
            }
            return """
                    {
                      "Sid": "Observed\(i + 1)",
                      "Effect": "Allow",
                      "Action": \(list(group.value.sorted())),
                      "Resource": \(list(group.key))
                    }
                """
        }
        return "{\n  \"Version\": \"5.0\",\n  \"Statement\": [\n" + statements.joined(separator: ",\n") + "\n  ]\n}\n"
    }

    /// A URN widened: the last segment (the resource id) becomes `*`, and for `type` the region and account too.
    @_spi(Testing) public static func widen(_ urn: String, _ generalization: Generalization) -> String {
        guard urn != "*", generalization != .none else { return urn }
        var parts = ColonFields(urn, maxFields: 5).strings
        guard parts.count == 5 else { return urn }
        parts[4] = "*"
        if generalization == .type {
            parts[1] = "*"
            parts[2] = "*"
        }
        return parts.joined(separator: ":")
    }
}
