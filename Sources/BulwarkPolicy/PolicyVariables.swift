import BulwarkJSON

/// One `${KEY}` or `${KEY, 'default'}` of a policy string (SPEC §2, policy variables).
public struct PolicyVariable: Sendable, Hashable, CustomStringConvertible {
    /// The condition key as written, without the spaces around it.
    public let key: String
    /// The key case-folded, as a request context is searched for it.
    public let normalizedKey: String
    /// `KeyHash` of `normalizedKey`.
    public let keyHash: UInt64
    /// The text after the comma, with `''` read as `'`; nil when there is none.
    public let defaultText: String?
    /// Where `${` is in the string, counted in Unicode scalars from 0.
    public let offset: Int
    /// The variable as written, `${` to `}`.
    public let written: String

    public var description: String { written }
}

/// A policy string broken at its policy variables and escapes, read once when the policy is
/// parsed. `${*}`, `${?}` and `${$}` stand for the literal characters; a `$` not followed by `{`
/// is literal; any other `${` is a grammar error.
public struct PolicyTemplate: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        /// Policy text: in a pattern, `*` and `?` in it are wildcards.
        case text(String)
        /// `${*}`, `${?}` or `${$}`: the character itself, never a wildcard.
        case literal(Unicode.Scalar)
        case variable(PolicyVariable)
    }

    public let parts: [Part]
    /// Bytes of the template's own text and escapes (what is not a variable).
    let staticByteCount: Int

    init(parts: [Part]) {
        self.parts = parts
        staticByteCount = parts.reduce(0) { total, part in
            switch part {
            case .text(let t): total + t.utf8.count
            case .literal(let c): total + String(c).utf8.count
            case .variable: total
            }
        }
    }

    /// The variables, in order.
    public var variables: [PolicyVariable] {
        parts.compactMap {
            if case .variable(let v) = $0 { return v }
            return nil
        }
    }

    /// The text with every variable and escape as `*`: a pattern matching at least what any
    /// substitution matches, for an index to file the pattern under.
    public var skeleton: String {
        parts.map {
            switch $0 {
            case .text(let t): t
            case .literal, .variable: "*"
            }
        }.joined()
    }

    /// Reads the variables of `text`; nil when it has no `${` (nothing to substitute).
    public static func parse(_ text: String) throws(PolicyVariableError) -> PolicyTemplate? {
        guard text.utf8.count >= 2, containsOpening(text) else { return nil }
        var reader = TemplateReader(Array(text.unicodeScalars))
        return PolicyTemplate(parts: try reader.read())
    }

    private static func containsOpening(_ text: String) -> Bool {
        var previousDollar = false
        for b in text.utf8 {
            if previousDollar && b == UInt8(ascii: "{") { return true }
            previousDollar = b == UInt8(ascii: "$")
        }
        return false
    }

    /// The text with each variable replaced by its value (or default) in `context`; the first
    /// variable that does not resolve otherwise.
    public func substitute(in context: RequestContext, scope: VariableScope) -> Substitution {
        var chunks: [Substitution.Chunk] = []
        chunks.reserveCapacity(parts.count)
        for part in parts {
            switch part {
            case .text(let t): chunks.append(.init(text: t, isPolicyText: true))
            case .literal(let c): chunks.append(.init(text: String(c), isPolicyText: false))
            case .variable(let v):
                if let value = scope.value(of: v, in: context) {
                    chunks.append(.init(text: value, isPolicyText: false))
                } else if let fallback = v.defaultText {
                    chunks.append(.init(text: fallback, isPolicyText: false))
                } else {
                    return Substitution(chunks: [], unresolved: v)
                }
            }
        }
        return Substitution(chunks: chunks, unresolved: nil)
    }
}

