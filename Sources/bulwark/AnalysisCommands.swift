import ArgumentParser
import BulwarkAPI
import BulwarkAnalysis
import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import BulwarkTraces
import BulwarkValidation
import BulwarkWorkspace
import Foundation

/// `--type identity|scp` for commands that read single policies.
enum PolicyKind: String, ExpressibleByArgument, CaseIterable {
    case identity, scp
}

/// Exit codes of analysis commands (SPEC §8): PASS/equivalent 0, FAIL/different 1, invalid 2, unknown 3.
enum AnalysisExit {
    static func code(_ verdict: AccessDifference.Verdict) -> Int32 {
        switch verdict {
        case .equivalent: ExitCode.ok
        case .different: ExitCode.failure
        case .unknown: 3
        }
    }
}

/// `{"result": RESULT, "<key>": [{...}, ...]}` and a newline; `fields` writes each object's fields.
func resultDocument<Item>(_ result: String, key: String, _ items: [Item], fields: (Item, inout JSONWriter) -> Void) -> [UInt8] {
    var json = JSONWriter()
    json.beginObject()
    json.field("result", result)
    json.key(key)
    json.beginArray()
    for item in items {
        json.beginObject()
        fields(item, &json)
        json.endObject()
    }
    json.endArray()
    json.endObject()
    json.newline()
    return json.bytes
}

/// `bulwark diff`: what one policy (or workspace) allows that the other does not.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Exactly what NEW allows that OLD does not, and the reverse, over every catalog action.",
        discussion: """
            Exit codes: 0 equivalent, 1 different, 2 invalid input, 3 unknown (a construct that cannot be \
            decided exactly; the output says which).
            """
    )

    @Argument(help: "OLD and NEW policy files.") var files: [String] = []
    @Option(name: .long, help: "Whether the policies are identity policies or SCPs.") var type: PolicyKind = .identity
    @Option(name: .long, parsing: .upToNextOption, help: "OLD_DIR NEW_DIR: compare two workspaces principal by principal.")
    var workspace: [String] = []
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var catalogs: CatalogFlags

    func validate() throws {
        if workspace.isEmpty && files.count != 2 { throw ValidationError("give OLD and NEW policy files, or --workspace OLD_DIR NEW_DIR") }
        if !workspace.isEmpty && (workspace.count != 2 || !files.isEmpty) {
            throw ValidationError("--workspace takes OLD_DIR NEW_DIR and no policy files")
        }
    }

    func run() throws {
        let catalog = try catalogs.load(workspaces: workspace)
        let analyzer = PolicyAnalyzer(catalog: catalog)
        if !workspace.isEmpty { return try runWorkspaces(analyzer, catalog: catalog) }
        let old = try PolicyFlags.loadPolicy(files[0])
        let new = try PolicyFlags.loadPolicy(files[1])
        let diff = analyzer.difference(
            old: AccessModel.single(old, asSCP: type == .scp), new: AccessModel.single(new, asSCP: type == .scp))
        switch format {
        case .json:
            var json = JSONWriter()
            AnalysisOutput.write(diff, into: &json)
            json.newline()
            Console.write(json.bytes)
        case .text:
            Console.write(Array(AnalysisOutput.text(diff, oldName: files[0], newName: files[1]).utf8))
        }
        try exit(diff.verdict)
    }

    private func runWorkspaces(_ analyzer: PolicyAnalyzer, catalog: Catalog) throws {
        let oldWS = try loadWorkspace(workspace[0], catalog: catalog)
        let newWS = try loadWorkspace(workspace[1], catalog: catalog)
        let results = WorkspaceDiff.compare(old: oldWS.organization, new: newWS.organization, analyzer: analyzer)
        let verdict = WorkspaceDiff.verdict(results)
        switch format {
        case .json:
            Console.write(
                resultDocument(verdict.rawValue, key: "principals", results) { r, json in
                    json.field("principal", r.principal)
                    json.key("diff")
                    AnalysisOutput.write(r.difference, into: &json)
                })
        case .text:
            for r in results {
                Console.print("principal \(r.principal):")
                let body = AnalysisOutput.text(r.difference, oldName: workspace[0], newName: workspace[1])
                Console.write(
                    Array(body.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "  " + $0 }.joined(separator: "\n").utf8))
                Console.print("")
            }
            Console.print(
                "\(verdict.rawValue): \(results.filter { $0.difference.verdict == .different }.count) of \(results.count) principal(s) differ")
        }
        try exit(verdict)
    }

    private func exit(_ verdict: AccessDifference.Verdict) throws {
        let code = AnalysisExit.code(verdict)
        if code != ExitCode.ok { throw CLIError(message: "", exitCode: code) }
    }
}

