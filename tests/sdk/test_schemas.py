"""IAM's authorization-schema API of `bulwark emulator`, called with Huawei Cloud's official
Python SDK (huaweicloudsdkiam v5), and `bulwark catalog pull` checked against what the SDK reads.

Run by scripts/gateway/sdk-tests.sh, which starts `bulwark emulator --schemas DIR --credentials
FILE` and sets BULWARK_EMULATOR, BULWARK_BIN and BULWARK_SCHEMAS. The SDK's own client signs
every call (GlobalCredentials with a domain id, so it never asks IAM for one) and parses every
answer into its models: the emulator speaks the wire format the SDK expects.
"""
import json
import os
import subprocess
import tempfile
import unittest

from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkiam.v5 import (
    GetAuthorizationSchemaV5Request, IamClient, ListRegisteredServicesForAuthSchemaV5Request)

EMULATOR = os.environ.get("BULWARK_EMULATOR", "http://127.0.0.1:18510")
BULWARK = os.environ.get("BULWARK_BIN", ".build/release/bulwark")
SCHEMAS = os.environ.get("BULWARK_SCHEMAS")
KEY = ("PULLACCESSKEY0000001", "pull-secret-for-the-sdk-tests-only")


def client(key=KEY):
    credentials = GlobalCredentials(key[0], key[1], "0a1b2c")
    return IamClient.new_builder().with_credentials(credentials).with_endpoints([EMULATOR]).build()


class AuthorizationSchemas(unittest.TestCase):
    def test_registered_services_pages_with_the_sdk(self):
        first = client().list_registered_services_for_auth_schema_v5(ListRegisteredServicesForAuthSchemaV5Request(limit=1))
        self.assertEqual(len(first.service_codes), 1)
        self.assertIsNotNone(first.page_info.next_marker)
        codes = list(first.service_codes)
        marker = first.page_info.next_marker
        while marker:
            page = client().list_registered_services_for_auth_schema_v5(
                ListRegisteredServicesForAuthSchemaV5Request(limit=1, marker=marker))
            codes += page.service_codes
            marker = page.page_info.next_marker
        self.assertEqual(codes, sorted(name[:-5] for name in os.listdir(SCHEMAS) if name.endswith(".json")))

    def test_a_schema_reads_into_the_sdks_models(self):
        schema = client().get_authorization_schema_v5(GetAuthorizationSchemaV5Request(service_code="evs"))
        self.assertEqual(schema.version, "2026-06-30")
        update = next(a for a in schema.actions if a.name == "evs:volumes:update")
        self.assertEqual(update.access_level, "write")
        self.assertEqual(update.aliases, ["evs:volumes:modify"])
        self.assertEqual(update.resources[0].urn_template, "evs:<region>:<account-id>:volume:<volume-id>")
        self.assertTrue(update.resources[0].required)
        self.assertTrue(next(a for a in schema.actions if a.name == "evs:volumes:useEncryptionKey").permission_only)
        self.assertEqual(update.description.en_us, "Grants permission to rename a disk or change its description.")
        self.assertEqual({c.key: c.value_type for c in schema.conditions},
                         {"evs:Encrypted": "boolean", "evs:VolumeType": "string", "evs:Size": "numeric"})
        create = next(o for o in schema.operations if o.operation_id == "CreateVolume")
        self.assertEqual(create.dependent_actions, ["evs:volumes:useEncryptionKey", "ims:images:get"])

    def test_a_wrong_key_or_an_unknown_service_is_refused(self):
        with self.assertRaises(ClientRequestException) as refused:
            client((KEY[0], "not-the-secret")).get_authorization_schema_v5(GetAuthorizationSchemaV5Request(service_code="evs"))
        self.assertEqual(refused.exception.status_code, 401)
        with self.assertRaises(ClientRequestException) as missing:
            client().get_authorization_schema_v5(GetAuthorizationSchemaV5Request(service_code="nope"))
        self.assertEqual(missing.exception.status_code, 404)

    def test_catalog_pull_writes_what_the_sdk_reads(self):
        with tempfile.TemporaryDirectory() as work:
            credentials = os.path.join(work, "client.yaml")
            with open(credentials, "w") as f:
                f.write(f"accessKey: {KEY[0]}\nsecretKey: {KEY[1]}\n")
            os.chmod(credentials, 0o600)
            into = os.path.join(work, "catalogs")
            run = subprocess.run([BULWARK, "catalog", "pull", "--all", "--endpoint", EMULATOR, "--credentials", credentials,
                                  "--into", into], capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(sorted(os.listdir(into)), sorted(os.listdir(SCHEMAS)))
            sdk = client().get_authorization_schema_v5(GetAuthorizationSchemaV5Request(service_code="evs")).to_dict()
            with open(os.path.join(into, "evs.json")) as f:
                pulled = json.load(f)
            self.assertEqual(sorted(a["name"] for a in pulled["actions"]), sorted(a["name"] for a in sdk["actions"]))
            self.assertEqual([o["operation_id"] for o in pulled["operations"]], [o["operation_id"] for o in sdk["operations"]])
            # The pulled catalog decides: an operation of the new service through authorize-api.
            policy = os.path.join(work, "policy.json")
            with open(policy, "w") as f:
                json.dump({"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["evs:volumes:modify"], "Resource": "*"}]}, f)
            decided = subprocess.run([BULWARK, "authorize-api", "--catalog", into, "--policy", policy, "--service", "evs",
                                      "--operation", "UpdateVolume", "--format", "json"], capture_output=True, text=True)
            self.assertEqual(json.loads(decided.stdout)["decision"], "allow", decided.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