extension PolicyTemplate {
    /// Whether the template, substituted from `context`, matches `resource` as a pattern; nil when
    /// a variable does not resolve and has no default. Same answer as
    /// `substitute(in:scope:).glob.matches`, without building anything on the heap.
    public func matches(resource: UnsafeBufferPointer<UInt8>, in context: RequestContext, scope: VariableScope) -> Bool? {
        // Inserted text is literal, so a pattern whose literal bytes outnumber the resource's
        // cannot match: that bounds the buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: staticByteCount + resource.count + 1) { buffer in
            var n = 0
            var fits = true
            func put(literal text: String) {
                for b in text.utf8 {
                    guard fits, n < buffer.count else {
                        fits = false
                        return
                    }
                    buffer[n] = b
                    n += 1
                }
            }
            // Once the text no longer fits, the parts are still read: a later variable that does
            // not resolve must answer nil (NotResource then does not match), not "no match".
            for part in parts {
                switch part {
                case .text(let t):
                    guard fits else { continue }
                    for b in t.utf8 {
                        buffer[n] = b == Wildcard.star ? GlobPattern.anyRunByte : b == Wildcard.question ? GlobPattern.anyOneByte : b
                        n += 1
                    }
                case .literal(let c):
                    put(literal: String(c))
                case .variable(let v):
                    guard let value = scope.value(of: v, in: context) ?? v.defaultText else { return nil }
                    put(literal: value)
                }
            }
            guard fits else { return false }
            return GlobPattern.matches(encoded: UnsafeBufferPointer(rebasing: buffer[0..<n]), resource)
        }
    }
}

/// The outcome of substituting a template's variables.
public struct Substitution: Sendable {
    /// A run of the result: policy text (wildcards live) or inserted text (always literal).
    public struct Chunk: Sendable {
        public let text: String
        public let isPolicyText: Bool
    }

    public let chunks: [Chunk]
    /// The first variable that did not resolve and has no default; then there is no result.
    public let unresolved: PolicyVariable?

    /// The substituted text (a comparison's operand: every character literal).
    public var text: String { chunks.map(\.text).joined() }

    /// The substituted text as a pattern: wildcards only where the policy wrote them.
    public var glob: GlobPattern {
        var pieces: [GlobPattern.Piece] = []
        var shown = ""
        for chunk in chunks {
            if chunk.isPolicyText {
                pieces += GlobPattern.pieces(of: chunk.text)
                shown += chunk.text
            } else {
                for s in chunk.text.unicodeScalars {
                    pieces.append(.scalar(s))
                    switch s {
                    case "*": shown += "${*}"
                    case "?": shown += "${?}"
                    default: shown.unicodeScalars.append(s)
                    }
                }
            }
        }
        return GlobPattern(pieces: pieces, text: shown)
    }

    /// For explanations: the result as it is compared, or why there is none.
    public var summary: String {
        if let unresolved {
            return "\(unresolved.written) does not resolve: the request context has no single value for \(unresolved.key) and there is no default"
        }
        return glob.text
    }
}

/// What evaluation needs from the catalog beyond the request: the keys that never resolve
/// because the catalog lists them as multi-valued (`g:TagKeys`, `ims:TargetOrgPaths`, ...), and
/// the action aliases (names of one permission that an Action pattern may use for another).
public struct VariableScope: Sendable, Hashable {
    /// Case-folded names.
    public let multiValuedKeys: Set<String>
    /// Case-folded prefixes of multi-valued key templates (`…/<tag-key>`).
    public let multiValuedPrefixes: [String]
    /// `KeyHash` of each multi-valued name: checked first, since every resolution asks.
    private let hashes: [UInt64]
    /// Case-folded action name → the other case-folded names of the same permission (an
    /// action and its aliases, SPEC §12); empty without aliases.
    public let actionAliases: [String: [String]]

    public init(multiValuedKeys: Set<String> = [], multiValuedPrefixes: [String] = [], actionAliases: [String: [String]] = [:]) {
        self.multiValuedKeys = multiValuedKeys
        self.multiValuedPrefixes = multiValuedPrefixes
        self.hashes = multiValuedKeys.map(KeyHash.of)
        self.actionAliases = actionAliases
    }

    /// No catalog: only the request context decides.
    public static let none = VariableScope()

    /// Whether the catalog lists the (case-folded) key as multi-valued.
    public func isMultiValued(_ normalizedKey: String) -> Bool {
        multiValuedKeys.contains(normalizedKey) || multiValuedPrefixes.contains { normalizedKey.utf8.starts(with: $0.utf8) }
    }

    /// The text a variable resolves to: the key's one scalar value (a number as its JSON text,
    /// a boolean as `true`/`false`), unless it is missing, a list or multi-valued by the catalog.
    public func value(of variable: PolicyVariable, in context: RequestContext) -> String? {
        value(normalizedKey: variable.normalizedKey, keyHash: variable.keyHash, in: context)
    }

