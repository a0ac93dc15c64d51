public import BulwarkJSON
import Foundation
import Yams

/// A YAML or JSON file read into the same located tree the policy parser uses.
public enum DocumentReader {
    /// Reads `text` as JSON when the file name ends in `.json`, else as YAML (a superset).
    /// Errors carry the line and column of the problem.
    public static func read(_ text: String, fileName: String) throws(JSONSyntaxError) -> JSONNode {
        if fileName.hasSuffix(".json") {
            var reader = JSONReader(text: text)
            return try reader.readDocument()
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let YamlError.scanner(_, problem, mark, _), let YamlError.parser(_, problem, mark, _),
            let YamlError.composer(_, problem, mark, _)
        {
            throw JSONSyntaxError(message: problem, location: SourceLocation(line: mark.line, column: mark.column), path: .root)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            throw JSONSyntaxError(
                message: "duplicate key \(duplicates.joined(separator: ", "))",
                location: SourceLocation(line: context.mark.line, column: context.mark.column), path: .root)
        } catch {
            throw JSONSyntaxError(message: "\(error)", location: SourceLocation(line: 1, column: 1), path: .root)
        }
        guard let node else { return JSONNode(.null, at: SourceLocation(line: 1, column: 1)) }
        return try convert(node, path: .root)
    }

    private static func location(_ mark: Mark?) -> SourceLocation {
        SourceLocation(line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    private static func convert(_ node: Node, path: JSONPath) throws(JSONSyntaxError) -> JSONNode {
        switch node {
        case .scalar(let scalar):
            let at = location(scalar.mark)
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return JSONNode(.null, at: at)
            case Tag.Name.bool.rawValue: return JSONNode(.bool(node.bool ?? false), at: at)
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue:
                // Keep the text so numbers stay exact; YAML-only forms (0x1F, .inf) stay strings.
                let text = scalar.string
                let isJSONNumber = text.range(of: #"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"#, options: .regularExpression) != nil
                return JSONNode(isJSONNumber ? .number(text) : .string(text), at: at)
            default: return JSONNode(.string(scalar.string), at: at)
            }
        case .sequence(let sequence):
            var items: [JSONNode] = []
            for (i, item) in sequence.enumerated() { items.append(try convert(item, path: path.appending(index: i))) }
            return JSONNode(.array(items), at: location(sequence.mark))
        case .mapping(let mapping):
            var members: [JSONMember] = []
            for (key, value) in mapping {
                guard case .scalar(let k) = key else {
                    throw JSONSyntaxError(message: "mapping keys must be plain strings", location: location(key.mark), path: path)
                }
                members.append(
                    JSONMember(key: k.string, keyLocation: location(k.mark), value: try convert(value, path: path.appending(key: k.string))))
            }
            return JSONNode(.object(members), at: location(mapping.mark))
        case .alias:
            throw JSONSyntaxError(message: "YAML aliases are not supported", location: location(node.mark), path: path)
        }
    }
}
