"""Devices, Intune, licences per user, managers, apps, consents and admin roles against the sandbox."""

from __future__ import annotations

import logging
import math
import os

import pytest
from jsonschema import Draft7Validator, FormatChecker

from m365_graph_sandbox import Sandbox
from tap_microsoft365.graph.errors import LicenseMissingError, PermissionMissingError
from tap_microsoft365.tap import TapMicrosoft365

from .conftest import run_sync

STREAMS = [
    "user_licenses",
    "user_managers",
    "devices",
    "device_owners",
    "managed_devices",
    "detected_apps",
    "detected_app_devices",
    "applications",
    "service_principals",
    "oauth2_permission_grants",
    "app_role_assignments",
    "directory_roles",
    "directory_role_members",
]


@pytest.fixture(scope="module")
def full(sandbox):
    sandbox.reset_log()
    result = run_sync(sandbox.tap_config(), STREAMS)
    return result, list(sandbox.requests), list(sandbox.batch_requests)


def pairs(rows, a, b):
    return sorted((r[a], r[b]) for r in rows)


def test_every_record_carries_the_tenant_and_matches_its_schema(full, sandbox):
    result, _, _ = full
    for stream in STREAMS:
        records = result.records(stream)
        assert records, stream
        assert {r["tenant_id"] for r in records} == {sandbox.tenant_id}, stream
        validator = Draft7Validator(result.schema(stream)["schema"], format_checker=FormatChecker())
        for record in records:
            errors = list(validator.iter_errors(record))
            assert not errors, (stream, errors[0].message)


def test_devices_and_owners(full, sandbox):
    result, _, _ = full
    tenant = sandbox.tenant
    by_id = {r["id"]: r for r in result.records("devices")}
    assert sorted(by_id) == sorted(d["id"] for d in tenant.devices)
    for device in tenant.devices:
        row = by_id[device["id"]]
        for key in (
            "deviceId",
            "operatingSystem",
            "trustType",
            "isCompliant",
            "manufacturer",
            "model",
        ):
            assert row[key] == device[key], key
        assert row["registrationDateTime"] == device["registrationDateTime"]
        assert row["physicalIds"] == device["physicalIds"]
    expected = sorted(
        (did, ref["id"]) for did, refs in tenant.device_owners.items() for ref in refs
    )
    rows = result.records("device_owners")
    assert pairs(rows, "device_id", "owner_id") == expected
    assert any(not refs for refs in tenant.device_owners.values()), "some devices have no owner"
    owner = rows[0]
    assert owner["owner_type"] == "user"
    assert owner["userPrincipalName"] == tenant.user(owner["owner_id"])["userPrincipalName"]


def test_intune_managed_devices_and_detected_apps(full, sandbox):
    result, _, _ = full
    tenant = sandbox.tenant
    rows = {r["id"]: r for r in result.records("managed_devices")}
    assert sorted(rows) == sorted(m["id"] for m in tenant.managed_devices)
    device_ids = {r["deviceId"] for r in result.records("devices")}
    for managed in tenant.managed_devices:
        row = rows[managed["id"]]
        assert row["azureADDeviceId"] in device_ids  # the join to devices.deviceId
        for key in ("complianceState", "serialNumber", "isEncrypted", "userPrincipalName"):
            assert row[key] == managed[key], key
        assert row["totalStorageSpaceInBytes"] == managed["totalStorageSpaceInBytes"]
    apps = {r["id"]: r for r in result.records("detected_apps")}
    assert sorted(apps) == sorted(a["id"] for a in tenant.detected_apps)
    for app in tenant.detected_apps:
        assert apps[app["id"]]["deviceCount"] == app["deviceCount"]
    expected = sorted((a, m) for a, ids in tenant.detected_app_devices.items() for m in ids)
    rows = result.records("detected_app_devices")
    assert pairs(rows, "detected_app_id", "managed_device_id") == expected


