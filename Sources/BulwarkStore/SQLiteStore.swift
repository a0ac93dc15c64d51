import Foundation
import GRDB

/// The default store: one SQLite file (GRDB), no setup. Writes are IMMEDIATE transactions
/// with `synchronous = FULL`, so an acknowledged write survives a crash of the process or
/// the machine, and a crash mid-write leaves the previous state.
public final class SQLiteStore: PolicyStore {
    private let queue: DatabaseQueue

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
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS bulwark_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    INSERT OR IGNORE INTO bulwark_meta (name, value) VALUES ('revision', 0);
                    CREATE TABLE IF NOT EXISTS bulwark_entities (
                        kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key));
                    """)
        }
    }

    public func load() async throws -> StoredState {
        try await queue.read { db in try Self.read(db) }
    }

    public func currentRevision() async throws -> Int64 {
        try await queue.read { db in try Self.revision(db) }
    }

    public func update<Result: Sendable>(
        base: StoredState,
        _ change: @Sendable (OrganizationState) throws -> StateChange<Result>
    ) async throws -> StoreWrite<Result> {
        try await queue.write { db in
            let revision = try Self.revision(db)
            let current = revision == base.revision ? base.state : try Self.read(db).state
            let outcome = try change(current)
            for (key, body) in outcome.state.rows(of: outcome.changed) {
                if let body {
                    try db.execute(
                        sql:
                            "INSERT INTO bulwark_entities (kind, key, body) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
                        arguments: [key.kind, key.key, body])
                } else {
                    try db.execute(sql: "DELETE FROM bulwark_entities WHERE kind = ? AND key = ?", arguments: [key.kind, key.key])
                }
            }
            try db.execute(sql: "UPDATE bulwark_meta SET value = ? WHERE name = 'revision'", arguments: [revision + 1])
            return StoreWrite(
                stored: StoredState(state: outcome.state, revision: revision + 1),
                changed: outcome.changed, result: outcome.result)
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
