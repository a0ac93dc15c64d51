#!/usr/bin/env python3
"""Writes docs/findings/CODE.md, one page per finding code of SPEC §6, from the trigger and
near-miss policies of Tests/BulwarkTests/ValidationTests.swift, with the output of
`bulwark validate` on each. Run from the project root after a release build:

    python3 scripts/docs/findings.py [path/to/bulwark]

The pages are checked by the test `FindingDocsTests`: each page's first policy must raise
its code and the second must not, so the examples cannot drift from the validator.
"""
import json, os, re, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BULWARK = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/bulwark")

# What triggers each code (beyond the one-line summary) and how to fix it.
ADVICE = {
    "JSON_SYNTAX_ERROR": ("The file is not JSON Bulwark can read: a syntax error, a duplicate key, a byte order mark, invalid UTF-8 or nesting deeper than 64. Nothing else is checked in a document that does not parse.",
                          "Fix the JSON at the line and column given. Duplicate keys are refused on purpose: different readers keep different copies, so the policy would mean different things to different programs."),
    "MISSING_VERSION": ("The policy object has no `Version`.", "Add `\"Version\": \"5.0\"`."),
    "INVALID_VERSION": ("`Version` is present but is not the string `\"5.0\"` (policy language 1.0/1.1 roles are not identity policies).", "Write `\"Version\": \"5.0\"` and use the 5.0 grammar."),
    "MISSING_STATEMENT": ("`Statement` is absent or an empty array.", "Add at least one statement; a policy with none grants and denies nothing."),
    "INVALID_POLICY_ELEMENT": ("An element the grammar does not know (often a misspelling such as `Resources`), or a known element with the wrong JSON type.", "Use the element names of the policy language exactly (`Version`, `Statement`, `Sid`, `Effect`, `Action`, `NotAction`, `Resource`, `NotResource`, `Condition`) with the types SPEC §2 gives."),
    "MISSING_EFFECT": ("A statement has no `Effect`.", "Add `\"Effect\": \"Allow\"` or `\"Effect\": \"Deny\"`."),
    "INVALID_EFFECT": ("`Effect` is not exactly `Allow` or `Deny` (the comparison is case-sensitive).", "Write `Allow` or `Deny` with that capitalisation."),
    "MISSING_ACTION": ("A statement has neither `Action` nor `NotAction`.", "Name the actions the statement is about, or use `NotAction` to name the ones it is not."),
    "ACTION_AND_NOTACTION": ("A statement has both `Action` and `NotAction`.", "Keep one; split the statement in two if both meanings are wanted."),
    "UNSUPPORTED_PRINCIPAL": ("`Principal` or `NotPrincipal` in an identity policy or SCP: the principal is whoever the policy is attached to.", "Remove the element and attach the policy to the principals it is for."),
    "UNKNOWN_SERVICE": ("The action's service prefix is not in any loaded catalog, so nothing else about the action can be checked.", "Check the prefix for a typo; for a service Bulwark has no catalog for yet, the warning is expected and the action is still decided literally."),
    "UNKNOWN_ACTION": ("The action, or every action a wildcard pattern could match, is missing from the service's catalog.", "Use `bulwark catalog actions SERVICE` to find the right name; the message suggests the closest one."),
    "INVALID_URN": ("A `Resource`/`NotResource` entry that is neither `*` nor a URN `service:region:account:type:path`.", "Write the full URN, with `*` for the parts that may be anything."),
    "RESOURCE_TYPE_MISMATCH": ("No action of the statement acts on a resource of the URN's type, so the resource can never match.", "Use the resource type the actions act on (`bulwark catalog actions SERVICE` lists them), or move the actions to a statement of their own."),
    "RESOURCE_MUST_BE_WILDCARD": ("Every action of the statement supports no resource type, so only `\"Resource\": \"*\"` can match.", "Write `\"Resource\": \"*\"` for those actions."),
    "UNKNOWN_OPERATOR": ("The condition operator is not one of the policy language's (for example `StringLike`, which is AWS's name for `StringMatch`).", "Use the operator SPEC §2 lists; the message suggests the closest."),
    "UNKNOWN_CONDITION_KEY": ("The condition key is neither a global key (`g:`) nor a key of the action's service catalog.", "Check the spelling and the singular/plural form; `bulwark catalog keys SERVICE` lists the keys."),
    "CONDITION_KEY_NOT_SUPPORTED": ("The key exists, but none of the statement's actions is given it, so the condition never sees a value.", "Use the key with the actions that support it, or choose a key these actions are given."),
    "DATA_TYPE_MISMATCH": ("A condition value cannot be read as the operator's type: an IP range that is not CIDR, a date that is not ISO 8601, a number that is not a number, a Bool that is not true or false.", "Write the value in the operator's type; the message names the value and what was expected."),
    "POLICY_TOO_LARGE": ("The policy is longer than Huawei accepts: identity policies at most 6,144 bytes as written, SCPs at most 5,120 characters.", "Split it into several policies, or shorten it with wildcards that still name only what is meant."),
    "SCP_ALLOW_WITH_CONDITION": ("An `Allow` statement of an SCP has a `Condition`, which SCPs do not support on Allow.", "Express the condition as a `Deny` with the negated condition."),
    "SCP_ALLOW_RESOURCE_NOT_WILDCARD": ("An `Allow` statement of an SCP names resources other than `*`.", "Allow with `\"Resource\": \"*\"` and restrict resources with a `Deny`."),
    "SCP_UNSUPPORTED_ELEMENT": ("An element SCPs do not support in that place, such as `NotAction` on an `Allow`.", "SCPs take `Resource`, never `NotResource`; an SCP `Allow` lists its actions with `Action` (use `NotAction` only in a `Deny`); `Principal` has no place in an SCP."),
    "SCP_INVALID_ACTION_WILDCARD": ("An SCP action pattern with a wildcard anywhere but at the end (`ims:*:share`).", "Put the `*` at the end of the action (`ims:images:*`), or list the actions."),
    "ALLOW_WITH_NOT_ACTION": ("An `Allow` with `NotAction` grants every action not listed, including actions services add later.", "List the actions to allow instead, or use `NotAction` only in a `Deny`."),
    "ALLOW_WITH_NOT_RESOURCE": ("An `Allow` with `NotResource` grants every resource not listed, including resources created later.", "List the resources to allow instead, or use `NotResource` only in a `Deny`."),
    "OVERLY_PERMISSIVE": ("An `Allow` of a whole service (or of every action) on every resource, or one whose actions include permission-management actions on every resource.", "List the actions needed and scope `Resource` to what they are needed on."),
    "WILDCARD_IN_SENSITIVE_KEY": ("A key that identifies the principal (such as `g:PrincipalAccount` or `g:PrincipalUrn`) compared with wildcards (`StringMatch`/`StringNotMatch` with `*` or `?`) or with `StringStartWith`/`StringEndWith`, which can take in identities nobody meant.", "Compare those keys exactly with `StringEquals`/`StringNotEquals` and list the values."),
    "FORALLVALUES_WITH_SINGLE_VALUED_KEY": ("`ForAllValues:` on a single-valued key: it is also true when the key is absent, which is rarely what is meant.", "Use the operator without a set qualifier for single-valued keys."),
    "NULL_WITH_IF_EXISTS": ("`NullIfExists`: `Null` already tests for absence, so the suffix contradicts the operator.", "Use `Null`."),
    "MISSING_SET_OPERATOR": ("A plain operator on a multi-valued key (such as `g:TagKeys`), whose meaning over several values is unclear.", "Say which you mean with `ForAnyValue:` or `ForAllValues:`."),
    "REDUNDANT_STATEMENT": ("A statement that another statement of the same policy, with the same effect, covers entirely: every request it matches, the other matches too.", "Remove it, or merge the two."),
    "REDUNDANT_ACTION": ("An action (or pattern) of a statement that another pattern of the same statement already covers.", "Remove the one that is covered."),
    "EMPTY_ARRAY": ("An empty array where a list of values is expected: it matches nothing.", "Remove the element or give it values."),
    "EMPTY_OBJECT": ("An empty object, such as a `Condition` or an operator with no keys: it adds nothing.", "Remove it, or write the condition meant."),
    "INVALID_POLICY_VARIABLE": ("A `${` in a `Resource`/`NotResource` pattern or a condition value that forms none of the policy variable shapes: `${KEY}`, `${KEY, 'default'}`, or the escapes `${*}`, `${?}`, `${$}`. The finding points at the `${`. `bulwark authorize` refuses such a policy (exit 2): a broken variable is never compared as literal text.",
                                "Close the variable with `}`, quote its default in single quotes (`''` for a quote inside), or write `${$}` for a literal `$` followed by `{`."),
    "DENY_WITH_POLICY_VARIABLE": ("A `Deny` that uses a policy variable without a default. When the request has no single value for the variable's key (a principal without that tag, a key given as a list), the variable does not resolve and the `Deny` does not apply at all, so principals without the key escape it.",
                                  "Give the variable a default that keeps the `Deny` meaningful (`${g:PrincipalTag/team, 'none'}`), or add a `Deny` with `Null` on the key for principals without it."),
    "MISSING_PRINCIPAL": ("A statement of a trust policy (`--type trust`) with neither `Principal` nor `NotPrincipal`: a trust statement is about who may assume the agency.",
                          "Name the principals: `{\"IAM\": [\"ACCOUNT-ID\"]}` for any principal of an account, `{\"IAM\": [\"iam::ACCOUNT-ID:user:NAME\"]}` for one, `{\"Service\": [\"service.NAME\"]}` for a cloud service."),
    "PRINCIPAL_AND_NOTPRINCIPAL": ("A trust statement with both `Principal` and `NotPrincipal`.", "Keep one; split the statement in two if both meanings are wanted."),
    "INVALID_PRINCIPAL": ("A trust policy principal that is malformed: an `IAM` entry that is neither an account id (letters and digits) nor `iam::ACCOUNT-ID:user:NAME` / `iam::ACCOUNT-ID:agency:NAME`, a `Service` entry that is not `service.NAME`, a principal type other than `IAM` and `Service`, or `Principal` as a string other than `\"*\"`.",
                          "Write the account id, the principal's URN or `service.NAME` exactly; Huawei names no other principal types."),
    "TRUST_ACTION_NOT_SUPPORTED": ("An `Action` pattern of a trust statement that matches none of the trust actions: `sts:agencies:assume`, `sts::tagSession`, `sts::setSourceIdentity`, `sts:agencies:assumeWithOIDC`.",
                                   "Name the trust actions; what the agency may do once assumed belongs in the identity policies attached to it."),
    "OVERLY_PERMISSIVE_TRUST": ("An `Allow` of `sts:agencies:assume` to `\"*\"` (or with `NotPrincipal`) without a condition on `g:PrincipalOrgId`, `g:PrincipalOrgPath`, `g:PrincipalUrn` or `sts:ExternalId`: any principal of any account could assume the agency.",
                                "Name the accounts or principals, or add a condition that pins the caller's organization, URN or an external id."),
    "ACTION_IS_ALIAS": ("A literal action that is an alias of another action in the service's Huawei schema (`aliases`: a former name, kept so that older policies go on working). The alias grants exactly what the action grants, so nothing is wrong, but the policy reads as if it named a different permission. Built-in catalogs have no aliases; the example uses the schema in `examples/catalogs`.",
                        "Name the action itself; `bulwark catalog show ALIAS` says which action that is."),
    "POLICY_VARIABLE_NOT_SUBSTITUTED": ("A `${` in `Action`/`NotAction` or in a condition key. Policy variables are substituted only in `Resource`/`NotResource` patterns and condition values; elsewhere `${...}` is compared as the characters it is.",
                                        "Name the actions (or the condition key) literally and put the variable where it is substituted, usually in the condition value."),
}

