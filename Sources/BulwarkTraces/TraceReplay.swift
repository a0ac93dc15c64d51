public import BulwarkAPI
public import BulwarkCatalog
public import BulwarkEngine
import BulwarkOrganization
public import BulwarkPolicy
public import BulwarkWorkspace

/// A traced call decided under a workspace.
public struct TraceDecision: Sendable {
    public let traceID: String
    /// The principal's URN in the workspace (a session counts under its agency).
    public let principal: String
    /// The call's decision: allowed when every action it needs is.
    public let decision: Decision
    /// The action that decided: the first one denied, else the call's own action.
    public let action: String
    public let resource: String
    /// That action's result, with the statements that decided it.
    public let result: AuthorizationResult
    /// Every action the call needed (its own and its dependencies).
    public let actions: [String]
}

/// What became of a trace.
public enum TraceOutcome: Sendable {
    case decided(TraceDecision)
    /// The trace maps to no principal or call the workspace and catalogs know: reported, never dropped.
    case unmapped(traceID: String, reason: String)
}

/// Decides traced calls under one workspace (SPEC §14): each trace becomes the API call it
/// records, made by the principal it names, in the context it records (source IP, time, and
/// the principal's own keys), and is decided as `authorize-api` would.
///
/// A trace is mapped to its call by `operation_id` through the service's schema operations,
/// else by `http_method` and the path of `resource_url`; its region is the `endpoint`'s
/// (`ims.cn-north-4.…` → `cn-north-4`, else `*`). Principals are resolved once and kept.
public struct TraceReplayer: Sendable {
    public let workspace: Workspace
    public let catalog: Catalog
    private let router: APIRouter
    private var principals: [String: Result<(ResolvedPrincipal, APIAuthorizer), TraceUnmapped>] = [:]

    public init(workspace: Workspace, catalog: Catalog) {
        self.workspace = workspace
        self.catalog = catalog
        self.router = APIRouter(catalog: catalog)
    }

    /// Decides one trace, or says why it cannot be.
    public mutating func decide(_ trace: CTSTrace) -> TraceOutcome {
        switch map(trace) {
        case .failure(let unmapped): return .unmapped(traceID: trace.traceID, reason: unmapped.reason)
        case .success(let (principal, authorizer, request)):
            let result: APIAuthorizationResult
            do { result = try authorizer.authorize(request) } catch {
                return .unmapped(traceID: trace.traceID, reason: error.message)
            }
            guard let first = result.checks.first else {
                return .unmapped(traceID: trace.traceID, reason: "the call needs no action the catalog knows")
            }
            let deciding = result.checks.first { $0.result.decision == .deny } ?? first
            return .decided(
                TraceDecision(
                    traceID: trace.traceID, principal: principal.urn, decision: result.decision, action: deciding.action,
                    resource: deciding.resource, result: deciding.result, actions: result.checks.map(\.action)))
        }
    }

    /// The principal, its authorizer and the call a trace records.
    private mutating func map(_ trace: CTSTrace) -> Result<(ResolvedPrincipal, APIAuthorizer, APIRequest), TraceUnmapped> {
        let urn: String
        switch Self.principalURN(of: trace.user) {
        case .failure(let unmapped): return .failure(unmapped)
        case .success(let found): urn = found
        }
        let principal: ResolvedPrincipal
        let authorizer: APIAuthorizer
        switch resolve(urn) {
        case .failure(let unmapped): return .failure(unmapped)
        case .success(let found): (principal, authorizer) = found
        }
        var given = RequestContext()
        if let ip = trace.sourceIP, !ip.isEmpty { given.set("g:SourceIp", [.string(ip)]) }
        if let time = trace.time { given.set("g:CurrentTime", [.string(Self.iso8601(milliseconds: time))]) }
        return Self.request(of: trace, catalog: catalog, account: principal.account?.id, context: principal.context(adding: given)).map {
            (principal, authorizer, $0)
        }
    }

