"""Several tenants behind one sandbox listener (CONTRACT.md "Several tenants")."""

from __future__ import annotations

import json
from pathlib import Path

import msal
import pytest
import requests

from m365_graph_sandbox import Sandbox, SandboxTenant
from tests.sandbox.test_cli import cli

ROOT = Path(__file__).resolve().parents[2]
GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]


@pytest.fixture(scope="module")
def box():
    sb = Sandbox(users=40, seed=11)
    sb.add_tenant(users=30, seed=12)  # before start
    with sb:
        sb.add_tenant(users=50, seed=13, consented=False)  # after start
        yield sb


@pytest.fixture
def sb(box, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_bundle)
    saved = [
        (t, set(t.granted_permissions), t.consented, t.secret_expired, t.consent_missing)
        for t in box.tenants
    ]
    for t in box.tenants:
        t.faults.clear()
    box.reset_log()
    yield box
    for t, granted, consented, expired, missing in saved:
        t.faults.clear()
        t.granted_permissions = granted
        t.consented, t.secret_expired, t.consent_missing = consented, expired, missing


def get_token(sb, tenant, client_id=None, secret=None):
    response = requests.post(
        f"{sb.base_url}/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id or sb.client_id,
            "client_secret": secret or sb.client_secret,
            "scope": GRAPH_SCOPE[0],
        },
        timeout=10,
    )
    return response


def token(sb, t: SandboxTenant, *, own=False) -> str:
    client_id, secret = (t.client_id, t.client_secret) if own else (None, None)
    response = get_token(sb, t.tenant_id, client_id, secret)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def graph(sb, access_token, path, **params):
    return requests.get(
        f"{sb.base_url}/v1.0{path}",
        headers={"Authorization": f"Bearer {access_token}"},
        params=params,
        allow_redirects=False,
        timeout=10,
    )


def test_tenants_are_distinct(sb):
    primary, second, third = sb.tenants
    assert primary.primary
    assert primary.tenant is sb.tenant
    assert primary.server is sb.server
    assert primary.tenant_id == sb.tenant_id
    assert primary.client_id == sb.client_id
    assert len({t.tenant_id for t in sb.tenants}) == 3
    assert len({t.company for t in sb.tenants}) == 3
    assert len({t.client_id for t in sb.tenants}) == 3
    assert len({t.client_secret for t in sb.tenants}) == 3
    domains = [{d["id"] for d in t.tenant.domains} for t in sb.tenants]
    assert not (domains[0] & domains[1])
    assert not (domains[1] & domains[2])
    assert not second.primary
    assert third.consented is False
    assert (len(second.tenant.users), len(third.tenant.users)) == (30, 50)


def test_users_listing_through_each_tenants_token(sb):
    primary, second, _ = sb.tenants
    for t in (primary, second):
        body = graph(sb, token(sb, t), "/users", **{"$top": "999"}).json()
        assert {u["id"] for u in body["value"]} == {u["id"] for u in t.tenant.users}
        org = graph(sb, token(sb, t), "/organization").json()["value"][0]
        assert org["id"] == t.tenant_id
        assert org["displayName"] == t.company


def test_tenant_by_verified_domain_and_unknown_tenant(sb):
    second = sb.tenants[1]
    assert get_token(sb, second.tenant.default_domain).status_code == 200
    doc = requests.get(
        f"{sb.base_url}/{second.tenant.default_domain}/v2.0/.well-known/openid-configuration",
        timeout=10,
    ).json()
    assert doc["token_endpoint"] == f"{sb.base_url}/{second.tenant_id}/oauth2/v2.0/token"
    unknown = get_token(sb, "00000000-0000-0000-0000-000000000001")
    assert unknown.status_code == 400
    assert unknown.json()["error_codes"] == [90002]
    assert sb.requests[-1].tenant_id == ""


def test_shared_app_in_consented_and_not_consented_tenants(sb):
    _, second, third = sb.tenants
    app = msal.ConfidentialClientApplication(
        sb.client_id,
        client_credential=sb.client_secret,
        authority=f"{sb.base_url}/{second.tenant_id}",
        instance_discovery=False,
    )
    assert "access_token" in app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    refused = get_token(sb, third.tenant_id)
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "unauthorized_client"
    assert body["error_codes"] == [700016]
    assert third.company in body["error_description"]
    third.consented = True
    assert get_token(sb, third.tenant_id).status_code == 200
    second.consented = False
    assert get_token(sb, second.tenant_id).json()["error_codes"] == [700016]


