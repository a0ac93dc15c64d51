import ArgumentParser
import BulwarkCatalog
import BulwarkCloud
import BulwarkPolicy
import Foundation
import Synchronization

/// `bulwark catalog`: what the service catalogs know.
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Inspect the service catalogs (actions, APIs, resource types, condition keys).",
        subcommands: [Export.self, ListActions.self, ListKeys.self, Show.self, Check.self, Pull.self, RegisteredServices.self]
    )

    /// The built-in catalog alone (commands without `--catalog`).
    static func load() throws(CLIError) -> Catalog {
        do {
            return try Catalog.bundled()
        } catch {
            throw CLIError(message: "cannot load the catalog: \(error)", exitCode: ExitCode.failure)
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the catalogs as JSON (SPEC §1), or one service as Huawei's authorization schema (SPEC §12).")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case json
            case huaweiSchema = "huawei-schema"
        }

        @Option(name: .long, help: "json (every service, Bulwark's format) or huawei-schema (one --service).")
        var format: Format = .json

        @Option(name: .long, help: "The service to export (huawei-schema only).")
        var service: String?

        @OptionGroup var catalogs: CatalogFlags

        func validate() throws {
            if format == .huaweiSchema && service == nil { throw ValidationError("--format huawei-schema needs --service CODE") }
            if format == .json && service != nil { throw ValidationError("--service goes with --format huawei-schema") }
        }

        func run() throws {
            let catalog = try catalogs.load()
            switch format {
            case .json:
                Console.write(catalog.exportJSON())
            case .huaweiSchema:
                guard let schema = catalog.exportHuaweiSchema(service: service!) else {
                    throw CatalogCommand.unknownService(service!, in: catalog)
                }
                Console.write(schema)
            }
        }
    }

    struct ListActions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list-actions", abstract: "List actions, optionally of one service or access level.")

        @Option(name: .long, help: "Only this service, e.g. ims.")
        var service: String?

        @Option(name: .long, help: "Only this access level: list, read, write, permission_management, tagging.")
        var accessLevel: String?

        @OptionGroup var catalogs: CatalogFlags

        func run() throws {
            let catalog = try catalogs.load()
            var level: AccessLevel?
            if let accessLevel {
                guard let parsed = AccessLevel(rawValue: accessLevel) else {
                    throw CLIError.invalidInput(
                        "unknown access level \"\(accessLevel)\"; use one of \(AccessLevel.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                level = parsed
            }
            var services = catalog.services
            if let service {
                guard let found = catalog.service(named: service) else { throw CatalogCommand.unknownService(service, in: catalog) }
                services = [found]
            }
            let actions = services.flatMap(\.actions).filter { level == nil || $0.accessLevel == level }
            let width = actions.map(\.name.count).max() ?? 0
            var lines: [String] = []
            for action in actions {
                let name = action.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let level = action.accessLevel.rawValue.padding(toLength: 21, withPad: " ", startingAt: 0)
                let resources =
                    action.resources.isEmpty ? "*" : action.resources.map { $0.required ? $0.type : "\($0.type)?" }.joined(separator: ",")
                lines.append("\(name)  \(level)  \(resources)\(action.permissionOnly ? "  (permission only)" : "")")
            }
            lines.append("\(actions.count) actions")
            Console.print(lines.joined(separator: "\n"))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one service (its resource types, keys and operations) or one action and the APIs that need it.")

        @Argument(help: "A service, e.g. ims, or an action, e.g. ims:images:share.")
        var action: String

        @OptionGroup var catalogs: CatalogFlags

        func run() throws {
            let catalog = try catalogs.load()
            if !action.contains(":") {
                guard let service = catalog.service(named: action) else { throw CatalogCommand.unknownService(action, in: catalog) }
                return Console.print(CatalogCommand.describe(service))
            }
            let aliased = catalog.action(aliased: action)
            guard let definition = catalog.action(named: action) ?? aliased else {
                let names = catalog.allActions.map(\.name)
                let hint = EditDistance.closest(to: action, in: names, maxDistance: 4).map { "; did you mean \($0)?" } ?? ""
                if catalog.isKnownAction(action) {
                    throw CLIError.invalidInput("\(action) is referenced by API rows as a dependency but is in no action table")
                }
                throw CLIError.invalidInput("unknown action \"\(action)\"\(hint)")
            }
            let service = catalog.services.first { $0.actions.contains(definition) }!
            var lines = [definition.name]
            if aliased != nil { lines.append("  (\(action) is an alias of \(definition.name))") }
            lines += [
                "  \(definition.description)",
                "  access level:    \(definition.accessLevel.rawValue)\(definition.permissionOnly ? " (permission only: no API of its own)" : "")",
                "  resource types:  "
                    + (definition.resources.isEmpty
                        ? "none (Resource must be \"*\")"
                        : definition.resources.compactMap { resource in
                            service.resourceTypes.first { $0.name == resource.type }.map { type in
                                let keys = resource.conditionKeys.isEmpty ? "" : ", keys \(resource.conditionKeys.joined(separator: ", "))"
                                return "\(type.name) (\(type.urn)\(resource.required ? "" : ", optional")\(keys))"
                            }
                        }.joined(separator: "; ")),
                "  condition keys:  "
                    + (definition.actionConditionKeys.isEmpty ? "none" : definition.actionConditionKeys.joined(separator: ", ")),
            ]
            if !definition.aliases.isEmpty { lines.append("  aliases:         \(definition.aliases.joined(separator: ", "))") }
            let operations = service.operations.filter { $0.action == definition.name || $0.dependentActions.contains(definition.name) }
            for operation in operations {
                let role = operation.action == definition.name ? "" : " (dependency of \(operation.action))"
                lines.append("  operation:       \(operation.id)\(role)")
            }
            let rows = catalog.services.flatMap(\.apis).filter {
                $0.action == definition.name || $0.dependencies.contains(definition.name)
            }
            lines.append("  APIs:")
            for row in rows {
                var line = "    \(row.method) \(row.path)"
                if row.action != definition.name { line += " (dependency of \(row.action))" }
                if !row.dependencies.isEmpty && row.action == definition.name {
                    line += " — also needs \(row.dependencies.joined(separator: ", "))"
                }
                if let q = row.requiredOnly { line += " [\(q.id): \(q.text)]" }
                lines.append(line)
            }
            if rows.isEmpty { lines.append("    none") }
            Console.print(lines.joined(separator: "\n"))
        }
    }

    struct ListKeys: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list-keys", abstract: "List condition keys: the global ones and each service's, or one service's.")

        @Option(name: .long, help: "Only this service's keys, e.g. ims (g for the global keys).")
        var service: String?

        @OptionGroup var catalogs: CatalogFlags

        func run() throws {
            let catalog = try catalogs.load()
            var keys: [ConditionKeyDefinition]
            switch service?.lowercased() {
            case nil: keys = catalog.globalKeys + catalog.services.flatMap(\.conditionKeys)
            case "g": keys = catalog.globalKeys
            case let name?:
                guard let found = catalog.service(named: name) else { throw CatalogCommand.unknownService(name, in: catalog) }
                keys = found.conditionKeys
            }
            let width = keys.map(\.name.count).max() ?? 0
            var lines = keys.map { key in
                let name = key.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let type = key.type.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
                return "\(name)  \(type)  \(key.multiValued ? "multi-valued" : "single-valued")\(key.sensitive == true ? ", sensitive" : "")"
            }
            lines.append("\(keys.count) keys")
            Console.print(lines.joined(separator: "\n"))
        }
    }

    static func unknownService(_ name: String, in catalog: Catalog) -> CLIError {
        CLIError.invalidInput("unknown service \"\(name)\"; catalogued: \(catalog.services.map(\.name).joined(separator: ", "))")
    }

    /// A service at a glance: where it comes from, its resource types, keys and operations.
    static func describe(_ service: ServiceCatalog) -> String {
        var lines = [
            "\(service.name) — \(service.title)",
            "  version:         \(service.updated)\(service.source.isEmpty ? "" : " (\(service.source))")",
            "  actions:         \(service.actions.count)"
                + " (\(AccessLevel.allCases.map { level in "\(service.actions.filter { $0.accessLevel == level }.count) \(level.rawValue)" }.joined(separator: ", ")))",
            "  API rows:        \(service.apis.count)",
            "  operations:      \(service.operations.count)",
            "  resource types:",
        ]
        lines += service.resourceTypes.map { "    \($0.name)  \($0.urn)" }
        if service.resourceTypes.isEmpty { lines.append("    none") }
        lines.append("  condition keys:")
        lines += service.conditionKeys.map { "    \($0.name)  \($0.type.rawValue)\($0.multiValued ? ", multi-valued" : "")" }
        if service.conditionKeys.isEmpty { lines.append("    none") }
        return lines.joined(separator: "\n")
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a catalog directory and report problems (exit 1 if any is an error).")

        @Option(name: .long, help: "A catalog directory (default: the bundled one).")
        var directory: String?

        func run() throws {
            let catalog: Catalog
            do {
                catalog = try directory.map { d throws(CatalogLoadError) in try Catalog.load(directory: d) } ?? Catalog.bundled()
            } catch {
                throw CLIError.invalidInput("\(error)")
            }
            for issue in catalog.issues { Console.print(issue.description) }
            let errors = catalog.issues.filter { $0.severity == .error }.count
            let actions = catalog.services.map { "\($0.name): \($0.actions.count) actions, \($0.apis.count) API rows" }
            Console.print(actions.joined(separator: "\n"))
            Console.print("\(errors) errors, \(catalog.issues.count - errors) notes")
            if errors > 0 { throw CLIError(message: "", exitCode: ExitCode.failure) }
        }
    }
}