/// `bulwark check ...`: PASS/FAIL questions for CI gates (SPEC §8).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "PASS/FAIL checks: no-new-access, access-not-granted, external-access.",
        discussion: "Exit codes: 0 PASS, 1 FAIL, 2 invalid input, 3 UNKNOWN (the output names the construct).",
        subcommands: [NoNewAccessCheck.self, AccessNotGrantedCheck.self, ExternalAccessCheck.self]
    )
}

/// The outcome of a check, printed the same way by every check.
struct CheckOutcome {
    enum Result: String {
        case pass = "PASS"
        case fail = "FAIL"
        case unknown = "UNKNOWN"
    }

    /// One reason: a region granted (FAIL) or an undecided action (UNKNOWN).
    enum Reason {
        case region(description: String, principal: String?, region: AccessRegion, path: [DeterminingStatement]?)
        case undecided(UndecidedAction)
        /// An agency a principal outside the organization can assume (FAIL).
        case trust(agency: String, outsider: String, statement: DeterminingStatement)
    }

    let reasons: [Reason]
    let passMessage: String

    var result: Result {
        if reasons.contains(where: { if case .undecided = $0 { false } else { true } }) { return .fail }
        return reasons.isEmpty ? .pass : .unknown
    }

    func emit(format: OutputFormat) throws {
        switch format {
        case .json:
            Console.write(
                resultDocument(result.rawValue, key: "reasons", reasons) { reason, json in
                    switch reason {
                    case .region(let description, let principal, let region, let path):
                        json.field("description", description)
                        if let principal { json.field("principal", principal) }
                        AnalysisOutput.writeFields(region, into: &json)
                        if let path {
                            json.key("path")
                            json.beginArray()
                            for s in path { AuthorizationOutput.write(s, into: &json) }
                            json.endArray()
                        }
                    case .undecided(let u):
                        json.field("description", "cannot decide \(u.action) exactly: \(u.reason)")
                        json.field("action", u.action)
                        json.field("reason", u.reason)
                    case .trust(let agency, let outsider, let statement):
                        json.field("description", "an agency can be assumed from outside the organization")
                        json.field("agency", agency)
                        json.field("outsider", outsider)
                        json.key("path")
                        json.beginArray()
                        AuthorizationOutput.write(statement, into: &json)
                        json.endArray()
                    }
                })
        case .text:
            var lines = [result == .pass ? "PASS: \(passMessage)" : result.rawValue]
            for reason in reasons {
                switch reason {
                case .region(let description, let principal, let region, let path):
                    lines.append("")
                    lines.append("  \(description)" + (principal.map { " (principal \($0))" } ?? ""))
                    lines += AnalysisOutput.text(region, bullet: "!", showGrants: path == nil)
                    if let path { lines += path.map { "      via: " + AnalysisOutput.statementText($0) } }
                case .undecided(let u):
                    lines.append("  ? \(u.action): \(u.reason)")
                case .trust(let agency, let outsider, let statement):
                    lines.append("")
                    lines.append("  agency \(agency) can be assumed from outside the organization")
                    lines.append("      by: \(outsider)")
                    lines.append("      via: trust " + AnalysisOutput.statementText(statement))
                }
            }
            Console.print(lines.joined(separator: "\n"))
        }
        switch result {
        case .pass: return
        case .fail: throw CLIError(message: "", exitCode: ExitCode.failure)
        case .unknown: throw CLIError(message: "", exitCode: 3)
        }
    }
}

/// `bulwark check no-new-access`: NEW allows nothing OLD does not (Access Analyzer's CheckNoNewAccess).
struct NoNewAccessCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "no-new-access", abstract: "PASS when NEW allows no request that OLD does not.")

    @Option(name: .long, help: "The reference policy.") var old: String
    @Option(name: .long, help: "The changed policy.") var new: String
    @Option(name: .long, help: "Whether the policies are identity policies or SCPs.") var type: PolicyKind = .identity
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var catalogs: CatalogFlags

    func run() throws {
        let analyzer = PolicyAnalyzer(catalog: try catalogs.load())
        let before = AccessModel.single(try PolicyFlags.loadPolicy(old), asSCP: type == .scp)
        let after = AccessModel.single(try PolicyFlags.loadPolicy(new), asSCP: type == .scp)
        let diff = analyzer.difference(old: before, new: after)
        let reasons = diff.added.map {
            CheckOutcome.Reason.region(description: "\(new) allows this and \(old) does not", principal: nil, region: $0, path: nil)
        }
        let undecided = diff.added.isEmpty ? diff.undecided.map(CheckOutcome.Reason.undecided) : []
        try CheckOutcome(reasons: reasons + undecided, passMessage: "\(new) allows nothing that \(old) does not").emit(format: format)
    }
}

