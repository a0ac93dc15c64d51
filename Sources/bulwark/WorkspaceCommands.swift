import ArgumentParser
import BulwarkAPI
import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy
import BulwarkValidation
import BulwarkWorkspace
import Foundation

/// Loads a workspace; any problem stops commands that decide (exit 2), listing every problem.
func loadWorkspace(_ directory: String, catalog: Catalog) throws(CLIError) -> Workspace {
    let workspace = Workspace.load(directory: directory, catalog: catalog)
    if !workspace.problems.isEmpty {
        let lines = workspace.problems.map { "\(directory)/\($0)" }
        throw CLIError.invalidInput("the workspace has \(workspace.problems.count) problem(s):\n" + lines.joined(separator: "\n"))
    }
    return workspace
}

/// `--workspace` and `--principal`, resolved together (the catalog, the loaded workspace, the principal).
struct PrincipalFlags: ParsableArguments {
    @Option(name: .long, help: "The workspace directory.") var workspace: String
    @Option(name: .long, help: "iam::ACCOUNT:user:NAME or iam::ACCOUNT:agency:NAME.") var principal: String
    @OptionGroup var catalogs: CatalogFlags

    func resolve() throws(CLIError) -> (catalog: Catalog, principal: ResolvedPrincipal) {
        let (catalog, _, resolved) = try resolveInWorkspace()
        return (catalog, resolved)
    }

    func resolveInWorkspace() throws(CLIError) -> (catalog: Catalog, workspace: Workspace, principal: ResolvedPrincipal) {
        let catalog = try catalogs.load(workspaces: [workspace])
        let ws = try loadWorkspace(workspace, catalog: catalog)
        do { return (catalog, ws, try ws.organization.resolve(principal: principal)) } catch { throw CLIError.invalidInput(error.message) }
    }
}

