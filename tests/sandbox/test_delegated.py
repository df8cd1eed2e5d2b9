"""Delegated sign-in on the sandbox: device code and refresh tokens with real msal (CONTRACT.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import msal
import pytest
import requests

from m365_graph_sandbox import PUBLIC_CLIENT_ID, Sandbox
from tests.sandbox.test_cli import cli

ROOT = Path(__file__).resolve().parents[2]
SCOPES = ["User.Read.All", "Reports.Read.All", "AuditLog.Read.All", "Directory.Read.All"]
REVOCATIONS = (700082, 50173, 65001, 50076, 50079, 70043)


class CaSession(requests.Session):
    """msal's http_client: verify set per request, so $REQUESTS_CA_BUNDLE cannot override it."""

    def __init__(self, bundle: str) -> None:
        super().__init__()
        self.bundle = bundle

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs["verify"] = self.bundle
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="module")
def box():
    sb = Sandbox(users=40, seed=21, device_code_interval=0)
    with sb:
        sb.add_tenant(users=30, seed=22)
        yield sb


@pytest.fixture
def sb(box):
    for t in box.tenants:
        t.auto_approve = None
        t.single_use_refresh_tokens = False
    yield box
    for t in box.tenants:
        t.auto_approve = None
        t.single_use_refresh_tokens = False


def public_app(sb, client_id=PUBLIC_CLIENT_ID, tenant=None):
    return msal.PublicClientApplication(
        client_id,
        authority=f"{sb.base_url}/{tenant or sb.tenant_id}",
        http_client=CaSession(sb.ca_bundle),
        instance_discovery=False,
    )


def sign_in(sb, app=None, scopes=SCOPES, **approval):
    app = app or public_app(sb)
    flow = app.initiate_device_flow(scopes=scopes)
    assert "user_code" in flow, flow
    sb.approve_device_code(flow["user_code"], **approval)
    return app, app.acquire_token_by_device_flow(flow)


def graph(sb, access_token, path):
    return requests.get(
        f"{sb.base_url}/v1.0{path}",
        headers={"Authorization": f"Bearer {access_token}"},
        verify=sb.ca_bundle,
        allow_redirects=False,
        timeout=10,
    )


def post(sb, path, **data):
    return requests.post(f"{sb.base_url}{path}", data=data, verify=sb.ca_bundle, timeout=10)


def test_discovery_and_device_code_answer(sb):
    doc = requests.get(
        f"{sb.base_url}/{sb.tenant_id}/v2.0/.well-known/openid-configuration",
        verify=sb.ca_bundle,
        timeout=10,
    ).json()
    assert (
        doc["device_authorization_endpoint"]
        == f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/devicecode"
    )
    answer = post(
        sb,
        f"/{sb.tenant_id}/oauth2/v2.0/devicecode",
        client_id=PUBLIC_CLIENT_ID,
        scope="User.Read.All",
    ).json()
    assert set(answer) == {
        "user_code",
        "device_code",
        "verification_uri",
        "expires_in",
        "interval",
        "message",
    }
    assert answer["verification_uri"] == "https://microsoft.com/devicelogin"
    assert (answer["expires_in"], answer["interval"]) == (900, 0)
    assert answer["message"] == (
        "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the "
        f"code {answer['user_code']} to authenticate."
    )
    assert sb.public_client_id == PUBLIC_CLIENT_ID


def test_device_flow_approved_then_graph_with_the_delegated_token(sb):
    app, result = sign_in(sb)
    assert "access_token" in result, result
    assert set(result["scope"].split()) >= set(SCOPES)
    assert "offline_access" not in result["scope"].split()
    for key in ("refresh_token", "id_token", "expires_in", "token_type"):
        assert key in result, key
    assert result["id_token_claims"]["aud"] == PUBLIC_CLIENT_ID
    users = graph(sb, result["access_token"], "/users")
    assert users.status_code == 200
    admin = sb.server.tokens.get(result["access_token"])
    assert admin is not None
    assert admin.delegated
    assert "Global Administrator" in admin.user_roles
    assert admin.permissions == frozenset(SCOPES)
    (account,) = app.get_accounts()
    assert account["username"] == admin.user_upn
    assert account["home_account_id"] == f"{admin.user_id}.{sb.tenant_id}"
    # admins may read reports and sign-ins
    assert graph(sb, result["access_token"], "/auditLogs/signIns").status_code == 200
    report = graph(sb, result["access_token"], "/reports/getOffice365ActiveUserDetail(period='D7')")
    assert report.status_code == 302