/// `bulwark check access-not-granted`: the policy grants none of these actions (on these resources).
struct AccessNotGrantedCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-not-granted",
        abstract: "PASS when the policy allows none of the actions (on any of the resources, if given), in any context.")

    @Option(name: .long, help: "The policy to check.") var policy: String
    @Option(name: .long, parsing: .upToNextOption, help: "Actions (catalog names; wildcards expand over the catalog).")
    var action: [String] = []
    @Option(name: .long, parsing: .upToNextOption, help: "Resource URNs or URN patterns (default: any resource).")
    var resource: [String] = []
    @Option(name: .long, help: "Whether the policy is an identity policy or an SCP.") var type: PolicyKind = .identity
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var catalogs: CatalogFlags

    func validate() throws {
        if action.isEmpty { throw ValidationError("give at least one --action") }
    }

    func run() throws {
        let catalog = try catalogs.load()
        var actions: [ActionDefinition] = []
        for name in action {
            let glob = GlobPattern(CaseFolding.lowercase(name))
            let matching = catalog.allActions.filter { glob.matches(CaseFolding.lowercase($0.name)) }
            guard !matching.isEmpty else { throw CLIError.invalidInput("--action \(name): no catalog action matches it") }
            actions += matching.filter { a in !actions.contains { $0.name == a.name } }
        }
        let model = AccessModel.single(try PolicyFlags.loadPolicy(policy), asSCP: type == .scp)
        let (regions, undecided) = PolicyAnalyzer(catalog: catalog).grantedAccess(model, actions: actions, resources: resource)
        let reasons = regions.map { CheckOutcome.Reason.region(description: "\(policy) grants this", principal: nil, region: $0, path: nil) }
        try CheckOutcome(
            reasons: reasons + (regions.isEmpty ? undecided.map(CheckOutcome.Reason.undecided) : []),
            passMessage: "\(policy) grants none of \(actions.count) action(s)" + (resource.isEmpty ? "" : " on the given resources")
        ).emit(format: format)
    }
}

/// `bulwark check external-access`: principals who can share or grant to accounts outside the organization.
struct ExternalAccessCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "external-access",
        abstract: "PASS when no principal of the workspace can share IMS images or SWR repositories outside the organization.")

    @Option(name: .long, help: "The workspace directory.") var workspace: String
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var catalogs: CatalogFlags

    func run() throws {
        let catalog = try catalogs.load(workspaces: [workspace])
        let ws = try loadWorkspace(workspace, catalog: catalog)
        let (findings, undecided) = ExternalAccess.check(ws.organization, analyzer: PolicyAnalyzer(catalog: catalog))
        let (exposures, undecidedTrust) = ExternalAccess.trustExposures(ws.organization)
        let reasons =
            findings.map {
                CheckOutcome.Reason.region(description: "access outside the organization", principal: $0.principal, region: $0.region, path: $0.path)
            }
            + exposures.map { CheckOutcome.Reason.trust(agency: $0.agency, outsider: $0.outsider, statement: $0.statement) }
        let failed = !findings.isEmpty || !exposures.isEmpty
        try CheckOutcome(
            reasons: reasons + (failed ? [] : (undecided + undecidedTrust).map(CheckOutcome.Reason.undecided)),
            passMessage: "no principal can share outside organization \(ws.organizationID), and no agency can be assumed from outside it"
        ).emit(format: format)
    }
}

