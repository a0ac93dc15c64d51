/// Policy values of one condition, parsed once into the operator's type.
/// A value that does not parse is kept as `nil`: it never matches.
public enum PreparedValues: Sendable {
    case strings([String])
    case foldedStrings([String])
    case globs([GlobPattern])
    case numbers([ExactDecimal?])
    case dates([Instant?])
    case booleans([Bool?])
    case addresses([IPAddressRange?])
    /// Unknown operator: nothing to prepare.
    case none

    init(kind: ConditionOperatorKind?, values: [ScalarValue]) {
        guard let kind else {
            self = .none
            return
        }
        switch kind.positiveForm {
        case .stringEquals, .stringStartWith, .stringEndWith: self = .strings(values.map(\.text))
        case .stringEqualsIgnoreCase: self = .foldedStrings(values.map { CaseFolding.lowercase($0.text) })
        case .stringMatch: self = .globs(values.map { GlobPattern($0.text) })
        case .numberEquals, .numberLessThan, .numberLessThanEquals, .numberGreaterThan, .numberGreaterThanEquals:
            self = .numbers(values.map { ExactDecimal($0.text) })
        case .dateEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            self = .dates(values.map { Instant($0.text) })
        case .bool, .null: self = .booleans(values.map(ScalarValue.parseBool))
        case .ipAddress: self = .addresses(values.map { IPAddressRange($0.text) })
        default: self = .none
        }
    }

    var count: Int {
        switch self {
        case .strings(let v), .foldedStrings(let v): v.count
        case .globs(let v): v.count
        case .numbers(let v): v.count
        case .dates(let v): v.count
        case .booleans(let v): v.count
        case .addresses(let v): v.count
        case .none: 0
        }
    }
}

extension ScalarValue {
    /// `true`/`false` (case-insensitive) or a JSON boolean; nil otherwise.
    static func parseBool(_ value: ScalarValue) -> Bool? {
        switch value {
        case .bool(let b): return b
        case .number: return nil
        case .string(let s):
            switch CaseFolding.lowercase(s) {
            case "true": return true
            case "false": return false
            default: return nil
            }
        }
    }
}

/// A request value with its readings as each operator type, parsed once when the
/// context is built rather than once per condition that looks at it.
public struct TypedValue: Sendable {
    public let scalar: ScalarValue
    var text: String { scalar.text }
    let number: ExactDecimal?
    let instant: Instant?
    /// Set only for a single address (a CIDR block in a request matches nothing).
    let address: IPAddressRange?
    let boolean: Bool?

    public init(_ scalar: ScalarValue) {
        self.scalar = scalar
        let text = scalar.text
        let first = text.utf8.first ?? 0
        let numeric = (first >= 0x30 && first <= 0x39) || first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
        if case .bool = scalar {
            number = nil
            instant = nil
        } else {
            number = numeric ? ExactDecimal(text) : nil
            instant = numeric ? Instant(text) : nil
        }
        // Only strings made of hex digits, dots and colons can be addresses; dates and names are skipped cheaply.
        var addressLike = false
        if case .string = scalar {
            addressLike = true
            var separator = false
            for b in text.utf8 {
                if b == UInt8(ascii: ".") || b == UInt8(ascii: ":") {
                    separator = true
                } else if !((b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66)) {
                    addressLike = false
                    break
                }
            }
            addressLike = addressLike && separator
        }
        address = addressLike ? IPAddressRange(text) : nil
        boolean = ScalarValue.parseBool(scalar)
    }
}

