public import BulwarkEnforcement
import BulwarkJSON
import BulwarkOrganization
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
        let data: [UInt8]
        switch PrivateFile.read(path) {
        case .success(let bytes): data = bytes
        case .failure(let refused): throw LoadError(description: refused.description)
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

    /// A session object (`SessionRequest.read`), checked against Huawei's rules at load.
    private static func session(_ node: JSONNode, path: String) throws(LoadError) -> SessionRequest {
        let request: SessionRequest
        do { request = try SessionRequest.read(node, path: .root) } catch {
            throw LoadError(description: "\(path):\(error.location.line):\(error.location.column): session: \(error.message)")
        }
        do { try request.check() } catch {
            throw LoadError(description: "\(path):\(node.location.line):\(node.location.column): session: \(error.message)")
        }
        return request
    }
}