/// `bulwark generate --log FILE`: a least-privilege identity policy from observed API calls.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write the least-privilege identity policy for the successful calls of an access log (JSON lines).",
        discussion: """
            Each line: {"principal","service","method","path","region","account","time","outcome"}; or, with \
            --traces, CTS trace files (SPEC §14), whose successful calls are learned from (principals from the traces). The policy allows \
            the actions each call needs (with their dependencies) on the resources it touched, widened by \
            --generalize (none, resource-id, type), and is checked with the validator before it is printed. \
            Exit codes: 0 written, 2 unreadable log or a call no catalogued API matches.
            """
    )

    @Option(name: .long, help: "The access log (JSON lines; - for stdin).") var log: String?
    @Option(name: .long, parsing: .upToNextOption, help: "CTS trace files instead of a log (repeatable; gzip'd or not).")
    var traces: [String] = []
    @Option(name: .long, help: "Only this principal's calls (needed when the log has several).") var principal: String?
    @Option(name: .long, help: "none (exact URNs), resource-id (any id of the type, same region and account) or type (any region and account).")
    var generalize: Generalization = .none
    @OptionGroup var catalogs: CatalogFlags

    enum Generalization: String, ExpressibleByArgument, CaseIterable {
        case none
        case resourceID = "resource-id"
        case type
    }

    func validate() throws {
        if (log == nil) == traces.isEmpty { throw ValidationError("give --log or --traces") }
    }

    func run() throws {
        let catalog = try catalogs.load()
        guard let log else { return try generateFromTraces(catalog: catalog) }
        let text = String(decoding: try readInput(log), as: UTF8.self)
        var entries: [AccessLogEntry]
        do { entries = try PolicyGenerator.readLog(text) } catch { throw CLIError.invalidInput("\(log):\(error)") }
        let principals = Array(Set(entries.map(\.principal))).sorted()
        if let principal {
            entries = entries.filter { $0.principal == principal }
            if entries.isEmpty {
                throw CLIError.invalidInput("\(log): no calls by \(principal); principals in the log: \(principals.joined(separator: ", "))")
            }
        } else if principals.count > 1 {
            throw CLIError.invalidInput(
                "\(log): the log has \(principals.count) principals; choose one with --principal: \(principals.joined(separator: ", "))")
        }
        guard entries.contains(where: \.succeeded) else { throw CLIError.invalidInput("\(log): no successful calls to learn from") }
        let policy: String
        do {
            policy = try PolicyGenerator.generate(
                entries, catalog: catalog, generalization: PolicyGenerator.Generalization(rawValue: generalize.rawValue)!)
        } catch { throw CLIError.invalidInput("\(log):\(error)") }
        try emit(policy, catalog: catalog)
    }

    /// Checks the generated policy with the validator, then prints it.
    private func emit(_ policy: String, catalog: Catalog) throws(CLIError) {
        let findings = PolicyValidator(catalog: catalog).validate(policy, type: .identity)
        if !findings.isEmpty {
            let first = findings[0]
            throw CLIError(
                message: "the generated policy has \(findings.count) finding(s), first: \(first.code.rawValue): \(first.message)",
                exitCode: ExitCode.failure)
        }
        Console.write(Array(policy.utf8))
    }

    /// `--traces`: the successful calls of CTS traces (SPEC §14), principals taken from the
    /// traces; a trace that maps to no call is named on standard error and skipped.
    private func generateFromTraces(catalog: Catalog) throws(CLIError) {
        let router = APIRouter(catalog: catalog)
        var uses: [String: [(action: String, resource: String)]] = [:]
        var input = TraceInput(files: traces, command: "generate")
        // Traces read but mapped to no call (those that cannot be read are reported as they are met).
        var skipped: [(traceID: String, reason: String)] = []
        input.forEach { read, _ in
            let trace = read.trace
            guard trace.succeeded else { return }
            let who: String
            switch TraceReplayer.principalURN(of: trace.user) {
            case .failure(let unmapped): return skipped.append((trace.traceID, unmapped.reason))
            case .success(let urn): who = urn
            }
            if let principal, principal != who { return }
            let plan: APIPlan
            switch TraceReplayer.request(of: trace, catalog: catalog) {
            case .failure(let unmapped): return skipped.append((trace.traceID, unmapped.reason))
            case .success(let request):
                do throws(APIAuthorizationError) { plan = try router.plan(request) } catch { return skipped.append((trace.traceID, error.message)) }
            }
            uses[who, default: []] += plan.checks.map { ($0.action, $0.resource) }
        }
        if input.brokenFiles > 0 { throw CLIError.invalidInput("a trace file could not be read through (see above)") }
        for item in skipped { Console.error("warning: trace \(item.traceID) skipped: \(item.reason)") }
        let principals = uses.keys.sorted()
        guard let only = principals.first else {
            throw CLIError.invalidInput("no successful call\(principal.map { " by \($0)" } ?? "") in the traces to learn from")
        }
        guard principals.count == 1 else {
            throw CLIError.invalidInput(
                "the traces have \(principals.count) principals; choose one with --principal: \(principals.joined(separator: ", "))")
        }
        let generalization = PolicyGenerator.Generalization(rawValue: generalize.rawValue)!
        try emit(PolicyGenerator.policy(allowing: uses[only]!, catalog: catalog, generalization: generalization), catalog: catalog)
    }
}