/// `bulwark simulate`: decide a request for a principal of the workspace.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Decide a request for a principal of a workspace, with its policies, groups and SCP path, and explain it."
    )

    @OptionGroup var who: PrincipalFlags
    @Option(name: .long, help: "The action (or use --service/--method/--path for an API call).") var action: String?
    @Option(name: .long, help: "The resource URN (default *).") var resource: String = "*"
    @Option(name: .long, help: "API form: service.") var service: String?
    @Option(name: .long, help: "API form: HTTP method.") var method: String?
    @Option(name: .long, help: "API form: a schema operation id instead of --method and --path (SPEC §12).") var operation: String?
    @Option(name: .long, help: "API form: concrete path.") var path: String?
    @Option(name: .long, help: "API form: region.") var region: String = ""
    @Option(name: .customLong("case"), help: "API form: a qualified row's case id (repeatable).") var cases: [String] = []
    @OptionGroup var context: ContextFlags
    @OptionGroup var sessionFlags: SessionFlags
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

    func validate() throws {
        if operation != nil && (method != nil || path != nil || !cases.isEmpty) {
            throw ValidationError("--operation names the call: leave out --method, --path and --case")
        }
        if action == nil && (service == nil || (operation == nil && (method == nil || path == nil))) {
            throw ValidationError("give --action, or --service with --method and --path (or --operation)")
        }
        try sessionFlags.validate()
    }

    func run() throws {
        let (catalog, ws, caller) = try who.resolveInWorkspace()
        let given = try context.load()
        // With --assume, the request is made by the session at the end of the chain.
        var resolved = caller
        var steps: [AssumeStep] = []
        if !sessionFlags.assume.isEmpty {
            let requests = try sessionFlags.requests()
            let chain: (steps: [AssumeStep], session: ResolvedPrincipal?)
            do { chain = try ws.organization.assume(chain: requests, by: caller, context: given, catalog: catalog) } catch {
                throw CLIError.invalidInput(error.message)
            }
            steps = chain.steps
            guard let session = chain.session else {
                try printRefused(steps)
                return
            }
            resolved = session
        }
        let authorizer = Authorizer(policies: resolved.policies, catalog: catalog)
        let requestContext = resolved.context(adding: given)
        if let service, operation != nil || (method != nil && path != nil) {
            var request = APIRequest(
                service: service, method: method ?? "", path: path ?? "", region: region, accountID: resolved.account?.id ?? "",
                context: requestContext, cases: cases)
            request.operation = operation
            let result: APIAuthorizationResult
            do { result = try APIAuthorizer(catalog: catalog, authorizer: authorizer).authorize(request) } catch {
                throw CLIError.invalidInput(error.message)
            }
            switch format {
            case .json:
                let body = APIAuthorizationOutput.json(result)
                Console.write(
                    steps.isEmpty
                        ? body
                        : AuthorizationOutput.prefixing(body) { json in
                            writeSteps(steps, into: &json)
                            json.field("principal", resolved.urn)
                        })
            case .text:
                printSteps(steps)
                Console.print("principal: \(resolved.urn)")
                Console.write(Array(APIAuthorizationOutput.text(result, request: request).utf8))
                for check in result.checks where check.result.decision == .deny {
                    let r = AuthorizationRequest(action: check.action, resource: check.resource, context: requestContext)
                    Console.print(AuthorizationOutput.text(check.result, request: r, explanation: authorizer.explain(r)))
                }
            }
            return
        }
        let request = AuthorizationRequest(action: action!, resource: resource, context: requestContext)
        let result = authorizer.authorize(request)
        let explanation = authorizer.explain(request)
        switch format {
        case .json:
            var json = JSONWriter()
            if steps.isEmpty {
                AuthorizationOutput.write(result, explanation: explanation, into: &json)
            } else {
                json.beginObject()
                writeSteps(steps, into: &json)
                json.field("principal", resolved.urn)
                AuthorizationOutput.writeFields(result, into: &json)
                AuthorizationOutput.writeExplanation(explanation, into: &json)
                json.endObject()
            }
            json.newline()
            Console.write(json.bytes)
        case .text:
            printSteps(steps)
            Console.print("principal: \(resolved.urn)")
            Console.print(
                "context: " + requestContext.keys.map { k in "\(k)=\(requestContext[k]!.map(\.text).joined(separator: ","))" }.joined(separator: " "))
            Console.print(AuthorizationOutput.text(result, request: request, explanation: explanation))
        }
    }

    /// `"assume"`: one object, or an array for a chain (SPEC §10).
    private func writeSteps(_ steps: [AssumeStep], into json: inout JSONWriter) {
        json.key("assume")
        if steps.count > 1 || sessionFlags.assume.count > 1 { json.beginArray() }
        for step in steps { AuthorizationOutput.write(step.result, explanation: nil, into: &json) }
        if steps.count > 1 || sessionFlags.assume.count > 1 { json.endArray() }
    }

    private func printSteps(_ steps: [AssumeStep]) {
        for step in steps {
            let statements = step.result.matched.map { "\($0.policyID)#\($0.statementIndex)\($0.sid.map { " (\($0))" } ?? "")" }
            Console.print(
                "assume \(step.agency) as \(step.session): \(step.result.decision.rawValue) (\(step.result.reason.rawValue))"
                    + (statements.isEmpty ? "" : " by " + statements.joined(separator: ", ")))
        }
    }

    /// The chain stopped: the request is denied with `assume_denied`, decided by nobody.
    private func printRefused(_ steps: [AssumeStep]) throws {
        let refused = AuthorizationResult(decision: .deny, reason: .assumeDenied, matched: [], scpLevel: nil)
        switch format {
        case .json:
            var json = JSONWriter()
            json.beginObject()
            writeSteps(steps, into: &json)
            json.field("principal", steps.last?.session ?? "")
            AuthorizationOutput.writeFields(refused, into: &json)
            json.endObject()
            json.newline()
            Console.write(json.bytes)
        case .text:
            printSteps(steps)
            Console.print("principal: \(steps.last?.session ?? "")")
            Console.print("DENY (assume_denied)\n  the agency could not be assumed, so nothing is done with the session")
        }
    }
}

