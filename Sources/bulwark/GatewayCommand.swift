import ArgumentParser
import BulwarkCatalog
import BulwarkCloud
import BulwarkEmulator
import BulwarkEnforcement
import BulwarkGateway
import BulwarkPolicy
import BulwarkRuntime
import BulwarkServer
import BulwarkStore
import BulwarkWorkspace
import Foundation
import Logging

/// `bulwark gateway`: the enforcement point of SPEC §9.
struct GatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Enforce policies on IMS and SWR API calls: verify SDK-HMAC-SHA256 signatures, decide, forward or refuse.",
        discussion: """
            Calls are 401 when unauthenticated, 403 when denied (Huawei-style JSON with error_code, \
            error_msg and decision_id), and forwarded otherwise: unchanged, or re-signed with the gateway's own key \
            for the upstream (--upstream-credentials). Exit codes: 0 after a clean \
            stop (SIGTERM/SIGINT), 2 for bad flags, an unreadable workspace or credentials file.
            """
    )

    @Option(name: .long, help: "The workspace folder whose principals and policies decide.") var workspace: String?
    @Option(name: .long, help: "Or the server's store: sqlite:PATH or postgres://… (followed as it changes).") var store: String?
    @Option(name: .long, help: "Credentials file (YAML/JSON, mode 0600): access keys, secrets, principals.") var credentials: String
    @Option(name: .long, help: "HOST:PORT to listen on (default 127.0.0.1:8443).") var listen: String = "127.0.0.1:8443"
    @Option(name: .long, help: "SERVICE=URL or SERVICE=emulator (repeat), e.g. ims=emulator.") var upstream: [String] = []
    @Option(
        name: .long,
        help:
            "The gateway's own keys for URL upstreams (YAML/JSON {credentials: [{accessKey, secretKey, service?, projectId?, securityToken?}]}, mode 0600): allowed calls are re-signed with them."
    ) var upstreamCredentials: String?
    @Option(name: .long, help: "Region for resource URNs (default cn-north-4).") var region: String = "cn-north-4"
    @Option(name: .long, help: "A proxy (IP or CIDR) whose X-Forwarded-For is believed (repeat).") var trustedProxy: [String] = []
    @Option(name: .long, help: "Decision log: a file, - for stdout (the default), or none.") var decisionLog: String = "-"
    @Option(name: .long, help: "SQLite file of the emulator (default: a new temporary file).") var emulatorData: String?
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Option(name: .long, help: "Largest request body in bytes (default 8388608).") var maxBodyBytes: Int = 8 << 20
    @Option(name: .long, help: "Bytes of request bodies held at once across calls (default 67108864).") var maxInflightBodyBytes: Int = 64 << 20
    @OptionGroup var tls: TLSFlags
    @OptionGroup var catalogs: CatalogFlags
    @OptionGroup var connections: ConnectionFlags

    func run() throws {
        throw CLIError(message: "gateway runs asynchronously", exitCode: ExitCode.failure)
    }

    /// Each URL upstream's key: the entry naming its service, else the entry naming none. A key
    /// for a service that is not a URL upstream is a mistake, not ignored.
    static func upstreamKeys(_ path: String, upstreams: [String: Upstream]) throws(CLIError) -> [String: UpstreamKey] {
        let entries: [CloudCredentials]
        do { entries = try CloudCredentials.loadList(path: path, required: [], optional: ["service", "projectId"]) } catch {
            throw CLIError.invalidInput(error.description)
        }
        var keys: [String: UpstreamKey] = [:]
        for entry in entries {
            if let service = entry.service {
                guard case .url? = upstreams[service] else {
                    throw CLIError.invalidInput("--upstream-credentials \(path): \(service) is not a URL upstream (--upstream \(service)=https://…)")
                }
                guard !entries.contains(where: { $0.service == service && $0.accessKey != entry.accessKey }) else {
                    throw CLIError.invalidInput("--upstream-credentials \(path): two keys for \(service)")
                }
            }
        }
        guard entries.filter({ $0.service == nil }).count <= 1 else {
            throw CLIError.invalidInput("--upstream-credentials \(path): more than one key names no service")
        }
        for (service, upstream) in upstreams {
            guard case .url = upstream, let entry = entries.first(where: { $0.service == service }) ?? entries.first(where: { $0.service == nil })
            else {
                continue
            }
            keys[service] = UpstreamKey(
                accessKey: entry.accessKey, secretKey: entry.secretKey, securityToken: entry.securityToken, projectID: entry.projectID)
        }
        return keys
    }

    func runGateway() async throws(CLIError) {
        guard let level = Logger.Level(rawValue: logLevel) else { throw CLIError.invalidInput("--log-level: unknown level \(logLevel)") }
        var configuration = GatewayConfiguration()
        (configuration.host, configuration.port) = try ServerProcess.listenAddress(listen)
        configuration.region = region
        guard !upstream.isEmpty else {
            throw CLIError.invalidInput("give at least one --upstream SERVICE=URL|emulator, e.g. --upstream ims=emulator")
        }
        for item in upstream {
            guard let eq = item.firstIndex(of: "=") else {
                throw CLIError.invalidInput("--upstream \(item): expected SERVICE=URL or SERVICE=emulator")
            }
            let service = String(item[..<eq]).lowercased()
            let target = String(item[item.index(after: eq)...])
            if target == "emulator" {
                configuration.upstreams[service] = .emulator
            } else if target.hasPrefix("http://") || target.hasPrefix("https://") {
                configuration.upstreams[service] = .url(target.hasSuffix("/") ? String(target.dropLast()) : target)
            } else {
                throw CLIError.invalidInput("--upstream \(item): the target must be an http(s) URL or emulator")
            }
        }
        for proxy in trustedProxy {
            guard let range = IPAddressRange(proxy) else { throw CLIError.invalidInput("--trusted-proxy \(proxy): not an IP address or CIDR") }
            configuration.trustedProxies.append(range)
        }
        configuration.decisionLog = decisionLog == "none" ? nil : decisionLog
        if configuration.upstreams.values.contains(where: { if case .emulator = $0 { true } else { false } }) {
            do {
                configuration.emulator = try Emulator(path: emulatorData ?? Emulator.temporaryPath(), account: Emulator.defaultAccount).upstream
            } catch {
                throw CLIError.invalidInput("cannot open the emulator's data: \(error)")
            }
        }
        if let upstreamCredentials { configuration.upstreamKeys = try Self.upstreamKeys(upstreamCredentials, upstreams: configuration.upstreams) }
        configuration.tls = try tls.files()
        guard maxBodyBytes > 0, maxInflightBodyBytes >= maxBodyBytes else {
            throw CLIError.invalidInput("--max-body-bytes must be positive and at most --max-inflight-body-bytes")
        }
        configuration.maxBodyBytes = maxBodyBytes
        configuration.maxInflightBodyBytes = maxInflightBodyBytes
        configuration.connections = try connections.limits()
        var catalog = try catalogs.load(workspaces: workspace.map { [$0] } ?? [])
        // On a store without --catalog: the catalogs `serve --catalog` kept there (SPEC §12), as the servers decide.
        if let store, catalogs.directories.isEmpty {
            let stored: [CatalogFile]
            do {
                stored = try await StoredCatalogs.synchronize(try StoreLocation.parse(store), given: nil, logger: Logger(label: "bulwark-gateway"))
            } catch {
                throw CLIError.invalidInput("--store \(store): cannot read its catalogs: \(error)")
            }
            catalog = try CatalogFlags.merge(stored, origin: "the store's catalogs")
        }
        let source: PolicySource
        switch (workspace, store) {
        case (let folder?, nil):
            let loaded = Workspace.load(directory: folder, catalog: catalog)
            if let problem = loaded.problems.first {
                throw CLIError.invalidInput(
                    "\(folder)/\(problem) (\(loaded.problems.count) problem\(loaded.problems.count == 1 ? "" : "s"); see bulwark lint)")
            }
            source = .organization(loaded.organization)
        case (nil, let location?):
            do {
                source = .store(
                    try StateKeeper(location: try StoreLocation.parse(location), catalog: catalog, logger: Logger(label: "bulwark-gateway")))
            } catch {
                throw CLIError.invalidInput("--store \(location): \(error)")
            }
        default:
            throw CLIError.invalidInput("give either --workspace DIR or --store LOCATION")
        }
        let keys: CredentialStore
        do { keys = try CredentialStore.load(path: credentials) } catch { throw CLIError.invalidInput(error.description) }

        ServerProcess.prepare(logLevel: level)
        let gateway: Gateway
        do {
            gateway = try Gateway(
                configuration: configuration, catalog: catalog, source: source, credentials: keys, logger: Logger(label: "bulwark-gateway"))
        } catch {
            throw CLIError.invalidInput("cannot start: \(error)")
        }
        let host = configuration.host
        let scheme = configuration.tls == nil ? "http" : "https"
        let upstreams = configuration.upstreams.keys.sorted().map { key -> String in
            switch configuration.upstreams[key]! {
            case .emulator: "\(key)=emulator"
            case .url(let url): "\(key)=\(url)"
            }
        }.joined(separator: ", ")
        do {
            try await gateway.application { port in
                Console.error("gateway on \(scheme)://\(host):\(port) (\(keys.all.count) access keys; upstreams \(upstreams))")
            }.runService()
        } catch {
            throw CLIError(message: "gateway stopped: \(error)", exitCode: ExitCode.failure)
        }
    }
}