def swift_cases():
    text = open(os.path.join(ROOT, "Tests/BulwarkTests/ValidationTests.swift")).read()
    raw = r'#"(.*?)"#'
    def expr(e):
        e = e.strip()
        m = re.fullmatch(r'stmt\(' + raw + r'\)', e, re.S)
        if m: return '{"Version":"5.0","Statement":[{' + m.group(1) + '}]}'
        m = re.fullmatch(r'stmts\((.*)\)', e, re.S)
        if m: return '{"Version":"5.0","Statement":[' + ",".join("{" + b + "}" for b in re.findall(raw, m.group(1), re.S)) + "]}"
        m = re.fullmatch(raw, e, re.S)
        if m: return m.group(1)
        return None
    cases = {}
    for m in re.finditer(r'CodeCase\(\s*code: "([A-Z_]+)", type: \.(\w+),\s*hit: (.*?),\s*miss: (.*?)\),\n', text, re.S):
        code, kind, hit, miss = m.groups()
        cases[code] = (kind, expr(hit), expr(miss))
    return cases

def pretty(text):
    try: return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except Exception: return text  # a trigger that is not JSON on purpose

# Codes whose example needs a catalog beyond the built-in ones.
CATALOG = {"ACTION_IS_ALIAS": "examples/catalogs"}

