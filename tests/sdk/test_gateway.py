"""The gateway tested with Huawei Cloud's official Python SDK (huaweicloudsdkcore/ims/swr).

Run by scripts/gateway/sdk-tests.sh, which starts `bulwark gateway` on the example in
examples/gateway (IMS and SWR upstreams: the built-in emulator) and sets BULWARK_GATEWAY.
Clients are built with the SDK's own builders, credentials (with project_id, so the SDK
never asks IAM) and with_endpoints pointing at the gateway; no test needs the internet.
"""
import hashlib
import json
import os
import unittest
import urllib.request
import warnings
from datetime import datetime, timedelta, timezone

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkims.v2 import (
    CreateImageRequest, CreateImageRequestBody, GlanceAddImageMemberRequest, GlanceAddImageMemberRequestBody,
    GlanceShowImageRequest, ImsClient, ListImagesRequest)
from huaweicloudsdkswr.v2 import (
    CreateNamespaceRequest, CreateNamespaceRequestBody, CreateRepoDomainsRequest, CreateRepoDomainsRequestBody,
    CreateRepoRequest, CreateRepoRequestBody, ListNamespacesRequest, ListReposDetailsRequest, SwrClient)

# The SDK marks the Glance-style image calls as deprecated; they are still the catalog's APIs.
warnings.simplefilter("ignore", DeprecationWarning)

GATEWAY = os.environ.get("BULWARK_GATEWAY", "http://127.0.0.1:18500")
# The same gateway configuration listening with TLS (a self-signed certificate).
GATEWAY_TLS = os.environ.get("BULWARK_GATEWAY_TLS")
PROJECT = "0a1b2c-project"
ALICE = ("ALICEACCESSKEY000001", "alice-secret-key-for-the-example-only")
BOB = ("BOBACCESSKEY00000002", "bob-secret-key-for-the-example-only")
DAVE = ("DAVEACCESSKEY0000003", "dave-secret-key-for-the-example-only")
# Temporary credentials: a session of the agency deployer, assumed by the user ci.
CI_SESSION = ("CISESSIONKEY00000004", "ci-session-secret-for-the-example-only")
CI_TOKEN = "ci-session-token-for-the-example-only"
SESSION_URN = "sts::0a1b2c:assumed-agency:deployer/pipeline-1"


def ims(keys, endpoint=None):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # the TLS gateway's certificate is self-signed
    return ImsClient.new_builder().with_http_config(config).with_credentials(BasicCredentials(*keys, PROJECT)) \
        .with_endpoints([endpoint or GATEWAY]).build()


def ims_session(token=CI_TOKEN):
    """An IMS client with the session's temporary credentials (the SDK sends X-Security-Token)."""
    credentials = BasicCredentials(*CI_SESSION, PROJECT)
    if token is not None:
        credentials = credentials.with_security_token(token)
    return ImsClient.new_builder().with_credentials(credentials).with_endpoints([GATEWAY]).build()


def swr(keys):
    return SwrClient.new_builder().with_credentials(BasicCredentials(*keys, PROJECT)).with_endpoints([GATEWAY]).build()


def received():
    with urllib.request.urlopen(GATEWAY + "/-/emulator/received") as r:
        return json.load(r)["received"]


def signed(method, path, body, keys=ALICE, date=None):
    """A request signed by the SDK's own Signer: (url, headers, body)."""
    host = GATEWAY.split("://", 1)[1]
    headers = {"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": PROJECT}
    if date:
        headers["X-Sdk-Date"] = date
    request = SdkRequest(method=method, schema="http", host=host, resource_path=path, uri=path,
                         query_params=[], header_params=headers, body=body.encode())
    Signer(BasicCredentials(*keys, PROJECT)).sign(request)
    return GATEWAY + request.uri, request.header_params, request.body