def test_shared_apps_certificate_works_in_other_tenants(sb):
    second = sb.tenants[1]
    with open(sb.cert_key_path) as handle:
        key = handle.read()
    app = msal.ConfidentialClientApplication(
        sb.client_id,
        client_credential={"private_key": key, "thumbprint": sb.cert_thumbprint},
        authority=f"{sb.base_url}/{second.tenant_id}",
        instance_discovery=False,
    )
    assert "access_token" in app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    # the tenant's own app has no certificate registered
    own = msal.ConfidentialClientApplication(
        second.client_id,
        client_credential={"private_key": key, "thumbprint": sb.cert_thumbprint},
        authority=f"{sb.base_url}/{second.tenant_id}",
        instance_discovery=False,
    )
    assert own.acquire_token_for_client(scopes=GRAPH_SCOPE)["error_codes"] == [700027]


def test_own_app_only_in_its_own_tenant(sb):
    primary, second, third = sb.tenants
    access = token(sb, second, own=True)
    assert graph(sb, access, "/users").status_code == 200
    for other in (primary, third):
        refused = get_token(sb, other.tenant_id, second.client_id, second.client_secret)
        assert refused.status_code == 400
        assert refused.json()["error_codes"] == [700016]
    wrong = get_token(sb, second.tenant_id, second.client_id, sb.client_secret)
    assert wrong.status_code == 401
    assert wrong.json()["error_codes"] == [7000215]
    assert second.own_entry() == {
        "tenant_id": second.tenant_id,
        "client_id": second.client_id,
        "client_secret": second.client_secret,
    }
    assert second.entry(label="x") == {"tenant_id": second.tenant_id, "label": "x"}


def test_per_tenant_grants_and_toggles(sb):
    primary, second, _ = sb.tenants
    for t in (primary, second):
        t.granted_permissions = t.granted_permissions - {"AuditLog.Read.All"}
    second.granted_permissions = second.granted_permissions | {"AuditLog.Read.All"}
    denied = graph(sb, token(sb, primary), "/auditLogs/directoryAudits")
    allowed = graph(sb, token(sb, second), "/auditLogs/directoryAudits")
    assert (denied.status_code, allowed.status_code) == (403, 200)
    second.secret_expired = True
    assert get_token(sb, second.tenant_id).json()["error_codes"] == [7000222]
    assert get_token(sb, primary.tenant_id).status_code == 200
    second.secret_expired, second.consent_missing = False, True
    assert get_token(sb, second.tenant_id).json()["error_codes"] == [65001]


def test_per_tenant_faults_and_logs(sb):
    primary, second, _ = sb.tenants
    second.faults.add(r"^/v1\.0/users$", 503)
    access1, access2 = token(sb, primary), token(sb, second)
    assert graph(sb, access1, "/users").status_code == 200
    assert graph(sb, access2, "/users").status_code == 503
    assert graph(sb, access2, "/users").status_code == 200
    assert primary.count("/v1.0/users") == sb.count("/v1.0/users") == 1
    assert second.count("/v1.0/users") == 2
    assert {r.tenant_id for r in second.requests} == {second.tenant_id}
    assert {r.tenant_id for r in sb.requests} == {primary.tenant_id}
    merged = [(r.tenant_id, r.path) for r in sb.all_requests]
    assert merged == [
        (primary.tenant_id, f"/{primary.tenant_id}/oauth2/v2.0/token"),
        (second.tenant_id, f"/{second.tenant_id}/oauth2/v2.0/token"),
        (primary.tenant_id, "/v1.0/users"),
        (second.tenant_id, "/v1.0/users"),
        (second.tenant_id, "/v1.0/users"),
    ]
    # a token fault on one tenant's endpoint leaves the other's alone
    primary.faults.add(r"/oauth2/v2\.0/token", 503)
    assert get_token(sb, second.tenant_id).status_code == 200
    assert get_token(sb, primary.tenant_id).status_code == 503


def test_batch_stays_in_the_outer_tokens_tenant(sb):
    second = sb.tenants[1]
    response = requests.post(
        f"{sb.base_url}/v1.0/$batch",
        headers={"Authorization": f"Bearer {token(sb, second)}"},
        json={"requests": [{"id": "1", "method": "GET", "url": "/organization"}]},
        timeout=10,
    )
    inner = response.json()["responses"][0]
    assert inner["body"]["value"][0]["id"] == second.tenant_id
    assert second.batch_requests[-1].tenant_id == second.tenant_id
    assert not sb.batch_requests


def test_revoke_and_issue_token_per_tenant(sb):
    primary, second, _ = sb.tenants
    access1, access2 = token(sb, primary), token(sb, second)
    second.revoke_tokens()
    assert graph(sb, access1, "/users").status_code == 200
    assert graph(sb, access2, "/users").status_code == 401
    issued = second.issue_token()
    assert issued in second.issued_tokens
    assert issued not in sb.issued_tokens
    assert graph(sb, issued, "/organization").json()["value"][0]["id"] == second.tenant_id


