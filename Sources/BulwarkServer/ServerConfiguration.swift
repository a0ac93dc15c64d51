public import BulwarkRuntime
public import BulwarkStore
import Foundation

/// How `bulwark serve` runs. `prepare()` fills in defaults: the data directory, the SQLite
/// file in it, and a generated admin token (mode 0600) when none is given.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8181
    /// Nil: `sqlite:` in the data directory.
    public var store: StoreLocation?
    /// Nil: `$BULWARK_DATA_DIR`, else `$XDG_DATA_HOME/bulwark`, else `~/.local/share/bulwark`.
    public var dataDirectory: String?
    /// Bearer token for the management API.
    public var adminToken: String?
    /// Bearer token for the decision API; nil leaves decisions open (they change nothing).
    public var decisionToken: String?
    /// JSON lines of decisions: a file, `-` for standard output, nil for `DATA/decisions.jsonl`,
    /// `none` to switch it off.
    public var decisionLog: String?
    /// Largest request body accepted (8 MiB); larger bodies get 413.
    public var maxBodyBytes = 8 << 20
    /// Largest `PUT /v1/organization/import` body (64 MiB: a workspace of 20,000 users is about 4.4 MB).
    public var maxImportBytes = 64 << 20
    /// `serve --import DIR`: the organization written as the first revision of an empty store.
    public var initialImport: OrganizationState?
    /// Limits on what one decision request may ask (requests per batch, inline statements).
    public var decisionLimits = DecisionLimits()
    /// Identity policies per user, group or agency (SPEC §11: 10, up to 20).
    public var maxPoliciesPerPrincipal = OrganizationState.defaultMaxPoliciesPerPrincipal
    /// Connection limits and timeouts.
    public var connections = ConnectionLimits()
    /// PEM certificate and key: serve HTTPS instead of HTTP.
    public var tls: TLSFiles?
    /// Failed console sign-ins allowed per minute (all clients together); past it sign-in is
    /// refused (429) until the minute is over.
    public var consoleSignInFailuresPerMinute = 20
    /// How often a replica asks the store for its revision, besides listening for changes.
    public var pollInterval: Duration = .seconds(1)

    public init() {}

    /// Problems that stop the server from starting.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The settings with every default filled in; generates the admin token on first start.
    /// Returns the path of a generated token file, if one was created or reused.
    public mutating func prepare() throws(StartError) -> String? {
        let environment = ProcessInfo.processInfo.environment
        let data =
            dataDirectory ?? environment["BULWARK_DATA_DIR"]
            ?? {
                if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/bulwark" }
                return (environment["HOME"] ?? ".") + "/.local/share/bulwark"
            }()
        dataDirectory = data
        do {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StartError(description: "cannot create the data directory \(data): \(error.localizedDescription)")
        }
        if store == nil { store = .sqlite(path: data + "/bulwark.sqlite") }
        if decisionLog == nil { decisionLog = data + "/decisions.jsonl" }
        if adminToken == nil, let token = environment["BULWARK_ADMIN_TOKEN"], !token.isEmpty { adminToken = token }
        if decisionToken == nil, let token = environment["BULWARK_DECISION_TOKEN"], !token.isEmpty { decisionToken = token }
        guard adminToken == nil else { return nil }
        // A default start must work at once and never be open: keep a generated token beside
        // the data. Only a local bind may rely on it; others must be given a token on purpose.
        guard Self.isLoopback(host) else {
            throw StartError(description: "binding to \(host) needs an admin token: give --admin-token-file or BULWARK_ADMIN_TOKEN")
        }
        let path = data + "/admin-token"
        // A token file that exists but cannot be read is an error: replacing it would lock
        // out whoever holds the token, and hide that something is wrong with the data.
        if FileManager.default.fileExists(atPath: path) {
            adminToken = try Self.readToken(path)
            return path
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let token = bytes.map { String(format: "%02x", $0) }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw StartError(description: "cannot write the admin token to \(path)")
        }
        adminToken = token
        return path
    }

    /// Reads a token file: its first line, which must not be empty.
    public static func readToken(_ path: String) throws(StartError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StartError(description: "cannot read the token file \(path)")
        }
        let token =
            String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !token.isEmpty else { throw StartError(description: "the token file \(path) is empty") }
        return token
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}