/// The condition keys and values a request carries. Keys are case-insensitive.
///
/// Keys are filed by a hash of the case-folded key, which conditions compute once when the
/// policy is parsed: a lookup compares a few integers instead of hashing the key for a
/// `Dictionary`. A context holds a handful of keys, scanned in order; past
/// `indexThreshold` keys a hash → slots table keeps lookups and inserts constant-time, so
/// a request with thousands of keys costs no more than it did with a dictionary.
public struct RequestContext: Sendable {
    /// One key's values as given and as parsed, with the key's spelling for display.
    /// A slot without values is a key that was removed.
    private struct Slot: Sendable {
        let hash: UInt64
        let normalizedKey: String
        let spelling: String
        let typed: [TypedValue]
        /// Given as a list (even of one value): a policy variable never resolves to it.
        let isList: Bool
        var values: [ScalarValue] { typed.map(\.scalar) }
    }

    /// In the order keys were first set.
    private var slots: [Slot] = []
    /// Slots with values.
    private var liveCount = 0
    /// Hash → slot indices, once there are more than `indexThreshold` slots.
    private var slotsByHash: [UInt64: [Int32]]? = nil
    private static let indexThreshold = 16

    public init() {}

    /// A context from key → values; a key with no values counts as missing.
    public init(_ entries: [String: [ScalarValue]]) {
        for (key, v) in entries { set(key, v) }
    }

    /// Sets a key (case-insensitive); an empty list removes it, since it counts as missing.
    /// `isList` says the values were given as a list; by default one value is a scalar and
    /// any other count a list (what a policy variable may resolve to depends on it).
    public mutating func set(_ key: String, _ newValues: [ScalarValue], isList: Bool? = nil) {
        set(key, normalizedKey: CaseFolding.lowercase(key), newValues, isList: isList)
    }

    /// `set` for callers that have already case-folded the key.
    public mutating func set(_ key: String, normalizedKey: String, _ newValues: [ScalarValue], isList: Bool? = nil) {
        let hash = KeyHash.of(normalizedKey)
        put(
            Slot(
                hash: hash, normalizedKey: normalizedKey, spelling: key, typed: newValues.map(TypedValue.init),
                isList: isList ?? (newValues.count != 1)))
    }

    private mutating func put(_ slot: Slot) {
        if let i = position(hash: slot.hash, normalizedKey: slot.normalizedKey) {
            liveCount += (slot.typed.isEmpty ? 0 : 1) - (slots[i].typed.isEmpty ? 0 : 1)
            slots[i] = slot
            return
        }
        guard !slot.typed.isEmpty else { return }
        slots.append(slot)
        liveCount += 1
        if slotsByHash != nil {
            slotsByHash![slot.hash, default: []].append(Int32(slots.count - 1))
        } else if slots.count > Self.indexThreshold {
            var table: [UInt64: [Int32]] = [:]
            for (i, s) in slots.enumerated() { table[s.hash, default: []].append(Int32(i)) }
            slotsByHash = table
        }
    }

    private func position(hash: UInt64, normalizedKey: String) -> Int? {
        if let slotsByHash {
            for i in slotsByHash[hash] ?? [] where slots[Int(i)].normalizedKey == normalizedKey { return Int(i) }
            return nil
        }
        return slots.withUnsafeBufferPointer { slots in
            for i in slots.indices where slots[i].hash == hash && slots[i].normalizedKey == normalizedKey { return i }
            return nil
        }
    }

    /// The slot of a key with values, if any.
    private func live(hash: UInt64, normalizedKey: String) -> Slot? {
        guard let i = position(hash: hash, normalizedKey: normalizedKey), !slots[i].typed.isEmpty else { return nil }
        return slots[i]
    }

    /// The values of a case-folded key; nil when missing.
    public func values(normalizedKey: String) -> [ScalarValue]? {
        live(hash: KeyHash.of(normalizedKey), normalizedKey: normalizedKey)?.values
    }

    /// The parsed values of a case-folded key; nil when missing.
    public func typedValues(normalizedKey: String) -> [TypedValue]? {
        typedValues(normalizedKey: normalizedKey, hash: KeyHash.of(normalizedKey))
    }