def test_pending_then_approved(sb):
    app = public_app(sb)
    flow = app.initiate_device_flow(scopes=["User.Read.All"])
    polled = post(
        sb,
        f"/{sb.tenant_id}/oauth2/v2.0/token",
        grant_type="urn:ietf:params:oauth:grant-type:device_code",
        client_id=PUBLIC_CLIENT_ID,
        device_code=flow["device_code"],
    )
    assert polled.status_code == 400
    assert polled.json()["error"] == "authorization_pending"
    assert polled.json()["error_codes"] == [70016]
    sb.approve_device_code()  # the latest pending one
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result


def test_declined_expired_and_unknown_codes(sb):
    app = public_app(sb)
    flow = app.initiate_device_flow(scopes=["User.Read.All"])
    sb.approve_device_code(flow["user_code"], deny=True)
    result = app.acquire_token_by_device_flow(flow)
    assert result["error"] == "authorization_declined"
    flow = app.initiate_device_flow(scopes=["User.Read.All"])
    sb.expire_device_codes()
    result = app.acquire_token_by_device_flow(flow)
    assert (result["error"], result["error_codes"]) == ("expired_token", [70019])
    bad = post(
        sb,
        f"/{sb.tenant_id}/oauth2/v2.0/token",
        grant_type="urn:ietf:params:oauth:grant-type:device_code",
        client_id=PUBLIC_CLIENT_ID,
        device_code="nope",
    ).json()
    assert bad["error"] == "bad_verification_code"


def test_confidential_client_without_public_flows(sb):
    app = public_app(sb, client_id=sb.client_id)
    flow = app.initiate_device_flow(scopes=["User.Read.All"])
    sb.approve_device_code(flow["user_code"])
    result = app.acquire_token_by_device_flow(flow)
    assert (result["error"], result["error_codes"]) == ("invalid_client", [7000218])
    assert "'client_assertion' or 'client_secret'" in result["error_description"]


def test_tenants_own_app_is_a_public_client_in_its_tenant_only(sb):
    second = sb.tenants[1]
    second.auto_approve = True
    app = public_app(sb, client_id=second.client_id, tenant=second.tenant_id)
    flow = app.initiate_device_flow(scopes=["User.Read.All"])
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    users = graph(sb, result["access_token"], "/users").json()["value"]
    assert {u["id"] for u in users} <= {u["id"] for u in second.tenant.users}
    elsewhere = post(
        sb,
        f"/{sb.tenant_id}/oauth2/v2.0/devicecode",
        client_id=second.client_id,
        scope="User.Read.All",
    ).json()
    assert elsewhere["error_codes"] == [700016]


def test_refresh_rotates_and_msal_keeps_the_newest(sb):
    app, first = sign_in(sb)
    (account,) = app.get_accounts()
    old_rt = first["refresh_token"]
    again = app.acquire_token_silent(["User.Read.All"], account=account, force_refresh=True)
    assert "access_token" in again, again
    assert again["access_token"] != first["access_token"]
    new_rt = sb.refresh_tokens[-1]
    assert new_rt != old_rt
    cached = list(app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))
    assert [entry["secret"] for entry in cached] == [new_rt]
    # the old one stays valid (Entra does not revoke rotated refresh tokens) ...
    reuse = dict(grant_type="refresh_token", client_id=PUBLIC_CLIENT_ID, refresh_token=old_rt)
    assert post(sb, f"/{sb.tenant_id}/oauth2/v2.0/token", **reuse).status_code == 200
    # ... unless the tenant makes them single-use
    sb.single_use_refresh_tokens = True
    refused = post(sb, f"/{sb.tenant_id}/oauth2/v2.0/token", **reuse)
    assert refused.status_code == 400
    assert (refused.json()["error"], refused.json()["error_codes"]) == ("invalid_grant", [70000])


@pytest.mark.parametrize("code", REVOCATIONS)
def test_revoked_refresh_tokens(sb, code):
    sb.auto_approve = True
    app = public_app(sb)
    result = app.acquire_token_by_device_flow(app.initiate_device_flow(scopes=["User.Read.All"]))
    assert sb.revoke_refresh_tokens(code) >= 1
    (account,) = app.get_accounts()
    failed = app.acquire_token_silent_with_error(["User.Read.All"], account, force_refresh=True)
    assert failed["error"] == "invalid_grant"
    assert failed["error_codes"] == [code]
    assert f"AADSTS{code}:" in failed["error_description"]
    if code in (50076, 50079):
        assert failed["suberror"] == "basic_action"
        assert "capolids" in json.loads(failed["claims"])["access_token"]
    assert result["refresh_token"] in sb.refresh_tokens_issued


