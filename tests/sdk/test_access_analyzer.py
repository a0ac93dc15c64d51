"""Huawei IAM Access Analyzer's policy checks on `bulwark serve`, called with the official
Python SDK (huaweicloudsdkiamaccessanalyzer): `ValidatePolicy` and `CheckNoNewAccess` requests
built and signed by the SDK's own client, answers parsed into its models.

Run by scripts/gateway/sdk-tests.sh, which starts `bulwark serve` and sets BULWARK_SERVER.
"""
import os
import unittest

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkiamaccessanalyzer.v1 import (
    CheckNoNewAccessReqBody, CheckNoNewAccessRequest, IAMAccessAnalyzerClient, ValidatePolicyReqBody,
    ValidatePolicyRequest)

SERVER = os.environ.get("BULWARK_SERVER", "http://127.0.0.1:18520")

# The second statement names an action IMS does not have; the third allows everything on IMS.
POLICY = """{
  "Version": "5.0",
  "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": ["ims:images:get"], "Resource": ["ims:*:*:image:*"]},
    {"Sid": "Typo", "Effect": "Allow", "Action": ["ims:images:gett"], "Resource": ["*"]},
    {"Sid": "Wide", "Effect": "Allow", "Action": ["ims:*"], "Resource": ["*"]}
  ]
}"""


def client():
    # Signed like any Huawei call; the server reads only the documents sent.
    # (A project id is given, so the SDK never asks IAM for one.)
    credentials = BasicCredentials("ANALYZERKEY000000001", "analyzer-secret-for-the-sdk-tests-only", "0a1b2c-project")
    return IAMAccessAnalyzerClient.new_builder().with_credentials(credentials).with_endpoints([SERVER]).build()


class ValidatePolicy(unittest.TestCase):
    def validate(self, document, policy_type="identity_policy", **extra):
        body = ValidatePolicyReqBody(policy_document=document, policy_type=policy_type, **extra)
        return client().validate_policy(ValidatePolicyRequest(body=body))

    def test_findings_have_codes_types_and_spans(self):
        response = self.validate(POLICY)
        codes = [f.issue_code for f in response.findings]
        self.assertIn("UNKNOWN_ACTION", codes)
        typo = next(f for f in response.findings if f.issue_code == "UNKNOWN_ACTION")
        self.assertEqual(typo.finding_type, "error")
        self.assertIn("ims:images:gett", typo.finding_details)
        self.assertTrue(typo.learn_more_link.endswith("UNKNOWN_ACTION.md"))
        location = typo.locations[0]
        self.assertEqual([(p.key, p.index) for p in location.path],
                         [("Statement", None), (None, 1), ("Action", None), (None, 0)])
        # The span is the value "ims:images:gett" on line 5 (lines from 1, columns and offsets from 0).
        start, end = location.span.start, location.span.end
        self.assertEqual(start.line, 5)
        self.assertEqual(POLICY[start.offset:end.offset], '"ims:images:gett"')
        line = POLICY.split("\n")[4]
        self.assertEqual(line[start.column:end.column], '"ims:images:gett"')
        self.assertEqual(response.page_info.current_count, len(response.findings))

    def test_pages(self):
        everything = self.validate(POLICY).findings
        self.assertGreaterEqual(len(everything), 2)
        body = ValidatePolicyReqBody(policy_document=POLICY, policy_type="identity_policy")
        first = client().validate_policy(ValidatePolicyRequest(body=body, limit=1))
        self.assertEqual(len(first.findings), 1)
        self.assertEqual(first.page_info.next_marker, "1")
        rest = client().validate_policy(ValidatePolicyRequest(body=body, limit=200, marker="1"))
        self.assertEqual([f.issue_code for f in first.findings + rest.findings], [f.issue_code for f in everything])
        self.assertIsNone(rest.page_info.next_marker)

    def test_clean_scp_and_trust_policies(self):
        scp = '{"Version": "5.0", "Statement": [{"Effect": "Deny", "Action": ["ims:images:share"], "Resource": ["*"]}]}'
        self.assertEqual(self.validate(scp, "service_control_policy").findings, [])
        trust = ('{"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["sts:agencies:assume"], '
                 '"Principal": {"IAM": ["iam::0a1b2c:user:ci"]}}]}')
        response = self.validate(trust, "resource_policy", validate_policy_resource_type="iam:agency")
        self.assertNotIn("error", [f.finding_type for f in response.findings])

    def test_a_syntax_error_is_a_finding(self):
        response = self.validate('{"Version": "5.0", "Statement": [')
        self.assertEqual([f.finding_type for f in response.findings][:1], ["error"])

    def test_an_unknown_policy_type_is_refused(self):
        with self.assertRaises(ClientRequestException) as raised:
            self.validate(POLICY, "network_control_policy")
        self.assertEqual(raised.exception.status_code, 400)


class CheckNoNewAccess(unittest.TestCase):
    def check(self, existing, new, policy_type="identity_policy"):
        body = CheckNoNewAccessReqBody(existing_policy_document=existing, new_policy_document=new, policy_type=policy_type)
        return client().check_no_new_access(CheckNoNewAccessRequest(body=body))

    READ = '{"Version": "5.0", "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": ["ims:images:get", "ims:images:list"], "Resource": ["*"]}]}'

    def test_narrower_passes(self):
        narrower = '{"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"], "Resource": ["*"]}]}'
        response = self.check(self.READ, narrower)
        self.assertEqual(response.check_result, "pass")
        self.assertEqual(response.reasons, [])

    def test_wider_fails_naming_the_statement(self):
        wider = ('{"Version": "5.0", "Statement": ['
                 '{"Sid": "Read", "Effect": "Allow", "Action": ["ims:images:get", "ims:images:list"], "Resource": ["*"]}, '
                 '{"Sid": "Share", "Effect": "Allow", "Action": ["ims:images:share"], "Resource": ["*"]}]}')
        response = self.check(self.READ, wider)
        self.assertEqual(response.check_result, "fail")
        self.assertEqual([(r.statement_index, r.statement_id) for r in response.reasons], [(1, "Share")])
        self.assertIn("ims:images:share", response.reasons[0].description)

    def test_scps_compare_as_guardrails(self):
        deny = '{"Version": "5.0", "Statement": [{"Effect": "Deny", "Action": ["ims:images:share"], "Resource": ["*"]}, {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}'
        allow_all = '{"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]}'
        self.assertEqual(self.check(deny, allow_all, "service_control_policy").check_result, "fail")
        self.assertEqual(self.check(allow_all, deny, "service_control_policy").check_result, "pass")


if __name__ == "__main__":
    unittest.main(verbosity=2)
