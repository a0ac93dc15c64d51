public import BulwarkCatalog
import Foundation
import GRDB
import Synchronization

/// The default store: one SQLite file (GRDB), no setup. Writes are IMMEDIATE transactions
/// in write-ahead-log mode with `synchronous = FULL`, so an acknowledged write survives a crash of the process or
/// the machine, and a crash mid-write leaves the previous state. Writers that arrive while a
/// transaction commits are committed together in the next one (group commit), each with its
/// own revision.
public final class SQLiteStore: PolicyStore {
    private let queue: DatabaseQueue
    /// Writes waiting for the next group commit.
    private let queued = Mutex(WriteQueue())
    /// The state as last committed or loaded here: this process is the file's only writer, so
    /// a write at that revision starts from it instead of reading every row again.
    private let latest = Mutex<StoredState?>(nil)

    /// Opens (creating if needed) the database at `path`, and its folder.
    public init(path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        // Write-ahead log: a commit appends to the log and syncs it once (a rollback journal
        // syncs the journal, the database and the journal's removal). Still durable at FULL.
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS bulwark_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    INSERT OR IGNORE INTO bulwark_meta (name, value) VALUES ('revision', 0);
                    CREATE TABLE IF NOT EXISTS bulwark_entities (
                        kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key));
                    CREATE TABLE IF NOT EXISTS bulwark_catalogs (name TEXT PRIMARY KEY, body TEXT NOT NULL);
                    """)
        }
    }

    /// The catalog files the store holds (SPEC §12), by name.
    public func catalogFiles() async throws -> [CatalogFile] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT name, body FROM bulwark_catalogs ORDER BY name").map { row in
                CatalogFile(name: row["name"], bytes: Array((row["body"] as String).utf8))
            }
        }
    }

    /// Replaces the catalog files the store holds, in one transaction.
    public func replaceCatalogFiles(_ files: [CatalogFile]) async throws {
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM bulwark_catalogs")
            for file in files {
                try db.execute(
                    sql: "INSERT INTO bulwark_catalogs (name, body) VALUES (?, ?)",
                    arguments: [file.name, String(decoding: file.bytes, as: UTF8.self)])
            }
        }
    }

    public func load() async throws -> StoredState {
        let stored = try await queue.read { db in try Self.read(db) }
        latest.withLock { held in
            if (held?.revision ?? -1) < stored.revision { held = stored }
        }
        return stored
    }

    public func currentRevision() async throws -> Int64 {
        try await queue.read { db in try Self.revision(db) }
    }

    public func update<Result: Sendable>(
        base: StoredState,
        _ change: @escaping @Sendable (OrganizationState) throws -> StateChange<Result>
    ) async throws -> StoreWrite<Result> {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<StoreWrite<Result>, any Error>) in
            let write = QueuedWrite(
                base: base,
                apply: { state in
                    let outcome = try change(state)
                    return (
                        outcome.state, outcome.changed,
                        { stored in
                            continuation.resume(returning: StoreWrite(stored: stored, changed: outcome.changed, result: outcome.result))
                        }
                    )
                },
                fail: { continuation.resume(throwing: $0) })
            let lead = queued.withLock { queue in
                queue.writes.append(write)
                defer { queue.committing = true }
                return !queue.committing
            }
            if lead { Task { await self.commitQueued() } }
        }
    }

    /// A write waiting for the next group commit: its change, and how to answer its caller.
    private struct QueuedWrite: Sendable {
        let base: StoredState
        /// Applies the change; on success, the new state, the keys it changed, and the answer to
        /// give once the transaction holding it has committed.
        let apply: @Sendable (OrganizationState) throws -> (OrganizationState, Set<EntityKey>, @Sendable (StoredState) -> Void)
        let fail: @Sendable (any Error) -> Void
    }

    private struct WriteQueue {
        var writes: [QueuedWrite] = []
        /// A task is committing: new writes join its next batch.
        var committing = false
    }

    /// Group commit: the writes that queued while the previous transaction was committing go
    /// in one transaction — one fsync for all of them — each applied to the state the one
    /// before left and given its own revision. A refused command writes nothing and does not
    /// affect the others; if the transaction fails, every write in it fails.
    private func commitQueued() async {
        while true {
            let batch = queued.withLock { queue in
                let batch = queue.writes
                queue.writes = []
                if batch.isEmpty { queue.committing = false }
                return batch
            }
            if batch.isEmpty { return }
            let latest = self.latest.withLock { $0 }
            do {
                let answers = try await queue.write { db in
                    var revision = try Self.revision(db)
                    let known = [latest, batch[0].base].compactMap { $0 }.first { $0.revision == revision }
                    var state = try known?.state ?? Self.read(db).state
                    var answers: [@Sendable () -> Void] = []
                    for write in batch {
                        let applied: (OrganizationState, Set<EntityKey>, @Sendable (StoredState) -> Void)
                        do {
                            applied = try write.apply(state)
                        } catch {
                            answers.append { write.fail(error) }
                            continue
                        }
                        let (next, changed, answer) = applied
                        try Self.write(next.rows(of: changed), db)
                        revision += 1
                        state = next
                        let stored = StoredState(state: next, revision: revision)
                        answers.append { answer(stored) }
                    }
                    try db.execute(sql: "UPDATE bulwark_meta SET value = ? WHERE name = 'revision'", arguments: [revision])
                    self.latest.withLock { $0 = StoredState(state: state, revision: revision) }
                    return answers
                }
                for answer in answers { answer() }
            } catch {
                self.latest.withLock { $0 = nil }  // the transaction rolled back: read again next time
                for write in batch { write.fail(error) }
            }
        }
    }

    private static func write(_ rows: [(key: EntityKey, body: String?)], _ db: Database) throws {
        for (key, body) in rows {
            if let body {
                try db.execute(
                    sql:
                        "INSERT INTO bulwark_entities (kind, key, body) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
                    arguments: [key.kind, key.key, body])
            } else {
                try db.execute(sql: "DELETE FROM bulwark_entities WHERE kind = ? AND key = ?", arguments: [key.kind, key.key])
            }
        }
    }

    /// One process owns a SQLite store: a reader that is behind reloads it whole.
    public func changes(since revision: Int64) async throws -> StoredChanges? { nil }

    /// One process owns a SQLite store, so there is nobody else to hear from.
    public func watch(_ onChange: @escaping @Sendable (Int64) async -> Void) async throws {}

    private static func revision(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM bulwark_meta WHERE name = 'revision'") ?? 0
    }

    private static func read(_ db: Database) throws -> StoredState {
        let revision = try revision(db)
        let rows = try Row.fetchAll(db, sql: "SELECT kind, key, body FROM bulwark_entities")
        let entities = rows.map { (kind: $0["kind"] as String, key: $0["key"] as String, body: $0["body"] as String) }
        return StoredState(state: try OrganizationState(entities: entities), revision: revision)
    }
}