class GatewayWithTheSDK(unittest.TestCase):
    image_id = None

    @classmethod
    def setUpClass(cls):
        client = ims(ALICE)
        client.create_image(CreateImageRequest(body=CreateImageRequestBody(name="web", instance_id="i-1")))
        # By name: another class's setUpClass may have created an image first, and ids are random.
        cls.image_id = next(i.id for i in client.list_images(ListImagesRequest()).images if i.name == "web")

    def denied(self, call):
        with self.assertRaises(ClientRequestException) as caught:
            call()
        self.assertEqual(caught.exception.status_code, 403)
        self.assertEqual(caught.exception.error_code, "BWK.0403")
        return caught.exception.error_msg

    def test_allowed_ims_calls_succeed(self):
        client = ims(ALICE)
        self.assertIn(self.image_id, [i.id for i in client.list_images(ListImagesRequest()).images])
        shown = client.glance_show_image(GlanceShowImageRequest(image_id=self.image_id))
        self.assertEqual(shown.name, "web")
        # Sharing with an account of the organization is allowed.
        member = client.glance_add_image_member(GlanceAddImageMemberRequest(
            image_id=self.image_id, body=GlanceAddImageMemberRequestBody(member="7p7p7p")))
        self.assertEqual(member.member_id, "7p7p7p")

    def test_allowed_swr_calls_succeed(self):
        client = swr(ALICE)
        try:
            client.create_namespace(CreateNamespaceRequest(body=CreateNamespaceRequestBody(namespace="team")))
        except ClientRequestException as e:
            self.assertEqual(e.status_code, 409)  # made by the other SWR test
        client.create_repo(CreateRepoRequest(namespace="team", body=CreateRepoRequestBody(
            repository="app", is_public=False, category="linux", description="")))
        names = [n.name for n in client.list_namespaces(ListNamespacesRequest()).namespaces]
        self.assertIn("team", names)
        repos = client.list_repos_details(ListReposDetailsRequest(namespace="team")).body
        self.assertEqual([r.name for r in repos], ["app"])
        # Sharing with an account of the organization is allowed.
        client.create_repo_domains(CreateRepoDomainsRequest(namespace="team", repository="app", body=CreateRepoDomainsRequestBody(
            access_domain="partner", permit="read", deadline="forever", description="")))

    def test_a_call_allowed_by_identity_policy_but_blocked_by_an_scp_is_403(self):
        message = self.denied(lambda: ims(ALICE).glance_add_image_member(GlanceAddImageMemberRequest(
            image_id=self.image_id, body=GlanceAddImageMemberRequestBody(member="9z9z9z"))))
        self.assertIn("denied: ims:images:share on ims:cn-north-4:0a1b2c:image:" + self.image_id, message)
        self.assertIn("explicitly denied by an SCP", message)
        # Workspace policies are named by their file.
        self.assertIn('SCP "scps/deny-sharing-outside-org.json" (level 1) statement "NoImageSharingOutsideOrg"', message)

    def test_sharing_a_repository_outside_the_organization_is_403(self):
        client = swr(ALICE)
        try:
            client.create_namespace(CreateNamespaceRequest(body=CreateNamespaceRequestBody(namespace="team")))
        except ClientRequestException:
            pass  # created by the other test
        try:
            client.create_repo(CreateRepoRequest(namespace="team", body=CreateRepoRequestBody(
                repository="lib", is_public=False, category="linux", description="")))
        except ClientRequestException:
            pass
        message = self.denied(lambda: client.create_repo_domains(CreateRepoDomainsRequest(
            namespace="team", repository="lib", body=CreateRepoDomainsRequestBody(
                access_domain="someone-else", permit="read", deadline="forever", description=""))))
        self.assertIn("swr:repo:createRepoDomain on swr:cn-north-4:0a1b2c:repo:team/lib", message)
        self.assertIn("NoRepoSharingOutsideOrg", message)

    def test_a_call_whose_dependency_action_is_missing_is_refused(self):
        # bob may share images but not read them; sharing needs ims:images:get too.
        message = self.denied(lambda: ims(BOB).glance_add_image_member(GlanceAddImageMemberRequest(
            image_id=self.image_id, body=GlanceAddImageMemberRequestBody(member="7p7p7p"))))
        self.assertIn("denied: ims:images:get", message)
        self.assertIn("a dependency of POST /v2/images/{image_id}/members", message)
        self.assertIn("no identity policy of iam::0a1b2c:user:bob allows it", message)

    def test_no_identity_allow_is_403(self):
        message = self.denied(lambda: swr(BOB).list_namespaces(ListNamespacesRequest()))
        self.assertIn("swr:namespace:listNamespaces", message)

    @unittest.skipUnless(GATEWAY_TLS, "BULWARK_GATEWAY_TLS is not set")
    def test_g_secure_transport_is_true_only_over_tls(self):
        # dave may list images only when g:SecureTransport is true.
        message = self.denied(lambda: ims(DAVE).list_images(ListImagesRequest()))
        self.assertIn("denied: ims:images:list on *: no identity policy of iam::0a1b2c:user:dave allows it", message)
        listed = ims(DAVE, GATEWAY_TLS).list_images(ListImagesRequest())
        self.assertIsNotNone(listed.images)

    def unauthenticated(self, url, headers, body, method="POST"):
        response = requests.request(method, url, headers=headers, data=body)
        self.assertEqual(response.status_code, 401, response.text)
        answer = response.json()
        self.assertEqual(answer["error_code"], "BWK.0401")
        return answer["error_msg"]

    def test_a_wrong_secret_is_401(self):
        with self.assertRaises(ClientRequestException) as caught:
            ims((ALICE[0], "not-the-secret")).list_images(ListImagesRequest())
        self.assertEqual(caught.exception.status_code, 401)
        self.assertIn("signature does not match", caught.exception.error_msg)

    def test_an_unknown_access_key_is_401(self):
        with self.assertRaises(ClientRequestException) as caught:
            ims(("NOSUCHKEY", "x")).list_images(ListImagesRequest())
        self.assertEqual(caught.exception.status_code, 401)

    def test_a_tampered_body_is_401(self):
        path = f"/v2/images/{self.image_id}/members"
        url, headers, body = signed("POST", path, json.dumps({"member": "7p7p7p"}))
        # The SDK's signature verifies as sent...
        ok = requests.post(url, headers=headers, data=body)
        self.assertEqual(ok.status_code, 200, ok.text)
        # ...but not once the body changes (here: to an account outside the organization).
        message = self.unauthenticated(url, headers, json.dumps({"member": "9z9z9z"}).encode())
        self.assertIn("signature does not match", message)

    def test_an_expired_date_is_401(self):
        old = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
        url, headers, body = signed("POST", f"/v2/images/{self.image_id}/members", json.dumps({"member": "7p7p7p"}), date=old)
        self.assertIn("minutes from the gateway's clock", self.unauthenticated(url, headers, body))

    def test_no_signature_is_401(self):
        self.unauthenticated(GATEWAY + "/v2/cloudimages", {}, None, method="GET")

    def test_nothing_denied_or_unauthenticated_reaches_the_upstream(self):
        # Run the refusals again here so this test stands on its own.
        self.denied(lambda: ims(ALICE).glance_add_image_member(GlanceAddImageMemberRequest(
            image_id=self.image_id, body=GlanceAddImageMemberRequestBody(member="9z9z9z"))))
        self.denied(lambda: ims(BOB).glance_add_image_member(GlanceAddImageMemberRequest(
            image_id=self.image_id, body=GlanceAddImageMemberRequestBody(member="7p7p7p"))))
        url, headers, body = signed("POST", f"/v2/images/{self.image_id}/members", json.dumps({"member": "7p7p7p"}), keys=(ALICE[0], "bad"))
        self.unauthenticated(url, headers, body)
        bodies = [c["body"] for c in received()]
        self.assertFalse(any("9z9z9z" in b for b in bodies), "a denied share reached the emulator")
        self.assertFalse(any("someone-else" in b for b in bodies), "a denied repository share reached the emulator")
        members = [c for c in received() if c["path"].endswith("/members")]
        # Only alice's allowed shares with 7p7p7p arrived (never bob's, never the unsigned one's twin).
        self.assertTrue(all(json.loads(c["body"])["member"] == "7p7p7p" for c in members))


