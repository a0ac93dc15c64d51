import BulwarkCatalog
import BulwarkPolicy

/// The request values of one condition key that tell apart everything the
/// conditions on that key can tell apart: one representative per realizable
/// combination of "this condition holds / does not".
///
/// Representatives come from the value type the operators compare as: strings
/// from the product of the patterns' automata, numbers, dates and addresses from
/// the boundaries of the intervals the policy values cut, booleans both ways.
/// Whether each condition holds is then decided by the engine itself.
enum ConditionKeyCells {
    struct Cell: Sendable {
        /// The request values; nil when the key is missing.
        let values: [ScalarValue]?
        /// `holds[i]`: whether clause i holds for these values.
        let holds: [Bool]
    }

    /// Most value lists tried for a multi-valued key before giving up.
    static let setLimit = 4_096

    static func cells(
        key: String, clauses: [ConditionClause], definition: ConditionKeyDefinition?
    ) throws(AnalysisLimit) -> [Cell] {
        let typed = clauses.filter { $0.conditionOperator.map { $0.kind != .null } ?? false }
        let families = Set(typed.map { $0.conditionOperator!.kind.valueType })
        guard families.count <= 1 else {
            let names = families.map(\.rawValue).sorted().joined(separator: " and ")
            throw AnalysisLimit("condition key \(key) is compared both as \(names); a value can be read both ways")
        }
        let declared = definition.map { Self.family(of: $0.type) }
        let family = families.first
        var elements = try representatives(of: family, clauses: typed)
        // A value of another type is possible unless the catalog fixes the key's type.
        if let family, family != .string, declared != family { elements.append(.string("not-a-\(family.rawValue)")) }

        let multiValued = definition?.multiValued ?? true
        var lists: [[ScalarValue]] = elements.map { [$0] }
        if multiValued && !typed.isEmpty {
            lists = try valueSets(elements, clauses: typed)
        }
        var seen = Set<[Bool]>()
        var cells: [Cell] = []
        for values in [nil] + lists.map(Optional.some) {
            var context = RequestContext()
            if let values { context.set(key, values) }
            let holds = clauses.map { $0.holds(in: context) }
            if seen.insert(holds).inserted { cells.append(Cell(values: values, holds: holds)) }
        }
        return cells
    }

    private static func family(of type: ConditionKeyType) -> ConditionValueType {
        switch type {
        case .string: .string
        case .boolean: .boolean
        case .numeric: .number
        case .date: .date
        case .ip: .ip
        }
    }

    /// Single values covering every combination the clauses' comparisons can have.
    private static func representatives(of family: ConditionValueType?, clauses: [ConditionClause]) throws(AnalysisLimit) -> [ScalarValue] {
        switch family {
        case nil, .null:
            return [.string("x")]
        case .string:
            let languages = clauses.map(language)
            return try LanguageCells.cells(of: languages, within: nil).map { .string($0.witness) }
        case .boolean:
            return [.string("true"), .string("false")]
        case .number:
            return try numbers(
                clauses.flatMap { clause -> [ExactDecimal] in
                    if case .numbers(let values) = clause.prepared { return values.compactMap { $0 } }
                    return []
                }
            ).map(ScalarValue.string)
        case .date:
            return try dates(
                clauses.flatMap { clause -> [Instant] in
                    if case .dates(let values) = clause.prepared { return values.compactMap { $0 } }
                    return []
                }
            ).map(ScalarValue.string)
        case .ip:
            return addresses(
                clauses.flatMap { clause -> [IPAddressRange] in
                    if case .addresses(let values) = clause.prepared { return values.compactMap { $0 } }
                    return []
                }
            ).map(ScalarValue.string)
        }
    }

    /// The strings a string clause's positive comparison accepts.
    private static func language(_ clause: ConditionClause) -> ScalarAutomaton {
        let kind = clause.conditionOperator!.kind.positiveForm
        let texts = clause.values.map(\.value.text)
        let parts: [ScalarAutomaton] = texts.map { text in
            switch kind {
            case .stringEqualsIgnoreCase: ScalarAutomaton.caseInsensitive(CaseFolding.lowercase(text))
            case .stringMatch: ScalarAutomaton.glob(text)
            case .stringStartWith: ScalarAutomaton.prefix(text)
            case .stringEndWith: ScalarAutomaton.suffix(text)
            default: ScalarAutomaton.literal(text)
            }
        }
        return ScalarAutomaton.union(parts)
    }

    /// Each policy number, a number just above each, and one below them all.
    private static func numbers(_ constants: [ExactDecimal]) throws(AnalysisLimit) -> [String] {
        guard !constants.isEmpty else { return ["0"] }
        let scale = (constants.map(\.fractionDigitCount).max() ?? 0) + 1
        var points = Set<Int128>()
        for c in constants {
            guard let v = c.scaled(toFractionDigits: scale) else {
                throw AnalysisLimit("number \(c) is too large or too precise to reason about exactly")
            }
            // Distinct constants differ by at least 10 units at this scale, so v + 1 lies strictly between.
            points.formUnion([v, v + 1, v - 1])
        }
        return points.sorted().map { format($0, fractionDigits: scale) }
    }

