import BulwarkContract
import BulwarkEngine
public import BulwarkJSON
import BulwarkRuntime
import BulwarkStore
public import BulwarkValidation
import HTTPTypes
import Hummingbird

/// A refused HTTP request: status, a stable code, a message a person understands, and
/// where in the body the problem is. Rendered as `{"error": {"code", "message", "path", …}}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    /// Stable machine-readable code, e.g. `invalid_json`, `not_found`, `invalid_policy`.
    public let code: String
    public let message: String
    /// JSON path in the request body, when the problem is in the body.
    public let path: JSONPath?
    public let location: SourceLocation?
    /// Validation findings, for a refused policy.
    public let findings: [Finding]
    /// For a 405: the methods the path allows (the `Allow` header).
    public var allowedMethods: [String] = []
    /// For a refused import: every problem, `FILE:LINE:COL: message`.
    public var problems: [String] = []

    public init(
        status: Int, code: String, message: String, path: JSONPath? = nil, location: SourceLocation? = nil,
        findings: [Finding] = []
    ) {
        self.status = status
        self.code = code
        // Values inside messages are excerpts already; this bounds messages that list many.
        self.message = Excerpt.message(message)
        self.path = path
        self.location = location
        self.findings = findings
    }

    public var description: String { "\(status) \(code): \(message)" }

    /// The JSON body of the error response.
    public var body: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("error")
        json.beginObject()
        json.field("code", code)
        json.field("message", message)
        json.field("path", path?.description)
        if let location {
            json.field("line", location.line)
            json.field("column", location.column)
        }
        if !findings.isEmpty {
            json.key("findings")
            ValidationReport.writeFindings(findings, into: &json)
        }
        if !problems.isEmpty { json.field("problems", problems) }
        json.endObject()
        json.endObject()
        json.newline()
        return json.bytes
    }

    // MARK: Common errors

    /// A located error of the body, answered with `status` and `code`; `suffix` names the flag of a limit.
    init(status: Int, code: String, _ error: some LocatedError, suffix: String = "") {
        self.init(status: status, code: code, message: error.message + suffix, path: error.path, location: error.location)
    }

    static func invalidBody(_ error: AuthorizationInputError) -> APIError { APIError(status: 400, code: "invalid_request", error) }

    /// A contract document (SPEC §3, §4) the decoder refused, with the status its kind calls for.
    static func input(_ error: AuthorizationInputError) -> APIError {
        switch error.kind {
        case .syntax: APIError(status: 400, code: "invalid_json", error)
        case .invalid: invalidBody(error)
        case .tooManyRequests: APIError(status: 413, code: "batch_too_large", error, suffix: " (--max-batch-requests): split the batch")
        case .tooManyStatements: APIError(status: 413, code: "too_many_statements", error, suffix: " (--max-inline-statements)")
        }
    }

    static func invalidJSON(_ error: JSONSyntaxError) -> APIError { APIError(status: 400, code: "invalid_json", error) }

    static func badRequest(_ message: String, path: JSONPath? = nil, location: SourceLocation? = nil) -> APIError {
        APIError(status: 400, code: "invalid_request", message: message, path: path, location: location)
    }

    static func notFound(_ message: String) -> APIError {
        APIError(status: 404, code: "not_found", message: message)
    }

    static func management(_ error: ManagementError) -> APIError {
        switch error.kind {
        case .invalid: APIError(status: 400, code: "invalid_request", message: error.message, path: error.path)
        case .notFound: APIError(status: 404, code: "not_found", message: error.message, path: error.path)
        case .conflict: APIError(status: 409, code: "conflict", message: error.message, path: error.path)
        case .limitExceeded: APIError(status: 409, code: "limit_exceeded", message: error.message, path: error.path)
        case .invalidPolicy:
            APIError(
                status: 422, code: "invalid_policy", message: error.message, path: error.path,
                location: error.findings.first { $0.severity == .error }?.location, findings: error.findings)
        }
    }

    /// A management write the state keeper did not make.
    /// 400 `invalid_workspace`: the first problem in the message, all of them in `problems`.
    static func invalidWorkspace(_ failure: OrganizationImport.Failure) -> APIError {
        var error = APIError(status: 400, code: "invalid_workspace", message: failure.description)
        error.problems = Array(failure.problems.prefix(1000))
        return error
    }

    static func write(_ error: StateKeeper.WriteError) -> APIError {
        switch error {
        case .notReady: APIError(status: 503, code: "not_ready", message: "the store has not been loaded yet")
        case .refused(let error): management(error)
        case .storeUnavailable(let reason): APIError(status: 503, code: "store_unavailable", message: "the store refused the write: \(reason)")
        }
    }
}

extension APIError {
    /// The HTTP response: the JSON error body with the status, and `Allow` for a 405.
    /// (499, a client that hung up, is only counted; nobody reads its body.)
    var response: Response {
        let status: HTTPResponse.Status = self.status == 499 ? .init(code: 499, reasonPhrase: "Client Closed Request") : .init(code: self.status)
        var response = PDPServer.json(body, status: status)
        if !allowedMethods.isEmpty { response.headers[.allow] = allowedMethods.joined(separator: ", ") }
        return response
    }
}
