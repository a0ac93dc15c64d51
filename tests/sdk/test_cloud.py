"""`bulwark pull`, `bulwark plan` and the gateway in front of a strict upstream, proven with Huawei
Cloud's official Python SDK clients (IAM v5, Organizations, CTS, IMS) against `bulwark emulator`.

The organization is built through the SDK (examples/cloud/build_organization.py): the emulator
must accept every call the SDK makes and answer what its models parse. Then `bulwark pull` must
write a workspace that decides what the SDK set up, and `bulwark plan` must report exactly what
the SDK changes afterwards; the calls it lists are made with the SDK and the plan becomes empty.

Run by scripts/gateway/sdk-tests.sh with BULWARK_BIN set; it starts its own emulators and gateways.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcts import v3 as cts
from huaweicloudsdkiam import v5 as iam
from huaweicloudsdkims import v2 as ims
from huaweicloudsdkorganizations import v1 as org

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "cloud"))
import build_organization  # noqa: E402

BULWARK = os.environ.get("BULWARK_BIN", os.path.join(ROOT, ".build/release/bulwark"))
EXAMPLES = os.path.join(ROOT, "examples", "cloud")
DEV = build_organization.DEV
MANAGEMENT = build_organization.MANAGEMENT


def private_copy(name, folder):
    """Git does not keep file modes: Bulwark refuses credential files others can read."""
    path = os.path.join(folder, name)
    shutil.copy(os.path.join(EXAMPLES, name), path)
    os.chmod(path, 0o600)
    return path


def wait(url):
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def bulwark(*args):
    return subprocess.run([BULWARK, *args], capture_output=True, text=True, timeout=120)


class Cloud:
    """An emulator on its own port with the example keys; stopped with stop()."""

    def __init__(self, port, folder, strict=False):
        self.url = f"http://127.0.0.1:{port}"
        keys = private_copy("emulator-keys.yaml", folder)
        args = ["emulator", "--listen", f"127.0.0.1:{port}", "--credentials", keys, "--data", os.path.join(folder, f"cloud-{port}.sqlite")]
        self.process = subprocess.Popen([BULWARK, *args] + (["--strict"] if strict else []), stderr=subprocess.DEVNULL)
        wait(self.url + "/-/healthz")

    def endpoints(self):
        return ["--endpoint", f"iam={self.url}", "--endpoint", f"organizations={self.url}"]

    def stop(self):
        self.process.terminate()
        self.process.wait()


def iam_client(cloud, key):
    return iam.IamClient.new_builder().with_credentials(GlobalCredentials(*key)).with_endpoints([cloud.url]).build()


class PullAndPlan(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp()
        cls.cloud = Cloud(18540, cls.folder)
        cls.ids = build_organization.build(cls.cloud.url)
        cls.keys = private_copy("pull-keys.yaml", cls.folder)

    @classmethod
    def tearDownClass(cls):
        cls.cloud.stop()
        shutil.rmtree(cls.folder)

    def pull(self, name):
        into = os.path.join(self.folder, name)
        result = bulwark("pull", "--credentials", self.keys, "--into", into, *self.cloud.endpoints())
        self.assertEqual(result.returncode, 0, result.stderr)
        return into

    def plan(self, workspace, *extra):
        result = bulwark("plan", "--workspace", workspace, "--credentials", self.keys, *self.cloud.endpoints(), "--format", "json", *extra)
        self.assertIn(result.returncode, (0, 1), result.stderr)
        return result.returncode, json.loads(result.stdout)

    def decide(self, workspace, principal, action):
        result = bulwark("simulate", "--workspace", workspace, "--principal", principal, "--action", action, "--format", "json")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["decision"]

    def test_a_pulled_workspace_decides_what_the_sdk_set_up(self):
        workspace = self.pull("pulled")
        files = sorted(os.path.relpath(os.path.join(d, f), workspace) for d, _, fs in os.walk(workspace) for f in fs)
        self.assertEqual(files, [
            "accounts/1a2b3c/account.yaml", "accounts/1a2b3c/policies/image-admin.json",
            "accounts/4d5e6f/account.yaml", "accounts/4d5e6f/policies/SWRFullAccessPolicy.json",
            "accounts/4d5e6f/policies/image-all.json", "accounts/4d5e6f/policies/image-readers.json",
            "accounts/4d5e6f/trust-policies/deployer.json", "organization.yaml", "scps/deny-image-delete.json"])
        self.assertEqual(self.decide(workspace, "iam::4d5e6f:user:alice", "ims:images:get"), "allow")  # through developers
        self.assertEqual(self.decide(workspace, "iam::4d5e6f:user:alice", "ims:images:create"), "deny")
        self.assertEqual(self.decide(workspace, "iam::4d5e6f:user:bob", "ims:images:create"), "allow")
        self.assertEqual(self.decide(workspace, "iam::4d5e6f:user:bob", "ims:images:deleteImage"), "deny")  # the SCP on engineering
        self.assertEqual(self.decide(workspace, "iam::1a2b3c:user:admin", "ims:images:deleteImage"), "allow")  # not in engineering
        self.assertEqual(self.decide(workspace, "iam::4d5e6f:agency:deployer", "swr:repo:createRepo"), "allow")  # a system policy
        # The same cloud state, the same bytes.
        again = self.pull("pulled-again")
        self.assertEqual(subprocess.run(["diff", "-r", workspace, again]).returncode, 0)

    def test_plan_reports_exactly_what_the_sdk_changed_and_its_calls_undo_it(self):
        workspace = self.pull("before-change")
        self.assertEqual(self.plan(workspace), (0, {"changes": [], "calls": []}))
        dev = iam_client(self.cloud, DEV)
        dev.detach_user_policy_v5(iam.DetachUserPolicyV5Request(
            policy_id=self.ids["image-all"], body=iam.DetachUserPolicyReqBody(user_id=self.ids["bob"])))
        code, plan = self.plan(workspace)
        self.assertEqual(code, 1)
        self.assertEqual([c["principal"] for c in plan["changes"]], ["iam::4d5e6f:user:bob"])
        self.assertEqual(plan["changes"][0]["removed"], [])
        added = {a for region in plan["changes"][0]["added"] for a in region["actions"]}
        self.assertIn("ims:images:create", added)
        self.assertNotIn("ims:images:deleteImage", added)  # the SCP denies it on both sides
        self.assertEqual(plan["calls"], [{
            "service": "iam", "account": "4d5e6f", "method": "POST",
            "path": f"/v5/policies/{self.ids['image-all']}/attach-user", "body": {"user_id": self.ids["bob"]}}])
        # Make the planned call with the SDK: the cloud matches the workspace again.
        dev.attach_user_policy_v5(iam.AttachUserPolicyV5Request(
            policy_id=self.ids["image-all"], body=iam.AttachUserPolicyReqBody(**plan["calls"][0]["body"])))
        self.assertEqual(self.plan(workspace), (0, {"changes": [], "calls": []}))

    def test_an_edited_policy_plans_a_new_default_version(self):
        workspace = self.pull("to-edit")
        path = os.path.join(workspace, "accounts/4d5e6f/policies/image-readers.json")
        with open(path) as f:
            document = json.load(f)
        document["Statement"][0]["Action"].append("ims:images:create")
        with open(path, "w") as f:
            json.dump(document, f, indent=2)
        code, plan = self.plan(workspace)
        self.assertEqual(code, 1)
        self.assertEqual([c["principal"] for c in plan["changes"]], ["iam::4d5e6f:user:alice"])
        self.assertEqual([a for r in plan["changes"][0]["added"] for a in r["actions"]], ["ims:images:create"])
        [call] = plan["calls"]
        self.assertEqual(call["path"], f"/v5/policies/{self.ids['image-readers']}/versions")
        dev = iam_client(self.cloud, DEV)
        version = dev.create_policy_version_v5(iam.CreatePolicyVersionV5Request(
            policy_id=self.ids["image-readers"], body=iam.CreatePolicyVersionReqBody(**call["body"]))).policy_version
        self.assertTrue(version.is_default)
        self.assertEqual(self.plan(workspace)[0], 0)
        # Put it back for the other tests.
        dev.set_default_policy_version_v5(iam.SetDefaultPolicyVersionV5Request(policy_id=self.ids["image-readers"], version_id="v1"))


class AccountsWithoutKeys(unittest.TestCase):
    def test_an_account_without_a_key_is_named_and_the_rest_written(self):
        folder = tempfile.mkdtemp()
        cloud = Cloud(18541, folder)
        try:
            build_organization.build(cloud.url)
            mgmt = org.OrganizationsClient.new_builder().with_credentials(GlobalCredentials(*MANAGEMENT)).with_endpoints([cloud.url]).build()
            status = mgmt.create_account(org.CreateAccountRequest(body=org.CreateAccountReqBody(name="sandbox"))).create_account_status
            self.assertEqual(status.state, "succeeded")
            into = os.path.join(folder, "pulled")
            result = bulwark("pull", "--credentials", private_copy("pull-keys.yaml", folder), "--into", into, *cloud.endpoints())
            self.assertEqual(result.returncode, 1)
            self.assertIn(f"pull: account sandbox not read: no key for account sandbox ({status.account_id})", result.stderr)
            with open(os.path.join(into, "organization.yaml")) as f:
                self.assertIn("# Not read: sandbox: no key for account sandbox", f.read())
            self.assertTrue(os.path.exists(os.path.join(into, "accounts/4d5e6f/account.yaml")))
        finally:
            cloud.stop()
            shutil.rmtree(folder)


class GatewayInFrontOfAStrictUpstream(unittest.TestCase):
    """The gateway re-signs allowed calls with its own key: a strict upstream accepts them and
    refuses the same call forwarded unchanged (its signature covers the gateway's host)."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp()
        cls.cloud = Cloud(18542, cls.folder, strict=True)
        ids = build_organization.build(cls.cloud.url)
        dev = iam_client(cls.cloud, DEV)
        admin = next(u.user_id for u in dev.list_users_v5(iam.ListUsersV5Request()).users if u.user_name == "admin")
        dev.attach_user_policy_v5(iam.AttachUserPolicyV5Request(policy_id=ids["image-readers"], body=iam.AttachUserPolicyReqBody(user_id=admin)))
        workspace = os.path.join(cls.folder, "pulled")
        result = bulwark("pull", "--credentials", private_copy("pull-keys.yaml", cls.folder), "--into", workspace, *cls.cloud.endpoints())
        assert result.returncode == 0, result.stderr
        clients = private_copy("gateway-client-keys.yaml", cls.folder)
        common = ["gateway", "--workspace", workspace, "--credentials", clients, "--upstream", f"ims={cls.cloud.url}", "--decision-log", "none",
                  "--log-level", "warning"]
        upstream_keys = private_copy("gateway-upstream-keys.yaml", cls.folder)
        cls.gateways = [
            subprocess.Popen([BULWARK, *common, "--listen", "127.0.0.1:18543", "--upstream-credentials", upstream_keys], stderr=subprocess.DEVNULL),
            subprocess.Popen([BULWARK, *common, "--listen", "127.0.0.1:18544"], stderr=subprocess.DEVNULL),
        ]
        wait("http://127.0.0.1:18543/-/healthz")
        wait("http://127.0.0.1:18544/-/healthz")

    @classmethod
    def tearDownClass(cls):
        for gateway in cls.gateways:
            gateway.terminate()
            gateway.wait()
        cls.cloud.stop()
        shutil.rmtree(cls.folder)

    @staticmethod
    def ims_client(port, key):
        credentials = BasicCredentials(key[0], key[1], "4d5e6f-cn-north-4")
        return ims.ImsClient.new_builder().with_credentials(credentials).with_endpoints([f"http://127.0.0.1:{port}"]).build()

    def test_a_re_signed_call_passes_and_an_unchanged_one_is_refused(self):
        bob = ("BOBACCESSKEY00000002", "bob-secret-for-the-example-only")
        self.assertEqual(self.ims_client(18543, bob).list_images(ims.ListImagesRequest()).images, [])
        # The dev account's admin key is known to the upstream too: unchanged, its signature is for the gateway's host.
        with self.assertRaises(ClientRequestException) as refused:
            self.ims_client(18544, DEV[:2]).list_images(ims.ListImagesRequest())
        self.assertEqual(refused.exception.status_code, 401)
        self.assertIn("the signature does not match the request", refused.exception.error_msg)
        self.assertEqual(self.ims_client(18543, DEV[:2]).list_images(ims.ListImagesRequest()).images, [])
        # Denied calls never reach the upstream.
        with self.assertRaises(ClientRequestException) as denied:
            self.ims_client(18543, ("ALICEACCESSKEY000001", "alice-secret-for-the-example-only")).glance_delete_image(
                ims.GlanceDeleteImageRequest(image_id="img-1"))
        self.assertEqual(denied.exception.status_code, 403)
        # CTS on the upstream shows who it saw: the gateway's key, never a client's.
        client = cts.CtsClient.new_builder().with_credentials(BasicCredentials(DEV[0], DEV[1], "4d5e6f-cn-north-4")) \
            .with_endpoints([self.cloud.url]).build()
        traces = client.list_traces(cts.ListTracesRequest(trace_type="system", service_type="IMS", limit=10)).traces
        self.assertEqual({t.user.principal_urn for t in traces}, {"iam::4d5e6f:user:gateway"})
        self.assertEqual({t.code for t in traces}, {"200"})
        self.assertEqual(len(traces), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
