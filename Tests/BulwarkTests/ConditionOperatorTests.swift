import BulwarkPolicy
import Testing

/// One row: condition JSON, context JSON, expected outcome.
struct ConditionCase: CustomTestStringConvertible, Sendable {
    let condition: String
    let context: String
    let expected: Bool
    init(_ condition: String, _ context: String, _ expected: Bool) {
        self.condition = condition
        self.context = context
        self.expected = expected
    }
    var testDescription: String { "\(condition) with \(context) → \(expected)" }
}

@Suite("Condition operators (SPEC §2)")
struct ConditionOperatorTests {
    static let strings: [ConditionCase] = [
        .init(#"{"StringEquals":{"k":"abc"}}"#, #"{"k":"abc"}"#, true),
        .init(#"{"StringEquals":{"k":"abc"}}"#, #"{"k":"ABC"}"#, false),
        .init(#"{"StringEquals":{"k":["x","abc"]}}"#, #"{"k":"abc"}"#, true),
        .init(#"{"StringEquals":{"k":"abc"}}"#, #"{}"#, false),
        .init(#"{"StringEquals":{"K":"abc"}}"#, #"{"k":"abc"}"#, true),
        .init(#"{"stringequals":{"k":"abc"}}"#, #"{"k":"abc"}"#, true),
        .init(#"{"StringEquals":{"k":5}}"#, #"{"k":"5"}"#, true),
        .init(#"{"StringEquals":{"k":true}}"#, #"{"k":"true"}"#, true),
        .init(#"{"StringEquals":{"k":[]}}"#, #"{"k":"a"}"#, false),
        .init(#"{"StringNotEquals":{"k":"abc"}}"#, #"{"k":"abd"}"#, true),
        .init(#"{"StringNotEquals":{"k":"abc"}}"#, #"{"k":"abc"}"#, false),
        .init(#"{"StringNotEquals":{"k":"abc"}}"#, #"{}"#, true),
        .init(#"{"StringNotEquals":{"k":[]}}"#, #"{"k":"a"}"#, true),
        .init(#"{"StringNotEquals":{"k":["a","b"]}}"#, #"{"k":"b"}"#, false),
        .init(#"{"StringEqualsIgnoreCase":{"k":"AbC"}}"#, #"{"k":"aBc"}"#, true),
        .init(#"{"StringEqualsIgnoreCase":{"k":"İ"}}"#, #"{"k":"i"}"#, true),
        .init(#"{"StringNotEqualsIgnoreCase":{"k":"AbC"}}"#, #"{"k":"abc"}"#, false),
        .init(#"{"StringNotEqualsIgnoreCase":{"k":"AbC"}}"#, #"{"k":"abd"}"#, true),
        .init(#"{"StringMatch":{"k":"o-1/r-1/*"}}"#, #"{"k":"o-1/r-1/ou-2"}"#, true),
        .init(#"{"StringMatch":{"k":"o-1/r-1/*"}}"#, #"{"k":"O-1/r-1/ou-2"}"#, false),
        .init(#"{"StringMatch":{"k":"a?c"}}"#, #"{"k":"aéc"}"#, true),
        .init(#"{"StringMatch":{"k":"a?c"}}"#, #"{"k":"ac"}"#, false),
        .init(#"{"StringNotMatch":{"k":"o-1/*"}}"#, #"{"k":"o-2/x"}"#, true),
        .init(#"{"StringNotMatch":{"k":"o-1/*"}}"#, #"{"k":"o-1/x"}"#, false),
        .init(#"{"StringStartWith":{"k":"team-"}}"#, #"{"k":"team-a"}"#, true),
        .init(#"{"StringStartWith":{"k":"team-*"}}"#, #"{"k":"team-a"}"#, false),
        .init(#"{"StringStartWith":{"k":"Team-"}}"#, #"{"k":"team-a"}"#, false),
        .init(#"{"StringEndWith":{"k":"-prod"}}"#, #"{"k":"web-prod"}"#, true),
        .init(#"{"StringEndWith":{"k":"-prod"}}"#, #"{"k":"web-PROD"}"#, false),
    ]

    @Test("string operators", arguments: strings)
    func stringOperators(_ c: ConditionCase) throws {
        #expect(try conditionHolds(c.condition, c.context) == c.expected)
    }

    static let numbers: [ConditionCase] = [
        .init(#"{"NumberEquals":{"k":"0.50"}}"#, #"{"k":0.5}"#, true),
        .init(#"{"NumberEquals":{"k":1e3}}"#, #"{"k":"1000"}"#, true),
        .init(#"{"NumberEquals":{"k":1000}}"#, #"{"k":"1E+3"}"#, true),
        .init(#"{"NumberEquals":{"k":"-0"}}"#, #"{"k":0}"#, true),
        .init(#"{"NumberEquals":{"k":"abc"}}"#, #"{"k":"abc"}"#, false),
        .init(#"{"NumberNotEquals":{"k":5}}"#, #"{"k":"abc"}"#, true),
        .init(#"{"NumberNotEquals":{"k":5}}"#, #"{"k":5.0}"#, false),
        .init(#"{"NumberLessThan":{"k":10}}"#, #"{"k":9.999}"#, true),
        .init(#"{"NumberLessThan":{"k":10}}"#, #"{"k":10}"#, false),
        .init(#"{"NumberLessThanEquals":{"k":10}}"#, #"{"k":10}"#, true),
        .init(#"{"NumberGreaterThan":{"k":-1}}"#, #"{"k":-0.5}"#, true),
        .init(#"{"NumberGreaterThan":{"k":-1}}"#, #"{"k":-2}"#, false),
        .init(#"{"NumberGreaterThanEquals":{"k":"12345678901234567890.1"}}"#, #"{"k":"12345678901234567890.10"}"#, true),
        .init(#"{"NumberGreaterThan":{"k":"12345678901234567890.1"}}"#, #"{"k":"12345678901234567890.10"}"#, false),
        .init(#"{"NumberLessThan":{"k":1}}"#, #"{"k":true}"#, false),
        .init(#"{"NumberLessThan":{"k":1}}"#, #"{}"#, false),
    ]

    @Test("number operators compare exact decimals", arguments: numbers)
    func numberOperators(_ c: ConditionCase) throws {
        #expect(try conditionHolds(c.condition, c.context) == c.expected)
    }

    static let dates: [ConditionCase] = [
        .init(#"{"DateLessThan":{"t":"2026-01-01T00:00:00Z"}}"#, #"{"t":"2025-12-31T23:59:59Z"}"#, true),
        .init(#"{"DateLessThan":{"t":"2026-01-01T00:00:00Z"}}"#, #"{"t":"2026-01-01"}"#, false),
        .init(#"{"DateEquals":{"t":"2026-01-01"}}"#, #"{"t":"2026-01-01T00:00:00"}"#, true),
        .init(#"{"DateEquals":{"t":"2026-01-01T08:00:00+08:00"}}"#, #"{"t":"2026-01-01T00:00:00Z"}"#, true),
        .init(#"{"DateEquals":{"t":"2026-01-01T00:00:00.5Z"}}"#, #"{"t":"2026-01-01T00:00:00.500Z"}"#, true),
        .init(#"{"DateEquals":{"t":1767225600}}"#, #"{"t":"2026-01-01T00:00:00Z"}"#, true),
        .init(#"{"DateGreaterThan":{"t":"2026-01-01T00:00:00Z"}}"#, #"{"t":"2026-01-01T00:00:00.001Z"}"#, true),
        .init(#"{"DateGreaterThanEquals":{"t":"2026-01-01"}}"#, #"{"t":"2026-01-01"}"#, true),
        .init(#"{"DateLessThanEquals":{"t":"2026-01-01"}}"#, #"{"t":"2026-01-02"}"#, false),
        .init(#"{"DateNotEquals":{"t":"2026-01-01"}}"#, #"{"t":"not a date"}"#, true),
        .init(#"{"DateEquals":{"t":"2026-02-30"}}"#, #"{"t":"2026-02-30"}"#, false),
        .init(#"{"DateEquals":{"t":"2024-02-29"}}"#, #"{"t":"2024-02-29T00:00Z"}"#, true),
    ]

    @Test("date operators", arguments: dates)
    func dateOperators(_ c: ConditionCase) throws {
        #expect(try conditionHolds(c.condition, c.context) == c.expected)
    }

    static let others: [ConditionCase] = [
        .init(#"{"Bool":{"g:MFAPresent":"TRUE"}}"#, #"{"g:MFAPresent":true}"#, true),
        .init(#"{"Bool":{"g:MFAPresent":true}}"#, #"{"g:MFAPresent":"false"}"#, false),
        .init(#"{"Bool":{"g:MFAPresent":true}}"#, #"{"g:MFAPresent":"yes"}"#, false),
        .init(#"{"Bool":{"g:MFAPresent":true}}"#, #"{}"#, false),
        .init(#"{"BoolIfExists":{"g:MFAPresent":true}}"#, #"{}"#, true),
        .init(#"{"IpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{"g:SourceIp":"10.1.2.3"}"#, true),
        .init(#"{"IpAddress":{"g:SourceIp":"10.1.2.3/8"}}"#, #"{"g:SourceIp":"10.200.0.1"}"#, true),
        .init(#"{"IpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{"g:SourceIp":"11.0.0.1"}"#, false),
        .init(#"{"IpAddress":{"g:SourceIp":"2001:db8::/32"}}"#, #"{"g:SourceIp":"2001:db8:0:1::5"}"#, true),
        .init(#"{"IpAddress":{"g:SourceIp":"::/0"}}"#, #"{"g:SourceIp":"10.0.0.1"}"#, false),
        .init(#"{"IpAddress":{"g:SourceIp":"::ffff:0:0/96"}}"#, #"{"g:SourceIp":"10.0.0.1"}"#, false),
        .init(#"{"IpAddress":{"g:SourceIp":"10.0.0.1"}}"#, #"{"g:SourceIp":"10.0.0.1"}"#, true),
        .init(#"{"IpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{"g:SourceIp":"not-an-ip"}"#, false),
        .init(#"{"NotIpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{"g:SourceIp":"11.0.0.1"}"#, true),
        .init(#"{"NotIpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{"g:SourceIp":"10.0.0.1"}"#, false),
        .init(#"{"NotIpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{"g:SourceIp":"garbage"}"#, true),
        .init(#"{"NotIpAddress":{"g:SourceIp":"10.0.0.0/8"}}"#, #"{}"#, true),
        .init(#"{"Null":{"k":true}}"#, #"{}"#, true),
        .init(#"{"Null":{"k":true}}"#, #"{"k":null}"#, true),
        .init(#"{"Null":{"k":true}}"#, #"{"k":[]}"#, true),
        .init(#"{"Null":{"k":"true"}}"#, #"{"k":"x"}"#, false),
        .init(#"{"Null":{"k":false}}"#, #"{"k":"x"}"#, true),
        .init(#"{"Null":{"k":false}}"#, #"{}"#, false),
    ]

    @Test("Bool, IpAddress, NotIpAddress and Null", arguments: others)
    func otherOperators(_ c: ConditionCase) throws {
        #expect(try conditionHolds(c.condition, c.context) == c.expected)
    }

    static let setsAndMissing: [ConditionCase] = [
        // Missing keys: positive false, negated true, IfExists true.
        .init(#"{"StringEqualsIfExists":{"k":"a"}}"#, #"{}"#, true),
        .init(#"{"StringEqualsIfExists":{"k":"a"}}"#, #"{"k":"b"}"#, false),
        .init(#"{"NumberLessThanIfExists":{"k":3}}"#, #"{"k":2}"#, true),
        // Plain operators on lists: positive = any value matches; negated = no value matches.
        .init(#"{"StringEquals":{"g:TagKeys":"env"}}"#, #"{"g:TagKeys":["team","env"]}"#, true),
        .init(#"{"StringNotEquals":{"g:TagKeys":"env"}}"#, #"{"g:TagKeys":["team","env"]}"#, false),
        .init(#"{"StringNotEquals":{"g:TagKeys":"env"}}"#, #"{"g:TagKeys":["team","owner"]}"#, true),
        // ForAnyValue.
        .init(#"{"ForAnyValue:StringEquals":{"g:TagKeys":["env","team"]}}"#, #"{"g:TagKeys":["x","team"]}"#, true),
        .init(#"{"ForAnyValue:StringEquals":{"g:TagKeys":["env"]}}"#, #"{"g:TagKeys":["x"]}"#, false),
        .init(#"{"ForAnyValue:StringEquals":{"g:TagKeys":["env"]}}"#, #"{}"#, false),
        .init(#"{"ForAnyValue:StringNotEquals":{"g:TagKeys":["env"]}}"#, #"{}"#, false),
        .init(#"{"ForAnyValue:StringNotEquals":{"g:TagKeys":["env"]}}"#, #"{"g:TagKeys":["env","x"]}"#, true),
        .init(#"{"ForAnyValue:StringNotEquals":{"g:TagKeys":["env"]}}"#, #"{"g:TagKeys":["env"]}"#, false),
        .init(#"{"ForAnyValue:StringEquals":{"g:TagKeys":["env"]}}"#, #"{"g:TagKeys":[]}"#, false),
        // ForAllValues.
        .init(#"{"ForAllValues:StringEquals":{"g:TagKeys":["env","team"]}}"#, #"{"g:TagKeys":["env","team"]}"#, true),
        .init(#"{"ForAllValues:StringEquals":{"g:TagKeys":["env","team"]}}"#, #"{"g:TagKeys":["env","x"]}"#, false),
        .init(#"{"ForAllValues:StringEquals":{"g:TagKeys":["env"]}}"#, #"{}"#, true),
        .init(#"{"ForAllValues:StringEquals":{"g:TagKeys":["env"]}}"#, #"{"g:TagKeys":[]}"#, true),
        .init(#"{"ForAllValues:StringNotEquals":{"g:TagKeys":["env"]}}"#, #"{"g:TagKeys":["a","b"]}"#, true),
        .init(#"{"ForAllValues:StringNotEquals":{"g:TagKeys":["env"]}}"#, #"{"g:TagKeys":["a","env"]}"#, false),
        .init(#"{"ForAllValues:StringEquals":{"g:TagKeys":[]}}"#, #"{"g:TagKeys":["a"]}"#, false),
        // IfExists wins over a prefix for a missing key.
        .init(#"{"ForAnyValue:StringEqualsIfExists":{"g:TagKeys":["env"]}}"#, #"{}"#, true),
        .init(#"{"ForAnyValue:StringEqualsIfExists":{"g:TagKeys":["env"]}}"#, #"{"g:TagKeys":["x"]}"#, false),
        // Several keys under one operator: all must hold; several operators: all must hold.
        .init(#"{"StringEquals":{"a":"1","b":"2"}}"#, #"{"a":"1","b":"2"}"#, true),
        .init(#"{"StringEquals":{"a":"1","b":"2"}}"#, #"{"a":"1","b":"3"}"#, false),
        .init(#"{"StringEquals":{"a":"1"},"Bool":{"b":true}}"#, #"{"a":"1","b":false}"#, false),
        // Prefix and suffix are case-insensitive.
        .init(#"{"foranyvalue:stringequalsifexists":{"k":"a"}}"#, #"{"k":["a"]}"#, true),
        // An unknown operator makes the statement not match.
        .init(#"{"StringEqualz":{"k":"a"}}"#, #"{"k":"a"}"#, false),
        .init(#"{"ForSomeValues:StringEquals":{"k":"a"}}"#, #"{"k":"a"}"#, false),
        // An empty operator object holds vacuously.
        .init(#"{"StringEquals":{}}"#, #"{}"#, true),
    ]

    @Test("missing keys, IfExists and set prefixes", arguments: setsAndMissing)
    func setOperators(_ c: ConditionCase) throws {
        #expect(try conditionHolds(c.condition, c.context) == c.expected)
    }

    @Test func operatorNamesParse() {
        #expect(ConditionOperator(name: "ForAllValues:StringNotMatchIfExists")?.description == "ForAllValues:StringNotMatchIfExists")
        #expect(ConditionOperator(name: "NullIfExists")?.ifExists == true)
        #expect(ConditionOperator(name: "IfExists") == nil)
        #expect(ConditionOperator(name: "ForAnyValue:") == nil)
        #expect(ConditionOperator(name: "StringLike") == nil)
    }
}
