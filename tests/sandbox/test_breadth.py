"""Breadth endpoints (routes/breadth.py, model/breadth.py): shapes, paging, options, permissions, licences, clouds."""

from __future__ import annotations

import pytest
import requests

from m365_graph_sandbox import Sandbox, metadata
from m365_graph_sandbox.model.breadth import assignment_id
from m365_graph_sandbox.routes import breadth

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
DENIED = "Insufficient privileges to complete the operation."


@pytest.fixture(scope="module")
def boxes():
    with (
        Sandbox(users=60, seed=7, audit_throttle=None) as premium,
        Sandbox(users=40, seed=8, premium=False, intune=False, audit_throttle=None) as free,
        Sandbox(users=30, seed=9, cloud="usgov", audit_throttle=None) as gov,
        Sandbox(users=30, seed=9, cloud="china", audit_throttle=None) as china,
    ):
        yield {"premium": premium, "free": free, "usgov": gov, "china": china}


@pytest.fixture
def use(boxes, monkeypatch):
    """``use(name)`` -> (sandbox, a session with a token holding the default permissions)."""

    def pick(name: str, permissions: set[str] | None = None) -> tuple[Sandbox, requests.Session]:
        sb = boxes[name]
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        sb.faults.clear()
        sb.reset_log()
        s = requests.Session()
        s.verify = sb.ca_bundle
        s.headers["Authorization"] = f"Bearer {sb.issue_token(permissions=permissions)}"
        return sb, s

    return pick


def get(sb: Sandbox, s: requests.Session, path: str, status: int = 200) -> dict:
    r = s.get(sb.base_url + path, timeout=10)
    assert r.status_code == status, r.text[:400]
    return r.json()


def every_page(sb: Sandbox, s: requests.Session, path: str) -> tuple[list[dict], int]:
    body = get(sb, s, path)
    items, pages = list(body["value"]), 1
    while "@odata.nextLink" in body:
        r = s.get(body["@odata.nextLink"], timeout=10)
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        items += body["value"]
        pages += 1
    return items, pages


def error(body: dict) -> tuple[str, str]:
    return body["error"]["code"], body["error"]["message"]


def select_error(prop: str, type_name: str) -> str:
    return (
        f"Parsing OData Select and Expand failed: Could not find a property named '{prop}' on type "
        f"'microsoft.graph.{type_name}'."
    )


def without(sb: Sandbox, *names: str) -> set[str]:
    return set(sb.granted_permissions) - set(names)


# -- model consistency -----------------------------------------------------------------------------


