public import BulwarkJSON

/// The text of one trace cut out of a trace file, with where it starts in the file.
public struct TraceText: Sendable {
    public let bytes: [UInt8]
    /// Where the trace's `{` is in the file.
    public let start: SourceLocation
    /// The trace's path in the file: `$[3]` in an array, `$` for the objects of a sequence
    /// (JSON lines), `$.traces[3]` in a `ListTraces` answer.
    public let path: JSONPath
}

/// A trace file that cannot be read on from some point: its syntax is broken there.
public struct TraceFileError: Error, Sendable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String
    public var description: String { "\(location.line):\(location.column): \(message)" }
}

/// Cuts a trace file into traces as its bytes arrive, holding one trace at a time, so a file of
/// a million traces is read in bounded memory. Files are what CTS writes or answers: an array of
/// traces, one trace, a sequence of traces (JSON lines), or a `ListTraces` answer
/// (`{"traces": [...]}`, split once that object is whole — a page holds at most a few hundred).
///
/// Only the structure is followed here (strings, nesting); each trace's text is then read by
/// `JSONReader`, which checks everything else.
public struct TraceSplitter: Sendable {
    /// A trace larger than this is refused (a runaway object would otherwise be held whole).
    public static let maxTraceBytes = 16 << 20

    private enum Layout { case unknown, array, sequence }
    private var layout = Layout.unknown
    /// In an array: an element was read, so `,` or `]` comes next.
    private var afterElement = false
    private var arrayClosed = false
    private var elementIndex = 0

    private var current: [UInt8] = []
    private var currentStart = SourceLocation(line: 1, column: 1)
    private var depth = 0
    private var inString = false
    private var escaped = false

    private var line = 1
    /// Unicode scalars since the start of the line (the column is one more).
    private var lineScalars = 0

    public init() {}

    /// Where the file broke, once it has: every later call throws it.
    private var failure: TraceFileError?

    /// Feeds the next bytes of the file; returns the traces completed by them. Where the file
    /// breaks, the traces before the break are returned first, and the next call throws.
    public mutating func feed(_ chunk: [UInt8]) throws(TraceFileError) -> [TraceText] {
        if let failure { throw failure }
        var done: [TraceText] = []
        do { try scan(chunk, into: &done) } catch {
            failure = error
            if done.isEmpty { throw error }
        }
        return done
    }

    private mutating func scan(_ chunk: [UInt8], into done: inout [TraceText]) throws(TraceFileError) {
        try chunk.withUnsafeBufferPointer { (input: UnsafeBufferPointer<UInt8>) throws(TraceFileError) in
            var i = 0
            while i < input.count {
                if depth > 0 {
                    i = try scanTrace(input, from: i, into: &done)
                    continue
                }
                let byte = input[i]
                let here = SourceLocation(line: line, column: lineScalars + 1)
                count(byte)
                i += 1
                if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { continue }
                try between(byte, at: here)
                if depth > 0 { current.append(byte) }
            }
        }
    }

    private mutating func count(_ byte: UInt8) {
        if byte == 0x0A {
            line += 1
            lineScalars = 0
        } else if byte & 0xC0 != 0x80 {
            lineScalars += 1
        }
    }

    /// Reads on inside a trace from `start` to its end or the chunk's; returns where it stopped.
    private mutating func scanTrace(
        _ input: UnsafeBufferPointer<UInt8>, from start: Int, into done: inout [TraceText]
    ) throws(TraceFileError) -> Int {
        var i = start
        var closed = false
        scan: while i < input.count {
            let byte = input[i]
            i += 1
            if byte == 0x0A {
                line += 1
                lineScalars = 0
            } else if byte & 0xC0 != 0x80 {
                lineScalars += 1
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    closed = true
                    break scan
                }
            default: break
            }
        }
        current.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<i]))
        if current.count > Self.maxTraceBytes {
            throw TraceFileError(location: currentStart, message: "a trace larger than \(Self.maxTraceBytes) bytes")
        }
        if closed {
            let path = layout == .array ? JSONPath.root.appending(index: elementIndex) : .root
            done.append(TraceText(bytes: current, start: currentStart, path: path))
            elementIndex += 1
            afterElement = true
        }
        return i
    }

    /// Says the file ended; what is unfinished is an error.
    public func finish() throws(TraceFileError) {
        if let failure { throw failure }
        let here = SourceLocation(line: line, column: lineScalars + 1)
        if depth > 0 { throw TraceFileError(location: here, message: "the file ends inside a trace (truncated?)") }
        if layout == .array && !arrayClosed { throw TraceFileError(location: here, message: "the file ends inside the array of traces (truncated?)") }
        if layout == .unknown { throw TraceFileError(location: here, message: "the file holds no traces (expected an array or objects)") }
    }

    /// A byte outside any trace: it opens the layout, a trace, or separates traces.
    private mutating func between(_ byte: UInt8, at here: SourceLocation) throws(TraceFileError) {
        func fail(_ message: String) -> TraceFileError { TraceFileError(location: here, message: message) }
        switch layout {
        case .unknown:
            switch byte {
            case UInt8(ascii: "["): layout = .array
            case UInt8(ascii: "{"):
                layout = .sequence
                open(at: here)
            default: throw fail("expected an array of traces or a trace object, found \(Self.describe(byte))")
            }
        case .array:
            if arrayClosed { throw fail("unexpected \(Self.describe(byte)) after the array of traces") }
            switch byte {
            case UInt8(ascii: "]"): arrayClosed = true
            case UInt8(ascii: ",") where afterElement: afterElement = false
            case UInt8(ascii: "{") where !afterElement: open(at: here)
            default:
                throw fail(
                    afterElement
                        ? "expected ',' or ']' after trace \(elementIndex - 1), found \(Self.describe(byte))"
                        : "trace \(elementIndex) is not an object (found \(Self.describe(byte)))")
            }
        case .sequence:
            guard byte == UInt8(ascii: "{") else { throw fail("expected the next trace object, found \(Self.describe(byte))") }
            open(at: here)
        }
    }

    private mutating func open(at here: SourceLocation) {
        current.removeAll(keepingCapacity: true)
        currentStart = here
        depth = 1
    }

    private static func describe(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
}
