/// A strict RFC 8259 JSON reader that records line, column and path for every value.
///
/// It can read a whole document (`readDocument()`) or walk one incrementally
/// (`beginObject()` / `nextKey()` / `beginArray()` / `nextElement()` / `readValue()`),
/// which lets a caller turn a huge array into compact values one element at a
/// time instead of holding the whole tree. Duplicate object keys are an error:
/// a policy with two `Effect`s is ambiguous, so it is refused rather than guessed.
public struct JSONReader {
    private let bytes: [UInt8]
    private let limits: JSONLimits
    private var position = 0
    private var line = 1
    private var lineStart = 0
    // Column cache: locations are asked for in increasing order, so counting
    // scalars from the last answer keeps long single-line inputs linear.
    private var cachedOffset = 0
    private var cachedColumn = 1
    /// The path at the cursor, keys by offset: decoded only when a path is asked for (errors),
    /// so reading a key costs no string copies beyond the key itself.
    private var pathStack: [PathSlot] = []

    private enum PathSlot {
        /// The key whose opening quote is at this offset (-1 before an object's first key).
        case key(Int)
        case index(Int)
    }

    public init(bytes: [UInt8], limits: JSONLimits = .default) {
        self.bytes = bytes
        self.limits = limits
    }

    public init(text: String, limits: JSONLimits = .default) {
        self.init(bytes: Array(text.utf8), limits: limits)
    }

    /// The path of the value at the cursor.
    public var currentPath: JSONPath {
        JSONPath(
            pathStack.map { slot in
                switch slot {
                case .index(let i): return .index(i)
                case .key(let offset) where offset < 0: return .key("")
                case .key(let offset): return .key(key(atOffset: offset))
                }
            })
    }

    // MARK: Whole documents

    /// Reads one complete document; anything but whitespace after it is an error.
    public mutating func readDocument() throws(JSONSyntaxError) -> JSONNode {
        try checkSize()
        let node = try readValue()
        try endDocument()
        return node
    }

    /// Checks that nothing but whitespace follows the document.
    public mutating func endDocument() throws(JSONSyntaxError) {
        skipWhitespace()
        if position < bytes.count {
            throw error("unexpected \(describeByte(at: position)) after the end of the document")
        }
    }

    /// Reads the value at the cursor with everything inside it.
    public mutating func readValue() throws(JSONSyntaxError) -> JSONNode {
        try readValue(depth: pathStack.count)
    }

    /// Reads the value at the cursor and also returns its exact bytes, so a nested
    /// document (a policy inside a request body) can be validated as the client wrote it.
    public mutating func readValueWithBytes() throws(JSONSyntaxError) -> (node: JSONNode, bytes: ArraySlice<UInt8>) {
        skipWhitespace()
        let start = position
        let node = try readValue()
        return (node, bytes[start..<position])
    }

    // MARK: Incremental reading

    /// The JSON type of the value at the cursor, without consuming it, or nil at end of input.
    public mutating func peekTypeName() -> String? { peekKind()?.name }