def test_user_licenses_join_the_sku_names(full, sandbox):
    result, _, _ = full
    tenant = sandbox.tenant
    names = {s["skuId"]: s["skuPartNumber"] for s in tenant.skus}
    expected = sorted(
        (u["id"], lic["skuId"], names[lic["skuId"]], tuple(lic["disabledPlans"]))
        for u in tenant.users
        for lic in u["assignedLicenses"]
    )
    # and the licences a group failed to assign (a state, no assignedLicenses entry)
    failed = sorted(
        (u["id"], s["skuId"], names[s["skuId"]], ())
        for u in tenant.users
        for s in u.get("licenseAssignmentStates") or []
        if s["skuId"] not in {lic["skuId"] for lic in u["assignedLicenses"]}
    )
    assert failed, "the sandbox has failed group licences"
    expected = sorted(expected + failed)
    rows = result.records("user_licenses")
    got = sorted(
        (r["user_id"], r["skuId"], r["skuPartNumber"], tuple(r["disabledPlans"])) for r in rows
    )
    assert got == expected
    assert any(r["disabledPlans"] for r in rows), "some licences have disabled plans"


def test_user_managers_are_the_reporting_line(full, sandbox):
    result, _, _ = full
    tenant = sandbox.tenant
    rows = result.records("user_managers")
    assert sorted((r["user_id"], r["manager_id"]) for r in rows) == sorted(tenant.managers.items())
    row = rows[0]
    assert row["manager_userPrincipalName"] == tenant.user(row["manager_id"])["userPrincipalName"]


def test_applications_show_credential_dates_never_secrets(full, sandbox):
    result, _, _ = full
    tenant = sandbox.tenant
    rows = {r["appId"]: r for r in result.records("applications")}
    assert sorted(rows) == sorted(a["appId"] for a in tenant.applications)
    with_secrets = [a for a in tenant.applications if a["passwordCredentials"]]
    assert with_secrets
    for app in with_secrets:
        creds = rows[app["appId"]]["passwordCredentials"]
        assert [c["endDateTime"] for c in creds] == [
            c["endDateTime"] for c in app["passwordCredentials"]
        ]
        assert all("secretText" not in c for c in creds)
        assert [c["hint"] for c in creds] == [c["hint"] for c in app["passwordCredentials"]]
    app = tenant.applications[0]
    assert rows[app["appId"]]["requiredResourceAccess"] == app["requiredResourceAccess"]


def test_service_principals_grants_and_app_role_assignments(full, sandbox):
    result, _, _ = full
    tenant = sandbox.tenant
    sps = {r["id"]: r for r in result.records("service_principals")}
    assert sorted(sps) == sorted(sp["id"] for sp in tenant.service_principals)
    third_party = [r for r in sps.values() if r["appOwnerOrganizationId"] != tenant.tenant_id]
    assert {r["displayName"] for r in third_party} >= {"Microsoft Graph", "Zoom"}
    grants = result.records("oauth2_permission_grants")
    assert sorted(g["id"] for g in grants) == sorted(g["id"] for g in tenant.oauth2_grants)
    assert {g["consentType"] for g in grants} == {"AllPrincipals", "Principal"}
    expected = [a for items in tenant.app_role_assigned_to.values() for a in items]
    rows = {r["id"]: r for r in result.records("app_role_assignments")}
    assert sorted(rows) == sorted(a["id"] for a in expected)
    graph = next(sp for sp in tenant.service_principals if sp["displayName"] == "Microsoft Graph")
    role_names = {r["id"]: r["value"] for r in graph["appRoles"]}
    app_permissions = [r for r in rows.values() if r["principalType"] == "ServicePrincipal"]
    assert app_permissions
    for row in app_permissions:
        assert row["resourceId"] == graph["id"]
        assert row["app_role_value"] == role_names[row["appRoleId"]]
    user_rows = [r for r in rows.values() if r["principalType"] == "User"]
    assert user_rows
    assert all(r["app_role_value"] is None for r in user_rows)


def test_directory_roles_and_members(full, sandbox):
    result, requests, _ = full
    tenant = sandbox.tenant
    roles = result.records("directory_roles")
    assert sorted(r["id"] for r in roles) == sorted(r["id"] for r in tenant.directory_roles)
    assert "Global Administrator" in {r["displayName"] for r in roles}
    expected = sorted((rid, ref["id"]) for rid, refs in tenant.role_members.items() for ref in refs)
    rows = result.records("directory_role_members")
    assert pairs(rows, "role_id", "member_id") == expected
    assert {r["member_type"] for r in rows} <= {"user", "servicePrincipal"}
    # /directoryRoles takes no OData parameters at all (graph.md 1).
    role_requests = [r for r in requests if r.path == "/v1.0/directoryRoles"]
    assert len(role_requests) == 1
    assert role_requests[0].query == {}


