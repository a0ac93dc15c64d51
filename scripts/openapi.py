#!/usr/bin/env python3
"""Writes Sources/BulwarkServer/Resources/openapi.json, the OpenAPI 3 description of
`bulwark serve`. Edit this file, run it, commit both; the server tests check that every
route is described and that responses match these schemas."""
import json, os

def obj(props, required=(), extra=False):
    o = {"type": "object", "properties": props, "additionalProperties": extra}
    if required: o["required"] = list(required)
    return o

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def arr(item): return {"type": "array", "items": item}
S = {"type": "string"}; I = {"type": "integer"}; B = {"type": "boolean"}
NS = {"type": ["string", "null"]}; NI = {"type": ["integer", "null"]}

schemas = {
    "Error": obj({"error": obj({
        "code": S, "message": S, "path": NS, "line": I, "column": I, "findings": arr(ref("Finding")),
        "problems": arr(S)},
        ["code", "message", "path"])}, ["error"]),
    "Finding": obj({"severity": {"type": "string", "enum": ["error", "security_warning", "warning", "suggestion"]},
                    "code": S, "message": S, "path": S, "line": I, "column": I},
                   ["severity", "code", "message", "path", "line", "column"]),
    "PolicyDocument": {"description": "A policy (language 5.0) as a JSON object, or its text as a string.",
                       "type": ["object", "string"]},
    "NamedPolicy": {"description": "{id, document} or a bare policy document.", "type": "object"},
    "Request": obj({"action": S, "resource": S, "context": {"type": "object", "additionalProperties": True}}, ["action"]),
    "AuthorizeBody": obj({"identityPolicies": arr(ref("NamedPolicy")), "scpLevels": arr(arr(ref("NamedPolicy"))),
                          "principal": {"type": "string", "description": "A stored principal: iam::ACCOUNT:user|agency:NAME. Not with inline policies."},
                          "session": ref("Session"),
                          "request": ref("Request"), "requests": arr(ref("Request"))}),
    "Session": obj({"agency": {"type": "string", "description": "iam::ACCOUNT:agency:NAME, assumed by principal (SPEC §10)"},
                    "sessionName": S, "sessionPolicies": arr(ref("PolicyDocument")),
                    "tags": {"description": "{KEY: VALUE} or [{key, value}]", "type": ["object", "array"]},
                    "transitiveTagKeys": arr(S), "sourceIdentity": S, "externalId": S}, ["agency", "sessionName"]),
    "Assume": obj({"decision": S, "reason": {"type": "string", "enum": ["allowed", "explicit_deny", "scp_no_allow", "session_no_allow",
                                                                          "no_identity_allow", "trust_denied", "not_trusted"]},
                   "scpLevel": I, "matched": arr(ref("Statement"))}, ["decision", "reason", "matched"]),
    "Statement": obj({"policy": S, "statement": I, "sid": NS, "effect": {"type": "string", "enum": ["Allow", "Deny"]}, "scpLevel": NI},
                     ["policy", "statement", "sid", "effect", "scpLevel"]),
    "Explanation": obj({"policy": S, "statement": I, "sid": NS, "effect": S, "scpLevel": NI, "matched": B,
                        "failure": obj({"path": S, "line": I, "column": I, "reason": S}, ["path", "line", "column", "reason"])},
                       ["policy", "statement", "effect", "matched"]),
    "Decision": obj({"decision": {"type": "string", "enum": ["allow", "deny"]},
                     "reason": {"type": "string", "enum": ["allowed", "explicit_deny", "scp_no_allow", "session_no_allow", "no_identity_allow", "assume_denied"]},
                     "scpLevel": I, "matched": arr(ref("Statement")), "explanation": arr(ref("Explanation"))},
                    ["decision", "reason", "matched"]),
    "AuthorizeResponse": {"type": "object", "required": ["decisionId"], "properties": {
        "decisionId": S, "assume": ref("Assume"), "decision": S, "reason": S, "scpLevel": I, "matched": arr(ref("Statement")),
        "explanation": arr(ref("Explanation")), "results": arr(ref("Decision"))}, "additionalProperties": False},
    # A call is named by method + path, or by a Huawei schema operation id (SPEC §12): one form, not both.
    "APIRequest": {**obj({"service": S, "method": S, "path": S, "operation": S, "region": S, "accountId": S, "resource": S,
                          "context": {"type": "object", "additionalProperties": True}, "cases": arr(S)}, ["service"]),
                   "oneOf": [{"required": ["method", "path"]}, {"required": ["operation"]}]},
    "AuthorizeAPIBody": obj({"identityPolicies": arr(ref("NamedPolicy")), "scpLevels": arr(arr(ref("NamedPolicy"))),
                             "principal": S, "session": ref("Session"), "apiRequest": ref("APIRequest")}, ["apiRequest"]),
    "AuthorizeAPIResponse": obj({"decisionId": S, "assume": ref("Assume"), "decision": S, "reason": S,
                                 "checks": arr({"type": "object", "required": ["action", "resource", "decision", "reason"]}),
                                 "notApplied": arr({"type": "object"})}, ["decisionId", "decision", "checks", "notApplied"], extra=True),
    # Huawei IAM Access Analyzer's shapes (huaweicloudsdkiamaccessanalyzer), SPEC §14.
    "AAValidateBody": obj({"policy_document": S, "policy_type": {"type": "string", "enum": ["identity_policy", "service_control_policy", "resource_policy"]},
                           "validate_policy_resource_type": {"type": "string", "enum": ["iam:agency"]}}, ["policy_document", "policy_type"]),
    "AAPosition": obj({"line": I, "column": I, "offset": I}, ["line", "column", "offset"]),
    "AAValidateResponse": obj({
        "findings": arr(obj({"finding_details": S, "finding_type": {"type": "string", "enum": ["error", "security_warning", "warning", "suggestion"]},
                             "issue_code": S, "learn_more_link": S,
                             "locations": arr(obj({"path": arr(obj({"key": S, "index": I})),
                                                   "span": obj({"start": ref("AAPosition"), "end": ref("AAPosition")}, ["start", "end"])},
                                                  ["path", "span"]))},
                            ["finding_details", "finding_type", "issue_code", "learn_more_link", "locations"])),
        "page_info": obj({"current_count": I, "next_marker": NS}, ["current_count", "next_marker"])}, ["findings", "page_info"]),
    "AACheckNoNewAccessBody": obj({"existing_policy_document": S, "new_policy_document": S,
                                   "policy_type": {"type": "string", "enum": ["identity_policy", "service_control_policy"]}},
                                  ["existing_policy_document", "new_policy_document"]),
    "AACheckNoNewAccessResponse": obj({"check_result": {"type": "string", "enum": ["pass", "fail"]}, "message": S,
                                       "reasons": arr(obj({"description": S, "statement_id": NS, "statement_index": I},
                                                          ["description", "statement_id", "statement_index"]))},
                                      ["check_result", "message", "reasons"]),
    "ValidateBody": obj({"policy": ref("PolicyDocument"), "type": {"type": "string", "enum": ["identity", "scp", "trust"]}}, ["policy"]),
    "ValidateResponse": obj({"findings": arr(ref("Finding")),
                             "summary": obj({"error": I, "security_warning": I, "warning": I, "suggestion": I},
                                            ["error", "security_warning", "warning", "suggestion"])}, ["findings", "summary"]),
    "SimulateBody": obj({"principal": S, "session": ref("Session"), "request": ref("Request"), "apiRequest": ref("APIRequest")}, ["principal"]),
    "SimulateResponse": {"type": "object", "required": ["decisionId", "decision"], "additionalProperties": True,
                         "properties": {"decisionId": S, "assume": ref("Assume"), "principal": S, "context": {"type": "object"}, "decision": S,
                                        "reason": S, "matched": arr(ref("Statement")), "explanation": arr(ref("Explanation"))}},
    "OrganizationBody": obj({"id": S, "rootId": S, "managementAccount": S, "scpsEnabled": B}, ["id"]),
    "ImportBody": obj({"files": {"type": "object", "additionalProperties": S,
                                 "description": "A workspace (docs/workspaces.md): relative path (organization.yaml, scps/NAME.json, accounts/ACCOUNT/account.yaml, accounts/ACCOUNT/policies/NAME.json, accounts/ACCOUNT/trust-policies/NAME.json) → the file's text"}},
                      ["files"]),
    "Imported": obj({"revision": I,
                     "imported": obj({"nodes": I, "scps": I, "policies": I, "principals": I, "attachments": I},
                                     ["nodes", "scps", "policies", "principals", "attachments"]),
                     "renamed": {"type": "object", "additionalProperties": S,
                                 "description": "Policy file → store id, for names used in several accounts (NAME.ACCOUNT)"}},
                    ["revision", "imported", "renamed"]),
    "Organization": obj({"id": NS, "managementAccount": NS, "scpsEnabled": B, "revision": I, "nodes": arr(ref("Node")),
                         "warnings": arr(ref("Finding"))}, ["id", "managementAccount", "scpsEnabled", "nodes"]),
    "NodeBody": obj({"kind": {"type": "string", "enum": ["ou", "account"]}, "name": S, "id": S, "parent": S}, ["kind", "name"]),
    "MoveBody": obj({"parent": S}, ["parent"]),
    "Node": obj({"kind": {"type": "string", "enum": ["root", "ou", "account"]}, "name": S, "id": S, "parent": NS, "scps": arr(S)},
                ["kind", "name", "id", "parent", "scps"]),
    "NodeList": obj({"nodes": arr(ref("Node"))}, ["nodes"]),
    "PolicyBody": obj({"id": S, "account": S, "description": S, "document": ref("PolicyDocument")}, ["id", "account", "document"]),
    "Policy": obj({"id": S, "account": S, "description": S, "defaultVersion": S, "versions": arr(S), "attachedTo": arr(S),
                   "document": {"type": "object"}, "warnings": arr(ref("Finding"))},
                  ["id", "account", "description", "defaultVersion", "versions", "attachedTo"]),
    "PolicyList": obj({"policies": arr(ref("Policy"))}, ["policies"]),
    "VersionBody": obj({"document": ref("PolicyDocument"), "setAsDefault": B,
                        "dropOldest": {"type": "boolean", "description": "With 5 versions kept, delete the oldest non-default one instead of refusing."}},
                       ["document"]),
    "DefaultVersionBody": obj({"version": S}, ["version"]),
    "PolicyVersion": obj({"id": S, "createdAt": S, "isDefault": B, "document": {"type": "object"}}, ["id", "createdAt", "isDefault"]),
    "VersionList": obj({"versions": arr(ref("PolicyVersion"))}, ["versions"]),
    "SCPBody": obj({"id": S, "description": S, "document": ref("PolicyDocument")}, ["id", "document"]),
    "SCPUpdateBody": obj({"description": S, "document": ref("PolicyDocument")}),
    "SCP": obj({"id": S, "description": S, "updatedAt": S, "attachedTo": arr(S), "document": {"type": "object"},
                "warnings": arr(ref("Finding"))}, ["id", "description", "updatedAt", "attachedTo", "document"]),
    "SCPList": obj({"scps": arr(ref("SCP"))}, ["scps"]),
    "PrincipalBody": obj({"kind": {"type": "string", "enum": ["user", "group", "agency"]}, "account": S, "name": S, "id": S,
                          "groups": arr(S), "tags": {"type": "object", "additionalProperties": S},
                          "trustPolicy": ref("PolicyDocument"), "maxSessionDuration": I}, ["kind", "account", "name"]),
    "GroupsBody": obj({"groups": arr(S)}, ["groups"]),
    "SettingsBody": obj({"tags": {"type": "object", "additionalProperties": S}, "trustPolicy": ref("PolicyDocument"),
                         "maxSessionDuration": {"type": "integer", "minimum": 3600, "maximum": 43200}}),
    "Principal": obj({"urn": S, "kind": S, "account": S, "name": S, "id": S, "groups": arr(S), "policies": arr(S),
                      "tags": {"type": "object", "additionalProperties": S}, "trustPolicy": {"type": "object"},
                      "maxSessionDuration": I, "warnings": arr(ref("Finding"))},
                     ["urn", "kind", "account", "name", "id", "policies"]),
    "PrincipalList": obj({"principals": arr(ref("Principal"))}, ["principals"]),
    "Attachment": obj({"policy": S, "target": S}, ["policy", "target"]),
    "AttachmentList": obj({"attachments": arr(ref("Attachment"))}, ["attachments"]),
    "Deleted": obj({"deleted": B}, ["deleted"]),
    "Status": obj({"status": S, "revision": I}, ["status"]),
}