def test_model_is_consistent_and_deterministic(boxes):
    sb = boxes["premium"]
    t = sb.tenant
    users = {u["id"] for u in t.users}
    sps = {s["id"] for s in t.service_principals}
    owned = 0
    for group in t.groups:
        refs = t.group_owners[group["id"]]
        assert all(r["id"] in users | sps for r in refs)
        assert len(refs) <= 4
        if group["mailEnabled"] and "Unified" not in group["groupTypes"]:
            assert refs == []  # created in Exchange: no owners in Graph
        if group["onPremisesSyncEnabled"]:
            assert refs == []
        owned += bool(refs)
    assert 0 < owned < len(t.groups)
    # subscriptions: one per SKU, ids are the SKU's subscriptionIds, a trial among them
    assert [s["skuId"] for s in t.subscriptions] == [k["skuId"] for k in t.skus]
    assert all(
        s["id"] in k["subscriptionIds"] for s, k in zip(t.subscriptions, t.skus, strict=True)
    )
    assert any(s["isTrial"] for s in t.subscriptions)
    assert all(s["ownerId"] in users for s in t.subscriptions)
    # every role member has an assignment at "/" pointing at a real definition
    defs = {d["id"] for d in t.role_definitions}
    roots = {
        (a["roleDefinitionId"], a["principalId"])
        for a in t.role_assignments
        if a["directoryScopeId"] == "/"
    }
    for role in t.directory_roles:
        assert role["roleTemplateId"] in defs
        for ref in t.role_members[role["id"]]:
            assert (role["roleTemplateId"], ref["id"]) in roots
    assert all(a["roleDefinitionId"] in defs for a in t.role_assignments)
    scoped = [a for a in t.role_assignments if a["directoryScopeId"] != "/"]
    assert scoped
    assert all(a["directoryScopeId"].startswith("/administrativeUnits/") for a in scoped)
    assert len({a["id"] for a in t.role_assignments}) == len(t.role_assignments)
    assert assignment_id(GLOBAL_ADMIN, "ace08ec9-aa11-4ada-9145-addf0398233e") == (
        "lAPpYvVpN0KRkAEhdxReEMmO4KwRqtpKkUWt3wOYIz4-1"  # the id in Microsoft's v1.0 example
    )
    assert t.role_eligibility
    assert all(
        e["principalId"] in users and e["roleDefinitionId"] in defs for e in t.role_eligibility
    )
    # CA policies reference real locations, groups and users
    locations = {loc["id"] for loc in t.named_locations}
    groups = {g["id"] for g in t.groups}
    for policy in t.ca_policies:
        cond = policy["conditions"]
        assert set(cond["users"]["excludeUsers"]) <= users
        assert set(cond["users"]["includeGroups"]) <= groups
        assert set(cond["users"]["includeRoles"]) <= defs
        if cond["locations"]:
            assert set(cond["locations"]["excludeLocations"]) <= locations
            assert set(cond["locations"]["includeLocations"]) - {"All"} <= locations
    assert {p["state"] for p in t.ca_policies} == {
        "enabled",
        "disabled",
        "enabledForReportingButNotEnforced",
    }
    again = Sandbox(users=60, seed=7).tenant
    assert again.role_assignments == t.role_assignments
    assert again.ca_policies == t.ca_policies
    assert again.group_owners == t.group_owners


# -- group owners ----------------------------------------------------------------------------------


def test_group_owners_are_users_with_odata_type(use):
    sb, s = use("premium")
    t = sb.tenant
    group = next(g for g, refs in t.group_owners.items() if len(refs) >= 2)
    body = get(sb, s, f"/v1.0/groups/{group}/owners?$select=id,displayName,userPrincipalName")
    expected = [
        r["id"] for r in t.group_owners[group] if r["@odata.type"] == "#microsoft.graph.user"
    ]
    assert [o["id"] for o in body["value"]] == expected
    for owner in body["value"]:
        assert owner["@odata.type"] == "#microsoft.graph.user"
        assert owner["userPrincipalName"] == t.user(owner["id"])["userPrincipalName"]
    assert body["@odata.context"].endswith("#directoryObjects(id,displayName,userPrincipalName)")
    # an owner that is a service principal is not listed by v1.0 (group-list-owners note)
    with_sp = next(
        g for g, refs in t.group_owners.items()
        if any(r["@odata.type"] == "#microsoft.graph.servicePrincipal" for r in refs)
    )  # fmt: skip
    listed = get(sb, s, f"/v1.0/groups/{with_sp}/owners")["value"]
    assert all(o["@odata.type"] == "#microsoft.graph.user" for o in listed)
    no_owner = next(g for g, refs in t.group_owners.items() if not refs)
    assert get(sb, s, f"/v1.0/groups/{no_owner}/owners")["value"] == []


def test_group_owners_paging_select_permissions_and_batch(use):
    sb, s = use("premium")
    t = sb.tenant
    group = next(g for g, refs in t.group_owners.items() if len(refs) >= 3)
    items, pages = every_page(sb, s, f"/v1.0/groups/{group}/owners?$top=1")
    assert pages == len(items) >= 3
    assert error(get(sb, s, f"/v1.0/groups/{group}/owners?$select=nope", 400))[1] == select_error(
        "nope", "directoryObject"
    )
    assert (
        error(get(sb, s, f"/v1.0/groups/{group}/owners?$top=1000", 400))[0] == "Request_BadRequest"
    )
    assert error(get(sb, s, "/v1.0/groups/00000000-0000-0000-0000-000000000000/owners", 404))[
        0
    ] == ("Request_ResourceNotFound")
    # no group permission at all: 403; group rights without user rights: limited information
    _, s2 = use("premium", without(sb, "GroupMember.Read.All", "Directory.Read.All"))
    assert error(get(sb, s2, f"/v1.0/groups/{group}/owners", 403)) == (
        "Authorization_RequestDenied",
        DENIED,
    )
    _, s3 = use("premium", {"GroupMember.Read.All"})
    limited = get(sb, s3, f"/v1.0/groups/{group}/owners")["value"]
    assert limited
    assert all(set(o) == {"@odata.type", "id"} for o in limited)
    # inside $batch
    answer = s.post(
        sb.base_url + "/v1.0/$batch",
        json={
            "requests": [{"id": "1", "method": "GET", "url": f"/groups/{group}/owners?$select=id"}]
        },
        timeout=10,
    ).json()["responses"][0]
    assert answer["status"] == 200
    assert [o["id"] for o in answer["body"]["value"]] == [
        r["id"] for r in t.group_owners[group] if "user" in r["@odata.type"]
    ]