def test_revoke_control_and_unknown_code(sb):
    _, result = sign_in(sb)
    done = requests.post(
        f"{sb.base_url}/_sandbox/revoke-refresh-tokens",
        params={"tenant": sb.tenant_id, "code": "700082"},
        verify=sb.ca_bundle,
        timeout=10,
    )
    assert done.status_code == 204
    refused = post(
        sb,
        f"/{sb.tenant_id}/oauth2/v2.0/token",
        grant_type="refresh_token",
        client_id=PUBLIC_CLIENT_ID,
        refresh_token=result["refresh_token"],
    ).json()
    assert refused["error_codes"] == [700082]
    with pytest.raises(ValueError, match="code must be one of"):
        sb.revoke_refresh_tokens(12345)


def test_user_without_a_role(sb):
    _, result = sign_in(sb, roles=[])
    token = result["access_token"]
    assert graph(sb, token, "/users").status_code == 200
    for path in ("/reports/getOffice365ActiveUserDetail(period='D7')", "/auditLogs/signIns"):
        denied = graph(sb, token, path)
        assert denied.status_code == 403, path
        assert denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_scopes_limit_the_delegated_token(sb):
    _, result = sign_in(sb, scopes=["https://graph.microsoft.com/User.Read.All"])
    assert result["scope"].split()[0] == "User.Read.All"
    assert graph(sb, result["access_token"], "/users").status_code == 200
    assert graph(sb, result["access_token"], "/auditLogs/directoryAudits").status_code == 403


def test_auto_approve_control_with_a_user(sb):
    second = sb.tenants[1]
    upn = second.tenant.users[3]["userPrincipalName"]
    done = requests.post(
        f"{sb.base_url}/_sandbox/approve-device-codes",
        params={"tenant": second.tenant_id, "user": upn},
        verify=sb.ca_bundle,
        timeout=10,
    )
    assert done.status_code == 204
    assert second.auto_approve == upn
    app = public_app(sb, tenant=second.tenant_id)
    result = app.acquire_token_by_device_flow(app.initiate_device_flow(scopes=["User.Read.All"]))
    claims = json.loads(base64.urlsafe_b64decode(result["id_token"].split(".")[1] + "=="))
    assert claims["preferred_username"] == upn
    assert claims["aud"] == PUBLIC_CLIENT_ID
    assert claims["tid"] == second.tenant_id
    assert result["id_token_claims"]["preferred_username"] == upn
    assert sb.tenants[0].auto_approve is None


def test_raw_device_grant_answer(sb):
    start = post(
        sb,
        f"/{sb.tenant_id}/oauth2/v2.0/devicecode",
        client_id=PUBLIC_CLIENT_ID,
        scope="https://graph.microsoft.com/User.Read.All openid profile offline_access",
    ).json()
    sb.approve_device_code(start["user_code"])
    answer = post(
        sb,
        f"/{sb.tenant_id}/oauth2/v2.0/token",
        grant_type="urn:ietf:params:oauth:grant-type:device_code",
        client_id=PUBLIC_CLIENT_ID,
        device_code=start["device_code"],
        client_info="1",
    ).json()
    assert set(answer) == {
        "token_type", "scope", "expires_in", "ext_expires_in", "access_token", "refresh_token",
        "id_token", "client_info",
    }  # fmt: skip
    assert answer["scope"] == "User.Read.All profile openid email"
    info = json.loads(base64.urlsafe_b64decode(answer["client_info"] + "=="))
    assert info["utid"] == sb.tenant_id
    again = post(
        sb,
        f"/{sb.tenant_id}/oauth2/v2.0/token",
        grant_type="urn:ietf:params:oauth:grant-type:device_code",
        client_id=PUBLIC_CLIENT_ID,
        device_code=start["device_code"],
    ).json()
    assert again["error"] == "invalid_grant"


def test_cli_auto_approves_device_codes(tmp_path):
    with cli("--auto-approve-device-codes", "--device-code-interval", 0, cwd=tmp_path) as info:
        tenant = info["tenant_id"]
        base = info["base_url"]
        start = requests.post(
            f"{base}/{tenant}/oauth2/v2.0/devicecode",
            data={"client_id": PUBLIC_CLIENT_ID, "scope": "User.Read.All offline_access"},
            verify=info["ca_bundle"],
            timeout=10,
        ).json()
        assert start["interval"] == 0
        answer = requests.post(
            f"{base}/{tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": PUBLIC_CLIENT_ID,
                "device_code": start["device_code"],
            },
            verify=info["ca_bundle"],
            timeout=10,
        ).json()
        assert "access_token" in answer
        assert "refresh_token" in answer