def test_request_counts_per_stream(full, sandbox):
    _, requests, inner = full
    tenant = sandbox.tenant

    def outer(path):
        return sum(1 for r in requests if r.path == path)

    def inner_count(prefix):
        return sum(1 for r in inner if r.path.startswith(prefix))

    # one page each at 999 (or Intune's server-sized 1000), or one delta round, for this tenant; no
    # parent listed twice (the delta streams' full rounds are remembered by their children)
    assert outer("/v1.0/devices/delta") == 1  # the $deltatoken=latest link of a full round
    assert outer("/v1.0/devices") == 1
    assert outer("/v1.0/deviceManagement/managedDevices") == 1
    assert outer("/v1.0/deviceManagement/detectedApps") == 1
    assert outer("/v1.0/applications/delta") == 1
    assert outer("/v1.0/applications") == 1
    assert outer("/v1.0/servicePrincipals/delta") == 1
    assert outer("/v1.0/servicePrincipals") == 1
    assert outer("/v1.0/oauth2PermissionGrants") == 1
    assert outer("/v1.0/directoryRoles") == 1
    assert outer("/v1.0/subscribedSkus") == 1
    # user_licenses and user_managers: one /users listing each (300 users < 999)
    assert outer("/v1.0/users") == 2
    # one inner request per parent, 20 per $batch
    assert inner_count("/v1.0/devices/") == len(tenant.devices)
    assert inner_count("/v1.0/deviceManagement/detectedApps/") == len(tenant.detected_apps)
    assert inner_count("/v1.0/servicePrincipals/") == len(tenant.service_principals)
    assert inner_count("/v1.0/directoryRoles/") == len(tenant.directory_roles)
    batches = sum(
        math.ceil(n / 20)
        for n in (
            len(tenant.devices),
            len(tenant.detected_apps),
            len(tenant.service_principals),
            len(tenant.directory_roles),
        )
    )
    assert outer("/v1.0/$batch") == batches
    # no secrets in Intune: server-sized pages, so no $top is sent
    managed = next(r for r in requests if r.path == "/v1.0/deviceManagement/managedDevices")
    assert "$top" not in managed.query
    users = [r for r in requests if r.path == "/v1.0/users"]
    assert any(r.query.get("$expand") == "manager($select=id,userPrincipalName)" for r in users)
    assert any("assignedLicenses" in r.query.get("$select", "") for r in users)


def test_child_stream_alone_lists_its_parents_cheaply(sb):
    result = run_sync(sb.tap_config(), ["device_owners", "directory_role_members"])
    assert result.records("device_owners")
    assert result.records("directory_role_members")
    devices = [r for r in sb.requests if r.path == "/v1.0/devices"]
    assert len(devices) == 1
    assert devices[0].query["$select"] == "id"
    assert sb.count(path="/v1.0/directoryRoles") == 1
    expected = math.ceil(len(sb.tenant.devices) / 20) + math.ceil(
        len(sb.tenant.directory_roles) / 20
    )
    assert sb.count(path="/v1.0/$batch") == expected


def test_app_role_assignments_alone_resolves_role_names(sb):
    result = run_sync(sb.tap_config(), ["app_role_assignments"])
    rows = result.records("app_role_assignments")
    assert any(r["app_role_value"] == "User.Read.All" or r["app_role_value"] for r in rows)
    listing = [r for r in sb.requests if r.path == "/v1.0/servicePrincipals"]
    assert len(listing) == 1
    assert listing[0].query["$select"] == "id,appRoles"


