import BulwarkAPI
public import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy
public import BulwarkRuntime
public import BulwarkStore
import BulwarkValidation

/// What one decision request may ask for (SPEC §7): past a limit it is refused with 413
/// and the flag's name, before anything is decided.
public struct DecisionLimits: Sendable {
    /// Requests in one `requests` array (`--max-batch-requests`).
    public var maxBatchRequests = 10_000
    /// Statements in the inline policies of one body (`--max-inline-statements`).
    public var maxInlineStatements = 10_000

    public init() {}
}

/// The decision endpoints as functions from request bytes to response bytes: the same
/// library calls as the CLI, plus principals of the stored organization. No HTTP here.
public struct DecisionService: Sendable {
    public let catalog: Catalog
    public let limits: DecisionLimits
    private let validator: PolicyValidator
    /// Built once: the router splits every API template when it is made.
    private let router: APIRouter

    public init(catalog: Catalog, limits: DecisionLimits = DecisionLimits()) {
        self.catalog = catalog
        self.limits = limits
        self.validator = PolicyValidator(catalog: catalog)
        self.router = APIRouter(catalog: catalog)
    }

    /// A response body and the decisions it holds.
    public struct Reply: Sendable {
        public let body: [UInt8]
        public let records: [DecisionRecord]
    }

    /// `POST /v1/authorize` and `/v1/authorize/batch`: SPEC §3 bodies (inline policies) or
    /// `{"principal": URN, "request" | "requests": …}` against the stored organization.
    public func authorize(
        _ bytes: [UInt8], batchOnly: Bool, explain: Bool, snapshot: DecisionSnapshot, decisionID: String
    ) throws(APIError) -> Reply {
        let input: AuthorizationInput
        do { input = try AuthorizationInput.decode(bytes: bytes, options: contractOptions) } catch { throw APIError.input(error) }
        if batchOnly, !input.isBatch {
            throw APIError.badRequest(
                "the batch endpoint takes requests (an array); send one request to /v1/authorize", path: .root.appending(key: "request"),
                location: input.fields.locations["request"])
        }
        let caller = try storedCaller(input.fields, snapshot: snapshot, context: input.requests.first?.context ?? RequestContext())
        let stored = caller?.compiled
        let authorizer = stored?.authorizer ?? Authorizer(policies: input.policies, catalog: catalog)
        var requests = input.requests
        if let stored { requests = requests.map { $0.withContext(stored.resolved.context(adding: $0.context)) } }

        let isBatch = input.isBatch
        var json = JSONWriter(reservingCapacity: 128 + requests.count * 96)
        var records: [DecisionRecord] = []
        records.reserveCapacity(requests.count)
        json.beginObject()
        json.field("decisionId", decisionID)
        if let step = caller?.assume {
            json.key("assume")
            AuthorizationOutput.write(step.result, explanation: nil, into: &json)
        }
        if isBatch {
            json.key("results")
            json.beginArray()
        }
        for (i, request) in requests.enumerated() {
            // A refused assume decides nothing: every request is denied for it.
            let result = caller?.isRefused == true ? Self.assumeDenied : authorizer.authorize(request)
            if isBatch { json.beginObject() }
            AuthorizationOutput.writeFields(result, into: &json)
            if explain, caller?.isRefused != true { AuthorizationOutput.writeExplanation(authorizer.explain(request), into: &json) }
            if isBatch { json.endObject() }
            records.append(
                DecisionRecord(
                    decisionID: isBatch ? "\(decisionID)/\(i)" : decisionID, endpoint: "authorize", principal: caller?.urn,
                    request: request, result: result, policyVersions: stored?.policyVersions ?? [],
                    revision: caller == nil ? nil : snapshot.revision))
        }
        if isBatch { json.endArray() }
        json.endObject()
        json.newline()
        return Reply(body: json.bytes, records: records)
    }

