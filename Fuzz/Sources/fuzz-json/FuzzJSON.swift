import BulwarkJSON
import FuzzDriver

/// Any bytes: the reader returns a tree or a located error, never crashes or hangs; a tree
/// written out and read again writes out the same bytes.
func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var reader = JSONReader(bytes: bytes)
    let node: JSONNode
    do { node = try reader.readDocument() } catch {
        guard let syntax = error as? JSONSyntaxError, syntax.location.line >= 1, syntax.location.column >= 1 else {
            fatalError("a refusal that is not a located JSONSyntaxError: \(error)")
        }
        return 0
    }
    var first = JSONWriter()
    first.value(node.value)
    var again = JSONReader(bytes: first.bytes)
    guard let reread = try? again.readDocument() else {
        fatalError("the reader refuses what the writer wrote: \(String(decoding: first.bytes, as: UTF8.self))")
    }
    var second = JSONWriter()
    second.value(reread.value)
    precondition(first.bytes == second.bytes, "written, read and written again, the document changed")
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzJSON) }
}