def body(name): return {"required": True, "content": {"application/json": {"schema": ref(name)}}}
def resp(name, code="200", desc="OK"):
    r = {code: {"description": desc, "content": {"application/json": {"schema": ref(name)}}}}
    for c, d in [("400", "Malformed body, unknown field or bad value"), ("401", "Missing or wrong bearer token"),
                 ("404", "Unknown id or route"), ("409", "Conflicts with the current state"),
                 ("413", "Body larger than the limit"), ("422", "The policy has validation errors"),
                 ("503", "The store is not loaded yet or unavailable")]:
        r[c] = {"description": d, "content": {"application/json": {"schema": ref("Error")}}}
    return r
def op(summary, tag, responses, request=None, params=(), security="admin"):
    o = {"summary": summary, "tags": [tag], "responses": responses}
    if request: o["requestBody"] = body(request)
    if params: o["parameters"] = list(params)
    o["security"] = [{security: []}] if security else []
    return o
def path_param(name, desc): return {"name": name, "in": "path", "required": True, "schema": S, "description": desc}
def query_param(name, desc): return {"name": name, "in": "query", "required": False, "schema": S, "description": desc}
explain = {"name": "explain", "in": "query", "required": False, "schema": {"type": "string", "enum": ["true", "false"]},
           "description": "Add every statement's explanation."}

