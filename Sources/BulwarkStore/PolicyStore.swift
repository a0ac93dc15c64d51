public import BulwarkCatalog
import Foundation
public import Logging

/// A state with the store revision it was read at.
public struct StoredState: Sendable {
    public let state: OrganizationState
    /// Increases by one with every committed write.
    public let revision: Int64

    public init(state: OrganizationState, revision: Int64) {
        self.state = state
        self.revision = revision
    }

    public static let empty = StoredState(state: OrganizationState(), revision: 0)
}

/// Where the managed organization is kept. Every write is one transaction: it reads the
/// current revision under a write lock, applies a pure change to the current state, writes
/// the rows of the entities the change names and bumps the revision, or changes nothing.
public protocol PolicyStore: Sendable {
    /// The whole state and its revision.
    func load() async throws -> StoredState

    /// The current revision, cheaply (replicas poll it).
    func currentRevision() async throws -> Int64

    /// Runs `change` on the current state in one transaction and commits its result, writing
    /// exactly the rows of `StateChange.changed`. `base` is the caller's latest state: when the
    /// store is still at that revision it is used as is, otherwise the state is read again
    /// inside the transaction. Either way the answer's `changed` is relative to the revision
    /// before the write's.
    func update<Result: Sendable>(
        base: StoredState,
        _ change: @escaping @Sendable (OrganizationState) throws -> StateChange<Result>
    ) async throws -> StoreWrite<Result>

    /// The rows written since `revision` (a body, or nil for a deleted entity) and the revision
    /// they bring the state to; nil when the store cannot tell and the state must be loaded whole.
    func changes(since revision: Int64) async throws -> StoredChanges?

    /// Calls `onChange` with each revision other writers commit, until the task is cancelled.
    /// Stores that only one process can open never call it.
    func watch(_ onChange: @escaping @Sendable (Int64) async -> Void) async throws
}

/// A committed write: the new state, the entities changed since the revision before it, and
/// the command's result.
public struct StoreWrite<Result: Sendable>: Sendable {
    public let stored: StoredState
    public let changed: Set<EntityKey>
    public let result: Result

    public init(stored: StoredState, changed: Set<EntityKey>, result: Result) {
        self.stored = stored
        self.changed = changed
        self.result = result
    }
}

/// What other writers changed: rows to apply to a state at an older revision.
public struct StoredChanges: Sendable {
    public let rows: [(kind: String, key: String, body: String?)]
    public let revision: Int64

    public init(rows: [(kind: String, key: String, body: String?)], revision: Int64) {
        self.rows = rows
        self.revision = revision
    }

    /// The entity keys the rows name.
    public var keys: Set<EntityKey> { Set(rows.map { EntityKey(kind: $0.kind, key: $0.key) }) }
}

/// The store could not be reached or gave an unexpected answer.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// `sqlite:PATH` or `postgres://user:password@host:port/database`.
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(host: String, port: Int, user: String, password: String?, database: String)

    /// Parses the `--store` flag.
    public static func parse(_ text: String) throws(StoreError) -> StoreLocation {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw StoreError("--store sqlite:PATH needs a path") }
            return .sqlite(path: path)
        }
        for scheme in ["postgres://", "postgresql://"] where text.hasPrefix(scheme) {
            var rest = Substring(text.dropFirst(scheme.count))
            var user = "postgres"
            var password: String?
            if let at = rest.lastIndex(of: "@") {
                let credentials = rest[..<at]
                rest = rest[rest.index(after: at)...]
                // Safe fallback: a malformed escape is taken literally (a password may hold '%');
                // this is the operator's own setting, never a request's.
                if let colon = credentials.firstIndex(of: ":") {
                    user = String(credentials[..<colon]).removingPercentEncoding ?? String(credentials[..<colon])
                    let secret = credentials[credentials.index(after: colon)...]
                    password = String(secret).removingPercentEncoding ?? String(secret)
                } else {
                    user = String(credentials).removingPercentEncoding ?? String(credentials)
                }
            }
            let hostPort: Substring
            var database = user
            if let slash = rest.firstIndex(of: "/") {
                hostPort = rest[..<slash]
                let name = rest[rest.index(after: slash)...].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
                if !name.isEmpty { database = name }
            } else {
                hostPort = rest
            }
            var host = String(hostPort)
            var port = 5432
            if let colon = hostPort.lastIndex(of: ":") {
                host = String(hostPort[..<colon])
                guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
                    throw StoreError("--store \(scheme)…: the port must be a number from 1 to 65535")
                }
                port = p
            }
            if host.isEmpty { host = "127.0.0.1" }
            return .postgres(host: host, port: port, user: user, password: password, database: database)
        }
        throw StoreError("--store must be sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE, not \"\(text)\"")
    }
}

/// The catalog files a store holds (SPEC §12), so that every server and replica on the store
/// decides with the same catalogs.
public enum StoredCatalogs {
    /// With `given` (`serve --catalog`), writes them to the store in place of what it held and
    /// returns them; without, returns what the store holds (none: the built-in catalogs only).
    public static func synchronize(_ location: StoreLocation, given: [CatalogFile]?, logger: Logger) async throws -> [CatalogFile] {
        switch location {
        case .sqlite(let path):
            let store = try SQLiteStore(path: path)
            if let given {
                try await store.replaceCatalogFiles(given)
                return given
            }
            return try await store.catalogFiles()
        case .postgres(let host, let port, let user, let password, let database):
            let store = PostgresStore(host: host, port: port, user: user, password: password, database: database, logger: logger)
            return try await withThrowingTaskGroup(of: [CatalogFile]?.self) { group in
                group.addTask {
                    await store.run()
                    return nil
                }
                try await store.prepare()
                let files: [CatalogFile]
                if let given {
                    try await store.replaceCatalogFiles(given)
                    files = given
                } else {
                    files = try await store.catalogFiles()
                }
                group.cancelAll()
                return files
            }
        }
    }
}
