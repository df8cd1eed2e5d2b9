"""The user and group scope: every user-keyed stream holds only in-scope users (sandbox ground truth)."""

from __future__ import annotations

import datetime as dt
import math
import os

import pytest

from m365_graph_sandbox import Sandbox

from .conftest import run_sync

USER_KEYED = [
    "users",
    "user_sign_in_activity",
    "user_licenses",
    "user_managers",
    "group_members",
    "devices",
    "device_owners",
    "managed_devices",
    "directory_roles",
    "directory_role_members",
    "service_principals",
    "app_role_assignments",
    "oauth2_permission_grants",
    "sign_ins",
    "directory_audits",
    "usage_email_activity_user_detail",
]


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=400, seed=41, audit_throttle=None) as sb:
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        sb.tenant.report_options.concealed_names = False
        sb.tenant.report_options.throttle = None  # many syncs of one report in a few seconds
        yield sb
        if previous is not None:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


def expected_users(sb, *, domains=None, method="upn", deny=(), guests=True, unlicensed=True,
                   disabled=True) -> set[str]:
    """The documented rules, applied to the sandbox's own users (not the tap's code)."""
    keep = set()
    deny = {d.lower() for d in deny}
    for user in sb.tenant.users:
        address = user["userPrincipalName"] if method == "upn" else (user.get("mail") or user["userPrincipalName"])
        address = (address or "").lower()
        if domains is not None and address.rpartition("@")[2] not in {d.lower() for d in domains}:
            continue
        if address in deny or user["id"].lower() in deny:
            continue
        if not guests and user["userType"] == "Guest":
            continue
        if not unlicensed and not user["assignedLicenses"]:
            continue
        if not disabled and user["accountEnabled"] is False:
            continue
        keep.add(user["id"])
    return keep


def user_ids_named(result, sb) -> dict[str, set[str]]:
    """Every user id each stream's records name."""
    users = {u["id"] for u in sb.tenant.users}
    upn_to_id = {u["userPrincipalName"].lower(): u["id"] for u in sb.tenant.users}
    named: dict[str, set[str]] = {}

    def add(stream, value):
        if value in users:
            named.setdefault(stream, set()).add(value)

    for row in result.records("users"):
        add("users", row["id"])
    for row in result.records("user_sign_in_activity"):
        add("user_sign_in_activity", row["id"])
    for row in result.records("user_licenses"):
        add("user_licenses", row["user_id"])
    for row in result.records("user_managers"):
        add("user_managers", row["user_id"])
        add("user_managers", row["manager_id"])
    for row in result.records("group_members"):
        add("group_members", row["member_id"])
    for row in result.records("device_owners"):
        add("device_owners", row["owner_id"])
    for row in result.records("managed_devices"):
        add("managed_devices", row["userId"])
    for row in result.records("directory_role_members"):
        add("directory_role_members", row["member_id"])
    for row in result.records("app_role_assignments"):
        add("app_role_assignments", row["principalId"])
    for row in result.records("oauth2_permission_grants"):
        add("oauth2_permission_grants", row["principalId"])
    for row in result.records("sign_ins"):
        add("sign_ins", row["userId"])
    for row in result.records("directory_audits"):
        user = (row.get("initiatedBy") or {}).get("user") or {}
        add("directory_audits", user.get("id"))
    for row in result.records("usage_email_activity_user_detail"):
        add("usage_email_activity_user_detail", upn_to_id.get(row["user_principal_name"].lower()))
    return named


#: Two days of logs and reports are enough to see whose rows are kept.
SINCE = (dt.datetime.now(dt.UTC) - dt.timedelta(days=4)).strftime("%Y-%m-%dT00:00:00Z")


def sync(sb, **settings):
    sb.reset_log()
    config = sb.tap_config(audit_requests_per_10s=0, start_date=SINCE, **settings)
    return run_sync(config, USER_KEYED)


def test_default_star_loads_every_user_and_lists_nothing_extra(box):
    result = sync(box)
    assert {r["id"] for r in result.records("users")} == {u["id"] for u in box.tenant.users}
    without_mail = [u for u in box.tenant.users if not u.get("mail")]
    assert without_mail
    assert {u["id"] for u in without_mail} <= {r["id"] for r in result.records("users")}
    # no scope listing: /users is read by users, user_sign_in_activity and user_managers only
    listings = [r for r in box.requests if r.path == "/v1.0/users"]
    assert all("$filter" not in r.query for r in listings)
    assert len(listings) == 1 + math.ceil(400 / 500) + 1
    assert {r["email"] for r in result.records("users")} == {
        u["userPrincipalName"] for u in box.tenant.users
    }


