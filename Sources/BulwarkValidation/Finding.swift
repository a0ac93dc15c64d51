public import BulwarkJSON

/// How serious a finding is (SPEC §6).
public enum Severity: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The policy cannot be applied.
    case error
    /// The policy grants more than it seems to.
    case securityWarning = "security_warning"
    /// It works, but is probably wrong.
    case warning
    /// It could be simpler.
    case suggestion

    private var rank: Int { Severity.allCases.firstIndex(of: self)! }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// The stable finding codes. Their severities are fixed by the code.
public enum FindingCode: String, Sendable, Hashable, CaseIterable {
    case jsonSyntaxError = "JSON_SYNTAX_ERROR"
    case missingVersion = "MISSING_VERSION"
    case invalidVersion = "INVALID_VERSION"
    case missingStatement = "MISSING_STATEMENT"
    case invalidPolicyElement = "INVALID_POLICY_ELEMENT"
    case missingEffect = "MISSING_EFFECT"
    case invalidEffect = "INVALID_EFFECT"
    case missingAction = "MISSING_ACTION"
    case actionAndNotAction = "ACTION_AND_NOTACTION"
    case unsupportedPrincipal = "UNSUPPORTED_PRINCIPAL"
    case unknownService = "UNKNOWN_SERVICE"
    case unknownAction = "UNKNOWN_ACTION"
    case invalidURN = "INVALID_URN"
    case resourceTypeMismatch = "RESOURCE_TYPE_MISMATCH"
    case resourceMustBeWildcard = "RESOURCE_MUST_BE_WILDCARD"
    case unknownOperator = "UNKNOWN_OPERATOR"
    case unknownConditionKey = "UNKNOWN_CONDITION_KEY"
    case conditionKeyNotSupported = "CONDITION_KEY_NOT_SUPPORTED"
    case dataTypeMismatch = "DATA_TYPE_MISMATCH"
    case policyTooLarge = "POLICY_TOO_LARGE"
    case scpAllowWithCondition = "SCP_ALLOW_WITH_CONDITION"
    case scpAllowResourceNotWildcard = "SCP_ALLOW_RESOURCE_NOT_WILDCARD"
    case scpUnsupportedElement = "SCP_UNSUPPORTED_ELEMENT"
    case scpInvalidActionWildcard = "SCP_INVALID_ACTION_WILDCARD"
    case allowWithNotAction = "ALLOW_WITH_NOT_ACTION"
    case allowWithNotResource = "ALLOW_WITH_NOT_RESOURCE"
    case overlyPermissive = "OVERLY_PERMISSIVE"
    case wildcardInSensitiveKey = "WILDCARD_IN_SENSITIVE_KEY"
    case forAllValuesWithSingleValuedKey = "FORALLVALUES_WITH_SINGLE_VALUED_KEY"
    case nullWithIfExists = "NULL_WITH_IF_EXISTS"
    case missingSetOperator = "MISSING_SET_OPERATOR"
    case redundantStatement = "REDUNDANT_STATEMENT"
    case redundantAction = "REDUNDANT_ACTION"
    case emptyArray = "EMPTY_ARRAY"
    case emptyObject = "EMPTY_OBJECT"
    case invalidPolicyVariable = "INVALID_POLICY_VARIABLE"
    case denyWithPolicyVariable = "DENY_WITH_POLICY_VARIABLE"
    case policyVariableNotSubstituted = "POLICY_VARIABLE_NOT_SUBSTITUTED"
    case missingPrincipal = "MISSING_PRINCIPAL"
    case principalAndNotPrincipal = "PRINCIPAL_AND_NOTPRINCIPAL"
    case invalidPrincipal = "INVALID_PRINCIPAL"
    case trustActionNotSupported = "TRUST_ACTION_NOT_SUPPORTED"
    case overlyPermissiveTrust = "OVERLY_PERMISSIVE_TRUST"
    case actionIsAlias = "ACTION_IS_ALIAS"

    public var severity: Severity {
        switch self {
        case .unknownService, .nullWithIfExists, .missingSetOperator, .policyVariableNotSubstituted: .warning
        case .allowWithNotAction, .allowWithNotResource, .overlyPermissive, .wildcardInSensitiveKey,
            .forAllValuesWithSingleValuedKey, .denyWithPolicyVariable, .overlyPermissiveTrust:
            .securityWarning
        case .redundantStatement, .redundantAction, .emptyArray, .emptyObject, .actionIsAlias: .suggestion
        default: .error
        }
    }