    /// The parsed values of a case-folded key whose `KeyHash` the caller knows.
    public func typedValues(normalizedKey: String, hash: UInt64) -> [TypedValue]? {
        // Read in place: copying the slot would retain its strings too.
        guard let i = position(hash: hash, normalizedKey: normalizedKey), !slots[i].typed.isEmpty else { return nil }
        return slots[i].typed
    }

    /// The key's value when it was given as one scalar (not a list): what a policy variable
    /// resolves to. Nil when the key is missing or a list.
    public func scalar(normalizedKey: String, hash: UInt64) -> ScalarValue? {
        guard let i = position(hash: hash, normalizedKey: normalizedKey), !slots[i].isList, slots[i].typed.count == 1 else { return nil }
        return slots[i].typed[0].scalar
    }

    /// Whether the key is present as a list (of any length, even one).
    public func isList(normalizedKey: String) -> Bool {
        live(hash: KeyHash.of(normalizedKey), normalizedKey: normalizedKey)?.isList ?? false
    }

    /// The values of a key, looked up case-insensitively; nil when missing.
    public subscript(key: String) -> [ScalarValue]? { values(normalizedKey: CaseFolding.lowercase(key)) }

    public var isEmpty: Bool { liveCount == 0 }

    /// This context with `defaults`' keys added where it has none of its own: the keys the
    /// platform fills for a principal, under what the caller gave.
    public func filling(from defaults: RequestContext) -> RequestContext {
        guard !defaults.isEmpty else { return self }
        var merged = defaults
        for slot in slots where !slot.typed.isEmpty { merged.put(slot) }
        return merged
    }

    /// Keys as they were given, sorted.
    public var keys: [String] { slots.filter { !$0.typed.isEmpty }.map(\.spelling).sorted() }
}

/// FNV-1a over a case-folded key's UTF-8: how contexts file keys and conditions find them.
public enum KeyHash {
    public static func of(_ normalizedKey: String) -> UInt64 { of(utf8: normalizedKey.utf8) }

    /// The same hash over any UTF-8 bytes (a caller that already holds them in a buffer).
    @inlinable
    public static func of<Bytes: Sequence<UInt8>>(utf8 bytes: Bytes) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// One condition as evaluation sees it: operator, case-folded key and prepared policy values.
/// A class, so the compiled authorizer's hot path passes a reference rather than a whole clause.
public final class ConditionTest: Sendable {
    /// Nil when the operator name is unknown (the condition then never holds).
    public let conditionOperator: ConditionOperator?
    public let normalizedKey: String
    /// `KeyHash` of `normalizedKey`, computed once.
    public let keyHash: UInt64
    public let prepared: PreparedValues
    /// Per policy value, its policy variables; nil when no value has any (the usual case).
    public let templates: [PolicyTemplate?]?
    /// The policy values as written (substitution starts from them).
    let written: [ScalarValue]

    init(
        conditionOperator: ConditionOperator?, normalizedKey: String, prepared: PreparedValues, templates: [PolicyTemplate?]? = nil,
        written: [ScalarValue] = []
    ) {
        self.conditionOperator = conditionOperator
        self.normalizedKey = normalizedKey
        self.keyHash = KeyHash.of(normalizedKey)
        self.prepared = prepared
        self.templates = templates
        self.written = templates == nil ? [] : written
    }

    /// Whether this condition holds for the request context (SPEC §2). With policy variables,
    /// the values are substituted first; one that does not resolve makes the clause false,
    /// whatever the operator.
    public func holds(in context: RequestContext, scope: VariableScope) -> Bool {
        guard templates != nil else { return holdsAsWritten(in: context) }
        guard let substituted = substituted(in: context, scope: scope) else { return false }
        return substituted.holdsAsWritten(in: context)
    }

    /// `holds(in:scope:)` without a catalog: no key is known to be multi-valued.
    public func holds(in context: RequestContext) -> Bool { holds(in: context, scope: .none) }

