"""`bulwark replay`, `unused` and `generate --traces` on trace files made with the official CTS
SDK's models (huaweicloudsdkcts `ListTracesResponse`, `Traces`, `UserInfo`): the field names and
types CTS answers with, nulls included.

Run by scripts/gateway/sdk-tests.sh, which sets BULWARK_BIN.
"""
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from huaweicloudsdkcts.v3 import ListTracesResponse, Traces, UserInfo

BULWARK = os.environ.get("BULWARK_BIN", ".build/release/bulwark")
WORKSPACE = "examples/workspace"
DAY = 1764460800000  # 2025-11-30T00:00:00Z


def trace(trace_id, user, method, path, code="200", minutes=0, service="IMS", agency=False):
    if agency:
        caller = UserInfo(principal_urn=f"sts::0a1b2c:assumed-agency:{user}/build-7", account_id="0a1b2c",
                          type="AssumedAgency", name=f"dev-domain/{user}", principal_id=f"agency-id:build-7")
    else:
        caller = UserInfo(principal_urn=f"iam::0a1b2c:user:{user}", account_id="0a1b2c", type="User", name=user,
                          id=f"id-{user}", access_key_id="HSTAZEXAMPLE")
    host = ("ims" if service == "IMS" else "swr-api") + ".cn-north-4.myhuaweicloud.com"
    body = Traces(trace_id=trace_id, trace_name=path.rsplit("/", 1)[-1], trace_type="ApiCall", service_type=service,
                  code=code, time=DAY + minutes * 60_000, source_ip="10.0.0.7", endpoint=host,
                  resource_url=f"https://{host}{path}", user=caller, read_only=method == "GET").to_dict()
    body["http_method"] = method  # Bulwark's convention: the model has no method field
    return body


TRACES = [
    trace("t-1", "bob", "GET", "/v2/cloudimages"),
    trace("t-2", "bob", "GET", "/v2/images/img-1", minutes=60),
    trace("t-3", "bob", "POST", "/v2/images", code="403", minutes=90),
    trace("t-4", "ci-deployer", "GET", "/v2/manage/namespaces/team/repos/web", service="SWR", agency=True, minutes=120),
]


def run(*args):
    return subprocess.run([BULWARK, *args], capture_output=True, text=True)


class Traces_(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp()
        # A ListTraces answer as the SDK models it, and the same traces as a gzip'd trace file.
        cls.answer = os.path.join(cls.work, "answer.json")
        with open(cls.answer, "w") as f:
            json.dump(ListTracesResponse(traces=TRACES, meta_data={"count": len(TRACES), "marker": None}).to_dict(), f)
        cls.gz = os.path.join(cls.work, "traces.json.gz")
        with gzip.open(cls.gz, "wt") as f:
            json.dump(TRACES, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work)

    def test_replay_decides_every_call(self):
        for file in (self.answer, self.gz):
            result = run("replay", "--traces", file, "--workspace", WORKSPACE, "--format", "json")
            self.assertEqual(result.returncode, 0, result.stderr)
            out = json.loads(result.stdout)
            self.assertEqual(out["total"], 4)
            self.assertEqual(out["unmapped"], [])
            decided = [(r["traceId"], r["principal"], r["action"], r["decision"]) for r in out["results"]]
            self.assertEqual(decided, [
                ("t-1", "iam::0a1b2c:user:bob", "ims:images:list", "allow"),
                ("t-2", "iam::0a1b2c:user:bob", "ims:images:get", "allow"),
                ("t-3", "iam::0a1b2c:user:bob", "ims:images:create", "deny"),
                # The session counts under its agency, which may read the team's repositories.
                ("t-4", "iam::0a1b2c:agency:ci-deployer", "swr:repo:getRepo", "allow"),
            ])

    def test_unused_counts_successful_calls(self):
        result = run("unused", "--traces", self.gz, "--workspace", WORKSPACE, "--format", "json")
        self.assertEqual(result.returncode, 0, result.stderr)
        principals = {p["principal"]: p for p in json.loads(result.stdout)["principals"]}
        self.assertEqual(principals["iam::0a1b2c:user:bob"]["unused"], [])
        self.assertIn("swr:repo:getRepo", principals["iam::0a1b2c:agency:ci-deployer"]["used"])
        self.assertIn("swr:repo:upload", principals["iam::0a1b2c:agency:ci-deployer"]["unused"])

    def test_generate_learns_bobs_calls(self):
        result = run("generate", "--traces", self.answer, "--principal", "iam::0a1b2c:user:bob")
        self.assertEqual(result.returncode, 0, result.stderr)
        policy = json.loads(result.stdout)
        actions = sorted(a for s in policy["Statement"] for a in s["Action"])
        # The failed create (403) is not learned.
        self.assertEqual(actions, ["ims:images:get", "ims:images:list"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
