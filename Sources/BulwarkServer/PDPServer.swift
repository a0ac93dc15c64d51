public import BulwarkCatalog
import BulwarkRuntime
import BulwarkStore
import Foundation
public import Hummingbird
public import Logging
import ServiceLifecycle

/// The PDP server of SPEC §7: Hummingbird routes over `DecisionService` and
/// `ManagementService`, a `StateKeeper` holding the compiled snapshot, and a background
/// service that loads the store, follows other replicas' writes and flushes the decision log.
public final class PDPServer: Sendable {
    public let configuration: ServerConfiguration
    let logger: Logger
    let keeper: StateKeeper
    let metrics: ServerMetrics
    let decisions: DecisionService
    let accessAnalyzer: AccessAnalyzerService
    let decisionLog: DecisionLog?
    let catalog: Catalog
    /// The web console's sign-ins and its view of the last decisions.
    let consoleSessions: ConsoleSessions
    let recentDecisions = RecentDecisions()

    /// Opens the store and the decision log. Call `configuration.prepare()` first.
    public init(configuration: ServerConfiguration, catalog: Catalog, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.catalog = catalog
        let metrics = ServerMetrics()
        self.metrics = metrics
        self.decisions = DecisionService(catalog: catalog, limits: configuration.decisionLimits)
        self.accessAnalyzer = AccessAnalyzerService(catalog: catalog)
        self.consoleSessions = ConsoleSessions(failuresPerMinute: configuration.consoleSignInFailuresPerMinute)
        keeper = try StateKeeper(
            location: configuration.store ?? .sqlite(path: (configuration.dataDirectory ?? ".") + "/bulwark.sqlite"),
            catalog: catalog, logger: logger, pollInterval: configuration.pollInterval,
            maxPoliciesPerPrincipal: configuration.maxPoliciesPerPrincipal, initialImport: configuration.initialImport
        ) { snapshot, unreadable in
            metrics.recordSnapshot(revision: snapshot.revision, principals: snapshot.principalCount)
            metrics.recordUnreadable(unreadable)
            logger.info("snapshot installed", metadata: ["revision": "\(snapshot.revision)", "principals": "\(snapshot.principalCount)"])
        }
        if let path = configuration.decisionLog, path != "none" {
            decisionLog = try DecisionLog(path: path)
        } else {
            decisionLog = nil
        }
    }

    /// The Hummingbird application: routes plus the background service.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        Application(
            router: try router(),
            server: try configuration.connections.serverBuilder(tls: configuration.tls),
            configuration: configuration.connections.applicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "bulwark", logger: logger),
            services: [BackgroundService(server: self)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then drains requests and flushes the decision log.
    public func run() async throws {
        try await application().runService()
    }

    // MARK: Background work

    /// Follows the store and flushes the decision log until the service group shuts down
    /// (SIGTERM/SIGINT), which happens after the HTTP server has finished its requests,
    /// since services stop in reverse order.
    struct BackgroundService: Service {
        let server: PDPServer

        func run() async throws {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await server.keeper.run() }
                if let log = server.decisionLog { group.addTask { await log.flushPeriodically() } }
                try? await gracefulShutdown()  // returns, or throws on cancellation: either way, stop
                group.cancelAll()
            }
            server.decisionLog?.flush()
        }
    }
}
