/// A problem at a place in a document: what is wrong, where (JSON path, line and column),
/// a stable code when there is one, and how to fix it when there is more to say. Every
/// located error of Bulwark — the JSON reader's, the policy parser's, the contract
/// decoders', the server's — carries one, so they print and render the same way.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    /// A stable machine-readable code (`JSON_SYNTAX_ERROR`, `INVALID_EFFECT`, `invalid_request`), or nil.
    public var code: String?
    public var message: String
    /// Where in the document, e.g. `$.Statement[0].Effect`.
    public var path: JSONPath
    public var location: SourceLocation
    /// How to fix it, beyond the message.
    public var help: String?

    public init(code: String? = nil, message: String, path: JSONPath, location: SourceLocation, help: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.location = location
        self.help = help
    }

    /// `PATH (line L, column C): message`.
    public var description: String { "\(path) (\(location)): \(message)" }

    /// The CLI's one line: `FILE:LINE:COLUMN: PATH: message`.
    public func line(file: String) -> String { "\(file):\(location.line):\(location.column): \(path): \(message)" }
}

/// Something located in a document — an error, a validator's finding — that carries a
/// `Diagnostic` and reads like one.
public protocol Located {
    var diagnostic: Diagnostic { get }
}

extension Located {
    public var message: String { diagnostic.message }
    public var path: JSONPath { diagnostic.path }
    public var location: SourceLocation { diagnostic.location }
}

/// An error located in a document.
public protocol LocatedError: Error, Located, CustomStringConvertible {}

extension LocatedError {
    public var description: String { diagnostic.description }
}
