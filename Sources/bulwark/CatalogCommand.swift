import ArgumentParser
import BulwarkCatalog
import BulwarkPolicy
import Foundation

/// `bulwark catalog`: what the service catalogs know.
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Inspect the service catalogs (actions, APIs, resource types, condition keys).",
        subcommands: [Export.self, ListActions.self, Show.self, Check.self]
    )

    static func load() throws(CLIError) -> Catalog {
        do {
            return try Catalog.bundled()
        } catch {
            throw CLIError(message: "cannot load the catalog: \(error)", exitCode: ExitCode.failure)
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every catalog as JSON (SPEC §1).")

        @Option(name: .long, help: "Output format (json).")
        var format: String = "json"

        func validate() throws {
            guard format == "json" else { throw ValidationError("catalog export supports --format json only") }
        }

        func run() throws {
            Console.write(try CatalogCommand.load().exportJSON())
        }
    }

    struct ListActions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list-actions", abstract: "List actions, optionally of one service or access level.")

        @Option(name: .long, help: "Only this service, e.g. ims.")
        var service: String?

        @Option(name: .long, help: "Only this access level: list, read, write, permission_management, tagging.")
        var accessLevel: String?

        func run() throws {
            let catalog = try CatalogCommand.load()
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
                guard let found = catalog.service(named: service) else {
                    throw CLIError.invalidInput(
                        "unknown service \"\(service)\"; catalogued: \(catalog.services.map(\.name).joined(separator: ", "))")
                }
                services = [found]
            }
            let actions = services.flatMap(\.actions).filter { level == nil || $0.accessLevel == level }
            let width = actions.map(\.name.count).max() ?? 0
            var lines: [String] = []
            for action in actions {
                let name = action.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let level = action.accessLevel.rawValue.padding(toLength: 21, withPad: " ", startingAt: 0)
                let resources = action.resourceTypes.isEmpty ? "*" : action.resourceTypes.joined(separator: ",")
                lines.append("\(name)  \(level)  \(resources)")
            }
            lines.append("\(actions.count) actions")
            Console.print(lines.joined(separator: "\n"))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one action and the APIs that need it.")

        @Argument(help: "The action, e.g. ims:images:share.")
        var action: String

        func run() throws {
            let catalog = try CatalogCommand.load()
            guard let definition = catalog.action(named: action) else {
                let names = catalog.allActions.map(\.name)
                let hint = EditDistance.closest(to: action, in: names, maxDistance: 4).map { "; did you mean \($0)?" } ?? ""
                if catalog.isKnownAction(action) {
                    throw CLIError.invalidInput("\(action) is referenced by API rows as a dependency but is in no action table")
                }
                throw CLIError.invalidInput("unknown action \"\(action)\"\(hint)")
            }
            let service = catalog.services.first { $0.actions.contains(definition) }!
            var lines = [
                definition.name,
                "  \(definition.description)",
                "  access level:    \(definition.accessLevel.rawValue)",
                "  resource types:  "
                    + (definition.resourceTypes.isEmpty
                        ? "none (Resource must be \"*\")"
                        : definition.resourceTypes.compactMap { type in
                            service.resourceTypes.first { $0.name == type }.map { "\($0.name) (\($0.urn))" }
                        }.joined(separator: ", ")),
                "  condition keys:  " + (definition.conditionKeys.isEmpty ? "none" : definition.conditionKeys.joined(separator: ", ")),
            ]
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
