public import BulwarkCatalog
import Foundation
public import Logging
import PostgresNIO

/// The store for several replicas: PostgreSQL through postgres-nio. A write locks the
/// revision row (`SELECT … FOR UPDATE`), so writers on any replica are serialized, and
/// publishes the new revision with `NOTIFY bulwark_changes` in the same transaction, so
/// every replica listening hears of it as soon as it commits. Each row carries the revision
/// that last wrote it and deletions leave a tombstone, so a replica reads only what changed.
public final class PostgresStore: PolicyStore {
    private let client: PostgresClient
    private let logger: Logger
    /// The channel replicas listen on.
    public static let channel = "bulwark_changes"

    public init(host: String, port: Int, user: String, password: String?, database: String, logger: Logger) {
        let configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the connection pool until the task is cancelled. Start it before any other call.
    public func run() async {
        await client.run()
    }

    /// Creates the tables if they are missing; safe when replicas start together.
    public func prepare() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(7428150)", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS bulwark_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL)", logger: logger)
            try await connection.query("INSERT INTO bulwark_meta (name, value) VALUES ('revision', 0) ON CONFLICT (name) DO NOTHING", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS bulwark_entities (
                    kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key))
                """, logger: logger)
            // Stores created before incremental replicas: their rows count as revision 0.
            try await connection.query("ALTER TABLE bulwark_entities ADD COLUMN IF NOT EXISTS revision BIGINT NOT NULL DEFAULT 0", logger: logger)
            try await connection.query("CREATE INDEX IF NOT EXISTS bulwark_entities_revision ON bulwark_entities (revision)", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS bulwark_deleted (kind TEXT NOT NULL, key TEXT NOT NULL, revision BIGINT NOT NULL, PRIMARY KEY (kind, key))",
                logger: logger)
            try await connection.query("CREATE INDEX IF NOT EXISTS bulwark_deleted_revision ON bulwark_deleted (revision)", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS bulwark_catalogs (name TEXT PRIMARY KEY, body TEXT NOT NULL)", logger: logger)
        }
    }

    /// The catalog files the store holds (SPEC §12), by name.
    public func catalogFiles() async throws -> [CatalogFile] {
        let rows = try await client.query("SELECT name, body FROM bulwark_catalogs ORDER BY name", logger: logger)
        var files: [CatalogFile] = []
        for try await (name, body) in rows.decode((String, String).self) { files.append(CatalogFile(name: name, bytes: Array(body.utf8))) }
        return files
    }

    /// Replaces the catalog files the store holds, in one transaction.
    public func replaceCatalogFiles(_ files: [CatalogFile]) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("DELETE FROM bulwark_catalogs", logger: logger)
            for file in files {
                let body = String(decoding: file.bytes, as: UTF8.self)
                try await connection.query("INSERT INTO bulwark_catalogs (name, body) VALUES (\(file.name), \(body))", logger: logger)
            }
        }
    }

    public func load() async throws -> StoredState {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            return try await Self.read(connection, logger: logger)
        }
    }

    public func currentRevision() async throws -> Int64 {
        let rows = try await client.query("SELECT value FROM bulwark_meta WHERE name = 'revision'", logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        throw StoreError("bulwark_meta has no revision row")
    }

    public func update<Result: Sendable>(
        base: StoredState,
        _ change: @escaping @Sendable (OrganizationState) throws -> StateChange<Result>
    ) async throws -> StoreWrite<Result> {
        let logger = self.logger
        do {
            return try await transaction(base: base, change, logger: logger)
        } catch let error as PostgresTransactionError {
            // The change's own refusal (a ManagementError) must reach the caller as itself;
            // the transaction was rolled back either way.
            if let refusal = error.closureError, !(refusal is PSQLError) { throw refusal }
            throw error
        }
    }

    private func transaction<Result: Sendable>(
        base: StoredState,
        _ change: @escaping @Sendable (OrganizationState) throws -> StateChange<Result>,
        logger: Logger
    ) async throws -> StoreWrite<Result> {
        try await client.withTransaction(logger: logger) { connection in
            var revision: Int64 = -1
            let locked = try await connection.query("SELECT value FROM bulwark_meta WHERE name = 'revision' FOR UPDATE", logger: logger)
            for try await value in locked.decode(Int64.self) { revision = value }
            guard revision >= 0 else { throw StoreError("bulwark_meta has no revision row") }
            // A stale base (another replica wrote since) catches up on the rows written after it,
            // read under the lock: the same state a full read would give, for what changed.
            var current = base.state
            if revision != base.revision {
                if base.revision < revision {
                    try current.apply(rows: try await Self.rows(connection, since: base.revision, logger: logger))
                } else {
                    current = try await Self.read(connection, logger: logger).state
                }
            }
            let outcome = try change(current)
            let next = revision + 1
            for (key, body) in outcome.state.rows(of: outcome.changed) {
                if let body {
                    try await connection.query(
                        """
                        INSERT INTO bulwark_entities (kind, key, body, revision) VALUES (\(key.kind), \(key.key), \(body), \(next))
                        ON CONFLICT (kind, key) DO UPDATE SET body = EXCLUDED.body, revision = EXCLUDED.revision
                        """, logger: logger)
                } else {
                    try await connection.query("DELETE FROM bulwark_entities WHERE kind = \(key.kind) AND key = \(key.key)", logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO bulwark_deleted (kind, key, revision) VALUES (\(key.kind), \(key.key), \(next))
                        ON CONFLICT (kind, key) DO UPDATE SET revision = EXCLUDED.revision
                        """, logger: logger)
                }
            }
            try await connection.query("UPDATE bulwark_meta SET value = \(next) WHERE name = 'revision'", logger: logger)
            try await connection.query("SELECT pg_notify(\(Self.channel), \(String(next)))", logger: logger)
            return StoreWrite(
                stored: StoredState(state: outcome.state, revision: next), changed: outcome.changed,
                result: outcome.result)
        }
    }

    /// Rows written after `revision`, deletions first (a key deleted and written again since
    /// ends written), read in one consistent snapshot of the database.
    public func changes(since revision: Int64) async throws -> StoredChanges? {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            var current: Int64 = 0
            for try await value in try await connection.query("SELECT value FROM bulwark_meta WHERE name = 'revision'", logger: logger)
                .decode(Int64.self)
            {
                current = value
            }
            return StoredChanges(rows: try await Self.rows(connection, since: revision, logger: logger), revision: current)
        }
    }

    /// The rows written after `revision`: deletions first (a key deleted and written again since
    /// ends written), then writes.
    private static func rows(_ connection: PostgresConnection, since revision: Int64, logger: Logger) async throws -> [(
        kind: String, key: String, body: String?
    )] {
        var rows: [(kind: String, key: String, body: String?)] = []
        let deleted = try await connection.query(
            "SELECT kind, key FROM bulwark_deleted WHERE revision > \(revision) ORDER BY kind, key", logger: logger)
        for try await (kind, key) in deleted.decode((String, String).self) { rows.append((kind, key, nil)) }
        let written = try await connection.query(
            "SELECT kind, key, body FROM bulwark_entities WHERE revision > \(revision) ORDER BY kind, key", logger: logger)
        for try await (kind, key, body) in written.decode((String, String, String).self) { rows.append((kind, key, body)) }
        return rows
    }

    public func watch(_ onChange: @escaping @Sendable (Int64) async -> Void) async throws {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        for try await notification in notifications {
                            await onChange(Int64(notification.payload) ?? 0)
                        }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                // The connection dropped: listen again after a pause; the caller's poll covers the gap.
                logger.warning("listening for store changes failed: \(error); retrying")
                try? await Task.sleep(for: .seconds(1))  // cancelled: the loop ends
            }
        }
    }

    private static func read(_ connection: PostgresConnection, logger: Logger) async throws -> StoredState {
        var revision: Int64 = 0
        for try await value in try await connection.query("SELECT value FROM bulwark_meta WHERE name = 'revision'", logger: logger).decode(Int64.self)
        {
            revision = value
        }
        var entities: [(kind: String, key: String, body: String)] = []
        let rows = try await connection.query("SELECT kind, key, body FROM bulwark_entities", logger: logger)
        for try await (kind, key, body) in rows.decode((String, String, String).self) {
            entities.append((kind, key, body))
        }
        return StoredState(state: try OrganizationState(entities: entities), revision: revision)
    }
}
