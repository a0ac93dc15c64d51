/// The two wildcards of the policy language, decided in one place: `*` matches any run of
/// characters and `?` exactly one; every other byte of a pattern is literal. Whatever asks
/// "is this a wildcard?" or "what is literal here?" asks this type (or a `GlobPattern`).
/// The functions the index compiler calls take concrete byte arrays: generic ones were not
/// specialized across modules and tripled the time to compile an index.
package enum Wildcard {
    package static let star = UInt8(ascii: "*")
    package static let question = UInt8(ascii: "?")

    /// `*` or `?`.
    @inlinable package static func isWildcard(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") }

    /// Whether the bytes hold a wildcard.
    @inlinable package static func occurs(in bytes: some Sequence<UInt8>) -> Bool { bytes.contains(where: isWildcard) }

    /// The number of literal bytes before the first wildcard (all of them when there is none).
    @inlinable package static func literalPrefixLength(_ bytes: ArraySlice<UInt8>) -> Int {
        var n = 0
        for b in bytes {
            if isWildcard(b) { break }
            n += 1
        }
        return n
    }

    @inlinable package static func literalPrefixLength(_ bytes: [UInt8]) -> Int { literalPrefixLength(bytes[...]) }

    /// The number of literal bytes after the last wildcard (all of them when there is none).
    @inlinable package static func literalSuffixLength(_ bytes: some BidirectionalCollection<UInt8>) -> Int {
        var n = 0
        for b in bytes.reversed() {
            if isWildcard(b) { break }
            n += 1
        }
        return n
    }

    /// Whether the pattern is a literal prefix followed only by `*` (at least one): it
    /// matches exactly the strings that start with the prefix.
    @inlinable package static func isPrefixPattern(_ bytes: [UInt8]) -> Bool {
        let prefix = literalPrefixLength(bytes)
        return prefix < bytes.count && bytes.dropFirst(prefix).allSatisfy { $0 == star }
    }
}

/// A URN, URN pattern or principal URN split at `:` once, as byte ranges of its text:
/// `service:region:account-id:type:id`. Empty fields are kept; `maxFields` stops splitting,
/// so the last field keeps any further `:` (`swr:…:repo:team/app:v1` has an id with a colon).
package struct ColonFields: Sendable {
    package let bytes: [UInt8]
    /// Start of each field, then one past the end (after a virtual `:`).
    private var starts: [Int] = [0]

    package init(_ text: String, maxFields: Int = .max) {
        self.init(bytes: Array(text.utf8), maxFields: maxFields)
    }

    package init(bytes: [UInt8], maxFields: Int = .max) {
        self.bytes = bytes
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: ":") && starts.count < maxFields { starts.append(i + 1) }
        starts.append(bytes.count + 1)
    }

    /// The number of fields (one more than the colons split at).
    package var count: Int { starts.count - 1 }

    /// The bytes of field `index`.
    package subscript(index: Int) -> ArraySlice<UInt8> { bytes[starts[index]..<(starts[index + 1] - 1)] }

    /// Field `index` as text.
    package func string(_ index: Int) -> String { String(decoding: self[index], as: UTF8.self) }

    /// Every field as text.
    package var strings: [String] { (0..<count).map(string) }
}

/// Names with a service prefix: actions (`ims:images:get`) and service condition keys
/// (`ims:TargetOrgPaths`).
package enum ServicePrefix {
    /// The text before the first `:` (all of it when there is none).
    package static func of(_ name: some StringProtocol) -> String {
        String(decoding: name.utf8.prefix { $0 != UInt8(ascii: ":") }, as: UTF8.self)
    }
}

extension GlobPattern {
    /// One element of a pattern as the policy language reads it.
    public enum Piece: Sendable, Hashable {
        case scalar(Unicode.Scalar)
        /// `*`: any run of scalars, also none.
        case anyRun
        /// `?`: exactly one scalar.
        case anyOne
    }

    /// The pattern's elements in order, for code that builds its own matcher (the analysis's automata).
    public static func pieces(of text: String) -> [Piece] {
        text.unicodeScalars.map { s in
            switch s {
            case "*": .anyRun
            case "?": .anyOne
            default: .scalar(s)
            }
        }
    }
}
