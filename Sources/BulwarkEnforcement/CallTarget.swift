import BulwarkAPI
import BulwarkJSON

/// A call's path and query, read strictly once and then used for everything: the API row
/// it is authorized as, the canonical request its signature covers, and what is forwarded.
/// Because all three come from the same decoded segments and pairs, a signature or a
/// decision made for one path can never be replayed onto another (SPEC §9).
///
/// Refused: malformed percent escapes, escapes that decode to invalid UTF-8, an encoded `/`
/// or `\` inside a segment (`ID%2Fmembers` would be one segment here and two upstream),
/// `.` and `..` segments, empty segments other than one trailing slash, control characters,
/// and a repeated query parameter that feeds authorization.
public struct CallTarget: Sendable, Equatable {
    /// Decoded path segments (`/v2/images/a%3Ab` → `["v2", "images", "a:b"]`); a trailing
    /// slash is a last empty segment.
    public let segments: [String]
    /// Decoded query pairs in the order sent; `+` is a space.
    public let query: [(name: String, value: String)]

    /// Query parameters that feed the request context: each may appear once.
    static let contextParameters: Set<String> = ["enterprise_project_id"]

    public static func == (a: CallTarget, b: CallTarget) -> Bool {
        a.segments == b.segments && a.query.elementsEqual(b.query) { $0.name == $1.name && $0.value == $1.value }
    }

    public init(path rawPath: String, query rawQuery: String) throws(CallRefusal) {
        guard rawPath.hasPrefix("/") else { throw CallRefusal("the path must start with /") }
        let parts = Array(rawPath.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        var segments: [String] = []
        for (i, part) in parts.enumerated() {
            if part.isEmpty {
                guard i == parts.count - 1, i > 0 else { throw CallRefusal("the path has an empty segment (//); send each segment once") }
                segments.append("")
                continue
            }
            let segment = try Self.decode(part, plusIsSpace: false, what: "path segment \(i + 1)")
            if segment.contains("/") || segment.contains("\\") {
                throw CallRefusal("path segment \(i + 1) holds an encoded / or \\; the gateway authorizes, signs and forwards whole segments only")
            }
            if segment == "." || segment == ".." { throw CallRefusal("the path has a \(segment) segment; send the resolved path") }
            segments.append(segment)
        }
        var query: [(name: String, value: String)] = []
        for item in Array(rawQuery.utf8).split(separator: UInt8(ascii: "&")) where !item.isEmpty {
            let pair = item.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(pair[0], plusIsSpace: true, what: "a query parameter name")
            let value = pair.count > 1 ? try Self.decode(pair[1], plusIsSpace: true, what: "query parameter \(Excerpt.quoted(name))") : ""
            if Self.contextParameters.contains(name), query.contains(where: { $0.name == name }) {
                throw CallRefusal("query parameter \(name) appears more than once; the gateway cannot tell which one the service would use")
            }
            query.append((name, value))
        }
        self.segments = segments
        self.query = query
    }

    /// The decoded path, for messages and body-field rules: `/v2/images/a:b`. API rows are
    /// matched on `forwardedPath`, which the router decodes exactly once.
    public var path: String { "/" + segments.joined(separator: "/") }

    /// The first value of a query parameter (context parameters appear at most once).
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// The URI of SDK-HMAC-SHA256's canonical request: each segment encoded, ending in `/`.
    public var canonicalURI: String {
        var uri = "/" + segments.map(PercentCoding.encode).joined(separator: "/")
        if !uri.hasSuffix("/") { uri += "/" }
        return uri
    }

    /// The query of the canonical request: pairs sorted by name, then value, both encoded.
    public var canonicalQuery: String {
        query.sorted { ($0.name, $0.value) < ($1.name, $1.value) }
            .map { "\(PercentCoding.encode($0.name))=\(PercentCoding.encode($0.value))" }.joined(separator: "&")
    }

    /// The path as forwarded: the same decoded segments, encoded again, so the upstream
    /// reads exactly what was authorized.
    public var forwardedPath: String { "/" + segments.map(PercentCoding.encode).joined(separator: "/") }

    /// The query as forwarded: the same decoded pairs in the order sent, encoded again.
    public var forwardedQuery: String {
        query.map { "\(PercentCoding.encode($0.name))=\(PercentCoding.encode($0.value))" }.joined(separator: "&")
    }

    /// Percent-decodes `bytes`: malformed escapes, invalid UTF-8 and control characters are
    /// refusals, never passed on as they came.
    static func decode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool, what: String) throws(CallRefusal) -> String {
        guard let text = PercentCoding.decode(bytes, plusIsSpace: plusIsSpace) else {
            throw CallRefusal("\(what) has a malformed percent escape or is not UTF-8 once decoded")
        }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw CallRefusal("\(what) holds a control character")
        }
        return text
    }
}

/// Why the gateway refuses a call before deciding it: an HTTP status and a message that is
/// safe to show the caller (values in it are excerpts).
public struct CallRefusal: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let description: String
    /// Extra response headers (`Allow` for 405).
    public let headers: [(String, String)]

    public init(_ description: String, status: Int = 400, headers: [(String, String)] = []) {
        self.status = status
        self.description = Excerpt.message(description)
        self.headers = headers
    }
}