    /// `value(of:in:)` by the variable's folded key and its `KeyHash`, for callers that keep
    /// them apart from the variable (copying a variable retains each of its strings).
    public func value(normalizedKey: String, keyHash: UInt64, in context: RequestContext) -> String? {
        guard let scalar = context.scalar(normalizedKey: normalizedKey, hash: keyHash) else { return nil }
        if hashes.contains(keyHash) || !multiValuedPrefixes.isEmpty, isMultiValued(normalizedKey) { return nil }
        return scalar.text
    }
}

/// A `${` that forms no variable or escape.
public struct PolicyVariableError: Error, Sendable, Hashable {
    /// Where `${` is (or the broken character, when past it), in Unicode scalars from 0.
    public let offset: Int
    public let message: String
}

/// Reads a string's scalars into template parts.
private struct TemplateReader {
    let s: [Unicode.Scalar]
    var i = 0

    init(_ scalars: [Unicode.Scalar]) { s = scalars }

    mutating func read() throws(PolicyVariableError) -> [PolicyTemplate.Part] {
        var parts: [PolicyTemplate.Part] = []
        var text = String.UnicodeScalarView()
        func flush() {
            if !text.isEmpty { parts.append(.text(String(text))) }
            text = String.UnicodeScalarView()
        }
        while i < s.count {
            guard s[i] == "$", i + 1 < s.count, s[i + 1] == "{" else {
                text.append(s[i])
                i += 1
                continue
            }
            flush()
            parts.append(try variableOrEscape())
        }
        flush()
        return parts
    }

    private func fail(_ at: Int, _ message: String) -> PolicyVariableError {
        PolicyVariableError(offset: at, message: message)
    }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }

    private mutating func skipSpaces() {
        while i < s.count && Self.isSpace(s[i]) { i += 1 }
    }

    /// At `${`: reads through the closing `}`.
    private mutating func variableOrEscape() throws(PolicyVariableError) -> PolicyTemplate.Part {
        let start = i
        i += 2
        if i + 1 < s.count, s[i + 1] == "}", ["*", "?", "$"].contains(s[i]) {
            let c = s[i]
            i += 2
            return .literal(c)
        }
        skipSpaces()
        let keyStart = i
        while i < s.count, !["}", ",", "'", "$", "{", "*", "?"].contains(s[i]), s[i].value >= 0x20, s[i].value != 0x7F { i += 1 }
        var keyEnd = i
        while keyEnd > keyStart && Self.isSpace(s[keyEnd - 1]) { keyEnd -= 1 }
        let key = String(String.UnicodeScalarView(s[keyStart..<keyEnd]))
        guard i < s.count else {
            throw fail(start, "policy variable at character \(start + 1) has no closing }")
        }
        guard !key.isEmpty else {
            throw fail(
                start,
                "policy variable at character \(start + 1) names no condition key; write ${KEY}, ${KEY, 'default'}, or ${*}, ${?}, ${$} for the characters"
            )
        }
        var fallback: String? = nil
        if s[i] == "," {
            i += 1
            skipSpaces()
            guard i < s.count, s[i] == "'" else {
                throw fail(
                    start,
                    "policy variable \(Excerpt.quoted(key)) at character \(start + 1): the default after the comma must be quoted text, 'like this'")
            }
            i += 1
            var value = String.UnicodeScalarView()
            while true {
                guard i < s.count else {
                    throw fail(start, "policy variable \(Excerpt.quoted(key)) at character \(start + 1): the default text has no closing '")
                }
                if s[i] == "'" {
                    if i + 1 < s.count && s[i + 1] == "'" {
                        value.append("'")
                        i += 2
                        continue
                    }
                    i += 1
                    break
                }
                value.append(s[i])
                i += 1
            }
            fallback = String(value)
            skipSpaces()
        }
        guard i < s.count, s[i] == "}" else {
            let found = i < s.count ? "\(Excerpt.quoted(String(s[i]))) at character \(i + 1)" : "the end of the text"
            throw fail(start, "policy variable \(Excerpt.quoted(key)) at character \(start + 1): expected } but found \(found)")
        }
        i += 1
        let folded = CaseFolding.lowercase(key)
        return .variable(
            PolicyVariable(
                key: key, normalizedKey: folded, keyHash: KeyHash.of(folded), defaultText: fallback, offset: start,
                written: String(String.UnicodeScalarView(s[start..<i]))))
    }
}
