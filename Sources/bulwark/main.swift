import ArgumentParser
import BulwarkCatalog
import Foundation

// Entry point: parse, run, and turn every failure into one line on stderr and a documented exit code.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments == ["--version"] {
    // Only printed: `--version` says "unavailable" rather than fail; every command that decides loads it strictly.
    let catalogVersion = (try? Catalog.bundled().version) ?? "unavailable"
    print("bulwark \(BulwarkCommand.version) (catalog \(catalogVersion))")
    exit(ExitCode.ok)
}
do {
    var command = try BulwarkCommand.parseAsRoot(arguments)
    if let serve = command as? ServeCommand {
        try await serve.runServer()
    } else if let gateway = command as? GatewayCommand {
        try await gateway.runGateway()
    } else if let emulator = command as? EmulatorCommand {
        try await emulator.runEmulator()
    } else if let pull = command as? CatalogCommand.Pull {
        try await pull.runPull()
    } else if let pull = command as? PullCommand {
        try await pull.runPull()
    } else if let plan = command as? PlanCommand {
        try await plan.runPlan()
    } else if let list = command as? CatalogCommand.RegisteredServices {
        try await list.runList()
    } else {
        try command.run()
    }
    exit(ExitCode.ok)
} catch let error as CLIError {
    if !error.message.isEmpty { Console.error(error.message) }
    exit(error.exitCode)
} catch {
    if BulwarkCommand.exitCode(for: error) == .success {
        print(BulwarkCommand.fullMessage(for: error))
        exit(ExitCode.ok)
    }
    let message = BulwarkCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
    Console.error("\(message) (see 'bulwark help')")
    exit(ExitCode.invalidInput)
}