# -- subscriptions ---------------------------------------------------------------------------------


def test_directory_subscriptions(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/directory/subscriptions")
    assert body["value"] == t.subscriptions
    assert set(body["value"][0]) == set(metadata.properties("companySubscription", "global"))
    trial = get(
        sb, s, "/v1.0/directory/subscriptions?$filter=isTrial eq true&$select=skuPartNumber,isTrial"
    )
    assert trial["value"]
    assert all(v["isTrial"] for v in trial["value"])
    items, pages = every_page(sb, s, "/v1.0/directory/subscriptions?$top=2")
    assert items == t.subscriptions
    assert pages == (len(t.subscriptions) + 1) // 2
    assert error(get(sb, s, "/v1.0/directory/subscriptions?$select=bogus", 400))[1] == select_error(
        "bogus", "companySubscription"
    )
    assert (
        get(sb, s, "/v1.0/directory/subscriptions?$orderby=skuId", 400)["error"]["code"]
        == "BadRequest"
    )
    _, s2 = use("premium", without(sb, "Organization.Read.All", "Directory.Read.All"))
    get(sb, s2, "/v1.0/directory/subscriptions", 403)


# -- role management -------------------------------------------------------------------------------


def test_role_definitions(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/roleManagement/directory/roleDefinitions")
    assert body["value"] == t.role_definitions
    assert "@odata.nextLink" not in body
    ga = next(d for d in body["value"] if d["id"] == GLOBAL_ADMIN)
    assert ga["templateId"] == GLOBAL_ADMIN
    assert ga["isBuiltIn"]
    assert ga["isEnabled"]
    assert ga["rolePermissions"][0]["allowedResourceActions"]
    assert ga["rolePermissions"][0]["condition"] is None
    custom = get(
        sb, s, "/v1.0/roleManagement/directory/roleDefinitions?$filter=isBuiltIn eq false"
    )["value"]
    assert len(custom) == 1
    assert not custom[0]["isBuiltIn"]
    picked = get(
        sb, s,
        "/v1.0/roleManagement/directory/roleDefinitions?$filter=displayName in ('Global Reader','Reports Reader')"
        "&$select=id,displayName",
    )["value"]  # fmt: skip
    assert {d["displayName"] for d in picked} == {"Global Reader", "Reports Reader"}
    assert set(picked[0]) == {"id", "displayName"}
    # only id/displayName/isBuiltIn filter, no $top
    get(sb, s, "/v1.0/roleManagement/directory/roleDefinitions?$filter=version eq '1'", 400)
    get(sb, s, "/v1.0/roleManagement/directory/roleDefinitions?$top=5", 400)
    _, s2 = use("premium", without(sb, "RoleManagement.Read.Directory", "Directory.Read.All"))
    get(sb, s2, "/v1.0/roleManagement/directory/roleDefinitions", 403)


def test_role_assignments(use, monkeypatch):
    sb, s = use("premium")
    t = sb.tenant
    everything = get(sb, s, "/v1.0/roleManagement/directory/roleAssignments")
    assert everything["value"] == t.role_assignments  # v1.0 lists without a filter
    ga = get(
        sb,
        s,
        f"/v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{GLOBAL_ADMIN}'",
    )["value"]
    assert ga
    assert all(a["roleDefinitionId"] == GLOBAL_ADMIN for a in ga)
    principal = ga[0]["principalId"]
    mine = get(
        sb, s,
        f"/v1.0/roleManagement/directory/roleAssignments?$filter=principalId eq '{principal}'&$select=id,roleDefinitionId",
    )["value"]  # fmt: skip
    assert {a["id"] for a in mine} == {
        a["id"] for a in t.role_assignments if a["principalId"] == principal
    }
    assert set(mine[0]) == {"id", "roleDefinitionId"}
    monkeypatch.setattr(breadth, "ROLE_ASSIGNMENT_PAGE", 5)
    items, pages = every_page(sb, s, "/v1.0/roleManagement/directory/roleAssignments")
    assert items == t.role_assignments
    assert pages == -(-len(items) // 5) > 1
    get(sb, s, "/v1.0/roleManagement/directory/roleAssignments?$top=5", 400)
    assert error(
        get(sb, s, "/v1.0/roleManagement/directory/roleAssignments?$select=principal", 400)
    )[1] == (select_error("principal", "unifiedRoleAssignment"))
    _, s2 = use("premium", {"User.Read.All"})
    get(sb, s2, "/v1.0/roleManagement/directory/roleAssignments", 403)
    _, s3 = use("premium", {"Directory.Read.All"})
    get(sb, s3, "/v1.0/roleManagement/directory/roleAssignments")


def test_role_eligibility_schedules_and_licence(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/roleManagement/directory/roleEligibilitySchedules")
    assert body["value"] == t.role_eligibility
    item = body["value"][0]
    assert item["memberType"] == "Direct"
    assert item["status"] == "Provisioned"
    assert item["createdUsing"] == item["id"]
    assert item["directoryScopeId"] == "/"
    assert item["scheduleInfo"]["expiration"]["type"] in {"noExpiration", "afterDateTime"}
    get(sb, s, "/v1.0/roleManagement/directory/roleEligibilitySchedules?$top=1", 400)
    # Directory.Read.All is not enough here (not in the documented list)
    _, s2 = use("premium", {"Directory.Read.All"})
    get(sb, s2, "/v1.0/roleManagement/directory/roleEligibilitySchedules", 403)
    _, s3 = use("premium", {"RoleEligibilitySchedule.Read.Directory"})
    get(sb, s3, "/v1.0/roleManagement/directory/roleEligibilitySchedules?$select=id,principalId")
    free, s4 = use("free")
    assert error(get(free, s4, "/v1.0/roleManagement/directory/roleEligibilitySchedules", 400)) == (
        "AadPremiumLicenseRequired",
        "The tenant needs an AAD Premium 2 license.",
    )
    # the permission check comes first
    _, s5 = use("free", {"User.Read.All"})
    get(free, s5, "/v1.0/roleManagement/directory/roleEligibilitySchedules", 403)


# -- Conditional Access ----------------------------------------------------------------------------


def test_conditional_access_policies(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/identity/conditionalAccess/policies")
    assert body["value"] == t.ca_policies
    assert isinstance(body["value"][0]["conditions"]["users"], dict)
    page = get(
        sb,
        s,
        "/v1.0/identity/conditionalAccess/policies?$top=3&$skip=2&$count=true&$select=id,state",
    )
    assert page["@odata.count"] == len(t.ca_policies) - 2
    assert [p["id"] for p in page["value"]] == [p["id"] for p in t.ca_policies[2:5]]
    items, _ = every_page(sb, s, "/v1.0/identity/conditionalAccess/policies?$top=3")
    assert items == t.ca_policies
    enabled = get(sb, s, "/v1.0/identity/conditionalAccess/policies?$filter=state eq 'enabled'")[
        "value"
    ]
    assert enabled
    assert {p["state"] for p in enabled} == {"enabled"}
    ordered = get(
        sb, s, "/v1.0/identity/conditionalAccess/policies?$orderby=displayName&$select=displayName"
    )
    names = [p["displayName"] for p in ordered["value"]]
    assert names == sorted(names, key=str.lower)
    assert error(get(sb, s, "/v1.0/identity/conditionalAccess/policies?$select=nope", 400))[1] == (
        select_error("nope", "conditionalAccessPolicy")
    )
    get(sb, s, "/v1.0/identity/conditionalAccess/policies?$search=x", 400)
    _, s2 = use("premium", without(sb, "Policy.Read.All"))
    get(sb, s2, "/v1.0/identity/conditionalAccess/policies", 403)
    free, s3 = use("free")
    assert get(free, s3, "/v1.0/identity/conditionalAccess/policies")["value"] == []


def test_named_locations(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/identity/conditionalAccess/namedLocations")
    assert body["value"] == t.named_locations
    kinds = {loc["@odata.type"] for loc in body["value"]}
    assert kinds == {"#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"}
    for loc in body["value"]:
        kind = loc["@odata.type"].rsplit(".", 1)[1]
        assert set(loc) - {"@odata.type"} == set(metadata.properties(kind, "global"))
        if kind == "ipNamedLocation":
            assert all(
                r["@odata.type"].endswith("CidrRange") and "/" in r["cidrAddress"]
                for r in loc["ipRanges"]
            )
    selected = get(sb, s, "/v1.0/identity/conditionalAccess/namedLocations?$select=id,displayName")[
        "value"
    ]
    assert all(set(loc) == {"@odata.type", "id", "displayName"} for loc in selected)
    # derived properties need a cast: not on the base collection
    assert error(
        get(sb, s, "/v1.0/identity/conditionalAccess/namedLocations?$select=ipRanges", 400)
    )[1] == (select_error("ipRanges", "namedLocation"))
    items, pages = every_page(sb, s, "/v1.0/identity/conditionalAccess/namedLocations?$top=2")
    assert items == t.named_locations
    assert pages == 3
    _, s2 = use("premium", without(sb, "Policy.Read.All"))
    get(sb, s2, "/v1.0/identity/conditionalAccess/namedLocations", 403)


# -- clouds ----------------------------------------------------------------------------------------

BATCH_ONE = [
    ("/v1.0/directory/subscriptions", "companySubscription"),
    ("/v1.0/roleManagement/directory/roleDefinitions", "unifiedRoleDefinition"),
    ("/v1.0/roleManagement/directory/roleAssignments", "unifiedRoleAssignment"),
    ("/v1.0/roleManagement/directory/roleEligibilitySchedules", "unifiedRoleEligibilitySchedule"),
    ("/v1.0/identity/conditionalAccess/policies", "conditionalAccessPolicy"),
]


@pytest.mark.parametrize("cloud", ["usgov", "china"])
@pytest.mark.parametrize(("path", "type_name"), BATCH_ONE)
def test_national_clouds_serve_their_metadata(use, cloud, path, type_name):
    sb, s = use(cloud)
    names = metadata.properties(type_name, cloud)
    items = get(sb, s, path)["value"]
    assert items
    for item in items:
        assert set(item) == set(
            names
        )  # e.g. no principalOrganizationId / deletedDateTime outside global
    selected = get(sb, s, f"{path}?$select={','.join(names)}")["value"]
    assert all(set(i) == set(names) for i in selected)
    missing = set(metadata.properties(type_name, "global")) - set(names)
    for prop in missing:
        assert error(get(sb, s, f"{path}?$select={prop}", 400))[1] == select_error(prop, type_name)


# == batch 2 ========================================================================================


def iso_days_ago(days: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400))


def test_user_registration_details(use, monkeypatch):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/reports/authenticationMethods/userRegistrationDetails")
    assert body["value"] == t.registration_details[: breadth.REGISTRATION_PAGE]
    first = body["value"][0]
    assert set(first) == set(metadata.properties("userRegistrationDetails", "global"))
    users = {u["id"]: u for u in t.users}
    admins = {r["id"] for refs in t.role_members.values() for r in refs}
    for row in t.registration_details:
        user = users[row["id"]]
        assert user["accountEnabled"]  # the API skips disabled users
        assert row["userPrincipalName"] == user["userPrincipalName"]
        assert row["userType"] == user["userType"].lower()
        assert row["isAdmin"] == (row["id"] in admins)
        assert row["isMfaRegistered"] == any(m != "email" for m in row["methodsRegistered"])
    assert any(r["isAdmin"] for r in t.registration_details)
    admins_only = get(
        sb, s, "/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=isAdmin eq true"
    )
    assert {r["id"] for r in admins_only["value"]} == {
        r["id"] for r in t.registration_details if r["isAdmin"]
    }
    email = get(
        sb,
        s,
        "/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=methodsRegistered/any(m: m eq 'email')",
    )["value"]
    assert email
    assert all("email" in r["methodsRegistered"] for r in email)
    ordered = get(
        sb,
        s,
        "/v1.0/reports/authenticationMethods/userRegistrationDetails?$orderby=userPrincipalName",
    )
    upns = [r["userPrincipalName"] for r in ordered["value"]]
    assert upns == sorted(upns, key=str.lower)
    monkeypatch.setattr(breadth, "REGISTRATION_PAGE", 20)
    items, pages = every_page(sb, s, "/v1.0/reports/authenticationMethods/userRegistrationDetails")
    assert items == t.registration_details
    assert pages == -(-len(items) // 20)
    # documented options: $filter and $orderby only
    get(sb, s, "/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=5", 400)
    get(sb, s, "/v1.0/reports/authenticationMethods/userRegistrationDetails?$select=id", 400)
    get(
        sb,
        s,
        "/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=userType ne 'guest'",
        400,
    )
    _, s2 = use("premium", without(sb, "AuditLog.Read.All"))
    get(sb, s2, "/v1.0/reports/authenticationMethods/userRegistrationDetails", 403)
    _, s3 = use("premium", {"UserAuthenticationMethod.Read.All"})
    get(sb, s3, "/v1.0/reports/authenticationMethods/userRegistrationDetails")
    free, s4 = use("free")
    assert error(
        get(free, s4, "/v1.0/reports/authenticationMethods/userRegistrationDetails", 403)
    ) == (
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license",
    )


def test_mobile_apps(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/deviceAppManagement/mobileApps")
    assert body["value"] == t.mobile_apps
    assert "@odata.nextLink" not in body  # Intune pages hold 1000
    kinds = {a["@odata.type"] for a in body["value"]}
    assert {
        "#microsoft.graph.win32LobApp",
        "#microsoft.graph.iosStoreApp",
        "#microsoft.graph.webApp",
    } <= kinds
    for app in body["value"]:
        assert set(app) - {"@odata.type"} == set(metadata.properties("mobileApp", "global"))
    items, pages = every_page(sb, s, "/v1.0/deviceAppManagement/mobileApps?$top=5")
    assert items == t.mobile_apps
    assert pages == -(-len(items) // 5)
    picked = get(
        sb,
        s,
        "/v1.0/deviceAppManagement/mobileApps?$select=id,displayName&$filter=isFeatured eq true",
    )
    assert all(set(a) == {"@odata.type", "id", "displayName"} for a in picked["value"])
    assert error(get(sb, s, "/v1.0/deviceAppManagement/mobileApps?$select=nope", 400))[
        1
    ] == select_error("nope", "mobileApp")
    get(sb, s, "/v1.0/deviceAppManagement/mobileApps?$top=1001", 400)
    _, s2 = use("premium", without(sb, "DeviceManagementApps.Read.All"))
    get(sb, s2, "/v1.0/deviceAppManagement/mobileApps", 403)
    free, s3 = use("free")
    assert error(get(free, s3, "/v1.0/deviceAppManagement/mobileApps", 400)) == (
        "BadRequest",
        "Request not applicable to target tenant.",
    )


def test_secure_scores_and_control_profiles(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/security/secureScores")
    scores = body["value"]
    assert scores == t.secure_scores
    assert len(scores) == 90
    dates = [x["createdDateTime"] for x in scores]
    assert dates == sorted(dates, reverse=True)  # newest first
    assert dates[0] > iso_days_ago(2)
    profiles = {p["id"]: p for p in t.control_profiles}
    assert len(profiles) == 20
    for score in scores[:3]:
        assert set(score) == set(metadata.properties("secureScore", "global"))
        assert score["id"] == f"{t.tenant_id}_{score['createdDateTime'][:10]}"
        assert {c["controlName"] for c in score["controlScores"]} == set(profiles)
        assert all(
            c["score"] <= profiles[c["controlName"]]["maxScore"] for c in score["controlScores"]
        )
        assert score["currentScore"] <= score["maxScore"]
    recent = get(
        sb,
        s,
        f"/v1.0/security/secureScores?$filter=createdDateTime ge {iso_days_ago(7)}&$count=true",
    )
    assert 6 <= recent["@odata.count"] == len(recent["value"]) <= 7
    page = get(sb, s, "/v1.0/security/secureScores?$top=1&$skip=7")
    assert page["value"] == [t.secure_scores[7]]
    items, pages = every_page(sb, s, "/v1.0/security/secureScores?$top=40")
    assert items == t.secure_scores
    assert pages == 3
    get(sb, s, "/v1.0/security/secureScores?$select=id", 400)  # not a documented option
    get(sb, s, "/v1.0/security/secureScores?$filter=currentScore gt 3", 400)
    prof = get(sb, s, "/v1.0/security/secureScoreControlProfiles")["value"]
    assert prof == t.control_profiles
    assert set(prof[0]) == set(metadata.properties("secureScoreControlProfile", "global"))
    identity = get(
        sb, s, "/v1.0/security/secureScoreControlProfiles?$filter=controlCategory eq 'Identity'"
    )
    assert identity["value"]
    assert {p["controlCategory"] for p in identity["value"]} == {"Identity"}
    _, s2 = use("premium", without(sb, "SecurityEvents.Read.All"))
    get(sb, s2, "/v1.0/security/secureScores", 403)
    get(sb, s2, "/v1.0/security/secureScoreControlProfiles", 403)


def test_risky_users(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/identityProtection/riskyUsers")
    assert body["value"] == t.risky_users
    users = {u["id"]: u for u in t.users}
    for row in t.risky_users:
        assert row["userPrincipalName"] == users[row["id"]]["userPrincipalName"]
        assert (row["riskLevel"] == "none") == (row["riskState"] in {"remediated", "dismissed"})
    assert set(body["value"][0]) == set(metadata.properties("riskyUser", "global"))
    at_risk = get(
        sb,
        s,
        "/v1.0/identityProtection/riskyUsers?$filter=riskState eq 'atRisk'&$select=id,riskLevel",
    )
    assert at_risk["value"]
    assert all(set(r) == {"id", "riskLevel"} for r in at_risk["value"])
    items, pages = every_page(sb, s, "/v1.0/identityProtection/riskyUsers?$top=1")
    assert items == t.risky_users
    assert pages == len(items)
    get(sb, s, "/v1.0/identityProtection/riskyUsers?$top=501", 400)
    get(sb, s, "/v1.0/identityProtection/riskyUsers?$orderby=riskLevel", 400)
    _, s2 = use("premium", without(sb, "IdentityRiskyUser.Read.All"))
    get(sb, s2, "/v1.0/identityProtection/riskyUsers", 403)
    free, s3 = use("free")
    assert error(get(free, s3, "/v1.0/identityProtection/riskyUsers", 403))[0] == (
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    )


def test_service_health_issues(use):
    sb, s = use("premium")
    t = sb.tenant
    body = get(sb, s, "/v1.0/admin/serviceAnnouncement/issues")
    assert body["value"] == t.service_issues
    issue = body["value"][0]
    assert set(issue) == set(metadata.properties("serviceHealthIssue", "global"))
    assert issue["classification"] in {"advisory", "incident"}
    assert issue["posts"][0]["description"]["contentType"] == "html"
    for item in t.service_issues:
        assert item["isResolved"] == (item["endDateTime"] is not None)
        assert item["id"][:2].isalpha()
        assert item["id"][-6:].isdigit()
    since = t.service_issues[5]["lastModifiedDateTime"]
    recent = get(
        sb, s, f"/v1.0/admin/serviceAnnouncement/issues?$filter=lastModifiedDateTime ge {since}"
    )
    assert {i["id"] for i in recent["value"]} == {
        i["id"] for i in t.service_issues if i["lastModifiedDateTime"] >= since
    }
    # Prefer: odata.maxpagesize; nextLinks carry $skip (as the docs' example)
    r = s.get(
        sb.base_url + "/v1.0/admin/serviceAnnouncement/issues",
        headers={"Prefer": "odata.maxpagesize=4"},
        timeout=10,
    )
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=4"
    first = r.json()
    assert first["value"] == t.service_issues[:4]
    assert first["@odata.nextLink"].endswith("issues?$skip=4")
    items, _ = every_page(sb, s, "/v1.0/admin/serviceAnnouncement/issues?$top=5&$select=id,title")
    assert [i["id"] for i in items] == [i["id"] for i in t.service_issues]
    get(sb, s, "/v1.0/admin/serviceAnnouncement/issues?$select=posts,nope", 400)
    _, s2 = use("premium", without(sb, "ServiceHealth.Read.All"))
    get(sb, s2, "/v1.0/admin/serviceAnnouncement/issues", 403)


def test_license_assignment_states(use):
    sb, s = use("premium")
    t = sb.tenant
    for cloud in ("global", "usgov", "china"):
        assert "licenseAssignmentStates" in metadata.properties("user", cloud)
    group_id = t.licensing_group
    group = t.group(group_id)
    assert group["assignedLicenses"]
    group_skus = {lic["skuId"] for lic in group["assignedLicenses"]}
    members = {r["id"] for r in t.memberships[group_id]}
    by_group = errors = 0
    for user in t.users:
        states = user["licenseAssignmentStates"]
        assigned = {lic["skuId"] for lic in user["assignedLicenses"]}
        assert {x["skuId"] for x in states if x["state"] != "Error"} == assigned
        for state in states:
            assert t.sku(state["skuId"]) is not None
            if state["assignedByGroup"] is not None:
                assert state["assignedByGroup"] == group_id
                assert state["skuId"] in group_skus
                assert user["id"] in members
                by_group += 1
            if state["state"] == "Error":
                assert state["error"] not in {None, "None"}
                errors += 1
            else:
                assert state["error"] == "None"
    assert by_group >= 3
    assert 1 <= errors <= 2
    body = get(sb, s, "/v1.0/users?$select=id,licenseAssignmentStates&$top=999")
    served = {u["id"]: u["licenseAssignmentStates"] for u in body["value"]}
    assert served == {u["id"]: u["licenseAssignmentStates"] for u in t.users}
    delta, _ = every_page(sb, s, "/v1.0/users/delta?$select=id,licenseAssignmentStates")
    erring = next(
        u for u in t.users if any(x["state"] == "Error" for x in u["licenseAssignmentStates"])
    )
    row = next(u for u in delta if u["id"] == erring["id"])
    assert row["licenseAssignmentStates"] == erring["licenseAssignmentStates"]


# -- clouds (batch 2) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/v1.0/security/secureScores", "secureScores"),
        ("/v1.0/security/secureScoreControlProfiles", "secureScoreControlProfiles"),
        ("/v1.0/identityProtection/riskyUsers", "riskyUsers"),
    ],
)
def test_china_lacks_security_and_risk(use, path, segment):
    sb, s = use("china")
    assert error(get(sb, s, path, 400)) == (
        "BadRequest",
        f"Resource not found for the segment '{segment}'.",
    )
    gov, s2 = use("usgov")
    assert get(gov, s2, path)["value"]


@pytest.mark.parametrize("cloud", ["usgov", "china"])
def test_batch_two_in_national_clouds(use, cloud):
    sb, s = use(cloud)
    for path, type_name in [
        ("/v1.0/reports/authenticationMethods/userRegistrationDetails", "userRegistrationDetails"),
        ("/v1.0/admin/serviceAnnouncement/issues", "serviceHealthIssue"),
        ("/v1.0/deviceAppManagement/mobileApps", "mobileApp"),
    ]:
        items = get(sb, s, path)["value"]
        assert items
        assert all(
            set(i) - {"@odata.type"} == set(metadata.properties(type_name, cloud)) for i in items
        )
