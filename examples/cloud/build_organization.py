"""Builds an example organization in `bulwark emulator` (or any endpoint speaking Huawei's APIs)
with Huawei Cloud's official Python SDKs: the management account 1a2b3c creates the organization,
enables SCPs, makes OUs and an SCP, invites account 4d5e6f (which accepts with its own key), and
both accounts get users, a group, an agency and identity policies.

    python3 examples/cloud/build_organization.py http://127.0.0.1:8600

Prints what it made as JSON (ids by name), for scripts and tests to use.
"""
import json
import sys

from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkiam import v5 as iam
from huaweicloudsdkorganizations import v1 as org

MANAGEMENT = ("MGMTACCESSKEY0000001", "management-secret-for-the-example-only", "1a2b3c")
DEV = ("DEVACCESSKEY00000002", "dev-secret-for-the-example-only", "4d5e6f")


def organizations(endpoint, key):
    return org.OrganizationsClient.new_builder().with_credentials(GlobalCredentials(*key)).with_endpoints([endpoint]).build()


def iam_client(endpoint, key):
    return iam.IamClient.new_builder().with_credentials(GlobalCredentials(*key)).with_endpoints([endpoint]).build()


def policy(*statements):
    return json.dumps({"Version": "5.0", "Statement": list(statements)})


def allow(actions, resource="*"):
    return {"Effect": "Allow", "Action": actions, "Resource": [resource]}


def build(endpoint):
    made = {}
    mgmt = organizations(endpoint, MANAGEMENT)
    made["organization"] = mgmt.create_organization(org.CreateOrganizationRequest()).organization.id
    root = mgmt.list_roots(org.ListRootsRequest()).roots[0].id
    mgmt.enable_policy_type(org.EnablePolicyTypeRequest(body=org.PolicyTypeReqBody(policy_type="service_control_policy", root_id=root)))
    engineering = mgmt.create_organizational_unit(org.CreateOrganizationalUnitRequest(
        body=org.CreateOrganizationalUnitReqBody(name="engineering", parent_id=root))).organizational_unit.id
    made["engineering"] = engineering
    # 4d5e6f joins by invitation, accepted with its own key, then moves under engineering.
    handshake = mgmt.invite_account(org.InviteAccountRequest(
        body=org.InviteAccountReqBody(target=org.TargetDto(type="account", entity="4d5e6f")))).handshake.id
    organizations(endpoint, DEV).accept_handshake(org.AcceptHandshakeRequest(handshake_id=handshake))
    mgmt.move_account(org.MoveAccountRequest(account_id="4d5e6f", body=org.MoveAccountReqBody(
        source_parent_id=root, destination_parent_id=engineering)))
    # Nobody in engineering deletes images, whatever their identity policies say.
    scp = mgmt.create_policy(org.CreatePolicyRequest(body=org.CreatePolicyReqBody(
        name="deny-image-delete", type="service_control_policy",
        content=policy({"Effect": "Deny", "Action": ["ims:images:deleteImage"], "Resource": ["*"]})))).policy.policy_summary.id
    mgmt.attach_policy(org.AttachPolicyRequest(policy_id=scp, body=org.PolicyTachReqBody(entity_id=engineering)))
    made["deny-image-delete"] = scp

    dev = iam_client(endpoint, DEV)
    users = {name: dev.create_user_v5(iam.CreateUserV5Request(body=iam.CreateUserReqBody(name=name))).user.user_id
             for name in ["alice", "bob"]}
    group = dev.create_group_v5(iam.CreateGroupV5Request(body=iam.CreateGroupReqBody(group_name="developers"))).group.group_id
    dev.add_user_to_group_v5(iam.AddUserToGroupV5Request(group_id=group, body=iam.AddUserToGroupReqBody(user_id=users["alice"])))
    readers = dev.create_policy_v5(iam.CreatePolicyV5Request(body=iam.CreatePolicyReqBody(
        policy_name="image-readers", policy_document=policy(allow(["ims:images:get", "ims:images:list"]))))).policy.policy_id
    images = dev.create_policy_v5(iam.CreatePolicyV5Request(body=iam.CreatePolicyReqBody(
        policy_name="image-all", policy_document=policy(allow(["ims:images:*"]))))).policy.policy_id
    dev.attach_group_policy_v5(iam.AttachGroupPolicyV5Request(policy_id=readers, body=iam.AttachGroupPolicyReqBody(group_id=group)))
    dev.attach_user_policy_v5(iam.AttachUserPolicyV5Request(policy_id=images, body=iam.AttachUserPolicyReqBody(user_id=users["bob"])))
    trust = policy({"Effect": "Allow", "Action": ["sts:agencies:assume"], "Principal": {"IAM": ["iam::4d5e6f:user:bob"]}})
    agency = dev.create_agency_v5(iam.CreateAgencyV5Request(body=iam.CreateAgencyReqBody(
        agency_name="deployer", trust_policy=trust, max_session_duration=7200))).agency.agency_id
    dev.tag_resource_v5(iam.TagResourceV5Request(resource_type="agency", resource_id=agency, body=iam.Tags(
        tags=[iam.Tag(tag_key="team", tag_value="web")])))
    system = next(p.policy_id for p in dev.list_policies_v5(iam.ListPoliciesV5Request(policy_type="system")).policies
                  if p.policy_name == "SWRFullAccessPolicy")
    dev.attach_agency_policy_v5(iam.AttachAgencyPolicyV5Request(policy_id=system, body=iam.AttachAgencyPolicyReqBody(agency_id=agency)))
    made.update(users, developers=group, **{"image-readers": readers, "image-all": images, "deployer": agency})

    management = iam_client(endpoint, MANAGEMENT)
    admin = next(u.user_id for u in management.list_users_v5(iam.ListUsersV5Request()).users if u.user_name == "admin")
    everything = management.create_policy_v5(iam.CreatePolicyV5Request(body=iam.CreatePolicyReqBody(
        policy_name="image-admin", policy_document=policy(allow(["ims:*:*"]))))).policy.policy_id
    management.attach_user_policy_v5(iam.AttachUserPolicyV5Request(policy_id=everything, body=iam.AttachUserPolicyReqBody(user_id=admin)))
    made["image-admin"] = everything
    return made


if __name__ == "__main__":
    print(json.dumps(build(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8600"), indent=2, sort_keys=True))