/// `--assume` and what a session is asked for with (SPEC §10).
struct SessionFlags: ParsableArguments {
    @Option(name: .long, help: "Assume this agency (iam::ACCOUNT:agency:NAME) first; repeat for a chain.") var assume: [String] = []
    @Option(name: .long, help: "The session name: once for every step, or once per --assume.") var sessionName: [String] = []
    @Option(name: .long, help: "A session policy file for the last session (repeatable).") var sessionPolicy: [String] = []
    @Option(name: .long, help: "A session tag KEY=VALUE, set by the first assume (repeatable).") var sessionTag: [String] = []
    @Option(name: .long, help: "A session tag key that later sessions of the chain inherit (repeatable).") var transitiveTagKey: [String] = []
    @Option(name: .long, help: "The source identity, set by the first assume and carried through the chain.") var sourceIdentity: String?
    @Option(name: .long, help: "The external id, given to every assume of the chain.") var externalId: String?

    func validate() throws {
        let used =
            !sessionName.isEmpty || !sessionPolicy.isEmpty || !sessionTag.isEmpty || !transitiveTagKey.isEmpty
            || sourceIdentity != nil || externalId != nil
        if assume.isEmpty {
            if used { throw ValidationError("session options need --assume") }
            return
        }
        if sessionName.count != 1 && sessionName.count != assume.count {
            throw ValidationError("give --session-name once, or once per --assume (\(assume.count))")
        }
    }

    /// One request per `--assume`: tags, transitive keys and the source identity on the first,
    /// session policies on the last, the external id on each.
    func requests() throws(CLIError) -> [SessionRequest] {
        var tags: [SessionTag] = []
        for item in sessionTag {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw CLIError.invalidInput("--session-tag \(item): expected KEY=VALUE")
            }
            tags.append(SessionTag(key: String(item[..<eq]), value: String(item[item.index(after: eq)...])))
        }
        var policies: [NamedPolicy] = []
        for path in sessionPolicy { policies.append(try PolicyFlags.loadPolicy(path)) }
        return assume.enumerated().map { i, agency in
            let first = i == 0
            return SessionRequest(
                agency: agency, sessionName: sessionName.count == 1 ? sessionName[0] : sessionName[i],
                sessionPolicies: i == assume.count - 1 && !policies.isEmpty ? policies : nil, tags: first ? tags : [],
                transitiveTagKeys: first ? transitiveTagKey : [], sourceIdentity: first ? sourceIdentity : nil, externalID: externalId)
        }
    }
}

/// `bulwark test`: expected decisions from test files.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run test files of expected decisions against a workspace; ends with 'N passed, M failed'.",
        discussion: "Exit codes: 0 all passed, 1 a test failed, 2 the workspace or a test file is invalid."
    )

    @Option(name: .long, help: "The workspace directory.") var workspace: String
    @Argument(help: "Test files (default: every .yaml/.json file in WORKSPACE/tests).") var files: [String] = []
    @OptionGroup var catalogs: CatalogFlags

    func run() throws {
        let catalog = try catalogs.load(workspaces: [workspace])
        let ws = try loadWorkspace(workspace, catalog: catalog)
        var paths = files
        if paths.isEmpty {
            let dir = URL(fileURLWithPath: workspace).appendingPathComponent("tests").path
            var names: [String] = []
            if FileManager.default.fileExists(atPath: dir) {
                do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
                    throw CLIError.invalidInput("\(dir): cannot list the tests folder: \(error.localizedDescription)")
                }
            }
            paths =
                names
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.sorted().map { dir + "/" + $0 }
        }
        var cases: [WorkspaceTestCase] = []
        for path in paths {
            let text = String(decoding: try readInput(path), as: UTF8.self)
            do { cases += try WorkspaceTestRunner.cases(file: path, text: text) } catch { throw CLIError.invalidInput(error.description) }
        }
        var passed = 0
        var failed = 0
        for test in cases {
            let outcome = WorkspaceTestRunner.run(test, workspace: ws, catalog: catalog)
            if outcome.passed {
                passed += 1
                Console.print("ok    \(test.name)")
            } else {
                failed += 1
                Console.print(
                    "FAIL  \(test.name) (\(test.file):\(test.location.line)): expected \(test.expect.rawValue)\(test.reason.map { " (\($0.rawValue))" } ?? "")"
                )
                Console.print(outcome.details.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
            }
        }
        Console.print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw CLIError(message: "", exitCode: ExitCode.failure) }
    }
}