    private static func format(_ value: Int128, fractionDigits: Int) -> String {
        let negative = value < 0
        var digits = String(negative ? -value : value)
        if digits.count <= fractionDigits { digits = String(repeating: "0", count: fractionDigits - digits.count + 1) + digits }
        let point = digits.index(digits.endIndex, offsetBy: -fractionDigits)
        return (negative ? "-" : "") + digits[..<point] + "." + digits[point...]
    }

    /// Each policy instant, the nanosecond after it, and a second before them all.
    private static func dates(_ constants: [Instant]) throws(AnalysisLimit) -> [String] {
        guard !constants.isEmpty else { return ["2024-01-01T00:00:00Z"] }
        var points = Set<Instant>()
        for c in constants {
            points.insert(c)
            points.insert(c.adding(nanoseconds: 1))
            points.insert(c.adding(nanoseconds: -1))
        }
        var texts: [String] = []
        for p in points.sorted() {
            let text = p.isoText
            guard Instant(text) == p else { throw AnalysisLimit("instant \(p) cannot be written as a request value") }
            texts.append(text)
        }
        return texts
    }

    /// Both ends of every block and the addresses just outside them, plus one address of each family.
    private static func addresses(_ ranges: [IPAddressRange]) -> [String] {
        var points = Set<IPAddressRange>([
            IPAddressRange(isIPv6: false, lower: 0xC000_0201, upper: 0xC000_0201),
            IPAddressRange(isIPv6: true, lower: UInt128(0x2001_0db8) << 96 | 1, upper: UInt128(0x2001_0db8) << 96 | 1),
        ])
        for r in ranges {
            let top: UInt128 = r.isIPv6 ? ~0 : 0xFFFF_FFFF
            for v in [r.lower, r.upper] { points.insert(.init(isIPv6: r.isIPv6, lower: v, upper: v)) }
            if r.lower > 0 { points.insert(.init(isIPv6: r.isIPv6, lower: r.lower - 1, upper: r.lower - 1)) }
            if r.upper < top { points.insert(.init(isIPv6: r.isIPv6, lower: r.upper + 1, upper: r.upper + 1)) }
        }
        return points.sorted { ($0.isIPv6 ? 1 : 0, $0.lower) < ($1.isIPv6 ? 1 : 0, $1.lower) }.map(\.addressText)
    }

    /// Lists of representatives realizing every combination a list can have: for each clause,
    /// whether some element matches and whether every element does.
    private static func valueSets(_ elements: [ScalarValue], clauses: [ConditionClause]) throws(AnalysisLimit) -> [[ScalarValue]] {
        let vectors = elements.map { e in clauses.map { $0.matchesAny(e) } }
        struct Summary: Hashable {
            var some: [Bool]
            var every: [Bool]
        }
        var index: [Summary: Int] = [:]
        var lists: [[ScalarValue]] = []
        var summaries: [Summary] = []
        for (e, v) in zip(elements, vectors) where index[Summary(some: v, every: v)] == nil {
            index[Summary(some: v, every: v)] = lists.count
            lists.append([e])
            summaries.append(Summary(some: v, every: v))
        }
        var cursor = 0
        while cursor < lists.count {
            for (e, v) in zip(elements, vectors) {
                let s = summaries[cursor]
                let next = Summary(some: zip(s.some, v).map { $0 || $1 }, every: zip(s.every, v).map { $0 && $1 })
                if index[next] == nil {
                    guard lists.count < setLimit else {
                        throw AnalysisLimit("more than \(setLimit) distinct value lists for a multi-valued key")
                    }
                    index[next] = lists.count
                    lists.append(lists[cursor] + [e])
                    summaries.append(next)
                }
            }
            cursor += 1
        }
        return lists
    }
}

extension Instant {
    func adding(nanoseconds delta: Int64) -> Instant {
        let total = Int64(nanoseconds) + delta
        let carry = total >= 0 ? total / 1_000_000_000 : (total - 999_999_999) / 1_000_000_000
        return Instant(seconds: seconds + carry, nanoseconds: Int32(total - carry * 1_000_000_000))
    }
}

extension IPAddressRange {
    /// The lower address, written out (IPv6 in full, uncompressed form).
    var addressText: String {
        if !isIPv6 {
            return (0..<4).map { String((lower >> UInt128(24 - 8 * $0)) & 0xFF) }.joined(separator: ".")
        }
        return (0..<8).map { String((lower >> UInt128(112 - 16 * $0)) & 0xFFFF, radix: 16) }.joined(separator: ":")
    }
}