    /// The clause with its variables substituted; nil when one does not resolve.
    public func substituted(in context: RequestContext, scope: VariableScope) -> ConditionTest? {
        guard let templates else { return self }
        var values: [ScalarValue] = []
        var globs: [GlobPattern] = []
        values.reserveCapacity(written.count)
        for (value, template) in zip(written, templates) {
            guard let template else {
                values.append(value)
                globs.append(GlobPattern(value.text))
                continue
            }
            let substitution = template.substitute(in: context, scope: scope)
            if substitution.unresolved != nil { return nil }
            values.append(.string(substitution.text))
            globs.append(substitution.glob)
        }
        var prepared = PreparedValues(kind: conditionOperator?.kind, values: values)
        if case .globs = prepared { prepared = .globs(globs) }
        return ConditionTest(conditionOperator: conditionOperator, normalizedKey: normalizedKey, prepared: prepared)
    }

    /// Whether this condition holds for the request context, its policy values read as written
    /// (a clause without variables, or one already substituted).
    private func holdsAsWritten(in context: RequestContext) -> Bool {
        guard let op = conditionOperator else { return false }
        let requestValues = context.typedValues(normalizedKey: normalizedKey, hash: keyHash)
        guard let requestValues else {
            if op.ifExists { return true }
            if op.kind == .null { return nullHolds(present: false) }
            switch op.qualifier {
            case .forAnyValue: return false
            case .forAllValues: return true
            case .none: return op.kind.isNegated
            }
        }
        if op.kind == .null { return nullHolds(present: true) }
        let negated = op.kind.isNegated
        switch op.qualifier {
        case .forAnyValue:
            return requestValues.contains { matchesAny($0) != negated }
        case .forAllValues:
            return requestValues.allSatisfy { matchesAny($0) != negated }
        case .none:
            // Positive: some request value matches; negated: no request value matches.
            return negated ? !requestValues.contains(where: matchesAny) : requestValues.contains(where: matchesAny)
        }
    }

    private func nullHolds(present: Bool) -> Bool {
        guard case .booleans(let expected) = prepared else { return false }
        return expected.contains { $0 == !present }
    }

    /// Whether the request value equals/matches at least one policy value under the positive form
    /// of the operator. A value of the wrong type matches nothing.
    public func matchesAny(_ requestValue: ScalarValue) -> Bool { matchesAny(TypedValue(requestValue)) }

    /// `matchesAny` on a value parsed in advance.
    public func matchesAny(_ requestValue: TypedValue) -> Bool {
        guard let kind = conditionOperator?.kind.positiveForm else { return false }
        switch prepared {
        case .strings(let policyValues):
            let text = requestValue.text
            switch kind {
            case .stringStartWith: return policyValues.contains { text.utf8.starts(with: $0.utf8) }
            case .stringEndWith: return policyValues.contains { text.utf8.reversed().starts(with: $0.utf8.reversed()) }
            default: return policyValues.contains { $0.utf8.elementsEqual(text.utf8) }
            }
        case .foldedStrings(let policyValues):
            let folded = CaseFolding.lowercase(requestValue.text)
            return policyValues.contains { $0.utf8.elementsEqual(folded.utf8) }
        case .globs(let patterns):
            var text = requestValue.text
            return text.withUTF8 { utf8 in patterns.contains { $0.matches(utf8: utf8) } }
        case .numbers(let policyValues):
            guard let r = requestValue.number else { return false }
            return policyValues.contains { $0.map { Self.compare(kind, r, $0) } ?? false }
        case .dates(let policyValues):
            guard let r = requestValue.instant else { return false }
            return policyValues.contains { $0.map { Self.compare(kind, r, $0) } ?? false }
        case .booleans(let policyValues):
            guard let r = requestValue.boolean else { return false }
            return policyValues.contains { $0 == r }
        case .addresses(let ranges):
            guard let address = requestValue.address else { return false }
            return ranges.contains { $0?.contains(address) ?? false }
        case .none:
            return false
        }
    }

