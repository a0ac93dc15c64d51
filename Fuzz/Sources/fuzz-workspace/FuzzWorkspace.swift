import BulwarkCatalog
import BulwarkWorkspace
import FuzzDriver

/// The catalog, loaded once: the loader validates policies against it.
nonisolated(unsafe) let catalog = try! Catalog.bundled()

/// Any bytes as the files of an import body (`PUT /v1/organization/import`): records
/// separated by a NUL byte, each `PATH` newline `CONTENTS`. The workspace loads or reports
/// problems, never crashes or hangs; every problem names a file and a line and column from 1,
/// and a path outside the layout is always a problem.
func fuzzWorkspace(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    var files: [String: [UInt8]] = [:]
    for record in UnsafeBufferPointer(start: data, count: size).split(separator: 0, omittingEmptySubsequences: false) {
        let parts = record.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
        files[String(decoding: parts[0], as: UTF8.self)] = parts.count > 1 ? Array(parts[1]) : []
    }
    let workspace = Workspace.load(files: files, catalog: catalog)
    for problem in workspace.problems {
        precondition(!problem.file.isEmpty, "a problem names its file")
        precondition(problem.location.line >= 1 && problem.location.column >= 1, "a problem has a line and column")
    }
    for path in files.keys where path.hasPrefix("/") || path.split(separator: "/").contains("..") {
        precondition(workspace.problems.contains { $0.file == path }, "a path outside the layout is a problem")
    }
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzWorkspace) }
}