@pytest.mark.parametrize(
    ("settings", "rules"),
    [
        ({"user_domains": ["WoodgroveBank.co.uk"]}, {"domains": ["woodgrovebank.co.uk"]}),
        ({"user_domains": ["woodgrovebank.com"], "email_method": "mail"}, {"domains": ["woodgrovebank.com"], "method": "mail"}),
        ({"exclude_guests": True}, {"guests": False}),
        ({"exclude_unlicensed_users": True}, {"unlicensed": False}),
        ({"exclude_disabled_users": True}, {"disabled": False}),
        ({"user_domains": ["*", "woodgrovebank.co.uk"]}, {}),
        (
            {
                "user_domains": ["woodgrovebank.com", "woodgrovebank1586.onmicrosoft.com"],
                "exclude_guests": True,
                "exclude_disabled_users": True,
                "exclude_unlicensed_users": True,
            },
            {
                "domains": ["woodgrovebank.com", "woodgrovebank1586.onmicrosoft.com"],
                "guests": False,
                "disabled": False,
                "unlicensed": False,
            },
        ),
    ],
    ids=[
        "domain",
        "mail-domain",
        "no-guests",
        "licensed-only",
        "enabled-only",
        "star-wins",
        "combined",
    ],
)
def test_every_user_keyed_stream_holds_only_in_scope_users(box, settings, rules):
    expected = expected_users(box, **rules)
    assert 0 < len(expected) <= len(box.tenant.users)
    result = sync(box, **settings)
    assert {r["id"] for r in result.records("users")} == expected
    assert {r["id"] for r in result.records("user_sign_in_activity")} == expected
    named = user_ids_named(result, box)
    assert {"group_members", "sign_ins", "directory_audits", "user_licenses"} <= set(named)
    for stream, ids in named.items():
        assert ids <= expected, f"{stream} names {len(ids - expected)} users outside the scope"
    # the devices of out-of-scope users stay, without their user
    assert len(result.records("managed_devices")) == len(box.tenant.managed_devices)


def test_deny_list_by_address_and_by_id(box):
    first, second = box.tenant.users[3], box.tenant.users[4]
    deny = [first["userPrincipalName"].upper(), second["id"]]
    result = sync(box, user_deny_list=deny)
    expected = expected_users(box, deny=deny)
    assert {r["id"] for r in result.records("users")} == expected
    for stream, ids in user_ids_named(result, box).items():
        assert not ids & {first["id"], second["id"]}, stream


def test_a_domain_scope_is_pushed_to_graph_and_costs_one_listing(box):
    sync(box, user_domains=["woodgrovebank.co.uk"])
    filtered = [r for r in box.requests if r.path == "/v1.0/users" and "$filter" in r.query]
    assert filtered
    assert all(r.query["$filter"] == "endswith(userPrincipalName,'@woodgrovebank.co.uk')" for r in filtered)
    assert all(r.headers.get("ConsistencyLevel") == "eventual" for r in filtered)
    # users, user_sign_in_activity, the scope's id listing, user_managers: one page each (34 users)
    assert len([r for r in box.requests if r.path == "/v1.0/users"]) == 4


def test_group_types_and_ids(box):
    security = {
        g["id"]
        for g in box.tenant.groups
        if g.get("securityEnabled") and not g.get("mailEnabled") and "Unified" not in (g.get("groupTypes") or ())
    }
    result = run_sync(box.tap_config(group_types=["security"]), ["groups", "group_members"])
    assert {r["id"] for r in result.records("groups")} == security
    assert {r["group_id"] for r in result.records("group_members")} <= security
    named = next(g for g in box.tenant.groups if g["id"] in security and box.tenant.memberships.get(g["id"]))
    only = run_sync(
        box.tap_config(group_ids=[named["displayName"].upper()]), ["groups", "group_members"]
    )
    assert {r["id"] for r in only.records("groups")} == {named["id"]}
    assert {r["group_id"] for r in only.records("group_members")} == {named["id"]}


def test_users_of_the_scoped_groups_only(box):
    group = max(
        (g for g in box.tenant.groups if "Unified" in (g.get("groupTypes") or ())),
        key=lambda g: len(box.tenant.memberships.get(g["id"], [])),
    )
    members = {
        m["id"]
        for m in box.tenant.memberships[group["id"]]
        if m["@odata.type"] == "#microsoft.graph.user"
    }
    assert members
    result = sync(box, group_ids=[group["id"]], include_users_of_groups_only=True)
    assert {r["id"] for r in result.records("users")} == members
    for stream, ids in user_ids_named(result, box).items():
        assert ids <= members, stream


def test_concealed_report_names_are_kept_with_one_warning(box, caplog):
    box.tenant.report_options.concealed_names = True
    try:
        with caplog.at_level("WARNING"):
            result = run_sync(
                box.tap_config(user_domains=["woodgrovebank.co.uk"], start_date=SINCE),
                ["usage_email_activity_user_detail"],
            )
    finally:
        box.tenant.report_options.concealed_names = False
    rows = result.records("usage_email_activity_user_detail")
    assert rows
    assert all(r["names_concealed"] for r in rows)
    assert caplog.text.count("the user scope (user_domains, deny list, exclusions) cannot apply") == 1
    box.tenant.report_options.concealed_names = True
    try:
        dropped = run_sync(
            box.tap_config(
                user_domains=["woodgrovebank.co.uk"], start_date=SINCE, scope_concealed_report_rows="drop"
            ),
            ["usage_email_activity_user_detail"],
        )
    finally:
        box.tenant.report_options.concealed_names = False
    assert dropped.records("usage_email_activity_user_detail") == []
