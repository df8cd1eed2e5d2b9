"""The local Graph sandbox itself: Entra token endpoint, Graph paging/query rules, faults, $batch, model."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import msal
import pytest
import requests

from m365_graph_sandbox import Sandbox, Tenant

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=2500, seed=3) as sb:
        yield sb


@pytest.fixture
def sb(box, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_bundle)
    box.faults.clear()
    box.reset_log()
    granted = set(box.granted_permissions)
    yield box
    box.faults.clear()
    box.granted_permissions = granted


def msal_app(sb, credential=None, *, client_id=None, tenant=None):
    return msal.ConfidentialClientApplication(
        client_id or sb.client_id,
        client_credential=credential if credential is not None else sb.client_secret,
        authority=f"{sb.base_url}/{tenant or sb.tenant_id}",
        instance_discovery=False,
    )


def token(sb) -> str:
    result = msal_app(sb).acquire_token_for_client(scopes=GRAPH_SCOPE)
    return result["access_token"]


def session(sb) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token(sb)}"
    return s


def assert_graph_error(response, status, code):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    inner = error["innerError"]
    assert set(inner) >= {"date", "request-id", "client-request-id"}
    assert inner["request-id"] == response.headers["request-id"]
    return error


# -- Entra token endpoint ------------------------------------------------------------------------


def test_token_with_secret(sb):
    result = msal_app(sb).acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    assert result["access_token"]
    assert (
        sb.count(method="GET", path=f"/{sb.tenant_id}/v2.0/.well-known/openid-configuration") == 1
    )
    assert sb.count(method="POST", path=f"/{sb.tenant_id}/oauth2/v2.0/token") == 1


def test_token_with_certificate_thumbprint_and_sha256(sb):
    pem = Path(sb.cert_key_path).read_text()
    result = msal_app(
        sb, {"private_key": pem, "thumbprint": sb.cert_thumbprint}
    ).acquire_token_for_client(scopes=["00000003-0000-0000-c000-000000000000/.default"])
    assert "access_token" in result, result
    public = Path(sb.cert_path).read_text()
    result = msal_app(
        sb, {"private_key": pem, "public_certificate": public}
    ).acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result, result


def test_tenant_by_verified_domain_name(sb):
    result = msal_app(sb, tenant=sb.tenant.default_domain).acquire_token_for_client(
        scopes=GRAPH_SCOPE
    )
    assert "access_token" in result, result


def aadsts(result, code, error):
    assert result.get("error") == error, result
    assert result["error_codes"] == [code]
    assert result["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(result)


def test_wrong_secret_unknown_client_bad_scope(sb):
    aadsts(
        msal_app(sb, "nope").acquire_token_for_client(scopes=GRAPH_SCOPE), 7000215, "invalid_client"
    )
    unknown = "11111111-2222-3333-4444-555555555555"
    result = msal_app(sb, client_id=unknown).acquire_token_for_client(scopes=GRAPH_SCOPE)
    aadsts(result, 700016, "unauthorized_client")
    assert unknown in result["error_description"]
    aadsts(
        msal_app(sb).acquire_token_for_client(scopes=["User.Read.All"]), 1002012, "invalid_scope"
    )
    result = msal_app(sb).acquire_token_for_client(scopes=["https://example.invalid/.default"])
    aadsts(result, 500011, "invalid_resource")


def test_unknown_tenant(sb):
    other = "99999999-8888-7777-6666-555555555555"
    response = requests.get(f"{sb.base_url}/{other}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert other in body["error_description"]
    with pytest.raises(ValueError, match="authority"):
        msal_app(sb, tenant=other)


def test_certificate_errors(sb):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = Path(sb.cert_key_path).read_text()
    result = msal_app(sb, {"private_key": pem, "thumbprint": "AB" * 20}).acquire_token_for_client(
        scopes=GRAPH_SCOPE
    )
    aadsts(result, 700027, "invalid_client")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    result = msal_app(
        sb, {"private_key": other, "thumbprint": sb.cert_thumbprint}
    ).acquire_token_for_client(scopes=GRAPH_SCOPE)
    aadsts(result, 700027, "invalid_client")


def test_expired_secret_and_missing_consent(monkeypatch):
    with (
        Sandbox(users=5, secret_expired=True) as expired,
        Sandbox(users=5, consent_missing=True) as consent,
    ):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", expired.ca_bundle)
        aadsts(
            msal_app(expired).acquire_token_for_client(scopes=GRAPH_SCOPE),
            7000222,
            "invalid_client",
        )
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", consent.ca_bundle)
        aadsts(
            msal_app(consent).acquire_token_for_client(scopes=GRAPH_SCOPE), 65001, "invalid_grant"
        )


# -- Graph: auth, paging, query options ------------------------------------------------------------


def test_requests_need_a_valid_token(sb):
    response = requests.get(f"{sb.base_url}/v1.0/users")
    assert_graph_error(response, 401, "InvalidAuthenticationToken")
    response = requests.get(f"{sb.base_url}/v1.0/users", headers={"Authorization": "Bearer abc"})
    assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_users_page_with_top_999(sb):
    s = session(sb)
    url = f"{sb.base_url}/v1.0/users?$top=999&$select=id,userPrincipalName,mail,faxNumber"
    ids, pages = [], 0
    while url:
        body = s.get(url).json()
        pages += 1
        ids += [u["id"] for u in body["value"]]
        assert all(
            set(u) == {"id", "userPrincipalName", "mail", "faxNumber"} for u in body["value"]
        )
        url = body.get("@odata.nextLink")
        if url:
            assert url.startswith(f"{sb.base_url}/v1.0/users?")
            assert "$top=999" in url
            assert "$select=id,userPrincipalName,mail,faxNumber" in url
            assert "$skiptoken=" in url
    assert pages == 3 == sb.count(path="/v1.0/users")
    assert sorted(ids) == sorted(u["id"] for u in sb.tenant.users)
    assert len(set(ids)) == 2500


def test_default_page_and_projection(sb):
    body = session(sb).get(f"{sb.base_url}/v1.0/users").json()
    assert len(body["value"]) == 100
    assert len(body["value"][0]) == 11  # default projection
    assert body["@odata.nextLink"]


def test_query_option_errors(sb):
    s = session(sb)
    error = assert_graph_error(
        s.get(f"{sb.base_url}/v1.0/users?$top=1000"), 400, "Request_BadRequest"
    )
    assert "999" in error["message"]
    assert_graph_error(s.get(f"{sb.base_url}/v1.0/users?$top=0"), 400, "Request_BadRequest")
    error = assert_graph_error(
        s.get(f"{sb.base_url}/v1.0/users?$select=id,nope"), 400, "BadRequest"
    )
    assert error["message"] == (
        "Parsing OData Select and Expand failed: Could not find a property named 'nope' on type "
        "'microsoft.graph.user'."
    )
    assert_graph_error(s.get(f"{sb.base_url}/v1.0/users?$skip=5"), 400, "Request_BadRequest")
    assert_graph_error(
        s.get(f"{sb.base_url}/v1.0/users?$skiptoken=garbage"), 400, "Directory_ExpiredPageToken"
    )
    assert_graph_error(s.get(f"{sb.base_url}/v1.0/subscribedSkus?$top=2"), 400, "BadRequest")
    assert_graph_error(s.get(f"{sb.base_url}/v1.0/subscribedSkus?$filter=x"), 400, "BadRequest")
    assert s.get(f"{sb.base_url}/v1.0/subscribedSkus?$select=skuId").status_code == 200


def test_endswith_is_an_advanced_query(sb):
    s = session(sb)
    domain = sb.tenant.organization["verifiedDomains"][0]["name"]
    url = f"{sb.base_url}/v1.0/users?$filter=endswith(userPrincipalName,'@{domain}')&$count=true&$select=id"
    assert_graph_error(s.get(url), 400, "Request_UnsupportedQuery")
    no_count = url.replace("&$count=true", "")
    assert_graph_error(
        s.get(no_count, headers={"ConsistencyLevel": "eventual"}), 400, "Request_UnsupportedQuery"
    )
    expected = {
        u["id"] for u in sb.tenant.users if u["userPrincipalName"].lower().endswith("@" + domain)
    }
    body = s.get(url + "&$top=999", headers={"ConsistencyLevel": "eventual"}).json()
    assert body["@odata.count"] == len(expected)
    got = [u["id"] for u in body["value"]]
    while "@odata.nextLink" in body:
        body = s.get(body["@odata.nextLink"], headers={"ConsistencyLevel": "eventual"}).json()
        assert "@odata.count" not in body
        got += [u["id"] for u in body["value"]]
    assert set(got) == expected
    assert len(got) == len(expected)


def test_empty_pages(monkeypatch):
    with Sandbox(users=250, seed=9, empty_pages=True) as sb:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        s = session(sb)
        url, sizes = f"{sb.base_url}/v1.0/users?$top=100&$select=id", []
        while url:
            body = s.get(url).json()
            sizes.append(len(body["value"]))
            url = body.get("@odata.nextLink")
    assert sizes == [100, 0, 100, 0, 50]


def test_ids_echo_and_resource_units(sb):
    response = session(sb).get(
        f"{sb.base_url}/v1.0/organization", headers={"client-request-id": "abc-123"}
    )
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"]
    assert response.headers["x-ms-resource-unit"] == "1"
    assert response.json()["value"][0]["id"] == sb.tenant_id


# -- faults, revocation, permissions -------------------------------------------------------------


def test_throttle_fault_then_success(sb):
    s = session(sb)
    sb.faults.add(r"^/v1\.0/domains$", 429, skip=1, times=2, headers={"Retry-After": "0.2"})
    assert s.get(f"{sb.base_url}/v1.0/domains").status_code == 200
    for _ in range(2):
        response = s.get(f"{sb.base_url}/v1.0/domains")
        assert_graph_error(response, 429, "TooManyRequests")
        assert response.headers["Retry-After"] == "0.2"
    response = s.get(f"{sb.base_url}/v1.0/domains")
    assert response.status_code == 200
    assert len(response.json()["value"]) == len(sb.tenant.domains)
    assert [r.status for r in sb.requests if r.path == "/v1.0/domains"] == [200, 429, 429, 200]


def test_revoked_tokens_get_401(sb):
    s = session(sb)
    assert s.get(f"{sb.base_url}/v1.0/organization").status_code == 200
    sb.revoke_tokens()
    error = assert_graph_error(
        s.get(f"{sb.base_url}/v1.0/organization"), 401, "InvalidAuthenticationToken"
    )
    assert error["message"] == "Lifetime validation failed, the token is expired."
    assert session(sb).get(f"{sb.base_url}/v1.0/organization").status_code == 200


def test_missing_permission_is_403_and_baked_into_tokens(sb):
    before = session(sb)
    sb.granted_permissions.difference_update({"User.Read.All", "Directory.Read.All"})
    assert before.get(f"{sb.base_url}/v1.0/users?$top=1").status_code == 200, (
        "old token keeps its roles"
    )
    after = session(sb)
    error = assert_graph_error(
        after.get(f"{sb.base_url}/v1.0/users"), 403, "Authorization_RequestDenied"
    )
    assert error["message"] == "Insufficient privileges to complete the operation."
    assert after.get(f"{sb.base_url}/v1.0/groups").status_code == 200


def test_member_types_and_limited_information(sb):
    group = next(g for g in sb.tenant.groups if g["displayName"] == "App Identities")
    url = (
        f"{sb.base_url}/v1.0/groups/{group['id']}/members?$select=id,displayName,userPrincipalName"
    )
    members = session(sb).get(url).json()["value"]
    types = {m["@odata.type"] for m in members}
    assert types == {"#microsoft.graph.servicePrincipal", "#microsoft.graph.device"}
    assert all("userPrincipalName" not in m and m["displayName"] for m in members)
    sb.granted_permissions.difference_update(
        {"Directory.Read.All", "Device.Read.All", "Application.Read.All"}
    )
    limited = session(sb).get(url).json()["value"]
    assert all(set(m) == {"@odata.type", "id"} for m in limited)


# -- $batch ----------------------------------------------------------------------------------------


def batch_body(sb, n):
    return {
        "requests": [
            {"id": str(i), "method": "GET", "url": f"/groups/{g['id']}/members?$select=id"}
            for i, g in enumerate(sb.tenant.groups[:n])
        ]
    }


def test_batch(sb):
    s = session(sb)
    response = s.post(f"{sb.base_url}/v1.0/$batch", json=batch_body(sb, 20))
    assert response.status_code == 200
    answers = response.json()["responses"]
    assert sorted(int(a["id"]) for a in answers) == list(range(20))
    assert [a["id"] for a in answers] != [str(i) for i in range(20)], "order is shuffled"
    again = s.post(f"{sb.base_url}/v1.0/$batch", json=batch_body(sb, 20)).json()["responses"]
    assert [a["id"] for a in again] == [a["id"] for a in answers], "deterministically"
    for a in answers:
        group = sb.tenant.groups[int(a["id"])]
        expected = sb.tenant.memberships[group["id"]]
        assert a["status"] == 200
        assert len(a["body"]["value"]) == min(len(expected), 100)
        if len(expected) > 100:
            assert a["body"]["@odata.nextLink"].startswith(f"{sb.base_url}/v1.0/groups/")
    assert_graph_error(
        s.post(f"{sb.base_url}/v1.0/$batch", json=batch_body(sb, 21)), 400, "BadRequest"
    )
    duplicate = batch_body(sb, 2)
    duplicate["requests"][1]["id"] = "0"
    assert_graph_error(s.post(f"{sb.base_url}/v1.0/$batch", json=duplicate), 400, "BadRequest")
    assert sb.count(path="/v1.0/$batch") == 4
    assert not [r for r in sb.requests if r.path.startswith("/v1.0/groups/")]


def test_batch_inner_throttle(sb):
    sb.faults.add(r"^/v1\.0/groups/[^/]+/members$", 429, times=3, headers={"Retry-After": "0.1"})
    answers = (
        session(sb).post(f"{sb.base_url}/v1.0/$batch", json=batch_body(sb, 10)).json()["responses"]
    )
    throttled = [a for a in answers if a["status"] == 429]
    assert len(throttled) == 3
    assert all(a["headers"]["Retry-After"] == "0.1" for a in throttled)
    assert all(a["body"]["error"]["code"] == "TooManyRequests" for a in throttled)
    assert sum(a["status"] == 200 for a in answers) == 7


# -- model -----------------------------------------------------------------------------------------


def test_model_is_deterministic_and_realistic():
    # signInActivity follows the sign-in log, which is relative to the build time (real clock) unless
    # the tenant is given a fixed ``now``: then it is deterministic too.
    a, b = Tenant(users=400, seed=5), Tenant(users=400, seed=5)
    assert a.tenant_id == b.tenant_id

    def without_activity(users):
        return [{k: v for k, v in u.items() if k != "signInActivity"} for u in users]

    assert without_activity(a.users) == without_activity(b.users)
    fixed = time.time()
    assert Tenant(users=400, seed=5, now=fixed).users == Tenant(users=400, seed=5, now=fixed).users
    assert a.groups == b.groups
    assert a.memberships == b.memberships
    assert a.skus == b.skus
    assert Tenant(users=400, seed=6).users[1]["id"] != a.users[1]["id"]
    users = a.users
    assert any(u["userType"] == "Guest" and "#EXT#@" in u["userPrincipalName"] for u in users)
    assert any(u["mail"] is None for u in users)
    assert any(not u["accountEnabled"] for u in users)
    assert any(u["onPremisesSyncEnabled"] for u in users)
    assert all(len(u) == len(users[0]) for u in users)
    for sku in a.skus:
        holders = sum(
            any(lic["skuId"] == sku["skuId"] for lic in u["assignedLicenses"]) for u in users
        )
        assert sku["consumedUnits"] == holders <= sku["prepaidUnits"]["enabled"]
    kinds = {ref["@odata.type"] for refs in a.memberships.values() for ref in refs}
    assert kinds == {
        f"#microsoft.graph.{k}"
        for k in ("user", "group", "device", "servicePrincipal", "orgContact")
    }


@pytest.mark.slow
def test_100k_users_generate_fast():
    started = time.monotonic()
    tenant = Tenant(users=100_000, seed=1)
    assert time.monotonic() - started < 15
    assert len(tenant.users) == 100_000
    assert len({u["userPrincipalName"] for u in tenant.users}) == 100_000
    assert max(len(m) for m in tenant.memberships.values()) > 999
    assert math.isclose(
        sum(u["userType"] == "Guest" for u in tenant.users) / 100_000, 0.06, abs_tol=0.01
    )


def test_cli_prints_one_line_and_writes_config(tmp_path):
    config = tmp_path / "config.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "m365_graph_sandbox", "--users", "20", "--port", "0",
         "--workdir", str(tmp_path / "wd"), "--write-config", str(config)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        info = json.loads(proc.stdout.readline())
        assert info["pid"] == proc.pid
        assert info["base_url"].startswith("https://127.0.0.1:")
        assert json.loads(config.read_text())["graph_url"] == info["base_url"]
        response = requests.get(
            f"{info['base_url']}/{info['tenant_id']}/v2.0/.well-known/openid-configuration",
            verify=info["ca_bundle"],
        )
        assert response.json()["token_endpoint"].startswith(info["base_url"])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
