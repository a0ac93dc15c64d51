import BulwarkJSON
import BulwarkTraces
import FuzzDriver

/// What a trace file's bytes read as: each trace's id or the problem's place, and how the file ended.
func outcome(_ bytes: [UInt8], chunk: Int) -> [String] {
    var splitter = TraceSplitter()
    var out: [String] = []
    do {
        var start = 0
        while start < bytes.count {
            for text in try splitter.feed(Array(bytes[start..<min(start + chunk, bytes.count)])) {
                for result in CTSTrace.read(text) {
                    switch result {
                    case .success(let trace): out.append("trace \(trace.traceID) \(text.place(of: trace))")
                    case .failure(let problem):
                        precondition(problem.location.line >= 1 && problem.location.column >= 1, "a problem's location counts from 1")
                        out.append("problem \(problem)")
                    }
                }
            }
            start += chunk
        }
        try splitter.finish()
        out.append("end")
    } catch {
        precondition(error.location.line >= 1 && error.location.column >= 1, "a file error's location counts from 1")
        out.append("broken \(error)")
    }
    return out
}

/// Any bytes as a trace file: traces or located problems, never a crash or a hang, and the same
/// answer whatever the chunks the file arrives in.
func fuzzTraces(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = outcome(bytes, chunk: max(1, bytes.count))
    let chunk = 1 + Int(bytes.first ?? 0) % 17
    precondition(outcome(bytes, chunk: chunk) == whole, "the chunks a file arrives in change what it reads as")
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzTraces) }
}
