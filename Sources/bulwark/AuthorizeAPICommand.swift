import ArgumentParser
import BulwarkAPI
import BulwarkContract
import BulwarkEngine
import Foundation

/// `bulwark authorize-api`: decide an API call (SPEC §4).
struct AuthorizeAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authorize-api",
        abstract: "Decide an API call: every action it needs, with dependencies, on URNs built from the path.",
        discussion: """
            Exit codes: 0 decision printed, 2 invalid input or a path/method/case the catalog does not know, \
            3 with --fail-on-deny when the call is denied.
            """
    )

    @Option(name: .long, help: "Input document of SPEC §4 (FILE, or - for stdin).")
    var input: String?

    @OptionGroup var policies: PolicyFlags
    @OptionGroup var catalogs: CatalogFlags

    @Option(name: .long, help: "Service, e.g. ims.") var service: String?
    @Option(name: .long, help: "HTTP method.") var method: String?
    @Option(name: .long, help: "Concrete path, e.g. /v2/images/img-1/members.") var path: String?
    @Option(name: .long, help: "A schema operation id instead of --method and --path (SPEC §12).") var operation: String?
    @Option(name: .long, help: "Region, e.g. cn-north-4.") var region: String = ""
    @Option(name: .long, help: "Account id.") var account: String = ""
    @Option(name: .customLong("case"), help: "A qualified row's case id that applies (repeatable).") var cases: [String] = []
    @Option(name: .long, help: "Resource URN override for rows whose resource is in the body.") var resource: String?
    @OptionGroup var context: ContextFlags

    @Option(name: .long, help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Flag(name: .long, help: "Exit with code 3 when the call is denied.")
    var failOnDeny = false

    func validate() throws {
        let flags = service != nil || method != nil || path != nil || operation != nil || !policies.isEmpty
        if input != nil && flags {
            throw ValidationError("--input cannot be combined with --service, --method, --path, --operation or policy flags")
        }
        if operation != nil && (method != nil || path != nil || !cases.isEmpty) {
            throw ValidationError("--operation names the call: leave out --method, --path and --case")
        }
        if input == nil && (service == nil || (operation == nil && (method == nil || path == nil))) {
            throw ValidationError("give --input FILE, or --service with --method and --path (or --operation) and --policy files")
        }
    }

    func run() throws {
        let loaded: APIAuthorizationInput
        if let input {
            do {
                loaded = try APIAuthorizationInput.decode(bytes: try readInput(input))
            } catch let error as AuthorizationInputError {
                throw CLIError.invalidInput(located(input == "-" ? "<stdin>" : input, error.location, error.path, error.message))
            }
        } else {
            var request = APIRequest(
                service: service!, method: method ?? "", path: path ?? "", region: region, accountID: account,
                context: try context.load(), cases: cases, resource: resource)
            request.operation = operation
            loaded = APIAuthorizationInput(policies: try policies.load(), request: request)
        }
        let catalog = try catalogs.load()
        let authorizer = APIAuthorizer(catalog: catalog, authorizer: Authorizer(policies: loaded.policies, catalog: catalog))
        let result: APIAuthorizationResult
        do {
            result = try authorizer.authorize(loaded.request)
        } catch {
            throw CLIError.invalidInput(error.message)
        }
        switch format {
        case .json: Console.write(APIAuthorizationOutput.json(result))
        case .text: Console.write(Array(APIAuthorizationOutput.text(result, request: loaded.request).utf8))
        }
        if failOnDeny && result.decision == .deny { throw CLIError(message: "", exitCode: ExitCode.denied) }
    }
}