paths = {
    "/healthz": {"get": op("Liveness", "operations", resp("Status"), security=None)},
    "/readyz": {"get": op("Ready once the store's snapshot is loaded (503 before)", "operations", resp("Status"), security=None)},
    "/metrics": {"get": {"summary": "Prometheus metrics", "tags": ["operations"], "security": [],
                         "responses": {"200": {"description": "Text exposition format", "content": {"text/plain": {"schema": S}}}}}},
    "/openapi.json": {"get": {"summary": "This document", "tags": ["operations"], "security": [],
                              "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/v1/authorize": {"post": op("Decide one request (or several) — SPEC §3 body, or a stored principal", "decisions",
                                 resp("AuthorizeResponse"), "AuthorizeBody", [explain], "decisions")},
    "/v1/authorize/batch": {"post": op("Decide many requests", "decisions", resp("AuthorizeResponse"), "AuthorizeBody", [explain], "decisions")},
    "/v1/authorize-api": {"post": op("Decide an API call (SPEC §4)", "decisions", resp("AuthorizeAPIResponse"), "AuthorizeAPIBody", security="decisions")},
    "/v1/simulate": {"post": op("Decide and explain for a stored principal", "decisions", resp("SimulateResponse"), "SimulateBody", security="decisions")},
    "/v1/validate": {"post": op("Validate a policy (SPEC §6)", "decisions", resp("ValidateResponse"), "ValidateBody", security="decisions")},
    "/v5/policies/validate": {"post": op("Huawei IAM Access Analyzer's ValidatePolicy, offline (SPEC §14); open: it reads only the document sent",
                                         "access-analyzer", resp("AAValidateResponse"), "AAValidateBody",
                                         [query_param("limit", "Findings per page, 1-200 (default 200)"), query_param("marker", "next_marker of the page before")],
                                         security=None)},
    "/v5/policies/check-no-new-access": {"post": op("Huawei IAM Access Analyzer's CheckNoNewAccess, offline (SPEC §14); 422 when the comparison is not exact; open",
                                                    "access-analyzer", resp("AACheckNoNewAccessResponse"), "AACheckNoNewAccessBody", security=None)},
    "/v1/organization": {
        "get": op("The organization and its tree", "organization", resp("Organization")),
        "put": op("Create or update the organization (creates the root)", "organization", resp("Organization") | resp("Organization", "201", "Created"), "OrganizationBody")},
    "/v1/organization/import": {
        "put": op("Replace the whole organization with a workspace, validated first, in one transaction (one revision); 400 invalid_workspace lists every problem in error.problems", "organization", resp("Imported"), "ImportBody")},
    "/v1/organization/nodes": {
        "get": op("OUs and accounts, root first", "organization", resp("NodeList")),
        "post": op("Add an OU or account (FullAccess is attached to it)", "organization", resp("Node", "201", "Created"), "NodeBody")},
    "/v1/organization/nodes/{name}": {
        "parameters": [path_param("name", "Node name")],
        "get": op("One node", "organization", resp("Node")),
        "patch": op("Move a node under another parent", "organization", resp("Node"), "MoveBody"),
        "delete": op("Remove a node without children", "organization", resp("Deleted"))},
    "/v1/policies": {
        "get": op("Identity policies", "policies", resp("PolicyList"), params=[query_param("account", "Only this account's")]),
        "post": op("Create an identity policy (version v1, default)", "policies", resp("Policy", "201", "Created"), "PolicyBody")},
    "/v1/policies/{id}": {
        "parameters": [path_param("id", "Policy id")],
        "get": op("One policy with its default document", "policies", resp("Policy")),
        "delete": op("Delete a detached policy", "policies", resp("Deleted"))},
    "/v1/policies/{id}/versions": {
        "parameters": [path_param("id", "Policy id")],
        "get": op("Versions (at most 5 kept)", "policies", resp("VersionList")),
        "post": op("Add a version", "policies", resp("Policy", "201", "Created"), "VersionBody")},
    "/v1/policies/{id}/versions/{version}": {
        "parameters": [path_param("id", "Policy id"), path_param("version", "v1, v2, …")],
        "get": op("One version with its document", "policies", resp("PolicyVersion")),
        "delete": op("Delete a version that is not the default", "policies", resp("Policy"))},
    "/v1/policies/{id}/default-version": {
        "parameters": [path_param("id", "Policy id")],
        "put": op("Set the default version", "policies", resp("Policy"), "DefaultVersionBody")},
    "/v1/scps": {
        "get": op("SCPs, FullAccess first", "scps", resp("SCPList")),
        "post": op("Create an SCP", "scps", resp("SCP", "201", "Created"), "SCPBody")},
    "/v1/scps/{id}": {
        "parameters": [path_param("id", "SCP id")],
        "get": op("One SCP", "scps", resp("SCP")),
        "put": op("Change an SCP's document or description", "scps", resp("SCP"), "SCPUpdateBody"),
        "delete": op("Delete a detached SCP", "scps", resp("Deleted"))},
    "/v1/principals": {
        "get": op("Users, groups and agencies", "principals", resp("PrincipalList"), params=[query_param("account", "Only this account's")]),
        "post": op("Add a user, group or agency", "principals", resp("Principal", "201", "Created"), "PrincipalBody")},
    "/v1/principals/{urn}": {
        "parameters": [path_param("urn", "iam::ACCOUNT:user|group|agency:NAME")],
        "get": op("One principal", "principals", resp("Principal")),
        "delete": op("Remove a principal with nothing attached", "principals", resp("Deleted"))},
    "/v1/principals/{urn}/groups": {
        "parameters": [path_param("urn", "iam::ACCOUNT:user:NAME")],
        "put": op("Set a user's groups", "principals", resp("Principal"), "GroupsBody")},
    "/v1/principals/{urn}/settings": {
        "parameters": [path_param("urn", "iam::ACCOUNT:user|agency:NAME")],
        "put": op("Replace a user's or agency's tags, and an agency's trust policy and maximum session duration", "principals",
                  resp("Principal"), "SettingsBody")},
    "/v1/attachments": {
        "get": op("Attachments", "attachments", resp("AttachmentList"),
                  params=[query_param("policy", "Only this policy's"), query_param("target", "Only this target's")]),
        "post": op("Attach an identity policy to a principal (URN) or an SCP to a node (name)", "attachments",
                   resp("Attachment", "201", "Created") | resp("Attachment"), "Attachment"),
        "delete": op("Detach", "attachments", resp("Deleted"),
                     params=[{"name": "policy", "in": "query", "required": True, "schema": S},
                             {"name": "target", "in": "query", "required": True, "schema": S}])},
}

doc = {
    "openapi": "3.1.0",
    "info": {"title": "Bulwark PDP", "version": "0.1.0",
             "description": "Decisions, validation and management of Huawei Cloud-style IAM identity policies and SCPs. "
                            "Errors are {\"error\": {\"code\", \"message\", \"path\"}}."},
    "servers": [{"url": "http://127.0.0.1:8181"}],
    "components": {"schemas": schemas, "securitySchemes": {
        "admin": {"type": "http", "scheme": "bearer", "description": "--admin-token-file, BULWARK_ADMIN_TOKEN, or the generated DATA/admin-token"},
        "decisions": {"type": "http", "scheme": "bearer", "description": "Only when --decision-token-file or BULWARK_DECISION_TOKEN is set"}}},
    "paths": paths,
}
out = os.path.join(os.path.dirname(__file__), "..", "Sources", "BulwarkServer", "Resources", "openapi.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=False)
    f.write("\n")
print("wrote", os.path.normpath(out))
