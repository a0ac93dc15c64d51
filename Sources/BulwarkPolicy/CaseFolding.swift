/// Simple Unicode lowercasing: each scalar maps to at most one scalar.
///
/// Swift's `lowercased()` applies full case mapping (U+0130 becomes two
/// scalars), which would change string lengths under `?` wildcards; the spec
/// asks for the simple, one-to-one mapping.
public enum CaseFolding {
    /// `text` with every scalar replaced by its simple lowercase form.
    public static func lowercase(_ text: String) -> String {
        var ascii = true
        var hasUpper = false
        for b in text.utf8 {
            if b >= 0x80 {
                ascii = false
                break
            }
            if b >= 0x41 && b <= 0x5A { hasUpper = true }
        }
        if ascii {
            guard hasUpper else { return text }
            return String(decoding: text.utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            result.append(lowercase(scalar))
        }
        return String(result)
    }

    /// The simple lowercase form of one scalar.
    public static func lowercase(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        if scalar.isASCII {
            let v = scalar.value
            return (v >= 0x41 && v <= 0x5A) ? Unicode.Scalar(v | 0x20)! : scalar
        }
        let mapping = scalar.properties.lowercaseMapping.unicodeScalars
        // Where the full mapping expands (only U+0130 does), its first scalar is the simple mapping.
        return mapping.first ?? scalar
    }
}
