public import BulwarkOrganization

/// Access keys the gateway accepts, each with its secret and the principal it stands for.
///
/// File format (YAML or JSON), which must not be readable by group or others (mode 0600):
///
///     credentials:
///       - accessKey: ALICEKEY0000000001
///         secretKey: "…"
///         principal: iam::0a1b2c:user:alice
///
/// Temporary credentials of a session (SPEC §10) add the security token the SDK sends as
/// `X-Security-Token` and the session: the agency `principal` assumed and how.
public struct CredentialStore: Sendable {
    public struct Entry: Sendable {
        public let accessKey: String
        public let secretKey: String
        /// Who the key stands for; for temporary credentials, who assumed the agency.
        public let principal: String
        /// Temporary credentials only: the token every call must carry, signed.
        public let securityToken: String?
        /// Temporary credentials only: the assume that made the session.
        public let session: SessionRequest?

        public init(accessKey: String, secretKey: String, principal: String, securityToken: String? = nil, session: SessionRequest? = nil) {
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.principal = principal
            self.securityToken = securityToken
            self.session = session
        }
    }

    private let entries: [String: Entry]

    public init(_ entries: [Entry]) {
        self.entries = Dictionary(entries.map { ($0.accessKey, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public subscript(accessKey: String) -> Entry? { entries[accessKey] }

    public var all: [Entry] { entries.values.sorted { $0.accessKey < $1.accessKey } }
}
