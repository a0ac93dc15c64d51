/// The type a condition operator compares its values as.
public enum ConditionValueType: String, Sendable, Hashable {
    case string, number, date, boolean, ip, null
}

/// The comparison an operator performs, without prefix or `IfExists`.
public enum ConditionOperatorKind: String, Sendable, Hashable, CaseIterable {
    case stringEquals = "StringEquals"
    case stringNotEquals = "StringNotEquals"
    case stringEqualsIgnoreCase = "StringEqualsIgnoreCase"
    case stringNotEqualsIgnoreCase = "StringNotEqualsIgnoreCase"
    case stringMatch = "StringMatch"
    case stringNotMatch = "StringNotMatch"
    case stringStartWith = "StringStartWith"
    case stringEndWith = "StringEndWith"
    case numberEquals = "NumberEquals"
    case numberNotEquals = "NumberNotEquals"
    case numberLessThan = "NumberLessThan"
    case numberLessThanEquals = "NumberLessThanEquals"
    case numberGreaterThan = "NumberGreaterThan"
    case numberGreaterThanEquals = "NumberGreaterThanEquals"
    case dateEquals = "DateEquals"
    case dateNotEquals = "DateNotEquals"
    case dateLessThan = "DateLessThan"
    case dateLessThanEquals = "DateLessThanEquals"
    case dateGreaterThan = "DateGreaterThan"
    case dateGreaterThanEquals = "DateGreaterThanEquals"
    case bool = "Bool"
    case ipAddress = "IpAddress"
    case notIpAddress = "NotIpAddress"
    case null = "Null"

    /// Negated operators hold when the request value matches none of the policy values.
    public var isNegated: Bool {
        switch self {
        case .stringNotEquals, .stringNotEqualsIgnoreCase, .stringNotMatch, .numberNotEquals, .dateNotEquals,
            .notIpAddress:
            true
        default:
            false
        }
    }

    public var valueType: ConditionValueType {
        switch self {
        case .stringEquals, .stringNotEquals, .stringEqualsIgnoreCase, .stringNotEqualsIgnoreCase, .stringMatch,
            .stringNotMatch, .stringStartWith, .stringEndWith:
            .string
        case .numberEquals, .numberNotEquals, .numberLessThan, .numberLessThanEquals, .numberGreaterThan,
            .numberGreaterThanEquals:
            .number
        case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            .date
        case .bool: .boolean
        case .ipAddress, .notIpAddress: .ip
        case .null: .null
        }
    }

    /// The positive comparison a negated operator negates (itself for positive ones).
    public var positiveForm: ConditionOperatorKind {
        switch self {
        case .stringNotEquals: .stringEquals
        case .stringNotEqualsIgnoreCase: .stringEqualsIgnoreCase
        case .stringNotMatch: .stringMatch
        case .numberNotEquals: .numberEquals
        case .dateNotEquals: .dateEquals
        case .notIpAddress: .ipAddress
        default: self
        }
    }

    static let byLowercasedName: [String: ConditionOperatorKind] = Dictionary(
        uniqueKeysWithValues: allCases.map { (CaseFolding.lowercase($0.rawValue), $0) })

    /// Looks up a base operator name case-insensitively.
    public static func named(_ name: String) -> ConditionOperatorKind? {
        byLowercasedName[CaseFolding.lowercase(name)]
    }
}

/// How a condition treats a list of request values.
public enum SetQualifier: String, Sendable, Hashable {
    /// No prefix: positive operators need one matching value, negated ones need none.
    case none = ""
    /// `ForAnyValue:` — at least one request value satisfies the operator.
    case forAnyValue = "ForAnyValue"
    /// `ForAllValues:` — every request value satisfies the operator.
    case forAllValues = "ForAllValues"
}

/// A fully parsed operator name such as `ForAnyValue:StringNotMatchIfExists`.
public struct ConditionOperator: Sendable, Hashable, CustomStringConvertible {
    public let kind: ConditionOperatorKind
    public let qualifier: SetQualifier
    /// `IfExists` suffix: a missing key makes the condition true.
    public let ifExists: Bool

    public init(kind: ConditionOperatorKind, qualifier: SetQualifier = .none, ifExists: Bool = false) {
        self.kind = kind
        self.qualifier = qualifier
        self.ifExists = ifExists
    }

    /// Parses an operator name case-insensitively; nil for names that are no operator.
    public init?(name: String) {
        if let parsed = Self.parseASCII(name) {
            self = parsed
            return
        }
        // Not plain ASCII (or no operator): the general path, which folds case scalar by scalar.
        self.init(unicodeName: name)
    }

    /// The common case on bytes: an ASCII name, folded once. Nil when the name is not ASCII
    /// or is no operator (the caller then takes the general path, which gives the same answer).
    private static func parseASCII(_ name: String) -> ConditionOperator? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count)
        for b in name.utf8 {
            if b >= 0x80 { return nil }
            bytes.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b)
        }
        var start = 0
        var qualifier = SetQualifier.none
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            switch String(decoding: bytes[..<colon], as: UTF8.self) {
            case "foranyvalue": qualifier = .forAnyValue
            case "forallvalues": qualifier = .forAllValues
            default: return nil
            }
            start = colon + 1
        }
        let base = String(decoding: bytes[start...], as: UTF8.self)
        if let kind = ConditionOperatorKind.byLowercasedName[base] {
            return ConditionOperator(kind: kind, qualifier: qualifier, ifExists: false)
        }
        let suffix = Array("ifexists".utf8)
        guard bytes.count - start > suffix.count, bytes[(bytes.count - suffix.count)...].elementsEqual(suffix),
            let kind = ConditionOperatorKind.byLowercasedName[String(decoding: bytes[start..<(bytes.count - suffix.count)], as: UTF8.self)]
        else { return nil }
        return ConditionOperator(kind: kind, qualifier: qualifier, ifExists: true)
    }

    private init?(unicodeName name: String) {
        var rest = Substring(name)
        var qualifier = SetQualifier.none
        if let colon = rest.firstIndex(of: ":") {
            switch CaseFolding.lowercase(String(rest[..<colon])) {
            case "foranyvalue": qualifier = .forAnyValue
            case "forallvalues": qualifier = .forAllValues
            default: return nil
            }
            rest = rest[rest.index(after: colon)...]
        }
        var ifExists = false
        if let kind = ConditionOperatorKind.named(String(rest)) {
            self.init(kind: kind, qualifier: qualifier, ifExists: false)
            return
        }
        let suffix = "ifexists"
        let lowered = CaseFolding.lowercase(String(rest))
        guard lowered.hasSuffix(suffix) else { return nil }
        ifExists = true
        guard let kind = ConditionOperatorKind.named(String(lowered.dropLast(suffix.count))) else { return nil }
        self.init(kind: kind, qualifier: qualifier, ifExists: ifExists)
    }

    /// The canonical spelling, e.g. `ForAllValues:StringEqualsIfExists`.
    public var description: String {
        (qualifier == .none ? "" : qualifier.rawValue + ":") + kind.rawValue + (ifExists ? "IfExists" : "")
    }
}