    private static func compare<T: Comparable>(_ kind: ConditionOperatorKind, _ request: T, _ policy: T) -> Bool {
        switch kind {
        case .numberEquals, .dateEquals: request == policy
        case .numberLessThan, .dateLessThan: request < policy
        case .numberLessThanEquals, .dateLessThanEquals: request <= policy
        case .numberGreaterThan, .dateGreaterThan: request > policy
        case .numberGreaterThanEquals, .dateGreaterThanEquals: request >= policy
        default: false
        }
    }
}

extension ConditionClause {
    /// Whether this condition holds for the request context (SPEC §2), variables substituted.
    public func holds(in context: RequestContext, scope: VariableScope) -> Bool { test.holds(in: context, scope: scope) }

    /// `holds(in:scope:)` without a catalog: no key is known to be multi-valued.
    public func holds(in context: RequestContext) -> Bool { test.holds(in: context) }

    /// Whether the request value equals/matches at least one policy value under the positive form
    /// of the operator. A value of the wrong type matches nothing.
    public func matchesAny(_ requestValue: ScalarValue) -> Bool { test.matchesAny(requestValue) }

    /// `matchesAny` on a value parsed in advance.
    public func matchesAny(_ requestValue: TypedValue) -> Bool { test.matchesAny(requestValue) }

    /// Why this condition does not hold, in words, for explanations.
    public func failureReason(in context: RequestContext, scope: VariableScope = .none) -> String {
        guard let op = conditionOperator else {
            return "unknown condition operator \(ScalarValue.string(operatorName)); a statement with it never matches"
        }
        var test = self.test
        var policyValues = "[" + values.map(\.value.description).joined(separator: ", ") + "]"
        if let templates = test.templates {
            var shown: [String] = []
            for (value, template) in zip(values, templates) {
                guard let template else {
                    shown.append(value.value.description)
                    continue
                }
                let substitution = template.substitute(in: context, scope: scope)
                if let variable = substitution.unresolved {
                    return
                        "\(op) on \(key): policy value \(value.value.description) uses \(variable.written), which does not resolve (the request context has no single value for \(variable.key) and there is no default), so the condition is false"
                }
                shown.append(ScalarValue.string(substitution.text).description)
            }
            // Resolves: checked just above, value by value.
            test = test.substituted(in: context, scope: scope)!
            policyValues = "[" + shown.joined(separator: ", ") + "] after substitution"
        }
        func matchesAny(_ v: ScalarValue) -> Bool { test.matchesAny(v) }
        let prepared = test.prepared
        guard let requestValues = context.values(normalizedKey: normalizedKey) else {
            if op.kind == .null {
                return "\(op) on \(key): the key is missing from the request context, policy values \(policyValues)"
            }
            return "\(op) on \(key): the key is missing from the request context"
        }
        let shown = "[" + requestValues.map(\.description).joined(separator: ", ") + "]"
        if op.kind == .null {
            return "\(op) on \(key): the key is present (\(shown)), policy values \(policyValues)"
        }
        if prepared.count == 0 {
            return "\(op) on \(key): the policy lists no values, so it never holds"
        }
        let negated = op.kind.isNegated
        switch op.qualifier {
        case .forAllValues:
            let failing = requestValues.first { matchesAny($0) == negated }!
            return "\(op) on \(key): request value \(failing.description) does not satisfy it (policy values \(policyValues))"
        case .forAnyValue:
            return "\(op) on \(key): no request value of \(shown) satisfies it (policy values \(policyValues))"
        case .none:
            if negated {
                let hit = requestValues.first(where: matchesAny)!
                return "\(op) on \(key): request value \(hit.description) matches one of \(policyValues)"
            }
            return "\(op) on \(key): request value \(shown) matches none of \(policyValues)"
        }
    }
}
