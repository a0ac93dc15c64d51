import ArgumentParser
import BulwarkJSON
import Foundation

/// Exit codes, documented in the README.
enum ExitCode {
    /// Success; for `authorize`, decisions were printed (whatever they are).
    static let ok: Int32 = 0
    /// An unexpected failure (e.g. the output could not be written).
    static let failure: Int32 = 1
    /// Invalid input or usage: malformed JSON, a policy that breaks the grammar, bad flags.
    static let invalidInput: Int32 = 2
    /// `--fail-on-deny` and a request was denied.
    static let denied: Int32 = 3
}

/// A failure the CLI reports as one line with a chosen exit code.
struct CLIError: Error {
    let message: String
    let exitCode: Int32

    static func invalidInput(_ message: String) -> CLIError { CLIError(message: message, exitCode: ExitCode.invalidInput) }
}

enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("bulwark: \(message)\n".utf8))
    }

    /// Writes bytes to stdout unbuffered by Foundation (large outputs go straight through).
    static func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    Console.error("cannot write the output: \(String(cString: strerror(errno)))")
                    exit(ExitCode.failure)
                }
                offset += n
            }
        }
    }

    static func print(_ text: String) { write(Array((text + "\n").utf8)) }
}

/// Reads a file, or stdin for `-`.
func readInput(_ path: String) throws(CLIError) -> [UInt8] {
    if path == "-" {
        return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw CLIError.invalidInput("\(path): no such file")
    }
    // A read error becomes this refusal; `readToEnd` answers nil for an empty file only.
    guard !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: path),
        let data = try? handle.readToEnd() ?? Data()
    else {
        throw CLIError.invalidInput("\(path): cannot read the file")
    }
    return Array(data)
}

/// `FILE:LINE:COLUMN: PATH: message`, the one-line form of located errors.
func located(_ file: String, _ location: SourceLocation, _ path: JSONPath, _ message: String) -> String {
    "\(file):\(location.line):\(location.column): \(path): \(message)"
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
