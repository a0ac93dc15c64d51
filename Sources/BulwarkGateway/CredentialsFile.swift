public import BulwarkEnforcement
import BulwarkEngine
import BulwarkJSON
import BulwarkOrganization
import BulwarkPolicy
import BulwarkWorkspace
import Foundation

/// The gateway's credentials file (YAML or JSON): access keys, secret keys and the
/// principals they stand for. It must be private to its owner (mode 600).
extension CredentialStore {
    /// Why a credentials file is refused: a line a person can act on.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Reads and checks a credentials file.
    public static func load(path: String) throws(LoadError) -> CredentialStore {
        // Safe: a failure to stat or read is the refusal below.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let data = FileManager.default.contents(atPath: path)
        else {
            throw LoadError(description: "\(path): cannot read the credentials file")
        }
        // A mode that cannot be read is not a private file.
        guard let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue else {
            throw LoadError(description: "\(path): cannot read the credentials file's permissions")
        }
        if mode & 0o077 != 0 {
            throw LoadError(
                description: "\(path): the credentials file is readable by others (mode \(String(mode, radix: 8))); run chmod 600 \(path)")
        }
        let root: JSONNode
        do { root = try DocumentReader.read(String(decoding: data, as: UTF8.self), fileName: path) } catch {
            throw LoadError(description: "\(path):\(error.location.line):\(error.location.column): \(error.message)")
        }
        guard case .object(let members) = root.value, let list = members.first(where: { $0.key == "credentials" })?.value,
            case .array(let items) = list.value
        else {
            throw LoadError(description: "\(path):\(root.location.line):\(root.location.column): expected an object with a credentials list")
        }
        var entries: [Entry] = []
        for item in items {
            guard case .object(let fields) = item.value else {
                throw LoadError(
                    description:
                        "\(path):\(item.location.line):\(item.location.column): each credential is an object with accessKey, secretKey and principal")
            }
            func field(_ name: String) throws(LoadError) -> String {
                guard let node = fields.first(where: { $0.key == name })?.value, case .string(let s) = node.value, !s.isEmpty else {
                    throw LoadError(description: "\(path):\(item.location.line):\(item.location.column): the credential has no \(name)")
                }
                return s
            }
            let known = ["accessKey", "secretKey", "principal", "securityToken", "session"]
            for unknown in fields where !known.contains(unknown.key) {
                throw LoadError(
                    description:
                        "\(path):\(unknown.keyLocation.line):\(unknown.keyLocation.column): unknown field \"\(unknown.key)\"; expected \(known.joined(separator: ", "))"
                )
            }
            // Temporary credentials: a token and the session it belongs to, both or neither.
            let sessionNode = fields.first { $0.key == "session" }?.value
            let hasToken = fields.contains { $0.key == "securityToken" }
            if hasToken != (sessionNode != nil) {
                throw LoadError(
                    description:
                        "\(path):\(item.location.line):\(item.location.column): temporary credentials need both securityToken and session")
            }
            let session = try sessionNode.map { node throws(LoadError) in try Self.session(node, path: path) }
            let entry = Entry(
                accessKey: try field("accessKey"), secretKey: try field("secretKey"), principal: try field("principal"),
                securityToken: hasToken ? try field("securityToken") : nil, session: session)
            if entries.contains(where: { $0.accessKey == entry.accessKey }) {
                throw LoadError(description: "\(path):\(item.location.line):\(item.location.column): access key \(entry.accessKey) appears twice")
            }
            entries.append(entry)
        }
        return CredentialStore(entries)
    }

    /// `session: {agency, sessionName, sessionPolicies: [policy objects], tags: {K: V},
    /// transitiveTagKeys, sourceIdentity, externalId}`.
    private static func session(_ node: JSONNode, path: String) throws(LoadError) -> SessionRequest {
        func fail(_ at: SourceLocation, _ message: String) -> LoadError {
            LoadError(description: "\(path):\(at.line):\(at.column): \(message)")
        }
        guard case .object(let fields) = node.value else { throw fail(node.location, "session must be an object") }
        let known = ["agency", "sessionName", "sessionPolicies", "tags", "transitiveTagKeys", "sourceIdentity", "externalId"]
        for field in fields where !known.contains(field.key) {
            throw fail(field.keyLocation, "unknown session field \"\(field.key)\"; expected \(known.joined(separator: ", "))")
        }
        func string(_ key: String) throws(LoadError) -> String? {
            guard let value = fields.first(where: { $0.key == key })?.value else { return nil }
            guard case .string(let s) = value.value else { throw fail(value.location, "session \(key) must be a string") }
            return s
        }
        func list(_ key: String) throws(LoadError) -> [JSONNode] {
            guard let value = fields.first(where: { $0.key == key })?.value else { return [] }
            guard case .array(let items) = value.value else { throw fail(value.location, "session \(key) must be a list") }
            return items
        }
        guard let agency = try string("agency"), let name = try string("sessionName") else {
            throw fail(node.location, "a session needs agency and sessionName")
        }
        var request = SessionRequest(agency: agency, sessionName: name)
        request.sourceIdentity = try string("sourceIdentity")
        request.externalID = try string("externalId")
        request.transitiveTagKeys = try list("transitiveTagKeys").map { item throws(LoadError) in
            guard case .string(let s) = item.value else { throw fail(item.location, "session transitiveTagKeys are strings") }
            return s
        }
        if let tags = fields.first(where: { $0.key == "tags" })?.value {
            guard case .object(let members) = tags.value else { throw fail(tags.location, "session tags must be a map of KEY: VALUE") }
            request.tags = try members.map { member throws(LoadError) in
                guard case .string(let value) = member.value.value else {
                    throw fail(member.value.location, "tag \"\(member.key)\" must be a string")
                }
                return SessionTag(key: member.key, value: value)
            }
        }
        if fields.contains(where: { $0.key == "sessionPolicies" }) {
            var policies: [NamedPolicy] = []
            for (i, item) in try list("sessionPolicies").enumerated() {
                do throws(PolicyParseError) {
                    policies.append(NamedPolicy(id: "session[\(i)]", policy: try PolicyParser.parse(node: item)))
                } catch {
                    throw fail(error.location, "session policy \(i): \(error.message) [\(error.path)]")
                }
            }
            request.sessionPolicies = policies
        }
        do { try request.check() } catch { throw fail(node.location, "session: \(error.message)") }
        return request
    }
}
