import ArgumentParser

/// `bulwark`: decide, explain and inspect access under Huawei Cloud-style IAM policies and SCPs.
struct BulwarkCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "bulwark",
        abstract: "A policy engine for Huawei Cloud IAM identity policies (5.0) and SCPs.",
        discussion:
            "Exit codes: 0 success, 1 unexpected failure (diff/check: different/FAIL), 2 invalid input or usage, 3 denied (with --fail-on-deny; diff/check: unknown).",
        subcommands: [
            AuthorizeCommand.self, DiffCommand.self, CheckCommand.self, GenerateCommand.self, ExplainCommand.self, AuthorizeAPICommand.self,
            ValidateCommand.self, SimulateCommand.self, AccessCommand.self, TestCommand.self, LintCommand.self, CatalogCommand.self,
            ServeCommand.self, GatewayCommand.self, EmulatorCommand.self, ReplayCommand.self, UnusedCommand.self,
            PullCommand.self, PlanCommand.self,
        ]
    )
}