    /// `POST /v1/authorize-api`: SPEC §4 with inline policies, or `{"principal", "apiRequest"}`
    /// (the account defaults to the principal's).
    public func authorizeAPI(_ bytes: [UInt8], snapshot: DecisionSnapshot, decisionID: String) throws(APIError) -> Reply {
        let input: APIAuthorizationInput
        do { input = try APIAuthorizationInput.decode(bytes: bytes, options: contractOptions) } catch { throw APIError.input(error) }
        var request = input.request
        let caller = try storedCaller(input.fields, snapshot: snapshot, context: request.context)
        if let caller, caller.isRefused, let step = caller.assume {
            let result = Self.assumeDenied
            let body = AuthorizationOutput.prefixing(Array("{\"checks\":[],\"notApplied\":[]}\n".utf8)) { json in
                json.field("decisionId", decisionID)
                json.key("assume")
                AuthorizationOutput.write(step.result, explanation: nil, into: &json)
                json.field("decision", result.decision.rawValue)
                json.field("reason", result.reason.rawValue)
            }
            let record = DecisionRecord(
                decisionID: decisionID, endpoint: "authorize-api", principal: caller.urn,
                request: AuthorizationRequest(action: Organization.assumeAction, resource: step.agency, context: request.context),
                result: result, policyVersions: [], revision: snapshot.revision)
            return Reply(body: body, records: [record])
        }
        let stored = caller?.compiled
        let authorizer: Authorizer
        if let stored {
            authorizer = stored.authorizer
            request.context = stored.resolved.context(adding: request.context)
            if request.accountID.isEmpty { request.accountID = stored.resolved.account?.id ?? "" }
        } else {
            authorizer = Authorizer(policies: input.policies, catalog: catalog)
        }
        let result: APIAuthorizationResult
        do { result = try APIAuthorizer(router: router, authorizer: authorizer).authorize(request) } catch {
            throw APIError(
                status: 400, code: "unknown_api", message: error.message, path: .root.appending(key: "apiRequest").appending(key: "path"),
                location: input.fields.locations["apiRequest"])
        }
        let records = result.checks.enumerated().map { i, check in
            DecisionRecord(
                decisionID: "\(decisionID)/\(i)", endpoint: "authorize-api", principal: caller?.urn,
                request: AuthorizationRequest(action: check.action, resource: check.resource, context: request.context),
                result: check.result, policyVersions: stored?.policyVersions ?? [], revision: stored == nil ? nil : snapshot.revision)
        }
        let body = AuthorizationOutput.prefixing(APIAuthorizationOutput.json(result)) { json in
            json.field("decisionId", decisionID)
            if let step = caller?.assume {
                json.key("assume")
                AuthorizationOutput.write(step.result, explanation: nil, into: &json)
            }
        }
        return Reply(body: body, records: records)
    }

    /// `POST /v1/validate`: `{"policy": object | text, "type": "identity" | "scp"}` →
    /// the findings of SPEC §6, located in this body.
    public func validate(_ bytes: [UInt8]) throws(APIError) -> [UInt8] {
        let body = try RequestBody(bytes, allowed: ["policy", "type"])
        let document = try body.requiredDocument("policy")
        let typeName = try body.string("type") ?? "identity"
        guard let type = PolicyType(rawValue: typeName) else {
            throw APIError.badRequest(
                "type must be identity, scp or trust, not \(Excerpt.quoted(typeName))", path: .root.appending(key: "type"),
                location: body["type"]?.location)
        }
        let findings = validator.validate(bytes: Array(document.text.utf8), type: type).map(document.relocated)
        return ValidationReport.json([FileReport(file: "request", findings: findings)], asArray: false)
    }

    /// `POST /v1/simulate`: `{"principal", "request" | "apiRequest"}` for a stored principal,
    /// answered with the decision, the context used and every statement's explanation.
    public func simulate(_ bytes: [UInt8], snapshot: DecisionSnapshot, decisionID: String) throws(APIError) -> Reply {
        let body = try RequestBody(bytes, allowed: ["principal", "session", "request", "apiRequest"])
        guard let urn = try body.string("principal") else {
            throw APIError.badRequest("missing principal", path: .root, location: body.root.location)
        }
        var stored = try principal(urn, snapshot: snapshot, path: .root.appending(key: "principal"), location: body["principal"]?.location)
        if body.has("apiRequest") {
            if body.has("request") {
                throw APIError.badRequest("give either request or apiRequest, not both", path: .root, location: body.root.location)
            }
            return try authorizeAPI(bytes, snapshot: snapshot, decisionID: decisionID)
        }
        guard let node = body["request"] else {
            throw APIError.badRequest("missing request (or apiRequest)", path: .root, location: body.root.location)
        }
        var request: AuthorizationRequest
        do { request = try RequestDecoding.request(node, path: .root.appending(key: "request")) } catch {
            throw APIError.invalidBody(error)
        }
        var step: AssumeStep?
        if let node = body["session"] {
            let assumed = try session(node, by: stored, context: request.context, snapshot: snapshot)
            step = assumed.step
            guard let session = assumed.session else {
                var json = JSONWriter()
                json.beginObject()
                json.field("decisionId", decisionID)
                json.key("assume")
                AuthorizationOutput.write(assumed.step.result, explanation: nil, into: &json)
                json.field("principal", assumed.step.session)
                AuthorizationOutput.writeFields(Self.assumeDenied, into: &json)
                json.endObject()
                json.newline()
                let record = DecisionRecord(
                    decisionID: decisionID, endpoint: "simulate", principal: assumed.step.session, request: request,
                    result: Self.assumeDenied, policyVersions: [], revision: snapshot.revision)
                return Reply(body: json.bytes, records: [record])
            }
            stored = session
        }
        request = request.withContext(stored.resolved.context(adding: request.context))
        let result = stored.authorizer.authorize(request)
        var json = JSONWriter()
        json.beginObject()
        json.field("decisionId", decisionID)
        if let step {
            json.key("assume")
            AuthorizationOutput.write(step.result, explanation: nil, into: &json)
        }
        json.field("principal", stored.resolved.urn)
        json.key("context")
        AuthorizationOutput.writeContext(request.context, into: &json)
        AuthorizationOutput.writeFields(result, into: &json)
        AuthorizationOutput.writeExplanation(stored.authorizer.explain(request), into: &json)
        json.endObject()
        json.newline()
        let record = DecisionRecord(
            decisionID: decisionID, endpoint: "simulate", principal: stored.resolved.urn, request: request, result: result,
            policyVersions: stored.policyVersions, revision: snapshot.revision)
        return Reply(body: json.bytes, records: [record])
    }

