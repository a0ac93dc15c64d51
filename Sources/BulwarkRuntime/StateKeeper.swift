public import BulwarkCatalog
public import BulwarkStore
import BulwarkValidation
import Foundation
public import Logging
import Synchronization

/// Holds the latest stored state and the compiled snapshot decisions read (one lock, no
/// I/O); writes go through the store and install the state they committed; changes from
/// other replicas arrive through `run()`, which follows the store. The server and the
/// gateway (`--store`) both decide from one of these.
///
/// Fail closed (SPEC §7): a revision holding a policy that does not parse is not installed
/// for decisions while a good snapshot exists — the last good one keeps serving, and
/// `unreadable` names the policies (for `/readyz` and the metrics). With no good snapshot to
/// fall back on, it is installed with every principal that needs those policies refused.
/// Writes always build on the latest stored state, so an administrator can repair it.
public final class StateKeeper: Sendable {
    private struct Current: Sendable {
        /// The newest state read from or written to the store.
        let stored: StoredState
        /// What decisions use: the snapshot of `stored`, or the last good one.
        let snapshot: DecisionSnapshot
        /// Policies of `stored` that do not parse (empty when `snapshot` is of `stored`).
        let unreadable: [UnreadablePolicy]
    }

    let store: any PolicyStore
    private let postgres: PostgresStore?
    private let catalog: Catalog
    private let validator: PolicyValidator
    private let current = Mutex<Current?>(nil)
    private let onInstall: @Sendable (DecisionSnapshot, [UnreadablePolicy]) -> Void
    private let logger: Logger
    private let pollInterval: Duration
    private let maxPoliciesPerPrincipal: Int

    /// Opens the store at `location`; nothing is read until `run()`.
    public init(
        location: StoreLocation, catalog: Catalog, logger: Logger, pollInterval: Duration = .seconds(1),
        maxPoliciesPerPrincipal: Int = OrganizationState.defaultMaxPoliciesPerPrincipal,
        onInstall: @escaping @Sendable (DecisionSnapshot, [UnreadablePolicy]) -> Void = { _, _ in }
    ) throws {
        self.maxPoliciesPerPrincipal = maxPoliciesPerPrincipal
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

    /// The newest revision read from or written to the store.
    public var revision: Int64? { current.withLock { $0?.stored.revision } }

    /// The newest stored state and its revision, for management reads.
    public var latest: (state: OrganizationState, revision: Int64)? { current.withLock { $0.map { ($0.stored.state, $0.stored.revision) } } }

    /// Stored policies of the newest revision that do not parse; empty when all is well.
    public var unreadable: [UnreadablePolicy] { current.withLock { $0?.unreadable ?? [] } }

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
                try? await Task.sleep(for: .seconds(1))  // cancelled: the loop ends
            }
        }
        await withTaskGroup(of: Void.self) { group in
            let logger = self.logger
            group.addTask {
                // Safe: if watching ends (a lost connection), the poll below still follows the store.
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
                        try? await Task.sleep(for: interval)  // cancelled: the loop ends
                        // Safe: a failed poll is retried at the next one; decisions keep the snapshot they have.
                        guard let revision = try? await self.store.currentRevision(), revision > (self.revision ?? -1) else { continue }
                        do { try await self.refresh() } catch { logger.warning("reloading after a change failed: \(error)") }
                    }
                }
            }
            // SQLite has no other writers: stay until cancelled.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }  // cancelled: the loop ends
            group.cancelAll()
        }
    }

    /// Reads the whole store and installs it if it is newer than what is held.
    public func refresh() async throws {
        install(try await store.load())
    }

    /// Compiles `stored` and makes it current, unless something newer is in place already.
    /// A snapshot with unreadable policies replaces only a snapshot that is no better.
    private func install(_ stored: StoredState) {
        if let held = revision, held >= stored.revision { return }
        let compiled = DecisionSnapshot(state: stored.state, revision: stored.revision, catalog: catalog)
        let installed = current.withLock { current -> DecisionSnapshot? in
            if let held = current, held.stored.revision >= stored.revision { return nil }
            let keepServing = !compiled.unreadable.isEmpty && current.map { $0.snapshot.unreadable.isEmpty } == true
            let snapshot = keepServing ? current!.snapshot : compiled
            current = Current(stored: stored, snapshot: snapshot, unreadable: compiled.unreadable)
            return snapshot
        }
        guard let installed else { return }  // something newer is in place already
        if !compiled.unreadable.isEmpty {
            let names = compiled.unreadable.map { "\($0.isSCP ? "SCP" : "policy") \($0.id): \($0.reason)" }.joined(separator: "; ")
            let effect =
                installed.revision == stored.revision ? "principals that need them are refused" : "decisions stay on revision \(installed.revision)"
            logger.error("revision \(stored.revision) has policies that do not parse; \(effect): \(names)")
        }
        onInstall(installed, compiled.unreadable)
    }

    /// Why a management write did not happen.
    public enum WriteError: Error, Sendable {
        /// The store has not been read yet.
        case notReady
        /// The command is invalid in the current state (nothing was written).
        case refused(ManagementError)
        /// The store did not take the write.
        case storeUnavailable(String)
    }

    /// Applies one management command in one store transaction, then installs the result.
    public func apply(_ command: ManagementCommand) async throws(WriteError) -> (CommandOutcome, OrganizationState) {
        guard let base = current.withLock({ $0?.stored }) else { throw .notReady }
        let context = CommandContext(validator: validator, now: Date().formatted(.iso8601), maxPoliciesPerPrincipal: maxPoliciesPerPrincipal)
        do {
            let (stored, outcome) = try await store.update(base: base) { state in
                do { return try state.applying(command, context: context) } catch { throw error }
            }
            install(stored)
            return (outcome, stored.state)
        } catch let error as ManagementError {
            throw .refused(error)
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }
}
