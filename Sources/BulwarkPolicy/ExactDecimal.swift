/// A decimal number compared exactly: `"0.50"` equals `0.5`, `1e3` equals `1000`.
///
/// Held as sign, significant digits (no leading or trailing zeros) and a
/// power of ten, so no value is ever rounded through a binary float.
public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    private let negative: Bool
    /// Significant digits, most significant first, values 0...9; empty for zero.
    private let digits: [UInt8]
    /// Value = digits × 10^exponent.
    private let exponent: Int

    /// Parses `[+-]digits[.digits][e[+-]digits]` (also `.5` and `5.`); nil if it is not a number.
    public init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var sawDigit = false
        var sawPoint = false
        while let b = bytes.first {
            if b >= 0x30 && b <= 0x39 {
                sawDigit = true
                if !(digits.isEmpty && b == 0x30) { digits.append(b - 0x30) }
                if sawPoint { fractionDigits += 1 }
            } else if b == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else {
                break
            }
            bytes = bytes.dropFirst()
        }
        guard sawDigit else { return nil }
        var exponent = 0
        if let e = bytes.first, e | 0x20 == UInt8(ascii: "e") {
            bytes = bytes.dropFirst()
            var expNegative = false
            if let s = bytes.first, s == UInt8(ascii: "-") || s == UInt8(ascii: "+") {
                expNegative = s == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty, bytes.count <= 9, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            exponent = bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            if expNegative { exponent = -exponent }
            bytes = bytes[bytes.endIndex...]
        }
        guard bytes.isEmpty else { return nil }
        exponent -= fractionDigits
        while let last = digits.last, last == 0 {
            digits.removeLast()
            exponent += 1
        }
        self.negative = negative && !digits.isEmpty
        self.digits = digits
        self.exponent = digits.isEmpty ? 0 : exponent
    }

    public var description: String {
        if digits.isEmpty { return "0" }
        return (negative ? "-" : "") + digits.map { String($0) }.joined() + (exponent == 0 ? "" : "e\(exponent)")
    }

    /// How many digits follow the decimal point in the shortest plain spelling (`1.50` has 1).
    public var fractionDigitCount: Int { max(0, -exponent) }

    /// The value times 10^`fractionDigits`, when that is an integer that fits in `Int128`.
    public func scaled(toFractionDigits fractionDigits: Int) -> Int128? {
        let shift = exponent + fractionDigits
        guard shift >= 0, digits.count + shift <= 37 else { return nil }
        var value: Int128 = 0
        for d in digits { value = value * 10 + Int128(d) }
        for _ in 0..<shift { value *= 10 }
        return negative ? -value : value
    }

    public static func < (a: ExactDecimal, b: ExactDecimal) -> Bool {
        if a.negative != b.negative { return a.negative }
        let magnitudeLess = compareMagnitude(a, b) < 0
        let magnitudeGreater = compareMagnitude(a, b) > 0
        return a.negative ? magnitudeGreater : magnitudeLess
    }

    /// -1, 0 or 1 comparing absolute values.
    private static func compareMagnitude(_ a: ExactDecimal, _ b: ExactDecimal) -> Int {
        if a.digits.isEmpty || b.digits.isEmpty {
            return a.digits.isEmpty ? (b.digits.isEmpty ? 0 : -1) : 1
        }
        // Position of the most significant digit decides first.
        let aTop = a.digits.count + a.exponent
        let bTop = b.digits.count + b.exponent
        if aTop != bTop { return aTop < bTop ? -1 : 1 }
        let n = max(a.digits.count, b.digits.count)
        for i in 0..<n {
            let x = i < a.digits.count ? a.digits[i] : 0
            let y = i < b.digits.count ? b.digits[i] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }
}
