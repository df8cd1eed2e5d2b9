"""Records, requests and schemas of the directory core streams against the sandbox."""

from __future__ import annotations

import math

import pytest
from jsonschema import Draft7Validator, FormatChecker

from m365_graph_sandbox import Sandbox
from tap_microsoft365.streams.directory import GroupsStream, UsersStream

from .conftest import run_sync

CORE = ["users", "groups", "group_members", "subscribed_skus", "organization", "domains"]


@pytest.fixture(scope="module")
def full(sandbox):
    sandbox.reset_log()
    result = run_sync(sandbox.tap_config(), CORE)
    return result, list(sandbox.requests)


def test_every_stream_returns_the_tenant(full, sandbox):
    result, _ = full
    tenant = sandbox.tenant
    assert sorted(r["id"] for r in result.records("users")) == sorted(u["id"] for u in tenant.users)
    assert sorted(r["id"] for r in result.records("groups")) == sorted(
        g["id"] for g in tenant.groups
    )
    assert len(result.records("subscribed_skus")) == len(tenant.skus)
    assert [r["id"] for r in result.records("organization")] == [tenant.organization["id"]]
    assert sorted(r["id"] for r in result.records("domains")) == sorted(
        d["id"] for d in tenant.domains
    )


def test_every_record_carries_the_tenant(full, sandbox):
    result, _ = full
    for stream in CORE:
        records = result.records(stream)
        assert records, stream
        assert {r["tenant_id"] for r in records} == {sandbox.tenant_id}, stream


def test_records_match_their_schema(full):
    result, _ = full
    for stream in CORE:
        validator = Draft7Validator(result.schema(stream)["schema"], format_checker=FormatChecker())
        for record in result.records(stream):
            errors = list(validator.iter_errors(record))
            assert not errors, (stream, errors[0].message)


def test_user_records_keep_graph_values(full, sandbox):
    result, _ = full
    by_id = {r["id"]: r for r in result.records("users")}
    guests = [u for u in sandbox.tenant.users if "#EXT#" in u["userPrincipalName"]]
    assert guests, "the sandbox tenant has guests"
    guest = by_id[guests[0]["id"]]
    assert guest["userType"] == "Guest"
    assert guest["userPrincipalName"] == guests[0]["userPrincipalName"]
    licensed = next(u for u in sandbox.tenant.users if u["assignedLicenses"])
    assert by_id[licensed["id"]]["assignedLicenses"] == licensed["assignedLicenses"]
    assert isinstance(by_id[licensed["id"]]["assignedLicenses"][0], dict)
    without_mail = [u for u in sandbox.tenant.users if u["mail"] is None]
    assert without_mail
    assert by_id[without_mail[0]["id"]]["mail"] is None


def test_group_members_are_every_direct_membership(full, sandbox):
    result, _ = full
    expected = {
        (gid, member["id"])
        for gid, members in sandbox.tenant.memberships.items()
        for member in members
    }
    rows = result.records("group_members")
    assert {(r["group_id"], r["member_id"]) for r in rows} == expected
    assert len(rows) == len(expected)
    types = {r["member_type"] for r in rows}
    assert {"user", "group"} <= types
    assert types <= {"user", "group", "device", "servicePrincipal", "orgContact"}
    users = {u["id"] for u in sandbox.tenant.users}
    assert all(r["member_id"] in users for r in rows if r["member_type"] == "user")
    assert all(r["_sdc_deleted_at"] is None for r in rows if "_sdc_deleted_at" in r)


def test_requests_follow_the_plan(full, sandbox):
    _, requests = full
    tenant = sandbox.tenant
    added = {"tenant_id", "_sdc_deleted_at", "deletion_reason"}
    users_select = set(UsersStream.schema["properties"]) - added - {"email"}
    # a full round: a delta link "from now" ($deltatoken=latest, graph.md 2), then the plain listing at
    # 999 per page, cheaper than a delta round from scratch
    latest = [r for r in requests if r.path == "/v1.0/users/delta"]
    assert len(latest) == 1
    assert latest[0].query["$deltatoken"] == "latest"
    assert set(latest[0].query["$select"].split(",")) == users_select
    listing = [r for r in requests if r.path == "/v1.0/users"]
    assert len(listing) == math.ceil(len(tenant.users) / 999)
    assert listing[0].query["$top"] == "999"
    assert set(listing[0].query["$select"].split(",")) == users_select
    # groups and group_members each take their own link; members: 20 groups per $batch, reusing the
    # ids the groups stream read
    rounds = [r for r in requests if r.path == "/v1.0/groups/delta"]
    assert sorted(r.query["$select"] for r in rounds) == sorted(
        [",".join(p for p in GroupsStream.schema["properties"] if p not in added), "id,members"]
    )
    assert len([r for r in requests if r.path == "/v1.0/groups"]) == math.ceil(len(tenant.groups) / 999)
    batches = [r for r in requests if r.path == "/v1.0/$batch"]
    big = sum(max(math.ceil(len(m) / 999), 1) - 1 for m in tenant.memberships.values())
    minimum = math.ceil(len(tenant.groups) / 20)
    assert minimum <= len(batches) <= minimum + big
    assert not [r for r in requests if r.path.startswith("/v1.0/groups/") and r.path != "/v1.0/groups/delta"], "no request per group"


def test_page_size_setting_caps_top(sb):
    result = run_sync(sb.tap_config(page_size=100), ["domains", "devices", "device_owners"])
    assert result.records("device_owners")
    listing = [r for r in sb.requests if r.path == "/v1.0/$batch"]
    assert listing


def test_domain_filter_is_an_advanced_query(sb):
    domain = sb.tenant.organization["verifiedDomains"][0]["name"]
    expected = sorted(
        u["id"]
        for u in sb.tenant.users
        if u["userPrincipalName"].lower().endswith("@" + domain.lower())
    )
    assert expected
    result = run_sync(sb.tap_config(user_domains=[domain]), ["users", "user_sign_in_activity"])
    # delta filters only by id (graph.md 2): the domain filter is applied to the delta rows
    assert sorted(r["id"] for r in result.records("users")) == expected
    # the full listing of sign-in activity filters server-side, as an advanced query
    assert sorted(r["id"] for r in result.records("user_sign_in_activity")) == expected
    request = next(r for r in sb.requests if r.path == "/v1.0/users")
    assert request.headers.get("ConsistencyLevel") == "eventual"
    assert request.query["$count"] == "true"
    assert f"@{domain.lower()}" in request.query["$filter"]


def test_empty_pages_with_next_link_are_followed(monkeypatch):
    with Sandbox(users=1200, seed=3, empty_pages=True) as sb:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        result = run_sync(sb.tap_config(), ["users"])
        assert sorted(r["id"] for r in result.records("users")) == sorted(
            u["id"] for u in sb.tenant.users
        )
        assert sb.count(path="/v1.0/users") > math.ceil(1200 / 999)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_batch_concurrency_keeps_every_owner_once(sb, concurrency):
    expected = sorted((d, o["id"]) for d, owners in sb.tenant.device_owners.items() for o in owners)
    result = run_sync(sb.tap_config(batch_concurrency=concurrency), ["devices", "device_owners"])
    assert sorted((r["device_id"], r["owner_id"]) for r in result.records("device_owners")) == expected
    assert sb.count(path="/v1.0/$batch") >= math.ceil(len(sb.tenant.devices) / 20)
