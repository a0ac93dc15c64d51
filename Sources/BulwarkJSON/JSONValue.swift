/// A position in a source text: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// 1-based column, counted in Unicode scalars.
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// One step of a JSON path: an object key or an array index.
public enum JSONPathComponent: Sendable, Hashable {
    case key(String)
    case index(Int)
}

/// A JSONPath-like address of a value, e.g. `$.Statement[0].Condition["g:SourceIp"]`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public var components: [JSONPathComponent]

    public init(_ components: [JSONPathComponent] = []) { self.components = components }

    /// The document root, `$`.
    public static let root = JSONPath()

    public func appending(key: String) -> JSONPath { appending(.key(key)) }
    public func appending(index: Int) -> JSONPath { appending(.index(index)) }

    private func appending(_ component: JSONPathComponent) -> JSONPath {
        // One allocation: room for the new component is reserved with the copy.
        var copy: [JSONPathComponent] = []
        copy.reserveCapacity(components.count + 1)
        copy.append(contentsOf: components)
        copy.append(component)
        return JSONPath(copy)
    }

    /// Dotted form for identifier-like keys, bracketed and quoted otherwise.
    public var description: String {
        var text = "$"
        for component in components {
            switch component {
            case .index(let i): text += "[\(i)]"
            case .key(let key):
                // A key is quoted whole only up to Excerpt.valueLimit: paths go into messages.
                if JSONPath.isIdentifier(key), key.utf8.count <= Excerpt.valueLimit {
                    text += "." + key
                } else {
                    text += "[" + Excerpt.quoted(key) + "]"
                }
            }
        }
        return text
    }

    static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return key.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
}

/// A JSON value as read from text, with where it started.
public struct JSONNode: Sendable {
    public var value: JSONValue
    /// Where the value's first character is.
    public var location: SourceLocation

    public init(_ value: JSONValue, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String { value.typeName }
}

/// A JSON value. Numbers keep their exact text so decimals are never rounded.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// The number exactly as written, e.g. `"0.50"` or `"1e3"`.
    case number(String)
    case string(String)
    case array([JSONNode])
    case object([JSONMember])

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// One `"key": value` pair of an object, in source order.
public struct JSONMember: Sendable {
    public var key: String
    /// Where the key's opening quote is.
    public var keyLocation: SourceLocation
    public var value: JSONNode

    public init(key: String, keyLocation: SourceLocation, value: JSONNode) {
        self.key = key
        self.keyLocation = keyLocation
        self.value = value
    }
}

/// Limits that keep hostile input from exhausting the stack or memory.
public struct JSONLimits: Sendable {
    /// Deepest nesting of arrays and objects accepted.
    public var maxDepth: Int
    /// Largest input accepted, in bytes.
    public var maxBytes: Int

    public init(maxDepth: Int = 64, maxBytes: Int = 1 << 31) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }

    public static let `default` = JSONLimits()
}

/// Malformed JSON text, with where it went wrong (the path of the value being read).
public struct JSONSyntaxError: LocatedError, Sendable {
    public var diagnostic: Diagnostic

    public init(message: String, location: SourceLocation, path: JSONPath) {
        diagnostic = Diagnostic(code: "JSON_SYNTAX_ERROR", message: message, path: path, location: location)
    }
}

/// The kind of a JSON value, as `JSONReader.peekKind()` sees it before reading it.
public enum JSONKind: Sendable, Hashable {
    case object, array, string, number, boolean, null

    /// The kind as messages name it ("object", "string", …).
    public var name: String {
        switch self {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number: "number"
        case .boolean: "boolean"
        case .null: "null"
        }
    }
}
