import BulwarkCatalog
import BulwarkStore
import BulwarkValidation
import Foundation
import Logging
import Synchronization

/// Holds the latest stored state and its compiled snapshot. Decisions read the snapshot
/// (one lock, no I/O); writes go through the store and install the state they committed;
/// changes from other replicas arrive through `run()`, which follows the store. The server
/// and the gateway (`--store`) both decide from one of these.
public final class StateKeeper: Sendable {
    private struct Current: Sendable {
        let stored: StoredState
        let snapshot: DecisionSnapshot
    }

    let store: any PolicyStore
    private let postgres: PostgresStore?
    private let catalog: Catalog
    private let validator: PolicyValidator
    private let current = Mutex<Current?>(nil)
    private let onInstall: @Sendable (DecisionSnapshot) -> Void
    private let logger: Logger
    private let pollInterval: Duration

    /// Opens the store at `location`; nothing is read until `run()`.
    public init(
        location: StoreLocation, catalog: Catalog, logger: Logger, pollInterval: Duration = .seconds(1),
        onInstall: @escaping @Sendable (DecisionSnapshot) -> Void = { _ in }
    ) throws {
        switch location {
        case .sqlite(let path):
            store = try SQLiteStore(path: path)
            postgres = nil
        case .postgres(let host, let port, let user, let password, let database):
            let pg = PostgresStore(host: host, port: port, user: user, password: password, database: database, logger: logger)
            store = pg
            postgres = pg
        }
        self.catalog = catalog
        self.validator = PolicyValidator(catalog: catalog)
        self.onInstall = onInstall
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// The snapshot decisions use; nil until the store has been read once.
    public var snapshot: DecisionSnapshot? { current.withLock { $0?.snapshot } }

    /// The revision of that snapshot.
    public var revision: Int64? { current.withLock { $0?.stored.revision } }

    /// Loads the store (retrying until it answers), then follows it until cancelled: the
    /// store's notifications (PostgreSQL LISTEN) and a poll of the revision as a safety net.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            if let postgres { group.addTask { await postgres.run() } }
            group.addTask { await self.follow() }
            await group.next()
            group.cancelAll()
        }
    }

    private func follow() async {
        while !Task.isCancelled {
            do {
                if let postgres { try await postgres.prepare() }
                try await refresh()
                break
            } catch {
                logger.error("cannot load the store: \(error); retrying in 1 s")
                try? await Task.sleep(for: .seconds(1))
            }
        }
        await withTaskGroup(of: Void.self) { group in
            let logger = self.logger
            group.addTask {
                try? await self.store.watch { revision in
                    if revision > (self.revision ?? -1) {
                        do { try await self.refresh() } catch { logger.warning("reloading after a change failed: \(error)") }
                    }
                }
            }
            if postgres != nil {
                let interval = pollInterval
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        guard let revision = try? await self.store.currentRevision(), revision > (self.revision ?? -1) else { continue }
                        do { try await self.refresh() } catch { logger.warning("reloading after a change failed: \(error)") }
                    }
                }
            }
            // SQLite has no other writers: stay until cancelled.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            group.cancelAll()
        }
    }

    /// Reads the whole store and installs it if it is newer than what is held.
    func refresh() async throws {
        install(try await store.load())
    }

    /// Compiles `stored` and makes it current, unless something newer is in place already.
    private func install(_ stored: StoredState) {
        if let held = revision, held >= stored.revision { return }
        let snapshot = DecisionSnapshot(state: stored.state, revision: stored.revision, catalog: catalog)
        let installed = current.withLock { current -> Bool in
            if let held = current, held.stored.revision >= stored.revision { return false }
            current = Current(stored: stored, snapshot: snapshot)
            return true
        }
        if installed { onInstall(snapshot) }
    }

    /// Applies one management command in one store transaction, then installs the result.
    func apply(_ command: ManagementCommand) async throws(APIError) -> (CommandOutcome, OrganizationState) {
        guard let base = current.withLock({ $0?.stored }) else {
            throw APIError(status: 503, code: "not_ready", message: "the store has not been loaded yet")
        }
        let context = CommandContext(validator: validator, now: Date().formatted(.iso8601))
        do {
            let (stored, outcome) = try await store.update(base: base) { state in
                do { return try state.applying(command, context: context) } catch { throw error }
            }
            install(stored)
            return (outcome, stored.state)
        } catch let error as ManagementError {
            throw APIError.management(error)
        } catch {
            throw APIError(status: 503, code: "store_unavailable", message: "the store refused the write: \(error)")
        }
    }
}
