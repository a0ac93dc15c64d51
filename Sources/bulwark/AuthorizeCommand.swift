import ArgumentParser
import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import Foundation
import Synchronization

/// `--policy` and `--scp-level`: policy files for people who do not write a contract file.
struct PolicyFlags: ParsableArguments {
    @Option(name: .long, help: "An identity policy file (repeat for several).")
    var policy: [String] = []

    @Option(name: .long, help: "One SCP level: comma-separated policy files, root first (repeat per level).")
    var scpLevel: [String] = []

    var isEmpty: Bool { policy.isEmpty && scpLevel.isEmpty }

    func load() throws(CLIError) -> PolicySet {
        var identity: [NamedPolicy] = []
        for path in policy { identity.append(try Self.loadPolicy(path)) }
        var levels: [[NamedPolicy]] = []
        for level in scpLevel {
            let files = level.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            var policies: [NamedPolicy] = []
            for path in files { policies.append(try Self.loadPolicy(path)) }
            levels.append(policies)
        }
        return PolicySet(identityPolicies: identity, scpLevels: levels)
    }

    /// A policy file, named after the file without its extension.
    static func loadPolicy(_ path: String) throws(CLIError) -> NamedPolicy {
        let bytes = try readInput(path)
        do {
            let policy = try PolicyParser.parse(bytes: bytes)
            let id = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            return NamedPolicy(id: id, policy: policy)
        } catch {
            throw CLIError.invalidInput(located(path, error.location, error.path, error.message))
        }
    }
}

/// `--context key=value`, repeated; a repeated key makes a list.
struct ContextFlags: ParsableArguments {
    @Option(name: .long, help: "A context value key=value (repeat a key for a list).")
    var context: [String] = []

    func load() throws(CLIError) -> RequestContext {
        var entries: [(String, [ScalarValue])] = []
        for item in context {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw CLIError.invalidInput("--context \(item): expected key=value")
            }
            let key = String(item[..<eq])
            let value = ScalarValue.string(String(item[item.index(after: eq)...]))
            if let i = entries.firstIndex(where: { CaseFolding.lowercase($0.0) == CaseFolding.lowercase(key) }) {
                entries[i].1.append(value)
            } else {
                entries.append((key, [value]))
            }
        }
        var requestContext = RequestContext()
        for (key, values) in entries { requestContext.set(key, values) }
        return requestContext
    }
}

/// Where the policies and requests come from: a contract file, or flags for people.
struct AuthorizationSource: ParsableArguments {
    @Option(name: .long, help: "Input document of SPEC §3 (FILE, or - for stdin).")
    var input: String?

    @OptionGroup var policies: PolicyFlags
    @OptionGroup var catalogs: CatalogFlags

    @Option(name: .long, help: "The action to authorize, e.g. ims:images:get.")
    var action: String?

    @Option(name: .long, help: "The resource URN (default *).")
    var resource: String?

    @OptionGroup var context: ContextFlags

    func validate() throws {
        let usesFlags = !policies.isEmpty || action != nil || resource != nil || !context.context.isEmpty
        if input != nil && usesFlags {
            throw ValidationError("--input cannot be combined with --policy, --scp-level, --action, --resource or --context")
        }
        if input == nil && action == nil {
            throw ValidationError("give --input FILE, or --action with --policy files")
        }
    }

    /// Reads and validates everything before any decision is made.
    func load() throws(CLIError) -> AuthorizationInput {
        if let input {
            let bytes = try readInput(input)
            do {
                return try AuthorizationInput.decode(bytes: bytes)
            } catch {
                throw CLIError.invalidInput(located(input == "-" ? "<stdin>" : input, error.location, error.path, error.message))
            }
        }
        let request = AuthorizationRequest(action: action ?? "", resource: resource ?? "*", context: try context.load())
        return AuthorizationInput(policies: try policies.load(), requests: [request], isBatch: false)
    }
}

/// `bulwark authorize`: decide requests (SPEC §3).
struct AuthorizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authorize",
        abstract: "Decide whether requests are allowed by identity policies and SCP levels.",
        discussion: """
            Exit codes: 0 when decisions were printed (allow or deny), 2 for malformed input, \
            3 with --fail-on-deny when a request was denied.
            """
    )

    @OptionGroup var source: AuthorizationSource

    @Option(name: .long, help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Flag(name: .long, help: "Add, per result, every statement with whether it matched and why not.")
    var explain = false

    @Flag(name: .long, help: "Exit with code 3 when a request is denied.")
    var failOnDeny = false

    func run() throws {
        try Authorize.run(source: source, format: format, explain: explain, failOnDeny: failOnDeny)
    }
}

/// `bulwark explain`: `authorize --explain`, text by default.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain a decision: every statement, whether it matched, and the first element that failed."
    )

    @OptionGroup var source: AuthorizationSource

    @Option(name: .long, help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        try Authorize.run(source: source, format: format, explain: true, failOnDeny: false)
    }
}

enum Authorize {
    static func run(source: AuthorizationSource, format: OutputFormat, explain: Bool, failOnDeny: Bool) throws {
        let input = try source.load()
        // Without its catalog the authorizer would fall back to scanning every statement:
        // a catalog that does not load is an error, not a quiet slow path.
        let authorizer = Authorizer(policies: input.policies, catalog: try source.catalogs.load())
        let denied = Denials()
        switch (format, input.isBatch) {
        case (.json, false):
            let request = input.requests[0]
            let result = authorizer.authorize(request)
            var json = JSONWriter()
            AuthorizationOutput.write(result, explanation: explain ? authorizer.explain(request) : nil, into: &json)
            json.newline()
            Console.write(json.bytes)
            if result.decision == .deny { denied.mark() }
        case (.json, true):
            Console.write(Array("{\"results\":[".utf8))
            var first = true
            BatchEvaluation.run(
                input.requests, authorizer: authorizer, explain: explain,
                render: { _, result, explanation, bytes in
                    var json = JSONWriter(reservingCapacity: 96)
                    AuthorizationOutput.write(result, explanation: explanation, into: &json)
                    bytes.append(contentsOf: ",\n".utf8)
                    bytes.append(contentsOf: json.bytes)
                    if result.decision == .deny { denied.mark() }
                },
                emit: { chunk in
                    // Every rendered result starts with ",\n"; the very first drops its comma.
                    if first, !chunk.isEmpty {
                        first = false
                        Console.write(Array(chunk.dropFirst()))
                    } else {
                        Console.write(chunk)
                    }
                })
            Console.write(Array("\n]}\n".utf8))
        case (.text, _):
            BatchEvaluation.run(
                input.requests, authorizer: authorizer, explain: explain,
                render: { request, result, explanation, bytes in
                    let text = AuthorizationOutput.text(result, request: request, explanation: explanation)
                    bytes.append(contentsOf: (text + "\n").utf8)
                    if result.decision == .deny { denied.mark() }
                },
                emit: { Console.write($0) })
        }
        if failOnDeny && denied.any {
            throw CLIError(message: "", exitCode: ExitCode.denied)
        }
    }
}

/// Set once any request is denied; written from batch workers.
final class Denials: Sendable {
    private let flag = Atomic<Bool>(false)
    func mark() { flag.store(true, ordering: .relaxed) }
    var any: Bool { flag.load(ordering: .relaxed) }
}