    // MARK: Helpers

    /// The contract with the server's `principal`, read up to the server's limits.
    private var contractOptions: ContractOptions {
        ContractOptions(extraFields: ["principal", "session"], maxRequests: limits.maxBatchRequests, maxInlineStatements: limits.maxInlineStatements)
    }

    /// The answer for every request of a session whose assume was refused.
    static let assumeDenied = AuthorizationResult(decision: .deny, reason: .assumeDenied, matched: [], scpLevel: nil)

    /// Who a body with `"principal"` decides for: that principal, or the session it assumes
    /// with `"session"` (SPEC §10). `compiled` is nil when the assume was refused.
    struct StoredCaller {
        let compiled: CompiledPrincipal?
        /// The principal's URN, or the session's (also when refused).
        let urn: String
        let assume: AssumeStep?
        var isRefused: Bool { compiled == nil }
    }

    private func storedCaller(_ fields: ContractFields, snapshot: DecisionSnapshot, context: RequestContext) throws(APIError) -> StoredCaller? {
        let stored = try storedPrincipal(fields, snapshot: snapshot)
        guard let node = fields.extras["session"] else { return stored.map { StoredCaller(compiled: $0, urn: $0.resolved.urn, assume: nil) } }
        guard let stored else {
            throw APIError.badRequest(
                "session needs principal: the stored principal that assumes the agency", path: .root.appending(key: "session"),
                location: node.location)
        }
        let (step, session) = try self.session(node, by: stored, context: context, snapshot: snapshot)
        return StoredCaller(compiled: session, urn: step.session, assume: step)
    }

    /// Reads `"session": {"agency", "sessionName", "sessionPolicies", "tags", "transitiveTagKeys",
    /// "sourceIdentity", "externalId"}` and decides the assume.
    private func session(_ node: JSONNode, by caller: CompiledPrincipal, context: RequestContext, snapshot: DecisionSnapshot) throws(APIError)
        -> (step: AssumeStep, session: CompiledPrincipal?)
    {
        let request: SessionRequest
        do { request = try SessionRequest.read(node, path: .root.appending(key: "session"), maxStatements: limits.maxInlineStatements) } catch {
            if error.isTooLarge {
                throw APIError(
                    status: 413, code: "too_many_statements", message: "\(error.message) (--max-inline-statements)", path: error.path,
                    location: error.location)
            }
            throw APIError.badRequest(error.message, path: error.path, location: error.location)
        }
        do { return try snapshot.session(request, by: caller, context: context) } catch {
            let path = JSONPath.root.appending(key: "session")
            switch error.kind {
            case .notFound:
                throw APIError(
                    status: 404, code: "unknown_principal", message: error.message, path: path.appending(key: "agency"), location: node.location)
            case .unavailable:
                throw APIError(
                    status: 503, code: "principal_unavailable", message: "\(error.message) (see /readyz)", path: path, location: node.location)
            case .invalidSession:
                throw APIError(status: 400, code: "invalid_session", message: error.message, path: path, location: node.location)
            }
        }
    }

    private func storedPrincipal(_ fields: ContractFields, snapshot: DecisionSnapshot) throws(APIError) -> CompiledPrincipal? {
        guard let node = fields.extras["principal"] else { return nil }
        let path = JSONPath.root.appending(key: "principal")
        guard case .string(let urn) = node.value else {
            throw APIError.badRequest("principal must be a string, found \(node.typeName)", path: path, location: node.location)
        }
        for key in ["identityPolicies", "scpLevels"] {
            if let location = fields.locations[key] {
                throw APIError.badRequest(
                    "\(key) cannot be combined with principal: a stored principal's policies come from the store", path: .root.appending(key: key),
                    location: location)
            }
        }
        return try principal(urn, snapshot: snapshot, path: path, location: node.location)
    }

    private func principal(_ urn: String, snapshot: DecisionSnapshot, path: JSONPath, location: SourceLocation?) throws(APIError) -> CompiledPrincipal
    {
        do { return try snapshot.principal(urn) } catch {
            switch error.kind {
            case .notFound:
                throw APIError(status: 404, code: "unknown_principal", message: error.message, path: path, location: location)
            case .unavailable:
                throw APIError(status: 503, code: "principal_unavailable", message: "\(error.message) (see /readyz)", path: path, location: location)
            case .invalidSession:
                throw APIError(status: 400, code: "invalid_session", message: error.message, path: path, location: location)
            }
        }
    }
}

extension AuthorizationRequest {
    /// The same request with another context.
    func withContext(_ context: RequestContext) -> AuthorizationRequest {
        AuthorizationRequest(action: action, resource: resource, context: context)
    }
}