    /// The kind of the value at the cursor, without consuming it, or nil at end of input.
    public mutating func peekKind() -> JSONKind? {
        skipWhitespace()
        guard position < bytes.count else { return nil }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .boolean
        case UInt8(ascii: "n"): return .null
        default: return .number
        }
    }

    /// The location of the next value (after whitespace).
    public mutating func peekLocation() -> SourceLocation {
        skipWhitespace()
        return location(at: position)
    }

    /// The byte offset of the next value (after whitespace): cheaper than its location, which
    /// `JSONReader.locations(ofOffsets:in:)` gives later for the few offsets that need one.
    public mutating func peekOffset() -> Int {
        skipWhitespace()
        return position
    }

    /// The locations of byte offsets of `bytes`, in the order given, in one pass over the input.
    public static func locations(ofOffsets offsets: [Int], in bytes: [UInt8]) -> [SourceLocation] {
        let order = offsets.indices.sorted { offsets[$0] < offsets[$1] }
        var result = [SourceLocation](repeating: SourceLocation(line: 1, column: 1), count: offsets.count)
        var (i, line, column) = (0, 1, 1)
        for index in order {
            let target = min(max(offsets[index], 0), bytes.count)
            while i < target {
                if bytes[i] == 0x0A {
                    line += 1
                    column = 1
                } else if bytes[i] & 0xC0 != 0x80 {
                    column += 1
                }
                i += 1
            }
            result[index] = SourceLocation(line: line, column: column)
        }
        return result
    }

    /// The string at the cursor (check `peekKind()` first): no tree node is built.
    public mutating func readString() throws(JSONSyntaxError) -> String {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            throw error("expected a string, found \(describeByte(at: position))")
        }
        return try scanString()
    }

    /// The string at the cursor with its offset, or nil (nothing consumed) when the value
    /// there is not a string: one call where a caller would peek, locate and read.
    public mutating func readStringIfPresent() throws(JSONSyntaxError) -> (text: String, offset: Int)? {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
        let offset = position
        return (try scanString(), offset)
    }

    /// The index in `names` of the string at the cursor when it is one of them, written without
    /// escapes; it is then consumed (no string is made). Otherwise nil and nothing consumed.
    public mutating func matchString(in names: JSONKeySet) -> Int? {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
        let start = position + 1
        guard let index = bytes.withUnsafeBufferPointer({ names.match(in: $0, at: start) }) else { return nil }
        position = start + names.length(of: index) + 1
        return index
    }

    /// The `true` or `false` at the cursor (check `peekKind()` first).
    public mutating func readBool() throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "t") {
            try expectLiteral("true")
            return true
        }
        try expectLiteral("false")
        return false
    }

    /// Consumes `{`. Follow with `nextKey()` until it returns nil.
    public mutating func beginObject() throws(JSONSyntaxError) {
        try checkSize()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "{") else {
            throw error("expected an object, found \(describeByte(at: position))")
        }
        try push(.key(-1))
        position += 1
        pendingFirst = true
    }

    /// Reads the next key of the current object and the `:` after it; nil at `}`.
    public mutating func nextKey() throws(JSONSyntaxError) -> (key: String, location: SourceLocation)? {
        guard try advanceToKey() else { return nil }
        // Located before the key is consumed: whitespace after it may start a new line.
        let location = location(at: position)
        let keyOffset = position
        let key = try scanString()
        try endKey(at: keyOffset)
        return (key, location)
    }

    /// The next key of the current object as its index in `keys` (`keys.names.count` for any
    /// other key, whose text `key(atOffset:)` gives), with its byte offset; nil at `}`. A listed
    /// key written without escapes is matched in place: no string is made for it.
    public mutating func nextKey(in keys: JSONKeySet) throws(JSONSyntaxError) -> (index: Int, offset: Int)? {
        guard try advanceToKey() else { return nil }
        let keyOffset = position
        let match: (index: Int, end: Int)? = bytes.withUnsafeBufferPointer { input in
            keys.match(in: input, at: keyOffset + 1).map { ($0, keyOffset + 1 + keys.length(of: $0)) }
        }
        if let match {
            position = match.end + 1
            try endKey(at: keyOffset)
            return (match.index, keyOffset)
        }
        // Not listed and plainly written (ASCII, no escape): skipped without making it.
        let plainEnd: Int? = bytes.withUnsafeBufferPointer { input in
            var i = keyOffset + 1
            while i < input.count {
                let b = input[i]
                if b == UInt8(ascii: "\"") { return i }
                if b == UInt8(ascii: "\\") || b < 0x20 || b >= 0x80 { return nil }
                i += 1
            }
            return nil
        }
        if let plainEnd {
            position = plainEnd + 1
            try endKey(at: keyOffset)
            return (keys.names.count, keyOffset)
        }
        // Escapes, or other scripts: decoded as usual (and checked), then compared.
        let key = try scanString()
        try endKey(at: keyOffset)
        return (keys.names.firstIndex(of: key) ?? keys.names.count, keyOffset)
    }

    /// The text of the key whose opening quote is at `offset`.
    public func key(atOffset offset: Int) -> String {
        var keyReader = self
        keyReader.position = offset
        return (try? keyReader.scanString()) ?? ""
    }

    /// Moves past `,` (or the object's start) to the next key's opening quote; false at `}`.
    private mutating func advanceToKey() throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        if !pendingFirst {
            guard position < bytes.count else { throw error("unterminated object") }
            if bytes[position] == UInt8(ascii: "}") {
                position += 1
                pathStack.removeLast()
                return false
            }
            guard bytes[position] == UInt8(ascii: ",") else {
                throw error("expected ',' or '}' in object, found \(describeByte(at: position))")
            }
            position += 1
            skipWhitespace()
        } else {
            pendingFirst = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                pathStack.removeLast()
                return false
            }
        }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            throw error("expected a quoted key, found \(describeByte(at: position))")
        }
        return true
    }

    /// Consumes the `:` after a key and makes the key the last step of the path.
    private mutating func endKey(at keyOffset: Int) throws(JSONSyntaxError) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
            // The key's text only for the message: reading a key makes no string of it.
            throw error("expected ':' after key \(Excerpt.quoted(key(atOffset: keyOffset))), found \(describeByte(at: position))")
        }
        position += 1
        pathStack[pathStack.count - 1] = .key(keyOffset)
    }

    /// Consumes `[`. Follow with `nextElement()` until it returns false.
    public mutating func beginArray() throws(JSONSyntaxError) {
        try checkSize()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "[") else {
            throw error("expected an array, found \(describeByte(at: position))")
        }
        try push(.index(-1))
        position += 1
        pendingFirst = true
    }

    /// Moves to the next element of the current array; false at `]`.
    public mutating func nextElement() throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard case .index(let i) = pathStack.last else { return false }
        if pendingFirst {
            pendingFirst = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                pathStack.removeLast()
                return false
            }
        } else {
            guard position < bytes.count else { throw error("unterminated array") }
            if bytes[position] == UInt8(ascii: "]") {
                position += 1
                pathStack.removeLast()
                return false
            }
            guard bytes[position] == UInt8(ascii: ",") else {
                throw error("expected ',' or ']' in array, found \(describeByte(at: position))")
            }
            position += 1
        }
        pathStack[pathStack.count - 1] = .index(i + 1)
        return true
    }

    /// A syntax error at the cursor, for callers that find a wrong shape mid-stream.
    public mutating func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, location: location(at: min(position, bytes.count)), path: currentPath)
    }

    // MARK: Internals

    private var pendingFirst = false

    private func checkSize() throws(JSONSyntaxError) {
        if bytes.count > limits.maxBytes {
            throw JSONSyntaxError(
                message: "input is \(bytes.count) bytes, more than the limit of \(limits.maxBytes)",
                location: SourceLocation(line: 1, column: 1), path: .root)
        }
    }

    private mutating func push(_ component: PathSlot) throws(JSONSyntaxError) {
        if pathStack.count >= limits.maxDepth {
            throw error("nesting deeper than \(limits.maxDepth) levels")
        }
        pathStack.append(component)
    }

    private mutating func readValue(depth: Int) throws(JSONSyntaxError) -> JSONNode {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of input, expected a value") }
        let start = location(at: position)
        switch bytes[position] {
        case UInt8(ascii: "{"):
            try push(.key(-1))
            position += 1
            var members: [JSONMember] = []
            // Small objects compare keys directly; a set pays off only for larger ones.
            var seen: Set<String> = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                pathStack.removeLast()
                return JSONNode(.object(members), at: start)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw error("expected a quoted key, found \(describeByte(at: position))")
                }
                let keyLocation = location(at: position)
                let keyOffset = position
                let key = try scanString()
                pathStack[pathStack.count - 1] = .key(keyOffset)
                let duplicate: Bool
                if members.count < 16 {
                    duplicate = members.contains { $0.key == key }
                } else {
                    if seen.isEmpty { seen = Set(members.map(\.key)) }
                    duplicate = !seen.insert(key).inserted
                }
                if duplicate {
                    throw JSONSyntaxError(
                        message: "duplicate key \(Excerpt.quoted(key))", location: keyLocation, path: currentPath)
                }
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                    throw error("expected ':' after key \(Excerpt.quoted(key)), found \(describeByte(at: position))")
                }
                position += 1
                let value = try readValue(depth: depth + 1)
                members.append(JSONMember(key: key, keyLocation: keyLocation, value: value))
                skipWhitespace()
                guard position < bytes.count else { throw error("unterminated object") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    break
                }
                throw error("expected ',' or '}' in object, found \(describeByte(at: position))")
            }
            pathStack.removeLast()
            return JSONNode(.object(members), at: start)
        case UInt8(ascii: "["):
            try push(.index(0))
            position += 1
            var elements: [JSONNode] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                pathStack.removeLast()
                return JSONNode(.array(elements), at: start)
            }
            while true {
                pathStack[pathStack.count - 1] = .index(elements.count)
                elements.append(try readValue(depth: depth + 1))
                skipWhitespace()
                guard position < bytes.count else { throw error("unterminated array") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    break
                }
                throw error("expected ',' or ']' in array, found \(describeByte(at: position))")
            }
            pathStack.removeLast()
            return JSONNode(.array(elements), at: start)
        case UInt8(ascii: "\""):
            return JSONNode(.string(try scanString()), at: start)
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return JSONNode(.bool(true), at: start)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return JSONNode(.bool(false), at: start)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return JSONNode(.null, at: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return JSONNode(.number(try readNumber()), at: start)
        default:
            throw error("unexpected \(describeByte(at: position)), expected a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected -> Bool in
            guard position + count <= bytes.count else { return false }
            for i in 0..<count where bytes[position + i] != expected[i] { return false }
            return true
        }
        guard matches else { throw error("invalid literal, expected '\(literal)'") }
        position += count
    }

    private mutating func readNumber() throws(JSONSyntaxError) -> String {
        let start = position
        func digit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard digit(position) else { throw error("invalid number: expected a digit") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if digit(position) { throw error("invalid number: leading zeros are not allowed") }
        } else {
            while digit(position) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digit(position) else { throw error("invalid number: expected a digit after '.'") }
            while digit(position) { position += 1 }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digit(position) else { throw error("invalid number: expected a digit in the exponent") }
            while digit(position) { position += 1 }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// Reads a string starting at the opening quote.
    private mutating func scanString() throws(JSONSyntaxError) -> String {
        position += 1
        let start = position
        // Fast path: no escapes, scanned and made in one pass over the buffer.
        let (end, text): (Int, String?) = bytes.withUnsafeBufferPointer { input in
            // Eight bytes at a time up to the first word holding a quote, a backslash or a
            // control character (schemas are megabytes of plain strings); bytewise from there.
            var (i, ascii) = Self.plainRun(in: input, from: start)
            while i < input.count {
                let b = input[i]
                if b == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: input[start..<i])
                    // ASCII needs no validation; anything else is checked.
                    return (i, ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self))
                }
                if b == UInt8(ascii: "\\") || b < 0x20 { break }
                if b >= 0x80 { ascii = false }
                i += 1
            }
            return (i, nil)
        }
        position = end
        if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
            guard let text else { throw error("string is not valid UTF-8") }
            position += 1
            return text
        }
        if position < bytes.count, bytes[position] < 0x20 {
            throw error("control character U+\(hex4(UInt32(bytes[position]))) must be escaped in a string")
        }
        var buffer = Array(bytes[start..<position])
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                guard let text = String(validating: buffer, as: UTF8.self) else {
                    throw error("string is not valid UTF-8")
                }
                position += 1
                return text
            }
            if b < 0x20 { throw error("control character U+\(hex4(UInt32(b))) must be escaped in a string") }
            if b != UInt8(ascii: "\\") {
                buffer.append(b)
                position += 1
                continue
            }
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try readHex4()
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw error("unpaired surrogate \\u\(hex4(scalar)) in string") }
                    position += 2
                    let low = try readHex4()
                    guard low >= 0xDC00 && low <= 0xDFFF else {
                        throw error("unpaired surrogate \\u\(hex4(scalar)) in string")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw error("unpaired surrogate \\u\(hex4(scalar)) in string")
                }
                buffer.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default:
                position -= 1
                throw error("invalid escape '\\\(describeByte(at: position))' in string")
            }
        }
        throw error("unterminated string")
    }

    /// The end of the whole words from `start` with no quote, backslash or control byte (where a
    /// bytewise scan must take over), and whether they are all ASCII.
    private static func plainRun(in input: UnsafeBufferPointer<UInt8>, from start: Int) -> (end: Int, ascii: Bool) {
        guard let base = input.baseAddress else { return (start, true) }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // A byte of `v` is zero ⇒ its high bit is set in `(v - ones) & ~v & highs` (no false negatives).
        func anyZero(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        var (i, all): (Int, UInt64) = (start, 0)
        while i + 8 <= input.count {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            // A byte below 0x20 sets its high bit in `word - 0x20…` unless it was ≥ 0x80 already.
            if anyZero(word ^ (ones &* 0x22)) || anyZero(word ^ (ones &* 0x5C)) || (word &- ones &* 0x20) & ~word & highs != 0 { break }
            all |= word
            i += 8
        }
        return (i, all & highs == 0)
    }

    private mutating func readHex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[position]
            let nibble: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt32(b - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt32(b - 0x61 + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = UInt32(b - 0x41 + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | nibble
            position += 1
        }
        return value
    }

    private func hex4(_ v: UInt32) -> String {
        let digits = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Inlined for the common case, no whitespace; called before every token.
    @inline(__always)
    private mutating func skipWhitespace() {
        guard position < bytes.count, bytes[position] <= 0x20 else { return }
        skipWhitespaceRun()
    }

    private mutating func skipWhitespaceRun() {
        let (end, lastNewline, newlines) = bytes.withUnsafeBufferPointer { input in
            var (i, lastNewline, newlines) = (position, -1, 0)
            scan: while i < input.count {
                switch input[i] {
                case 0x20, 0x09, 0x0D: i += 1
                case 0x0A:
                    newlines += 1
                    lastNewline = i
                    i += 1
                default: break scan
                }
            }
            return (i, lastNewline, newlines)
        }
        position = end
        if newlines > 0 {
            line += newlines
            lineStart = lastNewline + 1
            cachedOffset = lineStart
            cachedColumn = 1
        }
    }

    private mutating func location(at offset: Int) -> SourceLocation {
        if offset < cachedOffset || cachedOffset < lineStart {
            cachedOffset = lineStart
            cachedColumn = 1
        }
        var column = cachedColumn
        var i = cachedOffset
        while i < offset {
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        cachedOffset = offset
        cachedColumn = column
        return SourceLocation(line: line, column: column)
    }

    private func describeByte(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let b = bytes[offset]
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16, uppercase: true))"
    }
}

/// The keys an object is expected to have, for `JSONReader.nextKey(in:)` (or the strings a
/// value may be, for `matchString(in:)`): at most 64 non-empty names.
public struct JSONKeySet: Sendable {
    public let names: [String]
    /// Every name's UTF-8, one after another; `ends[i]` is where name `i` ends.
    private let utf8: [UInt8]
    private let ends: [Int]
    /// For each first byte, the names that start with it (bit `i` for name `i`): a key is
    /// compared with those only, usually one.
    private let byFirstByte: [UInt64]

    public init(_ names: [String]) {
        precondition(!names.contains(""), "JSONKeySet names are not empty")
        precondition(names.count <= 64, "a JSONKeySet holds at most 64 names")
        self.names = names
        self.utf8 = names.flatMap(\.utf8)
        var end = 0
        self.ends = names.map { name in
            end += name.utf8.count
            return end
        }
        var byFirstByte = [UInt64](repeating: 0, count: 256)
        for (i, name) in names.enumerated() { byFirstByte[Int(name.utf8.first!)] |= 1 << i }
        self.byFirstByte = byFirstByte
    }

    /// The index of the name written at `start` of `input` and closed by a quote there.
    fileprivate func match(in input: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        guard start < input.count, let base = input.baseAddress else { return nil }
        let (text, available) = (base + start, input.count - start)
        var candidates = byFirstByte[Int(text[0])]
        guard candidates != 0 else { return nil }
        return utf8.withUnsafeBufferPointer { names in
            ends.withUnsafeBufferPointer { ends in
                while candidates != 0 {
                    let i = candidates.trailingZeroBitCount
                    candidates &= candidates &- 1
                    let nameStart = i == 0 ? 0 : ends[i &- 1]
                    let count = ends[i] &- nameStart
                    guard count < available, text[count] == UInt8(ascii: "\"") else { continue }
                    var j = 1
                    while j < count && names[nameStart &+ j] == text[j] { j &+= 1 }
                    if j == count { return i }
                }
                return nil
            }
        }
    }

    fileprivate func length(of index: Int) -> Int { ends[index] - (index == 0 ? 0 : ends[index - 1]) }
}
