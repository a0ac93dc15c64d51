import ArgumentParser
import BulwarkAnalysis
import BulwarkCatalog
import BulwarkCloud
import BulwarkJSON
import BulwarkWorkspace
import Foundation

/// `--credentials FILE` and `--endpoint SERVICE=URL` of the commands that read the organization.
struct OrganizationCloudFlags: ParsableArguments {
    @Option(name: .long, help: "YAML/JSON {credentials: [{accessKey, secretKey, account, securityToken?}]}, mode 600.")
    var credentials: String?
    @Option(name: .long, help: "SERVICE=URL for iam or organizations (repeat), e.g. iam=http://127.0.0.1:8600.")
    var endpoint: [String] = []
    @Option(name: .long, help: "Seconds one call may take before it is retried (default 30).") var timeout: Int64 = 30

    func endpoints() throws(CLIError) -> OrganizationPull.Endpoints {
        var endpoints = OrganizationPull.Endpoints()
        guard (1...600).contains(timeout) else { throw CLIError.invalidInput("--timeout must be 1 to 600 seconds") }
        endpoints.timeoutSeconds = timeout
        for item in endpoint {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw CLIError.invalidInput("--endpoint \(item): expected SERVICE=URL") }
            switch parts[0] {
            case "iam": endpoints.iam = parts[1]
            case "organizations": endpoints.organizations = parts[1]
            default: throw CLIError.invalidInput("--endpoint \(item): the service is iam or organizations")
            }
        }
        return endpoints
    }

    func keys() throws(CLIError) -> [CloudCredentials] {
        guard let credentials else { throw CLIError.invalidInput("give --credentials FILE") }
        do { return try CloudCredentials.loadList(path: credentials, required: ["account"]) } catch {
            throw CLIError.invalidInput(error.description)
        }
    }

    /// Reads the organization and writes it as a workspace into `directory`; the accounts not read.
    func pull(into directory: String, catalog: Catalog) async throws(CLIError) -> [(account: String, reason: String)] {
        let keys = try keys()
        let endpoints = try endpoints()
        let pulled: PulledOrganization
        do {
            pulled = try await OrganizationPull.read(credentials: keys, endpoints: endpoints) { Console.error($0) }
        } catch {
            throw CLIError(message: "pull: nothing written: \(error.description)", exitCode: ExitCode.failure)
        }
        let files = PulledWorkspace.files(of: pulled)
        let mismatches = PulledWorkspace.mismatches(files, of: pulled, catalog: catalog)
        guard mismatches.isEmpty else {
            throw CLIError(
                message: "pull: nothing written: the workspace would not say what the cloud holds:\n" + mismatches.joined(separator: "\n"),
                exitCode: ExitCode.failure)
        }
        do { try PulledWorkspace.write(files, into: directory) } catch {
            throw CLIError(message: error.description, exitCode: ExitCode.failure)
        }
        return pulled.unread
    }
}

/// `bulwark pull`: the organization as it is in the cloud, written as a workspace (SPEC §13).
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Read an organization from Huawei Cloud (Organizations and every account's IAM v5) into a workspace.",
        discussion: """
            Signed calls (SDK-HMAC-SHA256) with paging and retries. The workspace is written into a temporary sibling, \
            then its organization.yaml, scps/ and accounts/ replace DIR's (a failed pull leaves DIR as it was; .git, \
            tests/ and catalogs/ are kept). The same cloud state gives the same bytes. \
            Exit codes: 0 every account read, 1 an account not read (the rest written) or a call failed (nothing \
            written), 2 invalid input. See docs/cloud.md.
            """)

    @Option(name: .long, help: "The workspace directory to write (its organization.yaml, scps/ and accounts/ are replaced).")
    var into: String
    @OptionGroup var cloud: OrganizationCloudFlags
    @OptionGroup var catalogs: CatalogFlags

    func run() throws { throw CLIError(message: "pull runs asynchronously", exitCode: ExitCode.failure) }

    func runPull() async throws(CLIError) {
        _ = try cloud.keys()
        // Loaded once: a pull keeps the folder's catalogs/, so they decide before and after.
        let catalog = try catalogs.load(workspaces: [into])
        let unread = try await cloud.pull(into: into, catalog: catalog)
        let workspace = Workspace.load(directory: into, catalog: catalog)
        let principals = workspace.accounts.values.reduce(0) { $0 + $1.principalCount }
        Console.print("\(into): \(workspace.nodes.count) nodes, \(workspace.accounts.count) accounts, \(principals) principals")
        if !workspace.problems.isEmpty {
            // What the cloud holds is written as it is; what Bulwark cannot read in it is said.
            Console.error("pull: the workspace has \(workspace.problems.count) problem(s); `bulwark lint --workspace \(into)` lists them")
        }
        if !unread.isEmpty {
            for (account, reason) in unread { Console.error("pull: account \(account) not read: \(reason)") }
            throw CLIError(message: "pull: \(unread.count) account(s) not read; the rest is written", exitCode: ExitCode.failure)
        }
    }
}

