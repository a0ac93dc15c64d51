import BulwarkJSON

/// A JSON answer of the cloud, read with the call it came from, so that a missing or mistyped
/// field is one line naming the call and the field. Fields it does not ask for are ignored:
/// the cloud adds fields over time.
struct CloudAnswer {
    let node: JSONNode
    let call: String
    let path: String

    init(bytes: [UInt8], call: String) throws(CloudError) {
        var reader = JSONReader(bytes: bytes)
        do { node = try reader.readDocument() } catch {
            throw CloudError("\(call): the answer is not JSON (\(error.location.line):\(error.location.column): \(error.message))")
        }
        self.call = call
        path = "$"
    }

    private init(node: JSONNode, call: String, path: String) {
        self.node = node
        self.call = call
        self.path = path
    }

    private var members: [JSONMember] {
        if case .object(let members) = node.value { return members }
        return []
    }

    private func fail(_ key: String, _ expected: String) -> CloudError {
        CloudError("\(call): the answer's \(path).\(key) is not \(expected)")
    }

    func optional(_ key: String) -> CloudAnswer? {
        guard let value = members.first(where: { $0.key == key })?.value else { return nil }
        if case .null = value.value { return nil }
        return CloudAnswer(node: value, call: call, path: "\(path).\(key)")
    }

    func string(_ key: String) throws(CloudError) -> String {
        guard let value = optional(key), case .string(let text) = value.node.value else { throw fail(key, "a string") }
        return text
    }

    func optionalString(_ key: String) throws(CloudError) -> String? {
        guard let value = optional(key) else { return nil }
        guard case .string(let text) = value.node.value else { throw fail(key, "a string") }
        return text
    }

    func optionalInt(_ key: String) throws(CloudError) -> Int? {
        guard let value = optional(key) else { return nil }
        guard case .number(let text) = value.node.value, let number = Int(text) else { throw fail(key, "an integer") }
        return number
    }

    func optionalBool(_ key: String) throws(CloudError) -> Bool? {
        guard let value = optional(key) else { return nil }
        guard case .bool(let flag) = value.node.value else { throw fail(key, "true or false") }
        return flag
    }

    func object(_ key: String) throws(CloudError) -> CloudAnswer {
        guard let value = optional(key), case .object = value.node.value else { throw fail(key, "an object") }
        return value
    }

    func array(_ key: String) throws(CloudError) -> [CloudAnswer] {
        guard let value = optional(key) else { return [] }
        guard case .array(let items) = value.node.value else { throw fail(key, "a list") }
        return items.enumerated().map { CloudAnswer(node: $1, call: call, path: "\(path).\(key)[\($0)]") }
    }

    /// A list that must be there.
    func requiredArray(_ key: String) throws(CloudError) -> [CloudAnswer] {
        guard optional(key) != nil else { throw fail(key, "a list") }
        return try array(key)
    }
}

extension SignedClient {
    /// Every item of a listing, following `page_info.next_marker` (IAM v5, Organizations) until
    /// it ends; a marker given twice or more than 1,000 pages is the cloud's fault, not a loop.
    func all(_ path: String, query: [(String, String)] = [], list: String, headers: [(String, String)] = []) async throws(CloudError)
        -> [CloudAnswer]
    {
        var items: [CloudAnswer] = []
        var marker: String?
        var seen: Set<String> = []
        repeat {
            var q = query
            if let marker { q.append(("marker", marker)) }
            let call = "GET \(path)"
            let answer = try CloudAnswer(bytes: try await get(path, query: q, headers: headers), call: call)
            items += try answer.requiredArray(list)
            marker = nil
            if let next = try answer.optional("page_info")?.optionalString("next_marker"), !next.isEmpty {
                guard seen.insert(next).inserted else { throw CloudError("\(call): the cloud gave marker \(next) twice; stopping") }
                guard seen.count < 1_000 else { throw CloudError("\(call): more than 1,000 pages; stopping") }
                marker = next
            }
        } while marker != nil
        return items
    }
}
