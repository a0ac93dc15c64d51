/// A bounded excerpt of a value for an error message: a refusal must never echo a
/// megabyte-long id back, nor grow with what an attacker sends.
public enum Excerpt {
    /// The most characters (Unicode scalars) of one value a message quotes.
    public static let valueLimit = 200
    /// The most characters of a whole message (a backstop for messages that list values).
    public static let messageLimit = 2_000

    /// `value` itself when short enough, else its first `limit` characters and how many more there were.
    public static func of(_ value: String, limit: Int = valueLimit) -> String {
        let scalars = value.unicodeScalars
        guard let cut = scalars.index(scalars.startIndex, offsetBy: limit, limitedBy: scalars.endIndex), cut != scalars.endIndex else {
            return value
        }
        let rest = scalars.distance(from: cut, to: scalars.endIndex)
        return String(scalars[..<cut]) + "… (\(rest) more characters)"
    }

    /// The excerpt as a JSON string literal, for quoting a value inside a message.
    public static func quoted(_ value: String, limit: Int = valueLimit) -> String {
        let scalars = value.unicodeScalars
        guard let cut = scalars.index(scalars.startIndex, offsetBy: limit, limitedBy: scalars.endIndex), cut != scalars.endIndex else {
            return JSONWriter.quoted(value)
        }
        let rest = scalars.distance(from: cut, to: scalars.endIndex)
        return JSONWriter.quoted(String(scalars[..<cut])) + "… (\(rest) more characters)"
    }

    /// A whole message cut to `messageLimit` characters.
    public static func message(_ text: String) -> String {
        of(text, limit: messageLimit)
    }
}