def validate(text, kind, catalog=None):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=tempfile.gettempdir(), prefix="policy-") as f:
        f.write(text + "\n")
        name = f.name
    try:
        extra = ["--catalog", os.path.join(ROOT, catalog)] if catalog else []
        out = subprocess.run([BULWARK, "validate", "--type", kind] + extra + [name], capture_output=True, text=True).stdout
    finally:
        os.unlink(name)
    return out.replace(name, "policy.json").strip()

def main():
    cases = swift_cases()
    folder = os.path.join(ROOT, "docs/findings")
    os.makedirs(folder, exist_ok=True)
    summaries = dict(re.findall(r'case \.(\w+): "(.*?)"\n', open(os.path.join(ROOT, "Sources/BulwarkValidation/Finding.swift")).read()))
    codes = dict(re.findall(r'case (\w+) = "([A-Z_]+)"', open(os.path.join(ROOT, "Sources/BulwarkValidation/Finding.swift")).read()))
    index = []
    for name, code in codes.items():
        kind, hit, miss = cases[code]
        if code == "POLICY_TOO_LARGE":
            # The trigger is 6,100 characters; the page shows its shape.
            hit = '{"Version":"5.0","Statement":[{"Effect":"Deny","Action":"ims:images:get","Sid":"' + "x" * 6100 + '"}]}'
            miss = '{"Version":"5.0","Statement":[{"Effect":"Deny","Action":"ims:images:get","Sid":"short"}]}'
        trigger, fix = ADVICE[code]
        shown_hit = hit if code in ("JSON_SYNTAX_ERROR", "POLICY_TOO_LARGE") else pretty(hit)
        catalog = CATALOG.get(code)
        hit_out = validate(shown_hit, kind, catalog)
        if code == "POLICY_TOO_LARGE":
            shown_hit = '{"Version":"5.0","Statement":[{"Effect":"Deny","Action":"ims:images:get","Sid":"xxxx… (6,100 characters)"}]}'
        miss_out = validate(pretty(miss), kind, catalog)
        severity = re.search(r' (error|security_warning|warning|suggestion) ' + code, hit_out)
        assert severity, f"{code}: the trigger does not raise it:\n{hit_out}"
        assert re.search(r'\b' + code + r'\b', miss_out) is None, f"{code}: the fix still raises it"
        page = f"""# {code}

**Severity:** {severity.group(1)}{" · **Raised for:** SCPs (`--type scp`)" if kind == "scp" else " · **Raised for:** trust policies (`--type trust`)" if kind == "trust" else ""}

{summaries.get(name, "")}

## What triggers it

{trigger}

## Example

```json
{shown_hit}
```

`bulwark validate{" --type " + kind if kind != "identity" else ""}{" --catalog " + catalog if catalog else ""} policy.json`:

```
{hit_out}
```

## How to fix it

{fix}

```json
{pretty(miss)}
```

```
{miss_out}
```

See [`bulwark validate`](../validate.md) for the output formats and exit codes, and [all finding codes](README.md).
"""
        open(os.path.join(folder, code + ".md"), "w").write(page)
        index.append(f"| [{code}]({code}.md) | {severity.group(1)} | {summaries.get(name, '')} |")
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("# Finding codes\n\nEvery finding `bulwark validate` (and `lint`, the server's `/v1/validate`) can report, with what triggers it, an example and the fix. Generated by `scripts/docs/findings.py`; the test `FindingDocsTests` checks every example against the validator.\n\n| Code | Severity | Summary |\n|---|---|---|\n")
        f.write("\n".join(index) + "\n")
    print(f"{len(index)} pages", file=sys.stderr)

main()
