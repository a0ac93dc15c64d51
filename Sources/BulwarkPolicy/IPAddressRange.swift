/// An IPv4 or IPv6 address block, as an inclusive integer interval.
///
/// A CIDR block may have host bits set (`10.1.2.3/8` is `10.0.0.0/8`).
/// The families never mix: an IPv4 address is never inside an IPv6 block,
/// not even an IPv4-mapped one.
public struct IPAddressRange: Sendable, Hashable, CustomStringConvertible {
    public let isIPv6: Bool
    public let lower: UInt128
    public let upper: UInt128

    public init(isIPv6: Bool, lower: UInt128, upper: UInt128) {
        self.isIPv6 = isIPv6
        self.lower = lower
        self.upper = upper
    }

    /// Parses an address or a CIDR block; nil if it is neither.
    public init?(_ text: String) {
        // Split at the first `/` on UTF-8 (an ASCII byte, so the index is a valid String index).
        let slash = text.utf8.firstIndex(of: UInt8(ascii: "/"))
        guard let (isV6, address) = IPAddressRange.parseAddress(slash.map { text[..<$0] } ?? text[...]) else { return nil }
        let width = isV6 ? 128 : 32
        var prefix = width
        if let slash {
            let p = text[text.utf8.index(after: slash)...]
            guard !p.isEmpty, p.utf8.count <= 3, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(p), n <= width
            else { return nil }
            prefix = n
        }
        let hostBits = width - prefix
        let hostMask: UInt128 = hostBits == 0 ? 0 : (hostBits == 128 ? ~0 : (UInt128(1) << hostBits) - 1)
        self.init(isIPv6: isV6, lower: address & ~hostMask, upper: address | hostMask)
    }

    /// Whether `address` (a single address, same family) lies inside this block.
    public func contains(_ address: IPAddressRange) -> Bool {
        address.isIPv6 == isIPv6 && address.lower >= lower && address.upper <= upper
    }

    /// True when the range is a single address.
    public var isSingleAddress: Bool { lower == upper }

    public var description: String { "\(isIPv6 ? "IPv6" : "IPv4") \(lower)...\(upper)" }

    static func parseAddress(_ text: Substring) -> (Bool, UInt128)? {
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let v = parseIPv6(text) else { return nil }
            return (true, v)
        }
        guard let v = parseIPv4(text) else { return nil }
        return (false, UInt128(v))
    }

    /// Splits at every `::`; more than one is invalid and shows up as three or more parts.
    private static func splitOnDoubleColon(_ text: String) -> [String] {
        var parts: [String] = []
        var current: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: ":") && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: ":") {
                parts.append(String(decoding: current, as: UTF8.self))
                current = []
                i += 2
                continue
            }
            current.append(bytes[i])
            i += 1
        }
        parts.append(String(decoding: current, as: UTF8.self))
        return parts
    }

    static func parseIPv4(_ text: Substring) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        var leadingZero = false
        for b in text.utf8 {
            if b == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                octet = 0
                digits = 0
                dots += 1
                continue
            }
            guard b >= 0x30 && b <= 0x39 else { return nil }
            // Leading zeros are refused: some systems read them as octal.
            if digits == 0 { leadingZero = b == 0x30 } else if leadingZero { return nil }
            octet = octet * 10 + UInt32(b - 0x30)
            digits += 1
            guard digits <= 3, octet <= 255 else { return nil }
        }
        guard digits > 0, dots == 3 else { return nil }
        return value << 8 | octet
    }

    static func parseIPv6(_ text: Substring) -> UInt128? {
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        let halves = splitOnDoubleColon(String(text))
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ part: String, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if allowIPv4Tail && i == pieces.count - 1 && piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4, let g = UInt16(piece, radix: 16),
                    piece.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || (($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x66) })
                else { return nil }
                out.append(g)
            }
            return out
        }
        if halves.count == 2 {
            guard let head = parseGroups(halves[0], allowIPv4Tail: false),
                let tail = parseGroups(halves[1], allowIPv4Tail: true),
                head.count + tail.count <= 7
            else { return nil }
            groups = head
            tailGroups = tail
            groups += Array(repeating: 0, count: 8 - head.count - tail.count) + tailGroups
        } else {
            guard let all = parseGroups(halves[0], allowIPv4Tail: true), all.count == 8 else { return nil }
            groups = all
        }
        return groups.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }
}
