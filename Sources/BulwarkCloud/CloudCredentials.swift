import BulwarkEnforcement
import BulwarkJSON
import BulwarkWorkspace
import Foundation

/// Why a call to the cloud (or its set-up) failed: one line naming the call.
public struct CloudError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// The HTTP status the cloud answered with, when it answered.
    public let status: Int?
    public init(_ description: String, status: Int? = nil) {
        self.description = description
        self.status = status
    }
}

/// An access key a client signs its calls with (`--credentials FILE`, SPEC §12, §13). The file
/// is YAML or JSON, private to its owner (mode 600), and holds either one key (`accessKey`,
/// `secretKey`, `securityToken` for temporary keys) or a list of them:
/// `{"credentials": [{"accessKey", "secretKey", "account", "securityToken"?}]}`.
public struct CloudCredentials: Sendable {
    public let accessKey: String
    public let secretKey: String
    public let securityToken: String?
    /// The account (id or name) the key belongs to, in a list.
    public let account: String?
    /// The upstream service the key is for (`--upstream-credentials`); nil: every one.
    public let service: String?
    /// The project id sent as `X-Project-Id` (`--upstream-credentials`).
    public let projectID: String?

    public init(
        accessKey: String, secretKey: String, securityToken: String? = nil, account: String? = nil, service: String? = nil,
        projectID: String? = nil
    ) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.securityToken = securityToken
        self.account = account
        self.service = service
        self.projectID = projectID
    }

    /// One key: the file's single object, or its list when that holds exactly one entry.
    public static func load(path: String) throws(CloudError) -> CloudCredentials {
        let root = try document(path)
        if case .object(let members) = root.value, members.contains(where: { $0.key == "credentials" }) {
            let list = try entries(root, path: path, known: ["accessKey", "secretKey", "securityToken", "account"], required: [])
            guard list.count == 1 else { throw CloudError("\(path): give one key here, not \(list.count)") }
            return list[0]
        }
        return try entry(root, path: path, known: ["accessKey", "secretKey", "securityToken"], required: [])
    }

    /// The list form, each entry naming `required` fields (pull: `account`; the gateway's
    /// upstream keys: `service` and `projectId` allowed). An access key given twice is refused.
    public static func loadList(path: String, required: [String], optional: [String] = []) throws(CloudError) -> [CloudCredentials] {
        let root = try document(path)
        return try entries(root, path: path, known: ["accessKey", "secretKey", "securityToken"] + required + optional, required: required)
    }

    private static func document(_ path: String) throws(CloudError) -> JSONNode {
        let data: [UInt8]
        switch PrivateFile.read(path) {
        case .success(let bytes): data = bytes
        case .failure(let refused): throw CloudError(refused.description)
        }
        do { return try DocumentReader.read(String(decoding: data, as: UTF8.self), fileName: path) } catch {
            throw CloudError("\(path):\(error.location.line):\(error.location.column): \(error.message)")
        }
    }

    private static func entries(_ root: JSONNode, path: String, known: [String], required: [String]) throws(CloudError) -> [CloudCredentials] {
        guard case .object(let members) = root.value, members.count == 1, let list = members.first(where: { $0.key == "credentials" })?.value,
            case .array(let items) = list.value, !items.isEmpty
        else {
            throw CloudError(
                "\(path):\(root.location.line):\(root.location.column): expected {credentials: [{accessKey, secretKey, …}]} with one entry or more")
        }
        var keys: [CloudCredentials] = []
        for item in items {
            let key = try entry(item, path: path, known: known, required: required)
            if keys.contains(where: { $0.accessKey == key.accessKey }) {
                throw CloudError("\(path):\(item.location.line):\(item.location.column): access key \(key.accessKey) appears twice")
            }
            keys.append(key)
        }
        return keys
    }

    private static func entry(_ node: JSONNode, path: String, known: [String], required: [String]) throws(CloudError) -> CloudCredentials {
        guard case .object(let members) = node.value else {
            throw CloudError("\(path):\(node.location.line):\(node.location.column): expected an object with accessKey and secretKey")
        }
        var values: [String: String] = [:]
        for member in members {
            guard known.contains(member.key) else {
                throw CloudError(
                    "\(path):\(member.keyLocation.line):\(member.keyLocation.column): unknown field \"\(member.key)\"; expected \(known.joined(separator: ", "))"
                )
            }
            guard case .string(let text) = member.value.value, !text.isEmpty else {
                throw CloudError("\(path):\(member.value.location.line):\(member.value.location.column): \(member.key) must be a non-empty string")
            }
            values[member.key] = text
        }
        for field in ["accessKey", "secretKey"] + required where values[field] == nil {
            throw CloudError("\(path):\(node.location.line):\(node.location.column): the key needs \(field)")
        }
        return CloudCredentials(
            accessKey: values["accessKey"]!, secretKey: values["secretKey"]!, securityToken: values["securityToken"], account: values["account"],
            service: values["service"], projectID: values["projectId"])
    }
}