/// `bulwark emulator`: a test double for the cloud on one port — IMS, SWR, IAM v5,
/// Organizations and CTS (SPEC §13).
struct EmulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Serve a test double of Huawei Cloud (IMS, SWR, IAM v5, Organizations, CTS) on one port; not the product.",
        discussion: """
            IAM v5, Organizations and CTS answer calls signed by a key of --credentials (the gateway's format: each key acts \
            as its principal's account). IMS and SWR check no credentials unless --strict, so a gateway can stand in front; \
            with --strict they too refuse calls not signed by one of its keys. See docs/cloud.md.
            """
    )

    @Option(name: .long, help: "HOST:PORT to listen on (default 127.0.0.1:8600).") var listen: String = "127.0.0.1:8600"
    @Option(name: .long, help: "SQLite file for the emulated resources (default: a new temporary file).") var data: String?
    @Option(name: .long, help: "The account that owns what is created (default 0a1b2c).") var account: String = "0a1b2c"
    @Option(name: .long, help: "A catalog directory whose Huawei schemas IAM's authorization-schema API serves.") var schemas: String?
    @Option(name: .long, help: "Access keys (the gateway's credentials format) the control plane accepts; without it, it refuses every call.")
    var credentials: String?
    @Flag(name: .long, help: "IMS and SWR refuse calls not signed by a key of --credentials (to test a re-signing gateway).")
    var strict = false

    func run() throws {
        throw CLIError(message: "emulator runs asynchronously", exitCode: ExitCode.failure)
    }

    func runEmulator() async throws(CLIError) {
        let (host, port) = try ServerProcess.listenAddress(listen)
        var documents: [String: [UInt8]] = [:]
        if let schemas {
            do {
                // Served as written, after checking they load together: the emulator serves only sound schemas.
                let files = try Catalog.files(inDirectories: [schemas])
                let merged = try Catalog.bundled().merging(files)
                for file in files {
                    if let code = merged.catalog.services.first(where: { $0.source == file.name })?.name { documents[code] = file.bytes }
                }
            } catch {
                throw CLIError.invalidInput("--schemas \(schemas): \(error)")
            }
        }
        var keys: CredentialStore?
        if let credentials {
            do { keys = try CredentialStore.load(path: credentials) } catch { throw CLIError.invalidInput(error.description) }
        }
        if strict && keys == nil { throw CLIError.invalidInput("--strict needs --credentials: the keys calls must be signed with") }
        let served = documents.count
        let emulator: Emulator
        do {
            emulator = try Emulator(path: data ?? Emulator.temporaryPath(), account: account, schemas: documents, credentials: keys, strict: strict)
        } catch {
            throw CLIError.invalidInput("cannot open the emulator's data: \(error)")
        }
        ServerProcess.prepare(logLevel: nil)
        var logger = Logger(label: "bulwark-emulator")
        logger.logLevel = .warning
        do {
            try await emulator.application(host: host, port: port, logger: logger) { port in
                Console.error(
                    "emulator on http://\(host):\(port) (a test double for the cloud: IMS and SWR \(strict ? "signed calls only" : "without authentication"); IAM v5, Organizations and CTS signed calls only; \(served) authorization schemas)"
                )
            }.runService()
        } catch {
            throw CLIError(message: "emulator stopped: \(error)", exitCode: ExitCode.failure)
        }
    }
}