/// `bulwark plan`: what a workspace would change in access, and the calls that would apply it.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Per principal, the exact access a workspace adds and removes compared with the cloud, and the API calls to get there.",
        discussion: """
            The cloud is --against PULLED_DIR (a `bulwark pull`), or read now with --credentials. It changes nothing. \
            Exit codes: 0 no principal's access changes, 1 some does, 2 invalid input, 3 unknown (a construct that \
            cannot be decided exactly). See docs/cloud.md.
            """)

    @Option(name: .long, help: "The workspace with the changes.") var workspace: String
    @Option(name: .long, help: "A workspace written by `bulwark pull`: the cloud's state.") var against: String?
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var cloud: OrganizationCloudFlags
    @OptionGroup var catalogs: CatalogFlags

    func validate() throws {
        if (against == nil) == (cloud.credentials == nil) { throw ValidationError("give --against PULLED_DIR or --credentials FILE") }
    }

    func run() throws { throw CLIError(message: "plan runs asynchronously", exitCode: ExitCode.failure) }

    func runPlan() async throws(CLIError) {
        // One catalog for both sides: the workspace's catalogs/ and the pulled one's (a live pull has none).
        let catalog = try catalogs.load(workspaces: [workspace] + (against.map { [$0] } ?? []))
        var pulledDirectory = against
        var temporary: String?
        if pulledDirectory == nil {
            let folder = NSTemporaryDirectory() + "bulwark-plan-\(UUID().uuidString)"
            temporary = folder
            let unread = try await cloud.pull(into: folder, catalog: catalog)
            if !unread.isEmpty {
                try? FileManager.default.removeItem(atPath: folder)
                throw CLIError(
                    message: "plan: \(unread.count) account(s) could not be read; no plan against a partial cloud", exitCode: ExitCode.failure)
            }
            pulledDirectory = folder
        }
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        let cloudState = try loadWorkspace(pulledDirectory!, catalog: catalog)
        let target = try loadWorkspace(workspace, catalog: catalog)
        let changes = WorkspaceDiff.compare(old: cloudState.organization, new: target.organization, analyzer: PolicyAnalyzer(catalog: catalog))
            .filter { $0.difference.verdict != .equivalent }
        let (calls, warnings) = WorkspacePlan.calls(from: cloudState, to: target)
        for warning in warnings { Console.error("plan: \(warning)") }
        switch format {
        case .json: Console.write(Self.json(changes, calls))
        case .text: Console.write(Array(Self.text(changes, calls, cloudName: pulledDirectory!, workspaceName: workspace).utf8))
        }
        let code = AnalysisExit.code(WorkspaceDiff.verdict(changes))
        if code != ExitCode.ok { throw CLIError(message: "", exitCode: code) }
    }

    /// `{"changes": [{"principal", "added", "removed"[, "undecided"]}], "calls": [{"service", "account"?, "method", "path", "body"?}]}`.
    static func json(_ changes: [WorkspaceDiff.PrincipalDifference], _ calls: [WorkspacePlan.Call]) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("changes")
        json.beginArray()
        for change in changes {
            json.beginObject()
            json.field("principal", change.principal)
            json.key("added")
            AnalysisOutput.write(change.difference.added, into: &json)
            json.key("removed")
            AnalysisOutput.write(change.difference.removed, into: &json)
            if !change.difference.undecided.isEmpty {
                json.key("undecided")
                AnalysisOutput.write(change.difference.undecided, into: &json)
            }
            json.endObject()
        }
        json.endArray()
        json.key("calls")
        json.beginArray()
        for call in calls {
            json.beginObject()
            json.field("service", call.service)
            json.field("account", call.account)
            json.field("method", call.method)
            json.field("path", call.path)
            if let body = call.body {
                json.key("body")
                json.raw(body)
            }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.newline()
        return json.bytes
    }

    static func text(_ changes: [WorkspaceDiff.PrincipalDifference], _ calls: [WorkspacePlan.Call], cloudName: String, workspaceName: String)
        -> String
    {
        var lines: [String] = []
        for change in changes {
            lines.append("principal \(change.principal):")
            let body = AnalysisOutput.text(change.difference, oldName: "the cloud", newName: workspaceName)
            lines += body.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "  " + $0 }
            lines.append("")
        }
        lines.append(calls.isEmpty ? "calls: none" : "calls:")
        for call in calls {
            let scope = call.account.map { "\(call.service) in \($0)" } ?? call.service
            lines.append("  \(call.method) \(call.path)  [\(scope)]" + (call.body.map { " " + Excerpt.of($0, limit: 200) } ?? ""))
        }
        lines.append("\(changes.count) principal(s) change access; \(calls.count) call(s) would apply the workspace")
        return lines.joined(separator: "\n") + "\n"
    }
}