/// `bulwark lint`: every policy of a workspace through the validator, plus the workspace's own problems.
struct LintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Validate every policy and SCP of a workspace and report structural problems.",
        discussion: "Exit codes: 0 clean (suggestions and warnings allowed), 1 an error finding or a workspace problem."
    )

    @Option(name: .long, help: "The workspace directory.") var workspace: String
    @Option(name: .long, help: "Output format: text, json or sarif.") var format: ValidateCommand.ValidationFormat = .text
    @OptionGroup var catalogs: CatalogFlags

    func run() throws {
        let catalog = try catalogs.load(workspaces: [workspace])
        let ws = Workspace.load(directory: workspace, catalog: catalog)
        let validator = PolicyValidator(catalog: catalog)
        var reports: [FileReport] = []
        let base = URL(fileURLWithPath: workspace)
        var files: [(String, PolicyType)] = ws.scps.values.filter { $0.id != "FullAccess" }.map { ($0.id, .scp) }
        for account in ws.accounts.values {
            files += account.policies.values.map { ($0.id, .identity) }
            files += account.trustPolicies.values.map { ($0.id, .trust) }
        }
        for (file, type) in files.sorted(by: { $0.0 < $1.0 }) where file.hasSuffix(".json") {
            let bytes = try readInput(base.appendingPathComponent(file).path)
            reports.append(FileReport(file: file, findings: validator.validate(bytes: bytes, type: type)))
        }
        for problem in ws.problems { Console.error("\(workspace)/\(problem)") }
        switch format {
        case .json: Console.write(ValidationReport.json(reports, asArray: true))
        case .text: Console.write(Array(ValidationReport.text(reports).utf8))
        case .sarif: Console.write(ValidationReport.sarif(reports, toolVersion: BulwarkCommand.version))
        }
        if !ws.problems.isEmpty || reports.contains(where: { $0.summary.errors > 0 }) {
            throw CLIError(message: "", exitCode: ExitCode.failure)
        }
    }
}

/// `bulwark access`: the effective access of a principal.
struct AccessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "List what a principal may do, per service and access level, with resources and conditions."
    )

    @OptionGroup var who: PrincipalFlags
    @Flag(name: .long, help: "Also what the principal can do through every agency it can assume, transitively, with the chain.")
    var viaAgencies = false
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text

    func run() throws {
        let (catalog, ws, resolved) = try who.resolveInWorkspace()
        let access = EffectiveAccess.compute(resolved.policies, catalog: catalog)
        guard viaAgencies else {
            switch format {
            case .json: Console.write(EffectiveAccess.json(access))
            case .text:
                Console.print("principal: \(resolved.urn)")
                Console.write(Array(EffectiveAccess.text(access).utf8))
            }
            return
        }
        let (reached, problems) = ws.organization.reachableAgencies(from: resolved, catalog: catalog)
        // An agency whose trust policy cannot be read is not shown as unreachable.
        guard problems.isEmpty else { throw CLIError.invalidInput(problems.joined(separator: "; ")) }
        switch format {
        case .json:
            Console.write(EffectiveAccess.json(principal: resolved, reached: reached, catalog: catalog))
        case .text:
            Console.print("principal: \(resolved.urn)")
            Console.write(Array(EffectiveAccess.text(access).utf8))
            for reach in reached {
                Console.print("")
                Console.print(
                    "via \(reach.chain.joined(separator: " -> "))\(reach.conditional ? " (conditional: only under some conditions)" : "")")
                Console.write(Array(EffectiveAccess.text(EffectiveAccess.compute(reach.session.policies, catalog: catalog)).utf8))
            }
            if reached.isEmpty { Console.print("no agency can be assumed") }
        }
    }
}
