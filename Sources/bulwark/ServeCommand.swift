import ArgumentParser
import BulwarkCatalog
import BulwarkRuntime
import BulwarkServer
import BulwarkStore
import BulwarkValidation
import BulwarkWorkspace
import Foundation
import Logging
import NIOCore
import NIOPosix

/// `bulwark serve`: the PDP server of SPEC §7.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the PDP server: decisions, management API, metrics (SQLite by default, PostgreSQL for replicas).",
        discussion: """
            With no flags it listens on 127.0.0.1:8181 with a SQLite store in the data directory and \
            prints where the generated admin token is. Stops on SIGTERM or SIGINT after finishing \
            requests in flight. --import DIR writes a workspace as the first revision of an empty store \
            (a store that already holds an organization is left as it is). Exit codes: 0 after a clean \
            stop, 2 for bad flags, a workspace to import with problems, or a store that cannot be opened.
            """
    )

    @Option(name: .long, help: "sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE (default: sqlite in the data directory).")
    var store: String?
    @Option(name: .long, help: "Address to bind (default 127.0.0.1; others need an admin token).")
    var host: String = "127.0.0.1"
    @Option(name: .long, help: "Port (default 8181; 0 picks a free one).")
    var port: Int = 8181
    @Option(name: .long, help: "Data directory (default $BULWARK_DATA_DIR, $XDG_DATA_HOME/bulwark or ~/.local/share/bulwark).")
    var dataDir: String?
    @Option(name: .long, help: "File whose first line is the management API's bearer token (or set BULWARK_ADMIN_TOKEN).")
    var adminTokenFile: String?
    @Option(name: .long, help: "File with a bearer token for the decision API (or BULWARK_DECISION_TOKEN); default: decisions are open.")
    var decisionTokenFile: String?
    @Option(name: .long, help: "Decision log: a file, - for stdout, or none (default DATA/decisions.jsonl).")
    var decisionLog: String?
    @Option(name: .long, help: "Largest request body in bytes (default 8388608).")
    var maxBodyBytes: Int = 8 << 20
    @Option(name: .long, help: "Largest PUT /v1/organization/import body in bytes (default 67108864).")
    var maxImportBytes: Int = 64 << 20
    @Option(name: .customLong("import"), help: "A workspace folder written as the first revision when the store is empty.")
    var importDirectory: String?
    @Option(name: .long, help: "Most requests in one batch (default 10000).")
    var maxBatchRequests: Int = 10_000
    @Option(name: .long, help: "Most statements in the inline policies of one decision request (default 10000).")
    var maxInlineStatements: Int = 10_000
    @Option(name: .long, help: "Identity policies attached to one user, group or agency at most, 1 to 20 (default 10, Huawei's limit).")
    var maxPoliciesPerPrincipal: Int = 10
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"
    @OptionGroup var tls: TLSFlags
    @OptionGroup var catalogs: CatalogFlags
    @OptionGroup var connections: ConnectionFlags

    func run() throws {
        throw CLIError(message: "serve runs asynchronously", exitCode: ExitCode.failure)
    }

    func runServer() async throws(CLIError) {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CLIError.invalidInput("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard (0...65535).contains(port) else { throw CLIError.invalidInput("--port must be from 0 to 65535") }
        guard maxBodyBytes > 0 else { throw CLIError.invalidInput("--max-body-bytes must be positive") }
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.dataDirectory = dataDir
        configuration.decisionLog = decisionLog
        configuration.maxBodyBytes = maxBodyBytes
        guard maxImportBytes > 0 else { throw CLIError.invalidInput("--max-import-bytes must be positive") }
        configuration.maxImportBytes = maxImportBytes
        guard maxBatchRequests > 0 else { throw CLIError.invalidInput("--max-batch-requests must be positive") }
        guard maxInlineStatements > 0 else { throw CLIError.invalidInput("--max-inline-statements must be positive") }
        configuration.decisionLimits.maxBatchRequests = maxBatchRequests
        configuration.decisionLimits.maxInlineStatements = maxInlineStatements
        guard (1...OrganizationState.highestMaxPoliciesPerPrincipal).contains(maxPoliciesPerPrincipal) else {
            throw CLIError.invalidInput("--max-policies-per-principal must be from 1 to \(OrganizationState.highestMaxPoliciesPerPrincipal)")
        }
        configuration.maxPoliciesPerPrincipal = maxPoliciesPerPrincipal
        configuration.connections = try connections.limits()
        configuration.tls = try tls.files()
        let generatedTokenPath: String?
        do {
            if let store { configuration.store = try StoreLocation.parse(store) }
            if let adminTokenFile { configuration.adminToken = try ServerConfiguration.readToken(adminTokenFile) }
            if let decisionTokenFile { configuration.decisionToken = try ServerConfiguration.readToken(decisionTokenFile) }
            generatedTokenPath = try configuration.prepare()
        } catch let error as StoreError {
            throw CLIError.invalidInput(error.description)
        } catch let error as ServerConfiguration.StartError {
            throw CLIError.invalidInput(error.description)
        } catch {
            throw CLIError.invalidInput("\(error)")
        }
        // The catalogs (SPEC §12): `--catalog` and the import's `catalogs/` are checked, then
        // kept in the store for every replica; without them, the store's are used.
        let own = try catalogs.files(workspaces: importDirectory.map { [$0] } ?? [])
        let ownCatalog = own.isEmpty ? nil : try CatalogFlags.merge(own)
        let stored: [CatalogFile]
        do {
            stored = try await StoredCatalogs.synchronize(configuration.store!, given: own.isEmpty ? nil : own, logger: Logger(label: "bulwark"))
        } catch {
            throw CLIError.invalidInput("cannot read or write the store's catalogs: \(error)")
        }
        // Fail closed: catalogs the store holds but that do not load stop the server.
        let catalog: Catalog
        if let ownCatalog {
            catalog = ownCatalog
        } else {
            catalog = try CatalogFlags.merge(stored, origin: "the store's catalogs")
            if !stored.isEmpty { Console.error("catalogs from the store: \(stored.map(\.name).joined(separator: ", "))") }
        }
        if let importDirectory {
            configuration.initialImport = try Self.importState(importDirectory, catalog: catalog, maxPoliciesPerPrincipal: maxPoliciesPerPrincipal)
        }
        ServerProcess.prepare(logLevel: level)
        let logger = Logger(label: "bulwark")
        let server: PDPServer
        do {
            server = try PDPServer(configuration: configuration, catalog: catalog, logger: logger)
        } catch {
            throw CLIError.invalidInput("cannot start: \(error)")
        }
        let storeText: String =
            switch configuration.store {
            case .sqlite(let path)?: "sqlite:\(path)"
            case .postgres(let host, let port, _, _, let database)?: "postgres://\(host):\(port)/\(database)"
            case nil: "?"
            }
        let tokenText = generatedTokenPath.map { "admin token in \($0)" } ?? "admin token as given"
        let host = configuration.host
        let scheme = configuration.tls == nil ? "http" : "https"
        do {
            try await server.application { port in
                Console.error(
                    "serving on \(scheme)://\(host):\(port) (store \(storeText); \(tokenText); console at \(scheme)://\(host):\(port)/console/)")
            }.runService()
        } catch {
            throw CLIError(message: "server stopped: \(error)", exitCode: ExitCode.failure)
        }
    }

    /// Loads and checks the workspace of `--import` before anything starts.
    private static func importState(_ directory: String, catalog: Catalog, maxPoliciesPerPrincipal: Int) throws(CLIError) -> OrganizationState {
        Console.error("--import: reading \(directory)")
        let workspace = Workspace.load(directory: directory, catalog: catalog)
        let context = CommandContext(
            validator: PolicyValidator(catalog: catalog), now: Date().formatted(.iso8601), maxPoliciesPerPrincipal: maxPoliciesPerPrincipal)
        do {
            let result = try OrganizationImport.state(of: workspace, context: context)
            Console.error(
                "--import: \(result.state.principals.count) principals, \(result.state.policies.count) policies, \(result.state.scps.count) SCPs, \(result.state.nodes.count) nodes"
            )
            for (file, id) in result.renamed.sorted(by: { $0.key < $1.key }) { Console.error("--import: \(file) is stored as policy \"\(id)\"") }
            return result.state
        } catch {
            let lines = error.problems.map { "\(directory)/\($0)" }
            throw CLIError.invalidInput("--import: the workspace has \(lines.count) problem(s):\n" + lines.joined(separator: "\n"))
        }
    }
}

