public import BulwarkAPI
public import BulwarkCatalog
public import BulwarkEngine
import BulwarkJSON
public import BulwarkOrganization
public import BulwarkPolicy

/// Where a call goes: its service and the API rows it matched, with the path parameters.
/// Found once per call and used for the context, the checks and the log.
public struct CallRoute: Sendable {
    public let service: String
    /// The most specific rows for the method (never empty).
    public let rows: [APIRow]
    /// Path parameters, percent-decoded once.
    public let parameters: [String: String]

    /// `METHOD /template` of the first row, as the catalog writes it.
    public var row: String { "\(rows[0].method) \(rows[0].path)" }
}

/// The decision on one authenticated call, and what it was made on.
public struct CallDecision: Sendable {
    /// The request context every check was decided with.
    public let context: RequestContext
    /// Every required action and dependency, for every resource the call names.
    public let checks: [APICheck]

    /// The first check that was denied; nil when the call is allowed.
    public var denied: APICheck? { checks.first { $0.result.decision == .deny } }
}

/// What an enforcement point does with a call between authenticating it and forwarding it,
/// as pure functions (no I/O), so the gateway and the fuzzers run the same code: find the API
/// row, read the body strictly, build the context for that row, and decide every check.
/// Anything it cannot read or resolve is a `CallRefusal`, never a decision without it.
public struct CallDecider: Sendable {
    public let catalog: Catalog
    /// Region used in resource URNs (`ims:<region>:<account>:image:<id>`).
    public let region: String
    /// Services whose APIs calls may reach, in the order a path is tried against them.
    public let services: [String]
    public let trustedProxies: [IPAddressRange]
    /// Built once: every template of the catalog split ahead of calls.
    private let router: APIRouter
    /// Which rows document which request field, from the catalog.
    public let fields: RequestFieldTable

    /// Throws when the catalog names a request field the gateway cannot read.
    public init(catalog: Catalog, region: String, services: [String], trustedProxies: [IPAddressRange]) throws(RequestFieldTable.UnknownField) {
        self.catalog = catalog
        self.region = region
        self.services = services
        self.trustedProxies = trustedProxies
        self.router = APIRouter(catalog: catalog)
        self.fields = try RequestFieldTable(catalog: catalog)
    }

    /// The service and API rows of a call: 404 when no service has the path, 405 with
    /// `Allow` when one has the path but not the method.
    public func route(method: String, target: CallTarget) throws(CallRefusal) -> CallRoute {
        var allowed: (template: String, methods: [String])?
        for service in services {
            // The encoded form: the router decodes path parameters once, back to the segments.
            switch router.route(service: service, method: method, path: target.forwardedPath) {
            case .rows(let rows, let parameters): return CallRoute(service: service, rows: rows, parameters: parameters)
            case .methodNotAllowed(let template, let methods): allowed = allowed ?? (template, methods)
            case .noMatch: continue
            }
        }
        if let allowed {
            throw CallRefusal(
                "\(Excerpt.of(method)) is not supported on \(allowed.template); supported methods: \(allowed.methods.joined(separator: ", "))",
                status: 405, headers: [("Allow", allowed.methods.joined(separator: ", "))])
        }
        throw CallRefusal("no API of \(services.joined(separator: " or ")) matches \(Excerpt.of(method)) \(Excerpt.of(target.path))", status: 404)
    }

    /// Decides a call that took `route`, for `principal`. The body is read
    /// with the strict reader (duplicate keys, a byte-order mark, other encodings, nesting
    /// past 64 are refused); its fields feed only the row that documents them.
    public func decide(
        method: String, target: CallTarget, route: CallRoute, body: [UInt8], facts: CallFacts,
        principal: ResolvedPrincipal, authorizer: Authorizer, organization: Organization
    ) throws(CallRefusal) -> CallDecision {
        let json: JSONNode?
        if body.isEmpty {
            json = nil
        } else {
            var reader = JSONReader(bytes: body)
            do { json = try reader.readDocument() } catch {
                throw CallRefusal("the body is not JSON the gateway can read, so it cannot be authorized: \(error)")
            }
        }
        let (service, row) = (route.service, route.row)
        let builder = CallContextBuilder(organization: organization, trustedProxies: trustedProxies, fields: fields)
        let context = principal.context(adding: try builder.context(for: facts, body: json, target: target, row: row))
        let accountID = principal.account?.id ?? ""
        let resources: [String?] =
            try builder.bodyResources(body: json, row: row)?
            .map { "\(service):\(region):\(accountID):image:\($0)" } ?? [nil]
        let cases = CallContextBuilder.cases(method: method, path: target.path, body: json)
        let authorizer = APIAuthorizer(router: router, authorizer: authorizer)
        let match = APIRouter.RouteMatch.rows(route.rows, parameters: route.parameters)
        var checks: [APICheck] = []
        for resource in resources {
            let request = APIRequest(
                service: service, method: method, path: target.forwardedPath, region: region, accountID: accountID,
                context: context, cases: cases, resource: resource)
            do { checks += try authorizer.authorize(request, route: match).checks } catch { throw CallRefusal(error.message) }
        }
        return CallDecision(context: context, checks: checks)
    }
}