/// `--catalog DIR` (repeatable): user catalogs — Huawei authorization schemas or Bulwark service
/// files — merged with the built-in ones, plus a workspace's `catalogs/` folder (SPEC §12).
struct CatalogFlags: ParsableArguments {
    @Option(
        name: .customLong("catalog"),
        help: "A catalog directory: Huawei authorization schemas or Bulwark service files (repeatable).")
    var directories: [String] = []

    /// The built-in catalog with every `--catalog` directory and each workspace's `catalogs/`
    /// merged in. Notices (a built-in catalog replaced) go to standard error; any problem is exit 2.
    func load(workspaces: [String] = []) throws(CLIError) -> Catalog {
        try Self.merge(try files(workspaces: workspaces))
    }

    /// The files of every `--catalog` directory and each workspace's `catalogs/`; a file given
    /// twice (two workspaces sharing a schema) counts once.
    func files(workspaces: [String] = []) throws(CLIError) -> [CatalogFile] {
        var folders = directories
        for workspace in workspaces {
            let folder = URL(fileURLWithPath: workspace).appendingPathComponent("catalogs").path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue { folders.append(folder) }
        }
        if folders.isEmpty { return [] }
        do {
            var kept: [CatalogFile] = []
            for file in try Catalog.files(inDirectories: folders) where !kept.contains(where: { $0.bytes == file.bytes }) {
                kept.append(file)
            }
            return kept
        } catch {
            throw CLIError.invalidInput("the catalogs have \(error.problems.count) problem(s):\n\(error)")
        }
    }