class FailClosed(unittest.TestCase):
    """SPEC §9 "Fail closed": calls signed by the SDK's own Signer, crafted as an attacker would.
    Each refusal is checked together with what the emulator received: nothing of it."""

    image_id = None

    @classmethod
    def setUpClass(cls):
        client = ims(ALICE)
        client.create_image(CreateImageRequest(body=CreateImageRequestBody(name="fail-closed", instance_id="i-2")))
        cls.image_id = next(i.id for i in client.list_images(ListImagesRequest()).images if i.name == "fail-closed")

    def send(self, method, path, body, url_path=None, keys=ALICE):
        """Signs `body` (text or bytes) for `path` with the SDK's Signer; sends it to `url_path` if given."""
        data = body if isinstance(body, bytes) else body.encode()
        url, headers, _ = signed_bytes(method, path, data, keys=keys)
        return requests.request(method, GATEWAY + url_path if url_path else url, headers=headers, data=data)

    def assert_not_forwarded(self, marker):
        self.assertFalse(any(marker in c["body"] or marker in c["path"] for c in received()), f"{marker} reached the emulator")

    def test_bodies_the_gateway_cannot_read_are_400_and_never_forwarded(self):
        path = f"/v2/images/{self.image_id}/members"
        utf16 = '{"member":"8x8x8x"}'.encode("utf-16")
        for what, body in [
            ("duplicate key", b'{"member":"7p7p7p","member":"8x8x8x"}'),
            ("byte-order mark", b'\xef\xbb\xbf{"member":"8x8x8x"}'),
            ("65-deep array", b'{"member":"8x8x8x","x":' + b"[" * 65 + b"]" * 65 + b"}"),
            ("UTF-16", utf16),
        ]:
            response = self.send("POST", path, body)
            self.assertEqual(response.status_code, 400, f"{what}: {response.text}")
            self.assertIn("cannot be authorized", response.json()["error_msg"], what)
        self.assert_not_forwarded("8x8x8x")

    def test_a_declared_payload_hash_is_never_trusted(self):
        path = f"/v2/images/{self.image_id}/members"
        original = b'{"member":"7p7p7p"}'
        digest = hashlib.sha256(original).hexdigest()
        url, headers, _ = signed_bytes("POST", path, original, extra={"X-Sdk-Content-Sha256": digest})
        replay = requests.post(url, headers=headers, data=b'{"member":"6y6y6y"}')
        self.assertEqual(replay.status_code, 401, replay.text)
        self.assertIn("X-Sdk-Content-Sha256 does not match", replay.json()["error_msg"])
        self.assert_not_forwarded("6y6y6y")

    def test_an_encoded_slash_is_refused(self):
        body = '{"member":"7p7p7p"}'
        response = self.send("POST", f"/v2/images/{self.image_id}/members", body, url_path=f"/v2/images/{self.image_id}%2Fmembers")
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn("encoded /", response.json()["error_msg"])
        self.assert_not_forwarded("%2F")

    def test_a_body_images_array_does_not_replace_the_path_image(self):
        # bob may not read images; naming one in the body changes nothing.
        response = self.send("GET", f"/v2/images/{self.image_id}", '{"images":["' + self.image_id + '"]}', keys=BOB)
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn(f"ims:images:get on ims:cn-north-4:0a1b2c:image:{self.image_id}", response.json()["error_msg"])

    def test_a_wrong_method_is_405_with_allow(self):
        response = self.send("PUT", "/v2/cloudimages", "")
        self.assertEqual(response.status_code, 405, response.text)
        self.assertEqual(response.headers["Allow"], "GET")


