/// Percent-encoding of URL paths and queries (RFC 3986), one implementation for every
/// reader and writer of paths: the API router, the gateway's strict call reading and its
/// signature.
package enum PercentCoding {
    /// `bytes` with every `%XX` decoded (and `+` as a space when `plusIsSpace`, as in a
    /// query); nil for a malformed escape or bytes that are not UTF-8 once decoded.
    package static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes, plusIsSpace: Bool = false) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let b = bytes[i]
            i = bytes.index(after: i)
            if b == UInt8(ascii: "%") {
                guard i != bytes.endIndex, let hi = hexValue(bytes[i]) else { return nil }
                i = bytes.index(after: i)
                guard i != bytes.endIndex, let lo = hexValue(bytes[i]) else { return nil }
                i = bytes.index(after: i)
                out.append(hi << 4 | lo)
            } else {
                out.append(plusIsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// `text` with everything but RFC 3986's unreserved characters (`A–Z a–z 0–9 - _ . ~`)
    /// percent-encoded, in upper-case hex: the form SDK-HMAC-SHA256 signs.
    package static func encode(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }
}