    /// Merged catalogs live until the process exits: freeing ten thousand actions as a command
    /// returns would add milliseconds to every command for nothing.
    private static let keptForTheProcess = Mutex<[Catalog]>([])

    /// The built-in catalog with `files` merged in; notices to standard error, problems exit 2.
    static func merge(_ files: [CatalogFile], origin: String = "the catalogs") throws(CLIError) -> Catalog {
        let builtIn = try CatalogCommand.load()
        if files.isEmpty { return builtIn }
        do {
            let loaded = try builtIn.merging(files)
            for notice in loaded.notices { FileHandle.standardError.write(Data("bulwark: \(notice)\n".utf8)) }
            keptForTheProcess.withLock { $0.append(loaded.catalog) }
            return loaded.catalog
        } catch {
            throw CLIError.invalidInput("\(origin) have \(error.problems.count) problem(s):\n\(error)")
        }
    }
}

/// Where IAM is and who calls it, for `catalog pull` and `catalog registered-services`.
struct CloudFlags: ParsableArguments {
    @Option(name: .long, help: "IAM's endpoint, e.g. https://iam.myhuaweicloud.com (or the emulator's URL).") var endpoint: String
    @Option(name: .long, help: "YAML/JSON with accessKey, secretKey[, securityToken]; mode 600.") var credentials: String