    /// The API call a trace records (without deciding it): by `operation_id` when the service's
    /// catalog has that operation, else by `http_method` and the path of `resource_url`.
    public static func request(
        of trace: CTSTrace, catalog: Catalog, account: String? = nil, context: RequestContext = RequestContext()
    ) -> Result<APIRequest, TraceUnmapped> {
        guard let service = catalog.service(named: trace.serviceType.lowercased()) else {
            return .failure(TraceUnmapped("service \(trace.serviceType) has no catalog (add its schema with --catalog)"))
        }
        let accountID = trace.resourceAccountID ?? trace.user.accountID ?? account ?? ""
        var request = APIRequest(
            service: service.name, method: "", path: "", region: region(ofEndpoint: trace.endpoint), accountID: accountID, context: context)
        if let id = trace.operationID, !id.isEmpty, service.operation(id) != nil {
            request.operation = id
        } else if let method = trace.httpMethod, !method.isEmpty, let url = trace.resourceURL, let path = path(ofURL: url) {
            request.method = method.uppercased()
            request.path = path
        } else {
            let operation = trace.operationID.map { "operation_id \($0) is not an operation of \(service.name)'s catalog, and " } ?? ""
            return .failure(TraceUnmapped("\(operation)the trace has no http_method with a resource_url to map it by"))
        }
        return .success(request)
    }

    private mutating func resolve(_ urn: String) -> Result<(ResolvedPrincipal, APIAuthorizer), TraceUnmapped> {
        if let known = principals[urn] { return known }
        let result: Result<(ResolvedPrincipal, APIAuthorizer), TraceUnmapped>
        do {
            let principal = try workspace.organization.resolve(principal: urn)
            let authorizer = APIAuthorizer(router: router, authorizer: Authorizer(policies: principal.policies, catalog: catalog))
            result = .success((principal, authorizer))
        } catch {
            result = .failure(TraceUnmapped("unknown principal \(urn): \(error.message)"))
        }
        principals[urn] = result
        return result
    }

    /// The workspace principal a trace's caller is: users by their URN, sessions under their agency.
    public static func principalURN(of user: CTSUser) -> Result<String, TraceUnmapped> {
        if let urn = user.principalURN, !urn.isEmpty {
            let parts = urn.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
            if parts.count == 5, parts[1].isEmpty {
                switch (parts[0], parts[3]) {
                case ("iam", "user"), ("iam", "agency"): return .success(urn)
                case ("sts", "assumed-agency"):
                    // sts::ACCOUNT:assumed-agency:AGENCY/SESSION: the session's agency decides.
                    let agency = parts[4].split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
                    if !agency.isEmpty { return .success("iam::\(parts[2]):agency:\(agency)") }
                default: break
                }
            }
        }
        switch user.type {
        case "AssumedAgency":
            // The name is DOMAIN/AGENCY.
            if let account = user.accountID, let name = user.name, let slash = name.lastIndex(of: "/") {
                return .success("iam::\(account):agency:\(name[name.index(after: slash)...])")
            }
        case "User":
            if let account = user.accountID, let name = user.name, !name.isEmpty { return .success("iam::\(account):user:\(name)") }
        case "ExternalUser":
            return .failure(TraceUnmapped("a federated user (ExternalUser) is no principal of a workspace"))
        default: break
        }
        return .failure(TraceUnmapped("the trace's user names no principal (no usable user.principal_urn, or type, account_id and name)"))
    }

    /// The region of an endpoint host: its second label when that looks like a region (`cn-north-4`), else `*`.
    public static func region(ofEndpoint endpoint: String?) -> String {
        guard let endpoint, !endpoint.isEmpty else { return "*" }
        // The host: after a scheme's `://`, up to a `/` or `:` (port); its labels split by dots.
        var host = endpoint.utf8[...]
        if let colon = host.firstIndex(of: UInt8(ascii: ":")), host[colon...].starts(with: "://".utf8) {
            host = host[host.index(colon, offsetBy: 3)...]
        }
        host = host.prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ":") }
        let labels = host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 3, labels[1].contains(UInt8(ascii: "-")) else { return "*" }
        return String(Substring(labels[1]))
    }

    /// The path of a URL (`https://host/v2/images?x=1` → `/v2/images?x=1`), or of a path as given.
    static func path(ofURL url: String) -> String? {
        if url.utf8.first == UInt8(ascii: "/") { return url }
        let bytes = url.utf8
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[colon...].starts(with: "://".utf8) else { return nil }
        let rest = bytes[bytes.index(colon, offsetBy: 3)...]
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return "/" }
        return String(Substring(rest[slash...]))
    }

    /// `2026-11-30T12:34:56Z` for milliseconds since 1970 (UTC, whole seconds: `Instant.isoText`).
    public static func iso8601(milliseconds: Int64) -> String {
        Instant(seconds: milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000).isoText
    }
}

/// Why a trace maps to no call.
public struct TraceUnmapped: Error, Sendable {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
}
