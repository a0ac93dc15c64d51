public import BulwarkCatalog
public import BulwarkEngine
public import BulwarkPolicy
import Foundation

/// An API call to authorize (SPEC §4): which service, method and concrete path, where, and in what context.
public struct APIRequest: Sendable {
    public var service: String
    public var method: String
    /// The concrete path, e.g. `/v2/images/img-1/members`; a query string and one trailing slash are ignored.
    public var path: String
    public var region: String
    public var accountID: String
    public var context: RequestContext
    /// Ids of the qualified ("required only …") rows that apply, e.g. `data-disk-import`.
    public var cases: [String]
    /// Overrides the URN of resource-typed actions (for rows whose resource is in the body).
    public var resource: String?
    /// A schema operation id (SPEC §12) naming the call instead of method and path.
    public var operation: String?

    public init(
        service: String, method: String, path: String, region: String, accountID: String,
        context: RequestContext = RequestContext(), cases: [String] = [], resource: String? = nil
    ) {
        self.service = service
        self.method = method
        self.path = path
        self.region = region
        self.accountID = accountID
        self.context = context
        self.cases = cases
        self.resource = resource
    }
}

/// One (action, resource) pair checked for an API call.
public struct APICheck: Sendable {
    public let action: String
    public let resource: String
    public let result: AuthorizationResult
    /// The row that required it, e.g. `POST /v2/cloudimages/quickimport/action`, and whether as a dependency.
    public let requiredBy: APIRow
    public let isDependency: Bool
}

/// The answer for an API call: allowed when every required check is.
public struct APIAuthorizationResult: Sendable {
    public let decision: Decision
    public let checks: [APICheck]
    /// Qualified rows that matched the call but whose case was not named.
    public let notApplied: [APIRow]
    /// Path parameters as matched, percent-decoded.
    public let parameters: [String: String]
}

/// A call that matches no API row, or names an unknown case: never a silent deny.
public struct APIAuthorizationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Maps API calls to actions and resources and decides them with an `Authorizer`.
public struct APIAuthorizer: Sendable {
    public let router: APIRouter
    public let authorizer: Authorizer
    public var catalog: Catalog { router.catalog }

    /// With a router built for the purpose; a caller deciding many calls keeps one router.
    public init(catalog: Catalog, authorizer: Authorizer) {
        self.init(router: APIRouter(catalog: catalog), authorizer: authorizer)
    }

    public init(router: APIRouter, authorizer: Authorizer) {
        self.router = router
        self.authorizer = authorizer
    }

    /// Decides every check of the call. `route` is the call's match when the caller has
    /// routed it already (the gateway routes each call once).
    public func authorize(_ request: APIRequest, route: APIRouter.RouteMatch? = nil) throws(APIAuthorizationError) -> APIAuthorizationResult {
        let plan = try router.plan(request, route: route)
        let checks = plan.checks.map { item in
            APICheck(
                action: item.action, resource: item.resource,
                result: authorizer.authorize(AuthorizationRequest(action: item.action, resource: item.resource, context: request.context)),
                requiredBy: item.row, isDependency: item.isDependency)
        }
        let decision: Decision = checks.allSatisfy { $0.result.decision == .allow } ? .allow : .deny
        return APIAuthorizationResult(decision: decision, checks: checks, notApplied: plan.notApplied, parameters: plan.parameters)
    }
}

/// What an API call needs, before any policy is consulted.
public struct APIPlan: Sendable {
    public struct Item: Sendable {
        public let action: String
        public let resource: String
        public let row: APIRow
        public let isDependency: Bool
    }

    public let checks: [Item]
    public let notApplied: [APIRow]
    public let parameters: [String: String]
}

/// Matches concrete paths against the catalog's API templates and builds resource URNs.
public struct APIRouter: Sendable {
    public let catalog: Catalog
    /// Lowercased service name → its rows with their templates split once.
    private let templates: [String: [Template]]

    /// A row's path template, split at `/` once, with its separator count for a quick reject.
    private struct Template: Sendable {
        let row: APIRow
        let separators: Int
        /// Each segment: a literal, or a parameter's name (`{image_id}` → `image_id`).
        let segments: [Segment]
    }

    private enum Segment: Sendable {
        case literal(Substring)
        case parameter(String)
    }

    /// Splits every template of every service once; keep the router for as long as the catalog.
    public init(catalog: Catalog) {
        self.catalog = catalog
        var templates: [String: [Template]] = [:]
        for service in catalog.services {
            templates[service.name.lowercased()] = service.apis.map { row in
                let parts = Self.segments(row.path)
                return Template(
                    row: row, separators: parts.count,
                    segments: parts.map { $0.hasPrefix("{") && $0.hasSuffix("}") ? .parameter(String($0.dropFirst().dropLast())) : .literal($0) })
            }
        }
        self.templates = templates
    }