def signed_bytes(method, path, body, keys=ALICE, extra=None):
    """Like signed(), for a body that is not text: the SDK signs the bytes it is given."""
    host = GATEWAY.split("://", 1)[1]
    headers = {"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": PROJECT, **(extra or {})}
    request = SdkRequest(method=method, schema="http", host=host, resource_path=path, uri=path,
                         query_params=[], header_params=headers, body=body)
    Signer(BasicCredentials(*keys, PROJECT)).sign(request)
    return GATEWAY + request.uri, request.header_params, request.body


class TemporaryCredentials(unittest.TestCase):
    """SPEC §10: the access key of a session and its security token, through the SDK."""

    def test_a_session_calls_with_the_agencys_policies(self):
        # ci itself may only assume the agency; its session lists images with the agency's policy.
        listed = ims_session().list_images(ListImagesRequest())
        self.assertIsNotNone(listed.images)

    def test_the_session_policy_narrows_the_agency(self):
        # The agency may create images (image-team); the session policy keeps the session to reading.
        with self.assertRaises(ClientRequestException) as caught:
            ims_session().create_image(CreateImageRequest(body=CreateImageRequestBody(name="from-ci", instance_id="i-9")))
        self.assertEqual(caught.exception.status_code, 403)
        self.assertIn(f"no session policy of {SESSION_URN} allows it", caught.exception.error_msg)

    def test_the_token_is_required_and_must_match(self):
        for token, expected in [(None, "X-Security-Token header is missing"), ("a-guess", "security token is not the one")]:
            with self.assertRaises(ClientRequestException) as caught:
                ims_session(token).list_images(ListImagesRequest())
            self.assertEqual(caught.exception.status_code, 401)
            self.assertIn(expected, caught.exception.error_msg)

    def test_a_permanent_key_with_a_token_is_401(self):
        credentials = BasicCredentials(*ALICE, PROJECT).with_security_token(CI_TOKEN)
        client = ImsClient.new_builder().with_credentials(credentials).with_endpoints([GATEWAY]).build()
        with self.assertRaises(ClientRequestException) as caught:
            client.list_images(ListImagesRequest())
        self.assertEqual(caught.exception.status_code, 401)
        self.assertIn("not a temporary access key", caught.exception.error_msg)


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")
