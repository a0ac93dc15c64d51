import BulwarkEnforcement
import BulwarkJSON
import BulwarkWorkspace
import Foundation

/// Why a call to the cloud (or its set-up) failed: one line naming the call.
public struct CloudError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The access key a client signs its calls with (`--credentials FILE`): YAML or JSON with
/// `accessKey`, `secretKey` and, for temporary credentials, `securityToken`. The file must be
/// private to its owner (mode 600), as the gateway's credentials file.
public struct CloudCredentials: Sendable {
    public let accessKey: String
    public let secretKey: String
    public let securityToken: String?

    public init(accessKey: String, secretKey: String, securityToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.securityToken = securityToken
    }

    public static func load(path: String) throws(CloudError) -> CloudCredentials {
        let data: [UInt8]
        switch PrivateFile.read(path) {
        case .success(let bytes): data = bytes
        case .failure(let refused): throw CloudError(refused.description)
        }
        let root: JSONNode
        do { root = try DocumentReader.read(String(decoding: data, as: UTF8.self), fileName: path) } catch {
            throw CloudError("\(path):\(error.location.line):\(error.location.column): \(error.message)")
        }
        guard case .object(let members) = root.value else {
            throw CloudError("\(path):\(root.location.line):\(root.location.column): expected an object with accessKey and secretKey")
        }
        let known = ["accessKey", "secretKey", "securityToken"]
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
        guard let accessKey = values["accessKey"], let secretKey = values["secretKey"] else {
            throw CloudError("\(path):\(root.location.line):\(root.location.column): the credentials need accessKey and secretKey")
        }
        return CloudCredentials(accessKey: accessKey, secretKey: secretKey, securityToken: values["securityToken"])
    }
}