def test_inner_batch_429_on_registered_owners_is_retried(sb, caplog):
    expected = sum(len(refs) for refs in sb.tenant.device_owners.values())
    sb.faults.add(
        r"^/v1\.0/devices/[^/]+/registeredOwners$",
        429,
        times=3,
        headers={"Retry-After": "0.1"},
        code="TooManyRequests",
    )
    with caplog.at_level(logging.WARNING):
        result = run_sync(sb.tap_config(), ["devices", "device_owners"])
    rows = result.records("device_owners")
    assert len(rows) == expected
    assert len({(r["device_id"], r["owner_id"]) for r in rows}) == expected
    # the three retried requests go into later batches (one or more, as their Retry-After expires)
    baseline = math.ceil(len(sb.tenant.devices) / 20)
    assert baseline + 1 <= sb.count(path="/v1.0/$batch") <= baseline + 3
    retries = [r for r in sb.batch_requests if r.status == 429]
    assert len(retries) == 3
    assert any("answered 429; retry" in r.getMessage() for r in caplog.records)


def test_missing_intune_permission_skips_with_one_warning(sb, caplog):
    sb.granted_permissions.discard("DeviceManagementManagedDevices.Read.All")
    with caplog.at_level(logging.WARNING):
        result = run_sync(sb.tap_config(), ["devices", "managed_devices", "detected_apps"])
    assert result.records("devices")
    assert not result.records("managed_devices")
    assert not result.records("detected_apps")
    for stream in ("managed_devices", "detected_apps"):
        warnings = [
            r.getMessage()
            for r in caplog.records
            if f"Skipping stream '{stream}'" in r.getMessage()
        ]
        assert len(warnings) == 1, stream
        assert "DeviceManagementManagedDevices.Read.All" in warnings[0]
        assert "Authorization_RequestDenied" in warnings[0]


def test_missing_application_permission_is_fatal_when_strict(sb):
    sb.granted_permissions.difference_update({"Application.Read.All", "Directory.Read.All"})
    with pytest.raises(PermissionMissingError, match=r"Application\.Read\.All"):
        run_sync(sb.tap_config(strict_permissions=True), ["applications"])


@pytest.fixture(scope="module")
def no_intune(sandbox):
    with Sandbox(users=40, seed=3, intune=False) as other:
        yield other
    os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_bundle


def test_tenant_without_intune_skips_intune_streams_with_one_warning(no_intune, caplog):
    os.environ["REQUESTS_CA_BUNDLE"] = no_intune.ca_bundle
    no_intune.reset_log()
    streams = ["devices", "managed_devices", "detected_apps", "detected_app_devices"]
    with caplog.at_level(logging.WARNING):
        result = run_sync(no_intune.tap_config(), streams)
    assert len(result.records("devices")) == len(no_intune.tenant.devices)
    for stream in streams[1:]:
        assert not result.records(stream)
        warnings = [
            r.getMessage()
            for r in caplog.records
            if f"Skipping stream '{stream}'" in r.getMessage()
        ]
        assert len(warnings) == 1, stream
        assert "Microsoft Intune" in warnings[0]
        assert "Request not applicable to target tenant" in warnings[0]
        assert "DeviceManagementManagedDevices.Read.All" in warnings[0]
    assert no_intune.count(path="/v1.0/$batch") == 0


def test_tenant_without_intune_is_fatal_when_strict(no_intune):
    os.environ["REQUESTS_CA_BUNDLE"] = no_intune.ca_bundle
    with pytest.raises(LicenseMissingError, match="Microsoft Intune"):
        run_sync(no_intune.tap_config(strict_permissions=True), ["managed_devices"])


def test_discovery_lists_every_stream_and_app_devices_is_opt_in(sandbox):
    catalog = TapMicrosoft365(config=sandbox.tap_config(), validate_config=False).catalog_dict
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    assert set(STREAMS) <= set(entries)
    root = {
        name: next(m["metadata"] for m in e["metadata"] if m["breadcrumb"] == [])
        for name, e in entries.items()
    }
    assert root["detected_app_devices"].get("selected-by-default") is False
    assert root["devices"].get("selected-by-default") is True