/// `--tls-cert` and `--tls-key`, for `serve` and `gateway`.
struct TLSFlags: ParsableArguments {
    @Option(name: .long, help: "PEM certificate (chain) to serve HTTPS; needs --tls-key.") var tlsCert: String?
    @Option(name: .long, help: "PEM private key for --tls-cert.") var tlsKey: String?

    /// Both files or neither.
    func files() throws(CLIError) -> TLSFiles? {
        switch (tlsCert, tlsKey) {
        case (nil, nil): return nil
        case (let cert?, let key?):
            for path in [cert, key] where !FileManager.default.isReadableFile(atPath: path) {
                throw CLIError.invalidInput("\(path): cannot read the file")
            }
            return TLSFiles(certificatePath: cert, keyPath: key)
        default: throw CLIError.invalidInput("--tls-cert and --tls-key go together")
        }
    }
}

/// `--max-connections`, `--header-timeout` and `--idle-timeout`, for `serve` and `gateway`.
struct ConnectionFlags: ParsableArguments {
    @Option(name: .long, help: "Most connections open at once; past it new ones wait (default 4096).") var maxConnections: Int = 4096
    @Option(name: .long, help: "Seconds a connection has to send a request head (default 10).") var headerTimeout: Double = 10
    @Option(name: .long, help: "Seconds a request in progress may send nothing (default 30).") var idleTimeout: Double = 30

    func limits() throws(CLIError) -> ConnectionLimits {
        guard maxConnections > 0 else { throw CLIError.invalidInput("--max-connections must be positive") }
        for (flag, value) in [("--header-timeout", headerTimeout), ("--idle-timeout", idleTimeout)] where !(value > 0 && value <= 86_400) {
            throw CLIError.invalidInput("\(flag) must be a number of seconds from 0 to 86400, not \(value)")
        }
        var limits = ConnectionLimits()
        limits.maxConnections = maxConnections
        limits.headerTimeout = .milliseconds(Int64(headerTimeout * 1000))
        limits.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        return limits
    }
}

/// Process-wide set-up shared by `serve`, `gateway` and `emulator`.
enum ServerProcess {
    /// Runs Swift concurrency on NIO's event loops (a request stays on the thread that read it
    /// instead of hopping to the cooperative pool and back) and, given a level, logs JSON lines.
    static func prepare(logLevel: Logger.Level?) {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        guard let logLevel else { return }
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label)
            handler.logLevel = logLevel
            return handler
        }
    }

    /// `HOST:PORT` of a `--listen` flag.
    static func listenAddress(_ text: String) throws(CLIError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw CLIError.invalidInput("--listen must be HOST:PORT, not \(text)")
        }
        return (String(text[..<colon]), port)
    }
}
