import BulwarkJSON
import CZlib

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Trace files on disk, plain or gzip'd (as CTS writes them to OBS), read in chunks: a file
/// of any size is read in bounded memory.
public enum TraceFiles {
    static let chunkSize = 1 << 20

    /// Calls `each` with every trace of the file at `path` (`-` is standard input), in file
    /// order, each one read or a located problem. A file that cannot be opened, or whose syntax
    /// breaks, throws once the traces before the break were given.
    public static func read(_ path: String, each: (Result<CTSTrace, TraceProblem>) -> Void) throws(TraceFileError) {
        try texts(path) { texts in
            for text in texts {
                for result in CTSTrace.read(text) { each(result) }
            }
        }
    }

    /// Calls `each` with the texts of the file's traces as chunks of it are read (cut, not yet
    /// read as traces: a caller may read them on several cores). Throws like `read`.
    public static func texts(_ path: String, each: ([TraceText]) -> Void) throws(TraceFileError) {
        let fd = path == "-" ? 0 : open(path, O_RDONLY)
        guard fd >= 0 else {
            throw TraceFileError(location: SourceLocation(line: 1, column: 1), message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { if fd != 0 { close(fd) } }
        var splitter = TraceSplitter()
        var gzip: GzipStream?
        var first = true
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { readBytes(fd, $0.baseAddress, chunkSize) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TraceFileError(location: SourceLocation(line: 1, column: 1), message: "cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            let bytes = buffer[0..<count]
            if first {
                first = false
                // gzip's magic number: 1F 8B.
                if count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B { gzip = try GzipStream() }
            }
            func split(_ plain: [UInt8]) throws(TraceFileError) {
                let texts = try splitter.feed(plain)
                if !texts.isEmpty { each(texts) }
            }
            if let gzip { try gzip.inflate(bytes, each: split) } else { try split(Array(bytes)) }
        }
        if let gzip { try gzip.finish() }
        try splitter.finish()
    }
}

/// POSIX `read` (the name `read` is taken by `TraceFiles.read` inside `TraceFiles`).
private func readBytes(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }

/// zlib's inflate over a gzip stream (several members, as `cat a.gz b.gz` makes, are read on).
final class GzipStream {
    private var stream: UnsafeMutablePointer<z_stream>
    private var ended = false

    init() throws(TraceFileError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 32: the largest window, and a gzip or zlib header detected automatically.
        guard inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw Self.error("cannot start decompressing (zlib)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates the next compressed bytes, handing the plain bytes to `each` a quarter MiB at a
    /// time as they come out: a small input that inflates a thousandfold (a gzip bomb) is never
    /// held whole.
    func inflate(_ compressed: ArraySlice<UInt8>, each: ([UInt8]) throws(TraceFileError) -> Void) throws(TraceFileError) {
        var input = Array(compressed)
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var offset = 0
        while offset < input.count {
            if ended {
                // Another member follows the one that ended.
                guard inflateReset(stream) == Z_OK else { throw Self.error("cannot read the next gzip member") }
                ended = false
            }
            let before = offset
            // zlib holds the pointers only during the call.
            let status: Int32 = input.withUnsafeMutableBufferPointer { input in
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_in = input.baseAddress! + before
                    stream.pointee.avail_in = UInt32(input.count - before)
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    return CZlib.inflate(stream, Z_NO_FLUSH)
                }
            }
            let produced = chunk.count - Int(stream.pointee.avail_out)
            offset = input.count - Int(stream.pointee.avail_in)
            if produced > 0 { try each(Array(chunk[0..<produced])) }
            switch status {
            case Z_OK, Z_BUF_ERROR: if produced == 0 && offset == before { return }  // no progress: more input needed
            case Z_STREAM_END: ended = true
            default: throw Self.error("the gzip data is damaged (\(stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"))")
            }
        }
    }

    /// The input ended: a member cut short is an error.
    func finish() throws(TraceFileError) {
        if !ended { throw Self.error("the gzip data ends early (truncated?)") }
    }

    private static func error(_ message: String) -> TraceFileError {
        TraceFileError(location: SourceLocation(line: 1, column: 1), message: message)
    }
}
