"""Issue 14 streams against the sandbox's truth: records, request counts, skips, metadata agreement."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from m365_graph_sandbox import Sandbox
from tap_microsoft365.tap import TapMicrosoft365
from tests.conftest import run_sync

METADATA = json.loads(
    (Path(__file__).parent.parent / "m365_graph_sandbox" / "data" / "graph-v1-properties.json").read_text()
)
#: stream -> the Graph type its records are (the schema's Graph properties must be that type's).
GRAPH_TYPES = {
    "subscriptions": "companySubscription",
    "role_definitions": "unifiedRoleDefinition",
    "role_assignments": "unifiedRoleAssignment",
    "role_eligibility_schedules": "unifiedRoleEligibilitySchedule",
    "conditional_access_policies": "conditionalAccessPolicy",
    "users": "user",
    "groups": "group",
    "devices": "device",
    "applications": "application",
    "service_principals": "servicePrincipal",
    "subscribed_skus": "subscribedSku",
    "organization": "organization",
    "managed_devices": "managedDevice",
    "detected_apps": "detectedApp",
    "oauth2_permission_grants": "oAuth2PermissionGrant",
}
DERIVED = {"named_locations": ("namedLocation", "ipNamedLocation", "countryNamedLocation")}


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=60, seed=61) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        yield sb


@pytest.mark.parametrize("stream", sorted({**GRAPH_TYPES, **DERIVED}))
def test_schema_properties_are_the_graph_types(stream):
    tap = TapMicrosoft365(config={"tenant_id": "contoso.onmicrosoft.com", "client_id": "x"},
                          validate_config=False)  # fmt: skip
    s = tap.streams[stream]
    graph = [p for p in s.schema["properties"] if p not in s.tap_fields]
    types = DERIVED.get(stream) or (GRAPH_TYPES[stream],)
    known = {p for name in types for p in METADATA["types"][name]["global"]}
    assert set(graph) <= known, set(graph) - known


def ids(records):
    return sorted(r["id"] for r in records)


def test_group_owners_are_the_groups_owners_in_one_batch_per_20_groups(box):
    box.reset_log()
    result = run_sync(box.tap_config(), ["groups", "group_owners"])
    expected = sorted(
        (group_id, ref["id"])
        for group_id, refs in box.tenant.group_owners.items()
        for ref in refs
        if ref.get("@odata.type", "").endswith("user")
    )
    got = sorted((r["group_id"], r["owner_id"]) for r in result.records("group_owners"))
    assert got == expected
    assert {r["owner_type"] for r in result.records("group_owners")} == {"user"}
    upns = {u["id"]: u["userPrincipalName"] for u in box.tenant.users}
    assert all(r["userPrincipalName"] == upns[r["owner_id"]] for r in result.records("group_owners"))
    groups = len(box.tenant.groups)
    assert box.count(path="/v1.0/$batch") == -(-groups // 20)
    assert box.count(path="/v1.0/groups") == 1  # the groups stream's listing only, ids reused


def test_identity_streams_are_the_tenants_objects(box):
    streams = ["subscriptions", "role_definitions", "role_assignments", "role_eligibility_schedules",
               "conditional_access_policies", "named_locations"]  # fmt: skip
    box.reset_log()
    result = run_sync(box.tap_config(), streams)
    tenant = box.tenant
    assert ids(result.records("subscriptions")) == ids(tenant.subscriptions)
    assert ids(result.records("role_definitions")) == ids(tenant.role_definitions)
    assert ids(result.records("role_assignments")) == ids(tenant.role_assignments)
    assert ids(result.records("role_eligibility_schedules")) == ids(tenant.role_eligibility)
    assert ids(result.records("conditional_access_policies")) == ids(tenant.ca_policies)
    assert ids(result.records("named_locations")) == ids(tenant.named_locations)
    # nested conditions kept as objects; derived location types kept with their own properties
    policy = result.records("conditional_access_policies")[0]
    assert isinstance(policy["conditions"], dict)
    kinds = {r["location_type"] for r in result.records("named_locations")}
    assert kinds <= {"ip", "country"}
    assert any(r["ipRanges"] for r in result.records("named_locations") if r["location_type"] == "ip")
    # scoped assignments are kept
    assert any(r["directoryScopeId"] != "/" for r in result.records("role_assignments"))
    definitions = {r["id"] for r in result.records("role_definitions")}
    assert {r["roleDefinitionId"] for r in result.records("role_assignments")} <= definitions
    # one request each: none of these collections is paged at this size
    for path in ("/v1.0/directory/subscriptions", "/v1.0/identity/conditionalAccess/policies"):
        assert box.count(path=path) == 1


def test_pim_without_p2_is_one_skip_naming_the_licence():
    with Sandbox(users=20, seed=62, premium=False) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        result = run_sync(sb.tap_config(), ["role_eligibility_schedules", "role_assignments"])
        assert result.records("role_eligibility_schedules") == []
        assert result.records("role_assignments")
        reason = result.tap.streams["role_eligibility_schedules"].skip_reason
        assert "Microsoft Entra ID P2" in reason


def test_a_missing_policy_permission_skips_both_conditional_access_streams(box):
    box.granted_permissions.discard("Policy.Read.All")
    try:
        result = run_sync(box.tap_config(), ["conditional_access_policies", "named_locations", "subscriptions"])
    finally:
        box.granted_permissions.add("Policy.Read.All")
    assert result.records("subscriptions")
    for stream in ("conditional_access_policies", "named_locations"):
        assert result.records(stream) == []
        assert "Policy.Read.All" in result.tap.streams[stream].skip_reason


def test_no_stream_with_a_version_column_sends_activate_version():
    # target-postgres 0.8.1 cannot soft-delete on a table with a `version` column (devices.py)
    tap = TapMicrosoft365(config={"tenant_id": "contoso.onmicrosoft.com", "client_id": "x"},
                          validate_config=False)  # fmt: skip
    for name, stream in tap.streams.items():
        if "version" in stream.schema["properties"]:
            assert not stream.activate_version, name


BATCH2 = ["user_registration_details", "risky_users", "mobile_apps", "secure_scores",
          "secure_score_control_profiles", "service_health_issues"]  # fmt: skip
GRAPH_TYPES.update(
    user_registration_details="userRegistrationDetails",
    risky_users="riskyUser",
    mobile_apps="mobileApp",
    secure_scores="secureScore",
    secure_score_control_profiles="secureScoreControlProfile",
    service_health_issues="serviceHealthIssue",
)


@pytest.mark.parametrize("stream", BATCH2)
def test_batch2_schema_properties_are_the_graph_types(stream):
    test_schema_properties_are_the_graph_types(stream)


def test_security_streams_are_the_tenants_objects_and_incremental_ones_resume(box):
    box.reset_log()
    first = run_sync(box.tap_config(), BATCH2)
    tenant = box.tenant
    assert ids(first.records("user_registration_details")) == ids(tenant.registration_details)
    assert ids(first.records("risky_users")) == ids(tenant.risky_users)
    assert ids(first.records("mobile_apps")) == ids(tenant.mobile_apps)
    assert ids(first.records("secure_scores")) == ids(tenant.secure_scores)
    assert ids(first.records("secure_score_control_profiles")) == ids(tenant.control_profiles)
    assert ids(first.records("service_health_issues")) == ids(tenant.service_issues)
    assert all(r["app_type"] for r in first.records("mobile_apps"))
    admins = {r["id"] for r in first.records("user_registration_details") if r["isAdmin"]}
    assert admins  # consistent with the tenant's role holders
    # incremental streams: the second run sends nothing new, the bookmark is the newest timestamp
    second = run_sync(box.tap_config(), ["secure_scores", "service_health_issues"], state=first.state)
    assert second.records("secure_scores") == []
    assert second.records("service_health_issues") == []
    mark = second.state["bookmarks"]["secure_scores"]["partitions"][0]["replication_key_value"]
    assert mark == max(r["createdDateTime"] for r in first.records("secure_scores"))


def test_licence_gaps_skip_the_p2_and_intune_streams():
    with Sandbox(users=20, seed=63, premium=False, intune=False) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        result = run_sync(sb.tap_config(), ["risky_users", "user_registration_details", "mobile_apps",
                                            "secure_scores"])  # fmt: skip
        assert result.records("secure_scores")
        for stream in ("risky_users", "user_registration_details", "mobile_apps"):
            assert result.records(stream) == [], stream
            assert "licence" in result.tap.streams[stream].skip_reason, stream


def test_secure_score_is_skipped_in_the_china_cloud():
    with Sandbox(users=20, seed=64, cloud="china") as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        result = run_sync(sb.tap_config(), ["secure_scores", "risky_users", "service_health_issues"])
        for stream in ("secure_scores", "risky_users"):
            assert result.records(stream) == []
            assert "national cloud" in result.tap.streams[stream].skip_reason


def test_user_licenses_say_how_each_licence_was_assigned(box):
    result = run_sync(box.tap_config(), ["users", "user_licenses"])
    by_user = {u["id"]: u for u in box.tenant.users}
    rows = result.records("user_licenses")
    assert any(r["assigned_by_groups"] for r in rows)
    assert any(r["assignment_errors"] for r in rows)
    for row in rows:
        states = [s for s in by_user[row["user_id"]].get("licenseAssignmentStates") or []
                  if s["skuId"] == row["skuId"]]  # fmt: skip
        assert row["assigned_directly"] == any(s["assignedByGroup"] is None for s in states)
        assert row["assigned_by_groups"] == sorted({s["assignedByGroup"] for s in states if s["assignedByGroup"]})
        if any(s["state"] == "Error" for s in states):
            assert row["assignment_state"] == "Error"