    /// A one-line description, used as the SARIF rule text.
    public var summary: String {
        switch self {
        case .jsonSyntaxError: "The document is not valid JSON."
        case .missingVersion: "The policy has no Version."
        case .invalidVersion: "Version is not \"5.0\"."
        case .missingStatement: "The policy has no statements."
        case .invalidPolicyElement: "An element is unknown or has the wrong JSON type."
        case .missingEffect: "A statement has no Effect."
        case .invalidEffect: "Effect is neither Allow nor Deny."
        case .missingAction: "A statement has neither Action nor NotAction."
        case .actionAndNotAction: "A statement has both Action and NotAction."
        case .unsupportedPrincipal: "Principal/NotPrincipal is not allowed in identity policies."
        case .unknownService: "The action's service is not in the catalog."
        case .unknownAction: "The action (or pattern) names no catalogued action."
        case .invalidURN: "The resource is not a URN."
        case .resourceTypeMismatch: "The resource cannot be of any type the statement's actions act on."
        case .resourceMustBeWildcard: "The actions support no resource types, so Resource must be \"*\"."
        case .unknownOperator: "The condition operator does not exist."
        case .unknownConditionKey: "The condition key is not catalogued."
        case .conditionKeyNotSupported: "None of the statement's actions supports the condition key."
        case .dataTypeMismatch: "A condition value or operator does not fit the key's type."
        case .policyTooLarge: "The policy is over the size limit."
        case .scpAllowWithCondition: "An SCP Allow statement has a Condition."
        case .scpAllowResourceNotWildcard: "An SCP Allow statement has a Resource other than \"*\"."
        case .scpUnsupportedElement: "The element is not supported in SCPs."
        case .scpInvalidActionWildcard: "SCP action wildcards may only be the whole value or at the end."
        case .allowWithNotAction: "Allow with NotAction grants every other action, present and future."
        case .allowWithNotResource: "Allow with NotResource grants every other resource."
        case .overlyPermissive: "The statement allows a whole service, or permission management, on all resources."
        case .wildcardInSensitiveKey: "A wildcard is used with a sensitive condition key."
        case .forAllValuesWithSingleValuedKey: "ForAllValues on a single-valued key also holds when the key is missing."
        case .nullWithIfExists: "Null with IfExists is always true for a missing key."
        case .missingSetOperator: "A plain operator on a multi-valued key."
        case .redundantStatement: "The statement is covered by another statement."
        case .redundantAction: "The action pattern is covered by another pattern of the same statement."
        case .emptyArray: "An empty array."
        case .emptyObject: "An empty object."
        case .invalidPolicyVariable: "A ${ that forms no policy variable or escape."
        case .denyWithPolicyVariable: "A Deny whose policy variable has no default does not apply when the key is missing."
        case .policyVariableNotSubstituted: "${ where policy variables are not substituted (Action, NotAction, condition keys)."
        case .missingPrincipal: "A trust statement has neither Principal nor NotPrincipal."
        case .principalAndNotPrincipal: "A trust statement has both Principal and NotPrincipal."
        case .invalidPrincipal: "A principal is not an account id, an IAM principal URN or service.NAME."
        case .trustActionNotSupported: "A trust statement's action is not one of the sts: trust actions."
        case .overlyPermissiveTrust: "Anyone may assume the agency: no condition on the caller's organization, URN or external id."
        case .actionIsAlias: "The action is an alias of another action; name the action itself."
        }
    }
}

/// One problem found in a policy, with where it is (its `Diagnostic`, whose code is the
/// finding code's).
public struct Finding: Located, Sendable, Hashable {
    public let code: FindingCode
    public var severity: Severity { code.severity }
    public let diagnostic: Diagnostic

    public init(code: FindingCode, message: String, path: JSONPath, location: SourceLocation) {
        self.code = code
        diagnostic = Diagnostic(code: code.rawValue, message: message, path: path, location: location)
    }
}

/// Counts of findings per severity.
public struct FindingSummary: Sendable, Hashable {
    public var errors = 0
    public var securityWarnings = 0
    public var warnings = 0
    public var suggestions = 0

    public init(_ findings: [Finding]) {
        for f in findings {
            switch f.severity {
            case .error: errors += 1
            case .securityWarning: securityWarnings += 1
            case .warning: warnings += 1
            case .suggestion: suggestions += 1
            }
        }
    }

    public static func + (a: FindingSummary, b: FindingSummary) -> FindingSummary {
        var s = a
        s.errors += b.errors
        s.securityWarnings += b.securityWarnings
        s.warnings += b.warnings
        s.suggestions += b.suggestions
        return s
    }
}

/// Which rules apply.
public enum PolicyType: String, Sendable, CaseIterable {
    case identity, scp
    /// An agency's trust policy (SPEC §10).
    case trust
}
