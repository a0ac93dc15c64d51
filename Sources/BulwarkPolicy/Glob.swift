/// A compiled wildcard pattern: `*` matches any run of characters (also empty),
/// `?` exactly one Unicode scalar; everything else is literal. Matching is over
/// the whole string.
///
/// Matching works on UTF-8 bytes. The pattern is split at its stars into
/// segments; the first is anchored at the start, the last at the end, and each
/// middle one is placed at its leftmost fit. A segment's end is fixed by its
/// start, so leftmost placement is always safe and nothing is ever retried:
/// the cost is at most O(|text| × |pattern|), never exponential.
public struct GlobPattern: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written (after case folding, for case-insensitive patterns).
    public let text: String
    private let shape: Shape

    private enum Shape: Sendable, Hashable {
        case anything
        case exact([UInt8])
        case prefix([UInt8])
        case suffix([UInt8])
        case prefixSuffix([UInt8], [UInt8])
        /// Segments between stars; `anyOneByte`s inside a segment match one scalar.
        case general(segments: [[UInt8]], leadingStar: Bool, trailingStar: Bool)
    }

    /// The bytes the matcher reads in place of `*` and `?`: neither can occur in valid UTF-8,
    /// so a pattern can also hold a literal `*` or `?` (inserted by a policy variable).
    static let anyRunByte: UInt8 = 0xFE
    static let anyOneByte: UInt8 = 0xFF

    /// A pattern in the policy language's spelling: `*` and `?` are wildcards.
    public init(_ text: String) {
        self.init(text: text, encoded: text.utf8.map { $0 == Wildcard.star ? Self.anyRunByte : $0 == Wildcard.question ? Self.anyOneByte : $0 })
    }

    /// A pattern from its pieces; a `.scalar` is always literal, also `*` and `?`. `text` is
    /// how the pattern is shown.
    public init(pieces: [Piece], text: String) {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(pieces.count)
        for piece in pieces {
            switch piece {
            case .anyRun: encoded.append(Self.anyRunByte)
            case .anyOne: encoded.append(Self.anyOneByte)
            case .scalar(let s): encoded += UTF8.encode(s)!
            }
        }
        self.init(text: text, encoded: encoded)
    }

    private init(text: String, encoded bytes: [UInt8]) {
        self.text = text
        let hasQuestion = bytes.contains(Self.anyOneByte)
        let starCount = bytes.lazy.filter { $0 == Self.anyRunByte }.count
        if starCount == 0 && !hasQuestion {
            shape = .exact(bytes)
            return
        }
        if bytes.allSatisfy({ $0 == Self.anyRunByte }) {
            shape = .anything
            return
        }
        if !hasQuestion && starCount == 1 {
            let star = bytes.firstIndex(of: Self.anyRunByte)!
            let head = Array(bytes[..<star])
            let tail = Array(bytes[(star + 1)...])
            if tail.isEmpty {
                shape = .prefix(head)
            } else if head.isEmpty {
                shape = .suffix(tail)
            } else {
                shape = .prefixSuffix(head, tail)
            }
            return
        }
        let parts = bytes.split(separator: Self.anyRunByte, omittingEmptySubsequences: false).map(Array.init)
        shape = .general(
            segments: parts.filter { !$0.isEmpty },
            leadingStar: bytes.first == Self.anyRunByte,
            trailingStar: bytes.last == Self.anyRunByte)
    }

    public var description: String { text }

    /// The literal text before the first wildcard (all of it for a literal). Computed when
    /// asked: compiled policies hold many patterns, and only the validator needs this.
    public var literalPrefix: String {
        let bytes = Array(text.utf8)
        return String(decoding: bytes.prefix(Wildcard.literalPrefixLength(bytes)), as: UTF8.self)
    }

    /// True when the pattern has no wildcard at all.
    public var isLiteral: Bool {
        if case .exact = shape { return true }
        return false
    }

    /// True when the pattern matches every string (`*`, `**`, ...).
    public var matchesEverything: Bool {
        if case .anything = shape { return true }
        return false
    }

    /// Whether the whole of `string` matches.
    public func matches(_ string: String) -> Bool {
        var string = string
        return string.withUTF8 { matches(utf8: $0) }
    }

    /// Whether the whole of the UTF-8 text matches.
    public func matches(utf8 s: UnsafeBufferPointer<UInt8>) -> Bool {
        switch shape {
        case .anything:
            return true
        case .exact(let literal):
            return s.count == literal.count && literal.withUnsafeBufferPointer { Self.equal(s, 0, $0) }
        case .prefix(let head):
            return s.count >= head.count && head.withUnsafeBufferPointer { Self.equal(s, 0, $0) }
        case .suffix(let tail):
            return s.count >= tail.count && tail.withUnsafeBufferPointer { Self.equal(s, s.count - tail.count, $0) }
        case .prefixSuffix(let head, let tail):
            return s.count >= head.count + tail.count
                && head.withUnsafeBufferPointer { Self.equal(s, 0, $0) }
                && tail.withUnsafeBufferPointer { Self.equal(s, s.count - tail.count, $0) }
        case .general(let segments, let leadingStar, let trailingStar):
            return Self.matchGeneral(s, segments: segments, leadingStar: leadingStar, trailingStar: trailingStar)
        }
    }

    private static func equal(_ s: UnsafeBufferPointer<UInt8>, _ at: Int, _ literal: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < literal.count {
            if s[at + i] != literal[i] { return false }
            i += 1
        }
        return true
    }

    private static func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }

    /// Matches `segment` at `start`; returns the end offset, or nil.
    private static func matchSegment(_ segment: [UInt8], in s: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        var i = start
        for b in segment {
            if b == anyOneByte {
                guard i < s.count, !isContinuation(s[i]) else { return nil }
                i += 1
                while i < s.count && isContinuation(s[i]) { i += 1 }
            } else {
                guard i < s.count, s[i] == b else { return nil }
                i += 1
            }
        }
        return i
    }

    /// Scalars a segment consumes (each `?` is one, each literal scalar one).
    private static func scalarLength(_ segment: [UInt8]) -> Int {
        segment.reduce(0) { $0 + (isContinuation($1) ? 0 : 1) }
    }

    private static func matchGeneral(
        _ s: UnsafeBufferPointer<UInt8>, segments: [[UInt8]], leadingStar: Bool, trailingStar: Bool
    ) -> Bool {
        if segments.isEmpty { return true }  // only stars
        var position = 0
        var first = 0
        var last = segments.count
        if !leadingStar {
            guard let end = matchSegment(segments[0], in: s, at: 0) else { return false }
            if segments.count == 1 && !trailingStar { return end == s.count }
            position = end
            first = 1
        }
        // The anchored tail segment: find where it must start by walking back its scalar count.
        var tailStart = s.count
        if !trailingStar && last > first {
            let tail = segments[last - 1]
            var scalars = scalarLength(tail)
            var p = s.count
            while scalars > 0 {
                guard p > position else { return false }
                p -= 1
                while p > position && isContinuation(s[p]) { p -= 1 }
                if isContinuation(s[p]) { return false }
                scalars -= 1
            }
            guard matchSegment(tail, in: s, at: p) == s.count else { return false }
            tailStart = p
            last -= 1
        }
        // Middle segments: leftmost placement, all before the tail.
        var k = first
        while k < last {
            let segment = segments[k]
            var start = position
            var placed = false
            while start < tailStart || (segment.isEmpty && start == tailStart) {
                if !isContinuation(s[start]), let end = matchSegment(segment, in: s, at: start), end <= tailStart {
                    position = end
                    placed = true
                    break
                }
                start += 1
            }
            if !placed { return false }
            k += 1
        }
        return position <= tailStart
    }
}

extension GlobPattern {
    /// Matches `text` against a pattern already encoded for the matcher (`anyRunByte` and
    /// `anyOneByte` for the wildcards, every other byte literal): what a substituted policy
    /// variable pattern is matched with, without building a `GlobPattern`. The classic
    /// iterative algorithm: on a mismatch the last `*` takes one more scalar, so the cost is at
    /// most O(|text| × |pattern|).
    static func matches(encoded pattern: UnsafeBufferPointer<UInt8>, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        func nextScalar(_ i: Int) -> Int {
            var j = i + 1
            while j < text.count && isContinuation(text[j]) { j += 1 }
            return j
        }
        var p = 0
        var t = 0
        var starP = -1
        var starT = 0
        while t < text.count {
            if p < pattern.count {
                let c = pattern[p]
                if c == anyRunByte {
                    starP = p
                    starT = t
                    p += 1
                    continue
                }
                if c == anyOneByte {
                    t = nextScalar(t)
                    p += 1
                    continue
                }
                if c == text[t] {
                    p += 1
                    t += 1
                    continue
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starT = nextScalar(starT)
            t = starT
        }
        while p < pattern.count && pattern[p] == anyRunByte { p += 1 }
        return p == pattern.count
    }
}
