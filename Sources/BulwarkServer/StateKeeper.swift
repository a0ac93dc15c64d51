import BulwarkCatalog
import BulwarkStore
import BulwarkValidation
import Foundation
import Synchronization

/// Holds the latest stored state and its compiled snapshot. Decisions read the snapshot
/// (one lock, no I/O); writes go through the store and install the state they committed;
/// changes from other replicas arrive through `refresh()`.
final class StateKeeper: Sendable {
    private struct Current: Sendable {
        let stored: StoredState
        let snapshot: DecisionSnapshot
    }

    let store: any PolicyStore
    private let catalog: Catalog
    private let validator: PolicyValidator
    private let current = Mutex<Current?>(nil)
    private let onInstall: @Sendable (DecisionSnapshot) -> Void

    init(store: any PolicyStore, catalog: Catalog, onInstall: @escaping @Sendable (DecisionSnapshot) -> Void) {
        self.store = store
        self.catalog = catalog
        self.validator = PolicyValidator(catalog: catalog)
        self.onInstall = onInstall
    }

    /// The snapshot decisions use; nil until the store has been read once.
    var snapshot: DecisionSnapshot? { current.withLock { $0?.snapshot } }

    var revision: Int64? { current.withLock { $0?.stored.revision } }

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
