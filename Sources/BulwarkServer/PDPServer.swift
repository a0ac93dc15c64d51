import BulwarkCatalog
import BulwarkStore
import Foundation
import Hummingbird
import Logging
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
    let decisionLog: DecisionLog?
    private let postgres: PostgresStore?

    /// Opens the store and the decision log. Call `configuration.prepare()` first.
    public init(configuration: ServerConfiguration, catalog: Catalog, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let metrics = ServerMetrics()
        self.metrics = metrics
        self.decisions = DecisionService(catalog: catalog)
        let store: any PolicyStore
        switch configuration.store ?? .sqlite(path: (configuration.dataDirectory ?? ".") + "/bulwark.sqlite") {
        case .sqlite(let path):
            store = try SQLiteStore(path: path)
            postgres = nil
        case .postgres(let host, let port, let user, let password, let database):
            let pg = PostgresStore(host: host, port: port, user: user, password: password, database: database, logger: logger)
            store = pg
            postgres = pg
        }
        keeper = StateKeeper(store: store, catalog: catalog) { snapshot in
            metrics.recordSnapshot(revision: snapshot.revision, principals: snapshot.principalCount)
            logger.info("snapshot installed", metadata: ["revision": "\(snapshot.revision)", "principals": "\(snapshot.principalCount)"])
        }
        if let path = configuration.decisionLog, path != "none" {
            decisionLog = try DecisionLog(path: path)
        } else {
            decisionLog = nil
        }
    }

    /// The Hummingbird application: routes plus the background service.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "bulwark"),
            services: [BackgroundService(server: self)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then drains requests and flushes the decision log.
    public func run() async throws {
        try await application().runService()
    }

    // MARK: Background work

    /// Loads the store (retrying until it answers), then follows changes: the store's own
    /// notifications (PostgreSQL LISTEN) and a poll of the revision as a safety net.
    struct BackgroundService: Service {
        let server: PDPServer

        func run() async throws {
            await withTaskGroup(of: Void.self) { group in
                if let pg = server.postgres { group.addTask { await pg.run() } }
                group.addTask { await server.follow() }
                if let log = server.decisionLog {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(200))
                            log.flush()
                        }
                    }
                }
                // Runs until the service group shuts down (SIGTERM/SIGINT), after the HTTP
                // server has finished its requests, since services stop in reverse order.
                try? await gracefulShutdown()
                group.cancelAll()
            }
            server.decisionLog?.flush()
        }
    }

    private func follow() async {
        while !Task.isCancelled {
            do {
                if let postgres { try await postgres.prepare() }
                try await keeper.refresh()
                break
            } catch {
                logger.error("cannot load the store: \(error); retrying in 1 s")
                try? await Task.sleep(for: .seconds(1))
            }
        }
        await withTaskGroup(of: Void.self) { group in
            let keeper = self.keeper
            let logger = self.logger
            group.addTask {
                try? await keeper.store.watch { revision in
                    if revision > (keeper.revision ?? -1) {
                        do { try await keeper.refresh() } catch { logger.warning("reloading after a change failed: \(error)") }
                    }
                }
            }
            if postgres != nil {
                let interval = configuration.pollInterval
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        guard let revision = try? await keeper.store.currentRevision(), revision > (keeper.revision ?? -1) else { continue }
                        do { try await keeper.refresh() } catch { logger.warning("reloading after a change failed: \(error)") }
                    }
                }
            }
            await group.waitForAll()
        }
    }
}