def round_ids(sb, access, url):
    ids, link = set(), None
    while True:
        body = requests.get(url, headers={"Authorization": f"Bearer {access}"}, timeout=10).json()
        ids |= {item["id"] for item in body["value"]}
        link = body.get("@odata.nextLink")
        if link is None:
            return ids, body["@odata.deltaLink"]
        url = link


def test_delta_links_stay_per_tenant(sb):
    primary, second, _ = sb.tenants
    access1, access2 = token(sb, primary), token(sb, second)
    ids1, link1 = round_ids(sb, access1, f"{sb.base_url}/v1.0/users/delta")
    ids2, link2 = round_ids(sb, access2, f"{sb.base_url}/v1.0/users/delta")
    assert ids1 == {u["id"] for u in primary.tenant.users}
    assert ids2 == {u["id"] for u in second.tenant.users}
    user = second.tenant.users[0]["id"]
    second.update("users", user, jobTitle="Changed")
    assert round_ids(sb, access1, link1)[0] == set()
    assert round_ids(sb, access2, link2)[0] == {user}
    # a tenant's delta link read with another tenant's token is not that tenant's state
    foreign = requests.get(link2, headers={"Authorization": f"Bearer {access1}"}, timeout=10)
    assert foreign.status_code == 400


def test_report_download_routes_to_the_issuing_tenant(sb):
    second = sb.tenants[1]
    redirect = graph(sb, token(sb, second), "/reports/getOffice365ActiveUserDetail(period='D7')")
    assert redirect.status_code == 302
    csv_text = requests.get(redirect.headers["Location"], timeout=10).content.decode("utf-8-sig")
    assert len(csv_text.splitlines()) > 1
    assert second.count(prefix="/download/") == 1
    assert sb.count(prefix="/download/") == 0


def test_controls_take_a_tenant_query(sb):
    primary, second, _ = sb.tenants
    before = (primary.changes.version, second.changes.version)
    done = requests.post(
        f"{sb.base_url}/_sandbox/churn",
        params={"fraction": "0.05", "seed": "3", "tenant": second.tenant_id},
        timeout=10,
    )
    assert done.status_code == 200
    assert primary.changes.version == before[0]
    assert second.changes.version > before[1]
    bad = requests.post(f"{sb.base_url}/_sandbox/churn", params={"tenant": "nope"}, timeout=10)
    assert bad.status_code == 400
    assert primary.changes.version == before[0]


def test_add_tenant_defaults_and_collisions():
    sb = Sandbox(users=30, seed=5)
    t2 = sb.add_tenant(users=30)
    t3 = sb.add_tenant(users=30)
    assert (t2.tenant.seed, t3.tenant.seed) == (6, 7)
    assert len({t.company for t in sb.tenants}) == 3
    with pytest.raises(ValueError, match="seed 5 gives the id"):
        sb.add_tenant(users=30, seed=5)
    with pytest.raises(ValueError, match="already has the domains"):
        sb.add_tenant(users=30, company=sb.tenant.company)
    named = sb.add_tenant(users=30, company="Blue Yonder Airlines")
    assert named.company == "Blue Yonder Airlines"
    assert named.tenant.default_domain == "blueyonderairlines.com"
    assert sb.tenant.company != named.company


def test_cli_tenants_writes_the_config(tmp_path):
    path = tmp_path / "sandbox.json"
    with cli("--tenants", 2, "--write-config", path, cwd=tmp_path) as info:
        config = json.loads(path.read_text())
        assert len(info["tenant_ids"]) == 2
        assert info["tenant_ids"][0] == info["tenant_id"]
        assert config["tenant_id"] == info["tenant_id"]
        assert [t["tenant_id"] for t in config["tenants"]] == info["tenant_ids"]
        labels = [t["label"] for t in config["tenants"]]
        assert len(set(labels)) == 2
        assert all(labels)
        for entry in config["tenants"]:
            response = requests.post(
                f"{info['base_url']}/{entry['tenant_id']}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": config["client_id"],
                    "client_secret": config["client_secret"],
                    "scope": f"{info['graph_resource']}/.default",
                },
                verify=info["ca_bundle"],
                timeout=10,
            )
            access = response.json()["access_token"]
            org = requests.get(
                f"{info['base_url']}/v1.0/organization",
                headers={"Authorization": f"Bearer {access}"},
                verify=info["ca_bundle"],
                timeout=10,
            ).json()["value"][0]
            assert (org["id"], org["displayName"]) == (entry["tenant_id"], entry["label"])


def test_cli_default_writes_no_tenants_list(tmp_path):
    path = tmp_path / "sandbox.json"
    with cli("--write-config", path, cwd=tmp_path) as info:
        assert info["tenant_ids"] == [info["tenant_id"]]
        assert "tenants" not in json.loads(path.read_text())