    /// How a call's method and path meet a service's API rows.
    public enum RouteMatch: Sendable {
        /// The most specific rows for the method (a literal segment beats a parameter), with
        /// the path parameters, percent-decoded.
        case rows([APIRow], parameters: [String: String])
        /// The path is an API of the service, but not with this method: the methods it has, sorted.
        case methodNotAllowed(template: String, allowed: [String])
        /// No API of the service has this path.
        case noMatch
    }

    /// The rows of `service` a call matches. Paths are compared as given (a query and one
    /// trailing slash are ignored); unknown services match nothing.
    public func route(service name: String, method rawMethod: String, path rawPath: String) -> RouteMatch {
        guard let service = catalog.service(named: name), let compiled = templates[service.name.lowercased()] else { return .noMatch }
        let segments = Self.segments(Self.normalize(rawPath))
        let method = rawMethod.uppercased()
        var byPath: [(row: APIRow, parameters: [String: String], literals: Int)] = []
        for template in compiled where template.separators == segments.count {
            if let (parameters, literals) = Self.match(template.segments, segments: segments) {
                byPath.append((template.row, parameters, literals))
            }
        }
        if byPath.isEmpty { return .noMatch }
        let withMethod = byPath.filter { $0.row.method == method }
        if withMethod.isEmpty {
            return .methodNotAllowed(template: byPath[0].row.path, allowed: Array(Set(byPath.map(\.row.method))).sorted())
        }
        let best = withMethod.map(\.literals).max()!
        let rows = withMethod.filter { $0.literals == best }
        return .rows(rows.map(\.row), parameters: rows[0].parameters)
    }

    /// What a call needs: every row's action and dependencies with their URNs. `route` is the
    /// call's match when the caller has routed it already.
    public func plan(_ request: APIRequest, route known: RouteMatch? = nil) throws(APIAuthorizationError) -> APIPlan {
        guard let service = catalog.service(named: request.service) else {
            throw APIAuthorizationError(
                message: "unknown service \"\(request.service)\"; catalogued: \(catalog.services.map(\.name).joined(separator: ", "))")
        }
        if let id = request.operation { return try plan(operation: id, of: service, request) }
        let path = Self.normalize(request.path)
        let method = request.method.uppercased()
        let rows: [APIRow]
        let parameters: [String: String]
        switch known ?? route(service: request.service, method: method, path: path) {
        case .noMatch:
            let closest = Self.closestTemplates(to: path, in: service.apis.map(\.path))
            throw APIAuthorizationError(
                message: "no \(service.name) API matches \(method) \(path); closest known paths: \(closest.joined(separator: ", "))")
        case .methodNotAllowed(let template, let methods):
            throw APIAuthorizationError(message: "\(method) is not supported on \(template); supported methods: \(methods.joined(separator: ", "))")
        case .rows(let matched, let matchedParameters):
            rows = matched
            parameters = matchedParameters
        }
        let knownCases = Set(rows.compactMap { $0.requiredOnly?.id })
        for id in request.cases where !knownCases.contains(id) {
            let options = knownCases.isEmpty ? "this call has no qualified rows" : "its cases: \(knownCases.sorted().joined(separator: ", "))"
            throw APIAuthorizationError(message: "unknown case \"\(id)\" for \(method) \(rows[0].path); \(options)")
        }
        var items: [APIPlan.Item] = []
        var seen: Set<String> = []
        var notApplied: [APIRow] = []
        func add(_ action: String, row: APIRow, isDependency: Bool, resource: String) {
            if seen.insert(action.lowercased() + "\u{0}" + resource).inserted {
                items.append(APIPlan.Item(action: action, resource: resource, row: row, isDependency: isDependency))
            }
        }
        for row in rows {
            if let qualifier = row.requiredOnly, !request.cases.contains(qualifier.id) {
                notApplied.append(row)
                continue
            }
            let primary = resourceURN(for: row.action, service: service, request: request, parameters: parameters, primary: nil)
            add(row.action, row: row, isDependency: false, resource: primary)
            for dependency in row.dependencies {
                let resource = resourceURN(for: dependency, service: service, request: request, parameters: parameters, primary: primary)
                add(dependency, row: row, isDependency: true, resource: resource)
            }
        }
        return APIPlan(checks: items, notApplied: notApplied, parameters: parameters)
    }

    /// What a schema operation needs (SPEC §12): its action on `resource` when given, else on its
    /// resource type's URN with the parts the request does not give as `*`; its dependent
    /// actions on `*`.
    private func plan(operation id: String, of service: ServiceCatalog, _ request: APIRequest) throws(APIAuthorizationError) -> APIPlan {
        guard let operation = service.operation(id) else {
            if service.operations.isEmpty {
                throw APIAuthorizationError(
                    message: "\(service.name) has no operations in its catalog (only a Huawei schema gives them); name the call by method and path")
            }
            let closest = EditDistance.closest(to: id, in: service.operations.map(\.id), maxDistance: max(3, id.count / 3))
            throw APIAuthorizationError(
                message: "unknown operation \"\(id)\" of \(service.name)\(closest.map { "; did you mean \($0)?" } ?? "")")
        }
        let row = APIRow(operation: operation)
        var items = [
            APIPlan.Item(
                action: operation.action,
                resource: request.resource
                    ?? resourceURN(for: operation.action, service: service, request: request, parameters: [:], primary: nil), row: row,
                isDependency: false)
        ]
        var seen: Set<String> = [operation.action.lowercased() + "\u{0}" + items[0].resource]
        for dependent in operation.dependentActions where seen.insert(dependent.lowercased() + "\u{0}*").inserted {
            items.append(APIPlan.Item(action: dependent, resource: "*", row: row, isDependency: true))
        }
        return APIPlan(checks: items, notApplied: [], parameters: [:])
    }

