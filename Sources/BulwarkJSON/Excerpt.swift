/// A bounded excerpt of a value for an error message: a refusal must never echo a
/// megabyte-long id back, nor grow with what an attacker sends.
package enum Excerpt {
    /// The most characters (Unicode scalars) of one value a message quotes.
    package static let valueLimit = 200
    /// The most characters of a whole message (a backstop for messages that list values).
    package static let messageLimit = 2_000

    /// `value` itself when short enough, else its first `limit` characters and how many more there were.
    package static func of(_ value: String, limit: Int = valueLimit) -> String {
        guard let (head, rest) = cut(value, limit) else { return value }
        return head + "… (\(rest) more characters)"
    }

    /// The excerpt as a JSON string literal, for quoting a value inside a message.
    package static func quoted(_ value: String, limit: Int = valueLimit) -> String {
        guard let (head, rest) = cut(value, limit) else { return JSONWriter.quoted(value) }
        return JSONWriter.quoted(head) + "… (\(rest) more characters)"
    }

    /// The first `limit` scalars and the count of the others; nil when nothing is cut.
    private static func cut(_ value: String, _ limit: Int) -> (String, Int)? {
        let scalars = value.unicodeScalars
        guard let end = scalars.index(scalars.startIndex, offsetBy: limit, limitedBy: scalars.endIndex), end != scalars.endIndex else {
            return nil
        }
        return (String(scalars[..<end]), scalars.distance(from: end, to: scalars.endIndex))
    }

    /// A whole message cut to `messageLimit` characters.
    package static func message(_ text: String) -> String {
        of(text, limit: messageLimit)
    }
}
