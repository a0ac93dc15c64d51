import BulwarkCatalog
import BulwarkContract
import BulwarkEngine
import BulwarkJSON
import BulwarkPolicy
import Foundation
import Testing

/// Parses a policy or fails the test.
func policy(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Policy {
    try PolicyParser.parse(text)
}

/// A context from JSON text such as `{"g:SourceIp": "10.0.0.1"}`.
func context(_ json: String) throws -> RequestContext {
    var reader = JSONReader(text: json)
    return try RequestDecoding.context(try reader.readDocument(), path: .root)
}

/// Whether `{"Effect":"Allow","Action":"*","Condition": condition}` matches a request with this context.
func conditionHolds(_ condition: String, _ contextJSON: String = "{}") throws -> Bool {
    let p = try policy(#"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":"*","Condition":"# + condition + "}]}")
    return p.statements[0].matches(AuthorizationRequest(action: "ims:images:get", context: try context(contextJSON)))
}

/// Named policy from text.
func named(_ id: String, _ text: String) throws -> NamedPolicy { NamedPolicy(id: id, policy: try policy(text)) }

/// A one-statement policy.
func statementPolicy(_ effect: String, _ action: String, resource: String = "*", condition: String? = nil) -> String {
    var s = #"{"Effect":"\#(effect)","Action":"\#(action)","Resource":"\#(resource)""#
    if let condition { s += #","Condition":"# + condition }
    return #"{"Version":"5.0","Statement":["# + s + "}]}"
}

let fullAccess = #"{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"]}]}"#

/// The built `bulwark` executable, next to the test bundle.
func bulwarkBinary() -> URL {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return exe.deletingLastPathComponent().appendingPathComponent("bulwark")
}

/// Runs the CLI and captures its output.
func runCLI(_ arguments: [String], stdin: String? = nil) throws -> (code: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = bulwarkBinary()
    process.arguments = arguments
    // Relative paths in arguments (and so in outputs) are relative to the package root.
    process.currentDirectoryURL = packageRoot()
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes before waiting so large outputs cannot block the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The built-in catalog with the example third service (`examples/catalogs/evs.json`, a Huawei
/// schema with an alias, a permission-only action and keys per resource type).
let catalogWithEVS: Catalog = {
    let files = try! Catalog.files(inDirectories: [packageRoot().appendingPathComponent("examples/catalogs").path])
    return try! Catalog.bundled().merging(files).catalog
}()

/// The shared examples folder (`../shared/examples` from the package root).
func sharedExamples() -> URL {
    packageRoot().deletingLastPathComponent().appendingPathComponent("shared/examples")
}

func packageRoot() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

func golden(_ name: String) -> URL {
    packageRoot().appendingPathComponent("Tests/BulwarkTests/Golden/\(name)")
}

/// Compares output with a golden file; BULWARK_UPDATE_GOLDEN=1 rewrites the file instead.
func expectGolden(_ name: String, _ actual: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let url = golden(name)
    if ProcessInfo.processInfo.environment["BULWARK_UPDATE_GOLDEN"] == "1" {
        try actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let expected = (try? String(contentsOf: url, encoding: .utf8)) ?? "<missing golden file>"
    #expect(actual == expected, "output differs from Golden/\(name)", sourceLocation: sourceLocation)
}