    /// The URN an action is checked on: from its resource type's template, the region, the
    /// account and the path parameters (`*` for parts the path does not give); `*` for actions
    /// without a resource type. A same-service dependency that no action table describes is
    /// checked on the row's own resource; other services' dependencies on `*`.
    func resourceURN(for action: String, service: ServiceCatalog, request: APIRequest, parameters: [String: String], primary: String?) -> String {
        let prefix = ServicePrefix.of(action).lowercased()
        guard let definition = catalog.action(named: action) else {
            return prefix == service.name.lowercased() ? (primary ?? "*") : "*"
        }
        guard let typeName = (definition.resources.first { $0.required } ?? definition.resources.first)?.type,
            let type = catalog.resourceType(typeName, in: prefix)
        else { return "*" }
        if let override = request.resource { return override }
        return Self.fill(template: type.urn, region: request.region, account: request.accountID, parameters: parameters)
    }

    /// `ims:<region>:<account-id>:image:<image-id>` with `{image_id}` = img-1 → `ims:r:a:image:img-1`.
    static func fill(template: String, region: String, account: String, parameters: [String: String]) -> String {
        // Byte-wise: `<` and `>` are ASCII, so they never split a character of the template.
        var out: [UInt8] = []
        out.reserveCapacity(template.utf8.count + 32)
        var nameStart: String.UTF8View.Index?
        let bytes = template.utf8
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "<") {
                nameStart = bytes.index(after: i)
            } else if b == UInt8(ascii: ">"), let start = nameStart {
                let name = String(Substring(bytes[start..<i]))
                out.append(contentsOf: value(forPlaceholder: name, region: region, account: account, parameters: parameters).utf8)
                nameStart = nil
            } else if nameStart == nil {
                out.append(b)
            }
            i = bytes.index(after: i)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Placeholder names of URN templates mapped to path parameter names.
    static func value(forPlaceholder name: String, region: String, account: String, parameters: [String: String]) -> String {
        switch name {
        case "region": return region.isEmpty ? "*" : region
        case "account-id": return account.isEmpty ? "*" : account
        default:
            // Byte-wise, not Foundation's replacingOccurrences: this runs for every URN of every call.
            var key = String(decoding: name.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
            if key.hasSuffix("_name") { key = String(key.dropLast(5)) }
            if let v = parameters[key] { return v }
            if key == "repo", let v = parameters["repository"] { return v }
            return parameters[removingIDs(key)] ?? "*"
        }
    }

    /// `key` with every `_id` taken out (`image_id` → `image`).
    static func removingIDs(_ key: String) -> String {
        let bytes = Array(key.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count, bytes[i] == UInt8(ascii: "_"), bytes[i + 1] == UInt8(ascii: "i"), bytes[i + 2] == UInt8(ascii: "d") {
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func normalize(_ path: String) -> String {
        // Byte-wise (`?`, `#` and `/` are ASCII): every routed call passes here.
        var p = path.utf8[...]
        if let end = p.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { p = p[..<end] }
        if p.count > 1 && p.last == UInt8(ascii: "/") { p = p.dropLast() }
        let text = String(Substring(p))
        return p.first == UInt8(ascii: "/") ? text : "/" + text
    }

    static func segments(_ path: String) -> [Substring] {
        // Split as bytes (`/` is ASCII): splitting by Character costs at every routed call.
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst().map { Substring($0) }
    }

    /// Parameters and the number of literal segments when the template matches.
    private static func match(_ template: [Segment], segments: [Substring]) -> ([String: String], Int)? {
        guard template.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        var literals = 0
        for (part, segment) in zip(template, segments) {
            switch part {
            case .parameter(let name):
                guard !segment.isEmpty, let decoded = PercentCoding.decode(segment.utf8) else { return nil }
                parameters[name] = decoded
            case .literal(let literal):
                guard literal == segment else { return nil }
                literals += 1
            }
        }
        return (parameters, literals)
    }

    /// Up to three templates nearest to the path (edit distance), for error messages.
    static func closestTemplates(to path: String, in templates: [String]) -> [String] {
        let unique = Array(Set(templates))
        return unique.map { ($0, EditDistance.distance(path, $0)) }
            .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            .prefix(3).map(\.0)
    }
}