def test_sandbox_directory_roles_reject_odata_parameters(sb):
    session = _token_session(sb)
    ok = session.get(f"{sb.base_url}/v1.0/directoryRoles", timeout=10)
    assert ok.status_code == 200
    assert "@odata.nextLink" not in ok.json()
    bad = session.get(f"{sb.base_url}/v1.0/directoryRoles?$top=5", timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "Request_UnsupportedQuery"


def _token_session(sb):
    import requests

    session = requests.Session()
    session.verify = sb.ca_bundle
    auth = session.post(
        f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/token",
        data={
            "client_id": sb.client_id,
            "client_secret": sb.client_secret,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
        timeout=10,
    ).json()
    session.headers["Authorization"] = f"Bearer {auth['access_token']}"
    return session


def test_sandbox_users_expand_manager_rules(sb):
    session = _token_session(sb)
    url = (
        f"{sb.base_url}/v1.0/users?$select=id&$top=5&$expand=manager($select=id,userPrincipalName)"
    )
    page = session.get(url, timeout=10).json()
    assert len(page["value"]) == 5
    assert "@odata.nextLink" in page
    with_manager = [u for u in page["value"] if "manager" in u]
    for user in with_manager:
        assert set(user["manager"]) == {"@odata.type", "id", "userPrincipalName"}
        assert user["manager"]["id"] == sb.tenant.managers[user["id"]]
    # $expand is not supported in advanced queries (graph.md 5)
    advanced = session.get(
        f"{url}&$count=true", headers={"ConsistencyLevel": "eventual"}, timeout=10
    )
    assert advanced.status_code == 400
    unknown = session.get(f"{sb.base_url}/v1.0/users?$expand=nosuch", timeout=10)
    assert unknown.status_code == 400


def test_sandbox_intune_pages_are_server_sized(sb):
    session = _token_session(sb)
    page = session.get(f"{sb.base_url}/v1.0/deviceManagement/managedDevices", timeout=10).json()
    assert len(page["value"]) == len(sb.tenant.managed_devices)  # < 1000: one page
    small = session.get(
        f"{sb.base_url}/v1.0/deviceManagement/managedDevices?$top=5", timeout=10
    ).json()
    assert len(small["value"]) == 5
    assert "$skiptoken" in small["@odata.nextLink"]


def test_user_licenses_reuse_the_users_read_in_this_run(sb):
    first = run_sync(sb.tap_config(), ["users", "user_licenses"])
    expected = sum(
        len({lic["skuId"] for lic in u["assignedLicenses"]}
            | {s["skuId"] for s in u.get("licenseAssignmentStates") or []})
        for u in sb.tenant.users
    )  # fmt: skip
    assert len(first.records("user_licenses")) == expected
    # the users stream's own listing; user_licenses reuses it
    assert sb.count(path="/v1.0/users") == math.ceil(len(sb.tenant.users) / 999)
    assert sb.count(path="/v1.0/subscribedSkus") == 1
    # an incremental users round does not see every user: user_licenses lists them (999 per page)
    sb.reset_log()
    second = run_sync(sb.tap_config(), ["users", "user_licenses"], state=first.state)
    assert len(second.records("user_licenses")) == expected
    listing = [r for r in sb.requests if r.path == "/v1.0/users"]
    assert len(listing) == math.ceil(len(sb.tenant.users) / 999)
    assert listing[0].query["$select"] == "id,userPrincipalName,assignedLicenses,licenseAssignmentStates"


def test_parents_remember_nothing_when_their_child_is_not_selected(sb):
    result = run_sync(sb.tap_config(), ["users", "devices"])
    assert result.records("users")
    assert result.records("devices")
    assert "users" not in result.tap.run_context.parents
    assert "devices" not in result.tap.run_context.parents


def test_intune_follows_server_sized_pages_of_1000(sandbox):
    with Sandbox(users=14000, seed=5) as big:
        os.environ["REQUESTS_CA_BUNDLE"] = big.ca_bundle
        try:
            result = run_sync(big.tap_config(), ["managed_devices"])
        finally:
            os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_bundle
        managed = big.tenant.managed_devices
        assert len(managed) > 1000
        assert sorted(r["id"] for r in result.records("managed_devices")) == sorted(
            m["id"] for m in managed
        )
        pages = [r for r in big.requests if r.path == "/v1.0/deviceManagement/managedDevices"]
        assert len(pages) == math.ceil(len(managed) / 1000)
        assert "$top" not in pages[0].query
        assert "$skiptoken" in pages[1].query
