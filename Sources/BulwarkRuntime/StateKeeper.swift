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
///
/// Snapshots advance incrementally: each committed write carries the entities it changed, and
/// the snapshot of its revision is the one before updated with them (one compile per
/// revision, whoever wrote it; writers that commit close together are applied in order).
/// Replicas read the rows other writers changed (`PolicyStore.changes(since:)`) the same way.
public final class StateKeeper: Sendable {
    private struct Current: Sendable {
        /// The newest state read from or written to the store.
        let stored: StoredState
        /// The snapshot of `stored`, whatever it holds.
        let compiled: DecisionSnapshot
        /// What decisions use: `compiled`, or the last good one.
        let snapshot: DecisionSnapshot
        /// Policies of `stored` that do not parse (empty when `snapshot` is of `stored`).
        let unreadable: [UnreadablePolicy]
    }

    /// A committed revision waiting to be compiled: its state and what changed since the one before.
    private struct Committed: Sendable {
        let stored: StoredState
        let changed: Set<EntityKey>
    }

    let store: any PolicyStore
    private let postgres: PostgresStore?
    private let catalog: Catalog
    private let validator: PolicyValidator
    private let current = Mutex<Current?>(nil)
    /// Revisions committed here and not compiled yet, by revision.
    private let committed = Mutex<[Int64: Committed]>([:])
    /// Held while a snapshot is compiled: one compile at a time, each revision once.
    private let compiling = Mutex<Void>(())
    private let onInstall: @Sendable (DecisionSnapshot, [UnreadablePolicy]) -> Void
    private let logger: Logger
    private let pollInterval: Duration
    private let maxPoliciesPerPrincipal: Int
    /// `serve --import`: written as the first revision of an empty store before serving.
    private let initialImport: OrganizationState?