    func client() throws(CLIError) -> SignedClient {
        do {
            return try SignedClient(endpoint: endpoint, credentials: try CloudCredentials.load(path: credentials))
        } catch {
            throw CLIError.invalidInput(error.description)
        }
    }
}

extension CatalogCommand {
    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch services' authorization schemas from IAM (signed calls) into a catalog directory.",
            discussion: """
                Each schema is checked as a catalog before anything is written; one failed call or broken \
                document writes nothing. Exit codes: 0 written, 1 a call failed, 2 invalid input or a schema that does not load.
                """)

        @Option(name: .long, parsing: .upToNextOption, help: "Service codes, e.g. ecs evs (or --all).") var service: [String] = []
        @Flag(name: .long, help: "Every service IAM lists in registered-services.") var all = false
        @Option(name: .long, help: "The catalog directory to write CODE.json files into.") var into: String
        @OptionGroup var cloud: CloudFlags

        func validate() throws {
            if service.isEmpty == !all { throw ValidationError("give --service CODE... or --all") }
        }

        func run() throws { throw CLIError(message: "pull runs asynchronously", exitCode: ExitCode.failure) }

        func runPull() async throws(CLIError) {
            let builtIn = try CatalogCommand.load()
            let client = try cloud.client()
            do {
                let codes = all ? try await SchemaPull.registeredServices(client) : service
                let loaded = try await SchemaPull.pull(services: codes, client: client, into: into, builtIn: builtIn) { line in
                    Console.error(line)
                }
                await client.shutdown()
                for notice in loaded.notices { Console.error(notice) }
                let pulled = loaded.catalog.services.filter { $0.source.hasPrefix(into + "/") }
                for service in pulled {
                    Console.print(
                        "\(service.source): \(service.name) \(service.updated), \(service.actions.count) actions, \(service.operations.count) operations"
                    )
                }
            } catch {
                await client.shutdown()
                // A schema that does not load is bad input; a call that failed is the cloud's or the network's.
                let code = error.description.hasPrefix("the cloud's schemas do not load") ? ExitCode.invalidInput : ExitCode.failure
                throw CLIError(message: error.description, exitCode: code)
            }
        }
    }

    struct RegisteredServices: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registered-services", abstract: "List the service codes IAM has authorization schemas for (a signed call).")

        @OptionGroup var cloud: CloudFlags

        func run() throws { throw CLIError(message: "registered-services runs asynchronously", exitCode: ExitCode.failure) }

        func runList() async throws(CLIError) {
            let client = try cloud.client()
            do {
                let codes = try await SchemaPull.registeredServices(client)
                await client.shutdown()
                Console.print(codes.joined(separator: "\n"))
            } catch {
                await client.shutdown()
                throw CLIError(message: error.description, exitCode: ExitCode.failure)
            }
        }
    }
}
