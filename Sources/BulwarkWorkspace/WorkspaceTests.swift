public import BulwarkAPI
public import BulwarkCatalog
import BulwarkContract
public import BulwarkEngine
public import BulwarkJSON
public import BulwarkOrganization
public import BulwarkPolicy
import Foundation

/// One expected decision from a test file.
public struct WorkspaceTestCase: Sendable {
    public let file: String
    public let name: String
    public let location: SourceLocation
    public let principal: String
    /// An action request, or an API call when `api` is set.
    public let action: String?
    public let resource: String
    public let api: APIRequest?
    public let context: RequestContext
    public let expect: Decision
    public let reason: DecisionReason?
    /// Decide as the session `principal` gets by assuming an agency (SPEC §10).
    public let session: SessionRequest?
}

/// The outcome of one test: passed, or what happened instead and why.
public struct WorkspaceTestOutcome: Sendable {
    public let test: WorkspaceTestCase
    public let passed: Bool
    /// For failures: what was decided, and the explanation.
    public let details: String
}

/// Reads test files and runs them against a workspace.
public enum WorkspaceTestRunner {
    /// Parses a test file: `tests: [{name, principal, [session], action, resource, context, expect, reason} | {..., api: {...}}]`.
    public static func cases(file: String, text: String) throws(WorkspaceProblemError) -> [WorkspaceTestCase] {
        let node: JSONNode
        do { node = try DocumentReader.read(text, fileName: file) } catch {
            throw WorkspaceProblemError(problem: WorkspaceProblem(file: file, location: error.location, message: "syntax error: \(error.message)"))
        }
        var out: [WorkspaceTestCase] = []
        for (i, item) in Fields(node).array("tests").enumerated() {
            let f = Fields(item)
            func fail(_ message: String) -> WorkspaceProblemError {
                WorkspaceProblemError(problem: WorkspaceProblem(file: file, location: item.location, message: "test \(i): \(message)"))
            }
            guard let principal = f.string("principal") else { throw fail("needs principal") }
            guard let expectText = f.string("expect"), let expect = Decision(rawValue: expectText) else { throw fail("needs expect: allow or deny") }
            var reason: DecisionReason?
            if let r = f.string("reason") {
                guard let parsed = DecisionReason(rawValue: r) else { throw fail("unknown reason \"\(r)\"") }
                reason = parsed
            }
            var context = RequestContext()
            if let c = f["context"] {
                do {
                    context = try RequestDecoding.context(
                        c, path: JSONPath.root.appending(key: "tests").appending(index: i).appending(key: "context"))
                } catch {
                    throw WorkspaceProblemError(problem: WorkspaceProblem(file: file, location: error.location, message: error.message))
                }
            }
            var api: APIRequest?
            if let a = f["api"] {
                let af = Fields(a)
                guard let service = af.string("service"), let method = af.string("method"), let path = af.string("path") else {
                    throw fail("api needs service, method and path")
                }
                api = APIRequest(
                    service: service, method: method, path: path, region: af.string("region") ?? "", accountID: af.string("accountId") ?? "",
                    context: context, cases: af.array("cases").compactMap(Fields.stringValue), resource: af.string("resource"))
            }
            var session: SessionRequest?
            if let node = f["session"] {
                do {
                    session = try SessionRequest.read(node, path: JSONPath.root.appending(key: "tests").appending(index: i).appending(key: "session"))
                } catch {
                    throw WorkspaceProblemError(
                        problem: WorkspaceProblem(file: file, location: error.location, message: "test \(i): \(error.message)"))
                }
            }
            let action = f.string("action")
            if action == nil && api == nil { throw fail("needs action (or api)") }
            out.append(
                WorkspaceTestCase(
                    file: file, name: f.string("name") ?? "test \(i)", location: item.location, principal: principal, action: action,
                    resource: f.string("resource") ?? "*", api: api, context: context, expect: expect, reason: reason, session: session))
        }
        return out
    }

    /// Runs one test.
    public static func run(_ test: WorkspaceTestCase, workspace: Workspace, catalog: Catalog) -> WorkspaceTestOutcome {
        var resolved: ResolvedPrincipal
        do { resolved = try workspace.organization.resolve(principal: test.principal) } catch {
            return WorkspaceTestOutcome(test: test, passed: false, details: error.message)
        }
        if let session = test.session {
            let assumed: (step: AssumeStep, session: ResolvedPrincipal?)
            do { assumed = try workspace.organization.assume(session, by: resolved, context: test.context, catalog: catalog) } catch {
                return WorkspaceTestOutcome(test: test, passed: false, details: error.message)
            }
            guard let granted = assumed.session else {
                // Refused: the request is denied for it (assume_denied).
                let passed = test.expect == .deny && (test.reason == nil || test.reason == .assumeDenied)
                let step = assumed.step.result
                return WorkspaceTestOutcome(
                    test: test, passed: passed,
                    details: passed ? "" : "DENY (assume_denied): assuming \(assumed.step.agency) was refused (\(step.reason.rawValue))")
            }
            resolved = granted
        }
        let authorizer = Authorizer(policies: resolved.policies, catalog: catalog)
        let context = resolved.context(adding: test.context)
        if var api = test.api {
            api.context = context
            if api.accountID.isEmpty { api.accountID = resolved.account?.id ?? "" }
            do {
                let result = try APIAuthorizer(catalog: catalog, authorizer: authorizer).authorize(api)
                let passed =
                    result.decision == test.expect
                    && (test.reason == nil || result.checks.contains { $0.result.reason == test.reason })
                return WorkspaceTestOutcome(test: test, passed: passed, details: passed ? "" : APIAuthorizationOutput.text(result, request: api))
            } catch {
                return WorkspaceTestOutcome(test: test, passed: false, details: error.message)
            }
        }
        let request = AuthorizationRequest(action: test.action ?? "", resource: test.resource, context: context)
        let result = authorizer.authorize(request)
        let passed = result.decision == test.expect && (test.reason == nil || result.reason == test.reason)
        let details = passed ? "" : AuthorizationOutput.text(result, request: request, explanation: authorizer.explain(request))
        return WorkspaceTestOutcome(test: test, passed: passed, details: details)
    }
}

/// A workspace problem thrown where one problem stops the work (e.g. a malformed test file).
public struct WorkspaceProblemError: Error, Sendable, CustomStringConvertible {
    public let problem: WorkspaceProblem
    public var description: String { problem.description }
}
