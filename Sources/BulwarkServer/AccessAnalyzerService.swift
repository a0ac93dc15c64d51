import BulwarkAnalysis
public import BulwarkCatalog
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import BulwarkValidation

/// Huawei IAM Access Analyzer's policy checks, offline (SPEC §14): `POST /v5/policies/validate`
/// and `POST /v5/policies/check-no-new-access`, with the request and response shapes of the
/// official SDK (`huaweicloudsdkiamaccessanalyzer`), answered by the validator and the exact diff.
/// Both read only the documents sent: nothing stored is revealed.
public struct AccessAnalyzerService: Sendable {
    public let catalog: Catalog
    private let validator: PolicyValidator
    private let analyzer: PolicyAnalyzer
    /// Where a finding code's page is (`learn_more_link` is this plus `CODE.md`).
    public let findingPages: String

    public init(catalog: Catalog, findingPages: String = "docs/findings/") {
        self.catalog = catalog
        self.validator = PolicyValidator(catalog: catalog)
        self.analyzer = PolicyAnalyzer(catalog: catalog)
        self.findingPages = findingPages
    }

    /// `POST /v5/policies/validate` (`ValidatePolicyReqBody` → `ValidatePolicyResponse`):
    /// `policy_type` `identity_policy`, `service_control_policy`, or `resource_policy` with
    /// `validate_policy_resource_type` `iam:agency` (a trust policy). Findings are paged by
    /// `limit` (1–200, default 200) and `marker` (the `next_marker` of the page before).
    public func validatePolicy(_ bytes: [UInt8], limit: Int?, marker: String?) throws(APIError) -> [UInt8] {
        let body = try RequestBody(bytes, allowed: ["policy_document", "policy_type", "validate_policy_resource_type"])
        let document = try body.requiredString("policy_document")
        let typeName = try body.requiredString("policy_type")
        let resourceType = try body.string("validate_policy_resource_type")
        let type: PolicyType
        switch (typeName, resourceType) {
        case ("identity_policy", nil): type = .identity
        case ("service_control_policy", nil): type = .scp
        case ("resource_policy", "iam:agency"): type = .trust
        default:
            throw APIError.badRequest(
                "policy_type \(Excerpt.quoted(typeName))\(resourceType.map { " with validate_policy_resource_type \(Excerpt.quoted($0))" } ?? "") "
                    + "is not one Bulwark checks: identity_policy, service_control_policy, or resource_policy with iam:agency",
                path: .root.appending(key: "policy_type"), location: body["policy_type"]?.location)
        }
        let (start, count) = try page(limit: limit, marker: marker)
        let text = Array(document.utf8)
        let findings = validator.validate(bytes: text, type: type)
        let shown = findings.dropFirst(start).prefix(count)
        var json = JSONWriter()
        json.beginObject()
        json.key("findings")
        json.beginArray()
        for finding in shown {
            json.beginObject()
            json.field("finding_details", finding.diagnostic.message)
            json.field("finding_type", finding.severity.rawValue)
            json.field("issue_code", finding.code.rawValue)
            json.field("learn_more_link", findingPages + finding.code.rawValue + ".md")
            json.key("locations")
            json.beginArray()
            PolicySpan.write(finding, in: text, into: &json)
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.key("page_info")
        json.beginObject()
        json.field("current_count", shown.count)
        json.field("next_marker", start + shown.count < findings.count ? String(start + shown.count) : nil)
        json.endObject()
        json.endObject()
        json.newline()
        return json.bytes
    }

    private func page(limit: Int?, marker: String?) throws(APIError) -> (start: Int, count: Int) {
        let count = limit ?? 200
        guard (1...200).contains(count) else { throw APIError.badRequest("limit must be 1 to 200, not \(count)") }
        guard let marker else { return (0, count) }
        guard let start = Int(marker), start >= 0 else {
            throw APIError.badRequest("marker \(Excerpt.quoted(marker)) is not a marker this server gave")
        }
        return (start, count)
    }

    /// `POST /v5/policies/check-no-new-access` (`CheckNoNewAccessReqBody` →
    /// `CheckNoNewAccessResponse`): `fail` when the new document allows a request the existing
    /// one does not, with the new document's statements that allow it; `pass` otherwise. An
    /// answer the analysis cannot make exact is refused (422), never a `pass`.
    public func checkNoNewAccess(_ bytes: [UInt8]) throws(APIError) -> [UInt8] {
        let body = try RequestBody(bytes, allowed: ["existing_policy_document", "new_policy_document", "policy_type"])
        let typeName = try body.string("policy_type") ?? "identity_policy"
        guard typeName == "identity_policy" || typeName == "service_control_policy" else {
            throw APIError.badRequest(
                "policy_type \(Excerpt.quoted(typeName)) is not one Bulwark compares: identity_policy or service_control_policy",
                path: .root.appending(key: "policy_type"), location: body["policy_type"]?.location)
        }
        let asSCP = typeName == "service_control_policy"
        let existing = try parse(body, "existing_policy_document", id: "existing")
        let new = try parse(body, "new_policy_document", id: "new")
        let diff = analyzer.difference(old: AccessModel.single(existing, asSCP: asSCP), new: AccessModel.single(new, asSCP: asSCP))
        if diff.added.isEmpty && !diff.undecided.isEmpty {
            let actions = diff.undecided.prefix(3).map { "\($0.action) (\($0.reason))" }.joined(separator: "; ")
            throw APIError(status: 422, code: "undecided", message: "the comparison is not exact for \(diff.undecided.count) action(s): \(actions)")
        }
        // One reason per statement of the new document that allows new access, in statement order.
        var reasons: [Int: (sid: String?, actions: [String])] = [:]
        for region in diff.added {
            for statement in region.grantedBy where statement.policyID == "new" {
                reasons[statement.statementIndex, default: (statement.sid, [])].actions += region.actions
            }
        }
        var json = JSONWriter()
        json.beginObject()
        json.field("check_result", diff.added.isEmpty ? "pass" : "fail")
        json.field(
            "message",
            diff.added.isEmpty
                ? "the new policy document allows no access the existing one does not"
                : "the new policy document allows access the existing one does not")
        json.key("reasons")
        json.beginArray()
        for (index, reason) in reasons.sorted(by: { $0.key < $1.key }) {
            var seen: Set<String> = []
            let actions = reason.actions.filter { seen.insert($0).inserted }
            json.beginObject()
            json.field(
                "description",
                "statement \(index) allows new access: \(actions.prefix(10).joined(separator: ", "))\(actions.count > 10 ? " and \(actions.count - 10) more" : "")"
            )
            json.field("statement_id", reason.sid)
            json.field("statement_index", index)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.newline()
        return json.bytes
    }

    /// The console's comparison: `{"old", "new", "type": "identity" | "scp"}` (documents as
    /// text) answered with the exact diff of `bulwark diff --format json`.
    func compare(_ bytes: [UInt8]) throws(APIError) -> [UInt8] {
        let body = try RequestBody(bytes, allowed: ["old", "new", "type"])
        let typeName = try body.string("type") ?? "identity"
        guard typeName == "identity" || typeName == "scp" else {
            throw APIError.badRequest(
                "type must be identity or scp, not \(Excerpt.quoted(typeName))", path: .root.appending(key: "type"), location: body["type"]?.location)
        }
        let old = try parse(body, "old", id: "old")
        let new = try parse(body, "new", id: "new")
        let diff = analyzer.difference(old: AccessModel.single(old, asSCP: typeName == "scp"), new: AccessModel.single(new, asSCP: typeName == "scp"))
        var json = JSONWriter()
        AnalysisOutput.write(diff, into: &json)
        json.newline()
        return json.bytes
    }

    private func parse(_ body: RequestBody, _ key: String, id: String) throws(APIError) -> NamedPolicy {
        let text = try body.requiredString(key)
        do { return NamedPolicy(id: id, policy: try PolicyParser.parse(bytes: Array(text.utf8))) } catch {
            throw APIError.badRequest(
                "\(key) is not a valid policy: \(error.location.line):\(error.location.column): \(error.path): \(error.message)",
                path: .root.appending(key: key), location: body[key]?.location)
        }
    }
}

/// Where a finding is in the policy document, as Access Analyzer's `Location`: the path as
/// path elements, and the span of the value there (lines from 1, columns and offsets from 0,
/// in characters).
enum PolicySpan {
    static func write(_ finding: Finding, in text: [UInt8], into json: inout JSONWriter) {
        let path = finding.diagnostic.path
        let (start, end) = extent(of: path, in: text) ?? offsets(of: finding.diagnostic.location, in: text)
        json.beginObject()
        json.key("path")
        json.beginArray()
        for component in path.components {
            json.beginObject()
            switch component {
            case .key(let key): json.field("key", key)
            case .index(let index): json.field("index", index)
            }
            json.endObject()
        }
        json.endArray()
        json.key("span")
        json.beginObject()
        let locations = JSONReader.locations(ofOffsets: [start, end], in: text)
        for (name, offset, location) in [("start", start, locations[0]), ("end", end, locations[1])] {
            json.key(name)
            json.beginObject()
            json.field("line", location.line)
            json.field("column", location.column - 1)
            json.field("offset", characters(before: offset, in: text))
            json.endObject()
        }
        json.endObject()
        json.endObject()
    }

    /// The byte range of the value at `path`, or nil when the document does not parse or has none there.
    static func extent(of path: JSONPath, in text: [UInt8]) -> (Int, Int)? {
        var reader = JSONReader(bytes: text)
        do {
            for component in path.components {
                switch component {
                case .key(let wanted):
                    try reader.beginObject()
                    var found = false
                    while let (key, _) = try reader.nextKey() {
                        if key == wanted {
                            found = true
                            break
                        }
                        _ = try reader.readValue()
                    }
                    if !found { return nil }
                case .index(let wanted):
                    guard reader.peekKind() == .array else { return nil }
                    try reader.beginArray()
                    var i = 0
                    var found = false
                    while try reader.nextElement() {
                        if i == wanted {
                            found = true
                            break
                        }
                        _ = try reader.readValue()
                        i += 1
                    }
                    if !found { return nil }
                }
            }
            let (_, bytes) = try reader.readValueWithBytes()
            return (bytes.startIndex, bytes.endIndex)
        } catch {
            return nil
        }
    }

    /// A zero-length span at a line and column (1-based, in characters).
    static func offsets(of location: SourceLocation, in text: [UInt8]) -> (Int, Int) {
        var (line, column, i) = (1, 1, 0)
        while i < text.count && (line, column) < (location.line, location.column) {
            if text[i] == 0x0A {
                line += 1
                column = 1
            } else if text[i] & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        while i < text.count && text[i] & 0xC0 == 0x80 { i += 1 }
        return (i, i)
    }

    static func characters(before offset: Int, in text: [UInt8]) -> Int {
        text[..<min(offset, text.count)].reduce(0) { $0 + ($1 & 0xC0 != 0x80 ? 1 : 0) }
    }
}
