import ArgumentParser
import BulwarkCatalog
import BulwarkValidation
import Foundation

/// `bulwark validate`: findings for policy files (SPEC §6).
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate policies against the grammar, the catalogs and best practice.",
        discussion: """
            FILE may be a policy file, - for stdin, or a directory (every *.json below it). \
            Exit codes: 0 no errors, 1 at least one finding of severity error, 2 a file cannot be read.
            """
    )

    @Argument(help: "Policy files, directories, or - for stdin.")
    var files: [String] = ["-"]

    @Option(name: .long, help: "Which rules apply: identity, scp or trust (an agency's trust policy).")
    var type: PolicyTypeArgument = .identity

    @Option(name: .long, help: "Output format: text, json or sarif.")
    var format: ValidationFormat = .text

    @OptionGroup var catalogs: CatalogFlags

    enum PolicyTypeArgument: String, ExpressibleByArgument, CaseIterable {
        case identity, scp, trust
    }

    enum ValidationFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json, sarif
    }

    func run() throws {
        let (paths, expanded) = try Self.expand(files)
        let catalog = try catalogs.load()
        let validator = PolicyValidator(catalog: catalog)
        let policyType: PolicyType =
            switch type {
            case .identity: .identity
            case .scp: .scp
            case .trust: .trust
            }
        var reports: [FileReport] = []
        for path in paths {
            let bytes = try readInput(path)
            reports.append(FileReport(file: path == "-" ? "<stdin>" : path, findings: validator.validate(bytes: bytes, type: policyType)))
        }
        switch format {
        case .json: Console.write(ValidationReport.json(reports, asArray: expanded || reports.count != 1))
        case .text: Console.write(Array(ValidationReport.text(reports).utf8))
        case .sarif: Console.write(ValidationReport.sarif(reports, toolVersion: BulwarkCommand.version))
        }
        if reports.contains(where: { $0.summary.errors > 0 }) {
            throw CLIError(message: "", exitCode: ExitCode.failure)
        }
    }

    /// Files as given, with directories replaced by the `*.json` files below them (sorted).
    /// The flag is true when a directory was expanded (the output is then always an array).
    static func expand(_ arguments: [String]) throws(CLIError) -> ([String], Bool) {
        var out: [String] = []
        var expanded = false
        for argument in arguments {
            var isDirectory: ObjCBool = false
            if argument != "-" && FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) && isDirectory.boolValue {
                expanded = true
                guard let walker = FileManager.default.enumerator(atPath: argument) else {
                    throw CLIError.invalidInput("\(argument): cannot read the directory")
                }
                var found: [String] = []
                while let item = walker.nextObject() as? String {
                    if item.hasSuffix(".json") { found.append((argument as NSString).appendingPathComponent(item)) }
                }
                out += found.sorted()
            } else {
                out.append(argument)
            }
        }
        return (out, expanded)
    }
}
