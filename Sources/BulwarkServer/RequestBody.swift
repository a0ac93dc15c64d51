import BulwarkJSON
import BulwarkStore

/// A JSON object request body, read with positions, whose fields are checked one by one.
/// Unknown fields are refused, like everywhere else in Bulwark: a typo must not be ignored.
struct RequestBody {
    let bytes: [UInt8]
    let root: JSONNode
    let members: [JSONMember]

    init(_ bytes: [UInt8], allowed: [String]) throws(APIError) {
        self.bytes = bytes
        var reader = JSONReader(bytes: bytes)
        do throws(JSONSyntaxError) {
            if reader.peekTypeName() == nil { throw reader.error("the body is empty; expected a JSON object") }
            root = try reader.readDocument()
        } catch {
            throw APIError.invalidJSON(error)
        }
        guard case .object(let members) = root.value else {
            throw APIError.badRequest("expected a JSON object, found \(root.typeName)", path: .root, location: root.location)
        }
        self.members = members
        for member in members where !allowed.contains(member.key) {
            throw APIError.badRequest(
                "unknown field \(Excerpt.quoted(member.key)); expected \(allowed.joined(separator: ", "))",
                path: .root.appending(key: member.key), location: member.keyLocation)
        }
    }

    subscript(_ key: String) -> JSONNode? { members.first { $0.key == key }?.value }

    func has(_ key: String) -> Bool { self[key] != nil }

    func string(_ key: String) throws(APIError) -> String? {
        guard let node = self[key] else { return nil }
        guard case .string(let s) = node.value else {
            throw APIError.badRequest("\(key) must be a string, found \(node.typeName)", path: .root.appending(key: key), location: node.location)
        }
        return s
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let s = try string(key) else {
            throw APIError.badRequest("missing \(key)", path: .root, location: root.location)
        }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let node = self[key] else { return nil }
        guard case .bool(let b) = node.value else {
            throw APIError.badRequest(
                "\(key) must be true or false, found \(node.typeName)", path: .root.appending(key: key), location: node.location)
        }
        return b
    }

    func strings(_ key: String) throws(APIError) -> [String]? {
        guard let node = self[key] else { return nil }
        guard case .array(let items) = node.value else {
            throw APIError.badRequest(
                "\(key) must be an array of strings, found \(node.typeName)", path: .root.appending(key: key), location: node.location)
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item.value else {
                throw APIError.badRequest(
                    "\(key)[\(i)] must be a string, found \(item.typeName)", path: .root.appending(key: key).appending(index: i),
                    location: item.location)
            }
            out.append(s)
        }
        return out
    }

    func int(_ key: String) throws(APIError) -> Int? {
        guard let node = self[key] else { return nil }
        guard case .number(let text) = node.value, let n = Int(text) else {
            throw APIError.badRequest(
                "\(key) must be a whole number, found \(node.typeName)", path: .root.appending(key: key), location: node.location)
        }
        return n
    }

    /// An object of string values (`{"team": "web"}`).
    func stringMap(_ key: String) throws(APIError) -> [String: String]? {
        guard let node = self[key] else { return nil }
        guard case .object(let items) = node.value else {
            throw APIError.badRequest(
                "\(key) must be an object of strings, found \(node.typeName)", path: .root.appending(key: key), location: node.location)
        }
        var out: [String: String] = [:]
        for item in items {
            guard case .string(let s) = item.value.value else {
                throw APIError.badRequest(
                    "\(key).\(item.key) must be a string, found \(item.value.typeName)", path: .root.appending(key: key).appending(key: item.key),
                    location: item.value.location)
            }
            guard out.updateValue(s, forKey: item.key) == nil else {
                throw APIError.badRequest(
                    "duplicate key \(Excerpt.quoted(item.key)) in \(key)", path: .root.appending(key: key).appending(key: item.key),
                    location: item.keyLocation)
            }
        }
        return out
    }

    /// A policy document: an object (validated as the exact bytes sent, findings located in
    /// this body) or a string holding the policy text (Huawei's API sends it that way).
    func document(_ key: String) throws(APIError) -> SubmittedDocument? {
        guard let node = self[key] else { return nil }
        let path = JSONPath.root.appending(key: key)
        switch node.value {
        case .string(let text):
            return SubmittedDocument(text: text, origin: nil, path: path)
        case .object:
            var reader = JSONReader(bytes: bytes)
            do {
                try reader.beginObject()
                while let (k, _) = try reader.nextKey() {
                    if k == key {
                        let (found, slice) = try reader.readValueWithBytes()
                        return SubmittedDocument(text: String(decoding: slice, as: UTF8.self), origin: found.location, path: path)
                    }
                    _ = try reader.readValue()
                }
            } catch {}  // a value that cannot be re-read is the refusal below
            throw APIError.badRequest("cannot read \(key)", path: path, location: node.location)
        default:
            throw APIError.badRequest(
                "\(key) must be a policy object or its text as a string, found \(node.typeName)", path: path, location: node.location)
        }
    }

    func requiredDocument(_ key: String) throws(APIError) -> SubmittedDocument {
        guard let document = try document(key) else {
            throw APIError.badRequest("missing \(key)", path: .root, location: root.location)
        }
        return document
    }
}
