/// A point in time with nanosecond precision, for the `Date…` operators.
///
/// Accepted forms: ISO 8601 date-times `YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM|±HH]`
/// (no zone means UTC), a bare date `YYYY-MM-DD` (00:00 UTC), or epoch
/// seconds with an optional fraction (`1700000000`, `1700000000.5`).
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64
    /// Nanoseconds within the second, 0..<1_000_000_000.
    public let nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func < (a: Instant, b: Instant) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    public var description: String { nanoseconds == 0 ? "\(seconds)s" : "\(seconds).\(nanoseconds)s" }

    /// Parses a timestamp; nil when it is not one of the accepted forms or names an impossible date.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        if let epoch = Instant.parseEpoch(b) {
            self = epoch
            return
        }
        guard let parsed = Instant.parseISO(b) else { return nil }
        self = parsed
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static func number(_ b: [UInt8], _ from: Int, _ count: Int) -> Int? {
        guard from + count <= b.count else { return nil }
        var value = 0
        for i in from..<(from + count) {
            guard isDigit(b[i]) else { return nil }
            value = value * 10 + Int(b[i] - 0x30)
        }
        return value
    }

    /// Parses up to 9 fraction digits starting at `from`; returns nanoseconds and the end offset.
    private static func fraction(_ b: [UInt8], _ from: Int) -> (Int32, Int)? {
        var i = from
        var nanos: Int32 = 0
        var scale: Int32 = 100_000_000
        while i < b.count && isDigit(b[i]) {
            nanos += Int32(b[i] - 0x30) * scale
            scale /= 10
            i += 1
        }
        return i == from ? nil : (nanos, i)
    }

    private static func parseEpoch(_ b: [UInt8]) -> Instant? {
        guard !b.isEmpty else { return nil }
        var i = 0
        let negative = b[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let start = i
        var seconds: Int64 = 0
        while i < b.count && isDigit(b[i]) {
            let (m, o1) = seconds.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(b[i] - 0x30))
            if o1 || o2 { return nil }
            seconds = s
            i += 1
        }
        // Four digits and a dash is a date, not a number.
        guard i > start else { return nil }
        var nanos: Int32 = 0
        if i < b.count && b[i] == UInt8(ascii: ".") {
            guard let (n, end) = fraction(b, i + 1) else { return nil }
            nanos = n
            i = end
        }
        guard i == b.count else { return nil }
        if negative {
            if nanos > 0 { return Instant(seconds: -seconds - 1, nanoseconds: 1_000_000_000 - nanos) }
            return Instant(seconds: -seconds)
        }
        return Instant(seconds: seconds, nanoseconds: nanos)
    }

    private static func parseISO(_ b: [UInt8]) -> Instant? {
        guard b.count >= 10, let year = number(b, 0, 4), b[4] == UInt8(ascii: "-"),
            let month = number(b, 5, 2), b[7] == UInt8(ascii: "-"), let day = number(b, 8, 2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        var seconds = Int64(days) * 86_400
        if b.count == 10 { return Instant(seconds: seconds) }
        guard b[10] | 0x20 == UInt8(ascii: "t"), let hour = number(b, 11, 2), b.count > 13,
            b[13] == UInt8(ascii: ":"), let minute = number(b, 14, 2), hour < 24, minute < 60
        else { return nil }
        var i = 16
        var second = 0
        var nanos: Int32 = 0
        if i < b.count && b[i] == UInt8(ascii: ":") {
            guard let s = number(b, i + 1, 2), s < 60 else { return nil }
            second = s
            i += 3
            if i < b.count && b[i] == UInt8(ascii: ".") {
                guard let (n, end) = fraction(b, i + 1) else { return nil }
                nanos = n
                i = end
            }
        }
        seconds += Int64(hour * 3600 + minute * 60 + second)
        if i < b.count {
            switch b[i] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                i += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
                guard let oh = number(b, i + 1, 2), oh < 24 else { return nil }
                var om = 0
                i += 3
                if i < b.count && b[i] == UInt8(ascii: ":") {
                    guard let m = number(b, i + 1, 2), m < 60 else { return nil }
                    om = m
                    i += 3
                } else if i < b.count {
                    guard let m = number(b, i, 2), m < 60 else { return nil }
                    om = m
                    i += 2
                }
                // Local time minus its offset is UTC.
                seconds -= sign * Int64(oh * 3600 + om * 60)
            default:
                return nil
            }
        }
        guard i == b.count else { return nil }
        return Instant(seconds: seconds, nanoseconds: nanos)
    }

    private static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        // Count from March so the leap day is the last day of the counted year.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension Instant {
    /// ISO 8601 in UTC (`2024-05-01T12:00:00Z`, with a fraction when there is one).
    public var isoText: String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (proleptic Gregorian, 400-year eras).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard (0...9999).contains(year) else { return "\(seconds)" + (nanoseconds == 0 ? "" : ".\(pad(Int64(nanoseconds), 9))") }
        var text =
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if nanoseconds != 0 { text += "." + pad(Int64(nanoseconds), 9) }
        return text + "Z"
    }

    private func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
