import BulwarkCatalog
import FuzzDriver

/// The built-in catalog, loaded once: user catalogs are merged into it.
nonisolated(unsafe) let builtIn = try! Catalog.bundled()

/// Any bytes as a user catalog file (a Huawei authorization schema or a Bulwark service file):
/// it merges or is refused with problems, never crashes or hangs; a refusal names at least
/// one problem, every problem names the file, and a located one has a line and column from 1.
func fuzzCatalog(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let file = CatalogFile(name: "schema.json", bytes: Array(UnsafeBufferPointer(start: data, count: size)))
    do {
        let loaded = try builtIn.merging([file])
        // What merged is a whole catalog: every operation names one of its actions.
        for service in loaded.catalog.services {
            for operation in service.operations {
                precondition(loaded.catalog.action(named: operation.action) != nil, "an operation's action is defined")
            }
        }
        _ = loaded.catalog.exportJSON()
    } catch {
        precondition(!error.problems.isEmpty, "a refusal names a problem")
        for problem in error.problems {
            precondition(problem.file == "schema.json", "a problem names its file")
            if let location = problem.location { precondition(location.line >= 1 && location.column >= 1, "a location counts from 1") }
        }
    }
    return 0
}

@main struct Fuzz {
    static func main() { runFuzzer(fuzzCatalog) }
}
