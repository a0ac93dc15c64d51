/// Access keys the gateway accepts, each with its secret and the principal it stands for.
///
/// File format (YAML or JSON), which must not be readable by group or others (mode 0600):
///
///     credentials:
///       - accessKey: ALICEKEY0000000001
///         secretKey: "…"
///         principal: iam::0a1b2c:user:alice
public struct CredentialStore: Sendable {
    public struct Entry: Sendable {
        public let accessKey: String
        public let secretKey: String
        public let principal: String

        public init(accessKey: String, secretKey: String, principal: String) {
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.principal = principal
        }
    }

    private let entries: [String: Entry]

    public init(_ entries: [Entry]) {
        self.entries = Dictionary(entries.map { ($0.accessKey, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public subscript(accessKey: String) -> Entry? { entries[accessKey] }

    public var all: [Entry] { entries.values.sorted { $0.accessKey < $1.accessKey } }
}