    /// Opens the store at `location`; nothing is read until `run()`.
    public init(
        location: StoreLocation, catalog: Catalog, logger: Logger, pollInterval: Duration = .seconds(1),
        maxPoliciesPerPrincipal: Int = OrganizationState.defaultMaxPoliciesPerPrincipal, initialImport: OrganizationState? = nil,
        onInstall: @escaping @Sendable (DecisionSnapshot, [UnreadablePolicy]) -> Void = { _, _ in }
    ) throws {
        self.maxPoliciesPerPrincipal = maxPoliciesPerPrincipal
        self.initialImport = initialImport
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
                if let initialImport {
                    if try await importIfEmpty(initialImport) {
                        logger.info("--import: the workspace is the store's first revision")
                    } else {
                        logger.warning("--import skipped: the store already holds an organization (use PUT /v1/organization/import to replace it)")
                    }
                }
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

    /// Brings the snapshot up to the store's latest revision: the rows changed since the held
    /// revision when the store can list them (PostgreSQL), else the whole store.
    public func refresh() async throws {
        if let held = current.withLock({ $0?.stored }), let changes = try await store.changes(since: held.revision) {
            guard changes.revision > held.revision else { return }
            var state = held.state
            try state.apply(rows: changes.rows)
            let next = StoredState(state: state, revision: changes.revision)
            await offloaded { self.advance(to: next, from: held.revision, changed: changes.keys) }
            return
        }
        let stored = try await store.load()
        await offloaded {
            self.compiling.withLock { _ in
                if let held = self.revision, held >= stored.revision { return }
                self.publish(stored, DecisionSnapshot(state: stored.state, revision: stored.revision, catalog: self.catalog))
            }
        }
    }

    /// Installs `stored`, whose changes since revision `base` are `changed`: incrementally when
    /// the held snapshot is at `base`, from scratch otherwise.
    private func advance(to stored: StoredState, from base: Int64, changed: Set<EntityKey>) {
        compiling.withLock { _ in
            guard let held = current.withLock({ $0?.compiled }) else {
                publish(stored, DecisionSnapshot(state: stored.state, revision: stored.revision, catalog: catalog))
                return
            }
            if held.revision >= stored.revision { return }
            let next =
                held.revision == base
                ? held.applying(stored.state, changed: changed, revision: stored.revision)
                : DecisionSnapshot(state: stored.state, revision: stored.revision, catalog: catalog)
            publish(stored, next)
        }
    }

    /// Compiles the revisions committed here up to `revision`, in order, each from the one
    /// before. A writer whose predecessor has committed but not yet handed its change over
    /// waits for it briefly; one that never arrives (another replica wrote it) is read from the store.
    private func installCommitted(upTo revision: Int64) async {
        for _ in 0..<200 {
            let held = self.revision ?? -1
            if held >= revision { return }
            let ready = committed.withLock { pending in (held + 1...revision).allSatisfy { pending[$0] != nil } }
            if ready { break }
            try? await Task.sleep(for: .milliseconds(1))  // cancelled: compiled below with what is there
        }
        await offloaded { self.compileCommitted(upTo: revision) }
        if (self.revision ?? -1) < revision {
            // A gap no local writer fills: another replica's write, read from the store.
            do { try await refresh() } catch { logger.warning("reloading after a write failed: \(error)") }
        }
    }

    private func compileCommitted(upTo revision: Int64) {
        compiling.withLock { _ in
            while let held = current.withLock({ $0?.compiled }), held.revision < revision {
                guard let next = committed.withLock({ $0.removeValue(forKey: held.revision + 1) }) else { break }
                publish(next.stored, held.applying(next.stored.state, changed: next.changed, revision: next.stored.revision))
            }
            committed.withLock { pending in
                let held = current.withLock { $0?.compiled.revision } ?? -1
                pending = pending.filter { $0.key > held }
            }
        }
    }

    /// Makes `compiled` (the snapshot of `stored`) current, unless something newer is in place.
    /// A snapshot with unreadable policies replaces only a snapshot that is no better.
    private func publish(_ stored: StoredState, _ compiled: DecisionSnapshot) {
        let installed = current.withLock { current -> DecisionSnapshot? in
            if let held = current, held.stored.revision >= stored.revision { return nil }
            let keepServing = !compiled.unreadable.isEmpty && current.map { $0.snapshot.unreadable.isEmpty } == true
            let snapshot = keepServing ? current!.snapshot : compiled
            current = Current(stored: stored, compiled: compiled, snapshot: snapshot, unreadable: compiled.unreadable)
            return snapshot
        }
        guard let installed else { return }  // something newer is in place already
        let unreadable = compiled.unreadable
        if !unreadable.isEmpty {
            let names = unreadable.map { "\($0.isSCP ? "SCP" : "policy") \($0.id): \($0.reason)" }.joined(separator: "; ")
            let effect =
                installed.revision == stored.revision ? "principals that need them are refused" : "decisions stay on revision \(installed.revision)"
            logger.error("revision \(stored.revision) has policies that do not parse; \(effect): \(names)")
        }
        onInstall(installed, unreadable)
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

    /// What a management command is checked with now: this keeper's validator and limits, stamped
    /// with the current time (the import builds its state with the same).
    public func commandContext() -> CommandContext {
        CommandContext(validator: validator, now: Date().formatted(.iso8601), maxPoliciesPerPrincipal: maxPoliciesPerPrincipal)
    }

    /// Replaces the whole organization with `next` in one store transaction (one revision),
    /// then installs it: an import. Returns the revision written.
    public func replace(with next: OrganizationState) async throws(WriteError) -> Int64 {
        guard let base = current.withLock({ $0?.stored }) else { throw .notReady }
        do {
            let write = try await store.update(base: base) { state in state.replaced(by: next, result: ()) }
            committed.withLock { $0[write.stored.revision] = Committed(stored: write.stored, changed: write.changed) }
            await installCommitted(upTo: write.stored.revision)
            return write.stored.revision
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }

    /// Writes `state` as the first revision when the store holds no organization yet
    /// (`serve --import`); a store that already has one is left alone, so a restart never
    /// overwrites what was managed since. Returns whether it imported.
    private func importIfEmpty(_ state: OrganizationState) async throws -> Bool {
        struct NotEmpty: Error {}
        let stored = try await store.load()
        guard stored.state.isEmpty else { return false }
        do {
            _ = try await store.update(base: stored) { current in
                guard current.isEmpty else { throw NotEmpty() }
                return current.replaced(by: state, result: ())
            }
            return true
        } catch is NotEmpty {
            return false
        }
    }

    /// Applies one management command in one store transaction, then installs the result.
    public func apply(_ command: ManagementCommand) async throws(WriteError) -> (CommandOutcome, OrganizationState) {
        guard let base = current.withLock({ $0?.stored }) else { throw .notReady }
        let context = commandContext()
        do {
            let write = try await store.update(base: base) { state in
                do { return try state.applying(command, context: context) } catch { throw error }
            }
            committed.withLock { $0[write.stored.revision] = Committed(stored: write.stored, changed: write.changed) }
            await installCommitted(upTo: write.stored.revision)
            return (write.result, write.stored.state)
        } catch let error as ManagementError {
            throw .refused(error)
        } catch {
            throw .storeUnavailable("\(error)")
        }
    }
}
