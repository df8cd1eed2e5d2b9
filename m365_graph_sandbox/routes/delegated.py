"""Delegated sign-in: Entra's device authorization grant and the refresh-token grant (graph.md 8).

Sources (cited by the docstrings below):

- [DC] learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code (entra-docs
  ``docs/identity-platform/v2-oauth2-device-code.md``), RFC 8628: ``POST /{tenant}/oauth2/v2.0/devicecode``
  (form ``client_id``, ``scope``) answers ``device_code``, ``user_code``, ``verification_uri``,
  ``expires_in`` (15 minutes by default), ``interval``, ``message``; the client polls
  ``/{tenant}/oauth2/v2.0/token`` with ``grant_type=urn:ietf:params:oauth:grant-type:device_code`` and
  gets ``authorization_pending`` / ``authorization_declined`` / ``bad_verification_code`` /
  ``expired_token`` until the user finishes; success is ``token_type``, ``scope`` (e.g. ``"User.Read
  profile openid email"``: Graph's scopes without the resource prefix), ``expires_in``, ``access_token``,
  ``refresh_token`` (only when ``offline_access`` was asked) and ``id_token`` (only with ``openid``).
- [ERR] entra-docs ``docs/identity-platform/reference-error-codes.md`` (graph.md 7d): AADSTS70016
  AuthorizationPending, 70018 BadVerificationCode, 70019 CodeExpired, 7000218 "The request body must
  contain the following parameter: 'client_assertion' or 'client_secret'.", 700082 (refresh token
  expired by inactivity), 50173 FreshTokenNeeded (revoked), 65001 DelegationDoesNotExist, 50076
  UserStrongAuthClientAuthNRequired, 50079 UserStrongAuthEnrollmentRequired, 70043 sign-in frequency,
  70000 InvalidGrant; ``invalid_grant`` = "some of the authentication material (auth code, refresh token
  …) was invalid".
- [RT] entra-docs ``docs/identity-platform/refresh-tokens.md`` (graph.md 8): refresh tokens rotate on
  every use (the client keeps the newest; the old ones are NOT revoked) and can be revoked at any time.
- [MSAL] msal 1.39 (graph.md 8): the client sends ``client_info=1`` and builds the account from the
  answer's ``client_info`` (base64url JSON ``{"uid", "utid"}``: home account id ``uid.utid``) and the
  ``id_token``'s claims (``preferred_username`` is the account's username); it no longer validates the
  id_token, which still carries ``iss`` (the discovery document's issuer), ``aud`` (the client id),
  ``exp``, ``iat``, ``nbf``, ``sub``, ``oid``, ``tid``.
- [ROLES] Graph's delegated access to reports and activity logs also needs a directory role
  (graph.md 8): ``concepts/reportroot-authorization.md`` (usage reports: company administrator = Global
  Administrator, Exchange, SharePoint, Lync = Skype for Business, Teams Service = Teams, Teams
  Communications administrators, Global Reader, Reports Reader), ``api/signin-list.md`` (Global
  Administrator, Global Reader, Reports Reader, Security Administrator, Security Operator, Security
  Reader), ``includes/rbac-for-apis/rbac-directoryaudit-apis.md`` (least privileged: Reports Reader,
  Security Administrator, Security Reader; Global Reader and Global Administrator hold the same read
  permission). provisioning: the sign-in list (UNVERIFIED: no page found for it).

Public clients the sandbox knows in every tenant: "Microsoft Graph Command Line Tools"
(``PUBLIC_CLIENT_ID``, the client id of Graph PowerShell/CLI) and each tenant's own app except the
primary's (as if "Allow public client flows" were on). The primary's multi-tenant app is confidential:
its device-code poll without a client secret is AADSTS7000218 [ERR].
"""

from __future__ import annotations

import base64
import dataclasses
import re
import secrets
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..server import (
    DEFAULT_PERMISSIONS,
    EntraError,
    GraphError,
    Request,
    Response,
    RouteTable,
    json_response,
)
from .auth import DEVICE_CODE_GRANT, audience_for, registered_app, resolve_tenant

if TYPE_CHECKING:
    from ..server import Server

#: "Microsoft Graph Command Line Tools": the public client of Microsoft Graph PowerShell and CLI
PUBLIC_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
PUBLIC_CLIENT_NAME = "Microsoft Graph Command Line Tools"

VERIFICATION_URI = "https://microsoft.com/devicelogin"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
#: OIDC scopes msal always adds to user flows (graph.md 8); never Graph permissions
RESERVED = ("openid", "profile", "offline_access", "email")

GLOBAL_ADMIN = "Global Administrator"
#: [ROLES] directory roles (display names) a signed-in user needs, per Graph path prefix
REPORT_ROLES = frozenset(
    {
        GLOBAL_ADMIN,
        "Exchange Administrator",
        "SharePoint Administrator",
        "Skype for Business Administrator",
        "Teams Administrator",
        "Teams Communications Administrator",
        "Global Reader",
        "Reports Reader",
    }
)
SIGN_IN_ROLES = frozenset(
    {
        GLOBAL_ADMIN,
        "Global Reader",
        "Reports Reader",
        "Security Administrator",
        "Security Operator",
        "Security Reader",
    }
)
AUDIT_ROLES = frozenset(
    {GLOBAL_ADMIN, "Global Reader", "Reports Reader", "Security Administrator", "Security Reader"}
)
ROLE_RULES = (
    ("/v1.0/reports/", REPORT_ROLES),
    ("/v1.0/auditLogs/signIns", SIGN_IN_ROLES),
    ("/v1.0/auditLogs/provisioning", SIGN_IN_ROLES),
    ("/v1.0/auditLogs/directoryAudits", AUDIT_ROLES),
)

#: ``revoke_refresh_tokens(code=…)``: the AADSTS codes a refresh can fail with [ERR] (all ``invalid_grant``)
REVOCATION_CODES = (700082, 50173, 65001, 50076, 50079, 70043)

_USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_lock = threading.RLock()


@dataclasses.dataclass
class DeviceCode:
    """One device authorization request and what the user did with it."""

    device_code: str
    user_code: str
    client_id: str
    scopes: tuple[str, ...]
    reserved: frozenset[str]
    expires_at: float
    #: pending | approved | declined | redeemed
    state: str = "pending"
    user: dict[str, Any] | None = None
    roles: frozenset[str] = frozenset()


@dataclasses.dataclass
class RefreshToken:
    """A refresh token: the user, client and scopes it stands for; revocation; use (for single-use)."""

    token: str
    client_id: str
    user: dict[str, Any]
    roles: frozenset[str]
    scopes: tuple[str, ...]
    reserved: frozenset[str]
    issued_at: float
    used: bool = False
    revoked_code: int | None = None


@dataclasses.dataclass
class SignIns:
    """A tenant's delegated sign-in state (``server.cache["delegated"]``)."""

    device_codes: list[DeviceCode] = dataclasses.field(default_factory=list)
    refresh_tokens: dict[str, RefreshToken] = dataclasses.field(default_factory=dict)


def state(server: Server) -> SignIns:
    """The tenant's sign-in state (created on first use)."""
    with _lock:
        found = server.cache.get("delegated")
        if found is None:
            found = server.cache["delegated"] = SignIns()
        return found


# -- users and roles -----------------------------------------------------------------------------


def user_roles(server: Server, user_id: str) -> frozenset[str]:
    """Display names of the directory roles the user is a direct member of."""
    t = server.tenant
    names = set()
    for role in t.directory_roles:
        if any(ref["id"] == user_id for ref in t.role_members.get(role["id"], ())):
            names.add(role["displayName"])
    return frozenset(names)


def default_admin(server: Server) -> dict[str, Any]:
    """The tenant's first Global Administrator user; one is made (the first user) when it has none."""
    t = server.tenant
    role = next((r for r in t.directory_roles if r["displayName"] == GLOBAL_ADMIN), None)
    if role is None:
        role = {
            "id": str(uuid.UUID(int=t.rng_for("delegated.role").getrandbits(128), version=4)),
            "deletedDateTime": None,
            "description": "Can manage all aspects of Microsoft Entra ID and Microsoft services.",
            "displayName": GLOBAL_ADMIN,
            "roleTemplateId": "62e90394-69f5-4237-9190-012177145e10",
        }
        t.directory_roles.insert(0, role)
        t.role_members[role["id"]] = []
    members = t.role_members.setdefault(role["id"], [])
    for ref in members:
        user = t.user(ref["id"])
        if user is not None:
            return user
    member = next(u for u in t.users if u.get("userType") != "Guest")
    members.insert(0, t.ref(member["id"]))
    return member


def find_user(server: Server, upn: str) -> dict[str, Any]:
    """A user of this tenant by UPN (case-insensitive); ``KeyError`` when none."""
    wanted = upn.lower()
    for user in server.tenant.users:
        if str(user.get("userPrincipalName") or "").lower() == wanted:
            return user
    raise KeyError(f"no user {upn!r} in tenant {server.tenant.tenant_id}")


def check_user_roles(req: Request) -> None:
    """[ROLES] A delegated token on reports / activity logs also needs one of the documented roles."""
    token = req.token
    if token is None or not token.delegated:
        return
    for prefix, roles in ROLE_RULES:
        if req.path.startswith(prefix) and not token.user_roles & roles:
            raise GraphError(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )


# -- clients and scopes --------------------------------------------------------------------------


def public_client(server: Server, client_id: str) -> bool:
    """Whether ``client_id`` is a public client known in this tenant (module docstring)."""
    wanted = client_id.lower()
    if wanted == PUBLIC_CLIENT_ID:
        return True
    return server.shared_app is not None and wanted == server.client_id.lower()


def client_name(server: Server, client_id: str) -> str:
    """The app's display name, for error descriptions."""
    if client_id.lower() == PUBLIC_CLIENT_ID:
        return PUBLIC_CLIENT_NAME
    app = registered_app(server, client_id)
    return app.tenant.app_display_name if app is not None else client_id


def _not_found(server: Server, client_id: str) -> EntraError:
    return EntraError(
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory "
        f"'{server.tenant.company}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have sent your "
        "authentication request to the wrong tenant.",
    )


def _known_client(server: Server, client_id: str) -> None:
    """700016 unless the client is a public client or an app registered here."""
    if not client_id:
        raise EntraError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    if not public_client(server, client_id) and registered_app(server, client_id) is None:
        raise _not_found(server, client_id)


_CANONICAL = {p.lower(): p for p in DEFAULT_PERMISSIONS}


def parse_scopes(server: Server, scope: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """``(Graph scopes, OIDC scopes)`` of a ``scope`` parameter.

    Graph's scopes may be spelled ``https://graph.microsoft.com/User.Read.All`` (the cloud's resource, or
    Graph's app id) or bare ``User.Read.All`` (Graph is the default resource [DC]); ``<resource>/.default``
    stands for what the tenant granted (``granted_permissions``). Another resource → AADSTS500011.
    """
    names: list[str] = []
    reserved: set[str] = set()
    for item in scope.split():
        low = item.lower()
        if low in RESERVED:
            reserved.add(low)
            continue
        name = item
        if "/" in item:
            resource, _, name = item.rpartition("/")
            if audience_for(server, resource) is None:
                raise EntraError(
                    400,
                    "invalid_resource",
                    500011,
                    f"The resource principal named {resource} was not found in the tenant named "
                    f"{server.tenant.company}. This can happen if the application has not been installed "
                    "by the administrator of the tenant or consented to by any user in the tenant. You "
                    "might have sent your authentication request to the wrong tenant.",
                )
        if name.lower() == ".default":
            names.extend(sorted(server.granted_permissions))
        else:
            names.append(_CANONICAL.get(name.lower(), name))
    return tuple(dict.fromkeys(names)), frozenset(reserved)


# -- the device authorization endpoint ------------------------------------------------------------


def devicecode(server: Server, req: Request, m: re.Match[str]) -> Response:
    """POST /{tenant}/oauth2/v2.0/devicecode [DC]."""
    tenant_name = m.group("tenant")
    if resolve_tenant(server, tenant_name) is None:
        from .auth import _unknown_tenant

        raise _unknown_tenant(tenant_name)
    form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    client_id = form.get("client_id", "")
    _known_client(server, client_id)
    if not form.get("scope", "").split():
        raise EntraError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        )
    scopes, reserved = parse_scopes(server, form["scope"])
    code = DeviceCode(
        device_code="DAQABIQEAAAD" + secrets.token_urlsafe(96),
        user_code="".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9)),
        client_id=client_id,
        scopes=scopes,
        reserved=reserved,
        expires_at=time.time() + server.device_code_lifetime,
    )
    signins = state(server)
    with _lock:
        signins.device_codes.append(code)
    body = {
        "user_code": code.user_code,
        "device_code": code.device_code,
        "verification_uri": VERIFICATION_URI,
        "expires_in": int(server.device_code_lifetime),
        "interval": int(server.device_code_interval),
        "message": f"To sign in, use a web browser to open the page {VERIFICATION_URI} and enter the "
        f"code {code.user_code} to authenticate.",
    }
    return _entra_json(req, body)


def approve(
    server: Server,
    user_code: str | None = None,
    *,
    user: str | None = None,
    deny: bool = False,
    roles: Any = None,
) -> str:
    """Finish a pending device code as its user would at ``verification_uri`` (returns the user code).

    ``user_code`` None: the latest pending one. ``user``: a UPN of this tenant (default: the first Global
    Administrator). ``roles``: the directory role names to use instead of the user's own. ``deny``: the
    user declines (polls then answer ``authorization_declined``).
    """
    signins = state(server)
    with _lock:
        pending = [c for c in signins.device_codes if c.state == "pending"]
    if user_code is None:
        if not pending:
            raise LookupError("no pending device code in this tenant")
        code = pending[-1]
    else:
        found = [c for c in pending if c.user_code.upper() == user_code.upper()]
        if not found:
            raise LookupError(f"no pending device code {user_code!r} in this tenant")
        code = found[0]
    if deny:
        code.state = "declined"
        return code.user_code
    person = find_user(server, user) if user else default_admin(server)
    code.user = person
    code.roles = user_roles(server, person["id"]) if roles is None else frozenset(roles)
    code.state = "approved"
    return code.user_code


# -- the token endpoint's user grants -------------------------------------------------------------


def token_grant(server: Server, req: Request, tid: str, form: dict[str, Any]) -> Response:
    """``grant_type`` device_code or refresh_token on ``/{tenant}/oauth2/v2.0/token``."""
    client_id = str(form.get("client_id", ""))
    _known_client(server, client_id)
    if not public_client(server, client_id):
        _confidential(server, client_id, form)
    if form.get("grant_type") == DEVICE_CODE_GRANT:
        return _device_code_grant(server, req, tid, form, client_id)
    return _refresh_grant(server, req, tid, form, client_id)


def _confidential(server: Server, client_id: str, form: dict[str, Any]) -> None:
    """A confidential client (no public flows) must authenticate: 7000218 without a secret [ERR]."""
    app = registered_app(server, client_id)
    if app is None:
        raise _not_found(server, client_id)
    secret = form.get("client_secret")
    if secret is None:  # client assertions are not modelled for user flows
        raise EntraError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    if secret != app.client_secret:
        raise EntraError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{app.client_id}'.",
        )


def _device_code_grant(
    server: Server, req: Request, tid: str, form: dict[str, Any], client_id: str
) -> Response:
    signins = state(server)
    wanted = str(form.get("device_code", ""))
    with _lock:
        code = next((c for c in signins.device_codes if c.device_code == wanted), None)
    if code is None or code.client_id.lower() != client_id.lower():
        raise EntraError(
            400,
            "bad_verification_code",
            70018,
            "Invalid verification code due to User typing in wrong user code for device code flow. "
            "Authorization isn't approved.",
        )
    if code.state in ("pending", "approved", "declined") and time.time() >= code.expires_at:
        raise EntraError(
            400,
            "expired_token",
            70019,
            "Verification code expired. Have the user retry the sign-in.",
        )
    if code.state == "pending" and server.auto_approve:
        auto = server.auto_approve
        approve(server, code.user_code, user=auto if isinstance(auto, str) else None)
    if code.state == "pending":
        raise EntraError(
            400,
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    if code.state == "declined":
        raise EntraError(
            400,
            "authorization_declined",
            70000,
            # [DC] names the error only; the AADSTS code is UNVERIFIED (70000 InvalidGrant)
            "The end user denied the authorization request.",
        )
    if code.state == "redeemed":
        raise EntraError(
            400,
            "invalid_grant",
            70000,
            # sandbox wording: Entra's answer for a redeemed device code is not documented
            "The provided value for the input parameter 'device_code' is not valid: it was already "
            "redeemed.",
        )
    code.state = "redeemed"
    assert code.user is not None
    return _issue(
        server, req, tid, form, client_id, code.user, code.roles, code.scopes, code.reserved
    )


def _refresh_error(server: Server, rt: RefreshToken, code: int) -> EntraError:
    """The documented answer for a refresh token revoked with ``code`` [ERR] (all ``invalid_grant``)."""
    issued = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(rt.issued_at))
    if code == 700082:
        text = (
            f"The refresh token has expired due to inactivity. The token was issued on {issued} and was "
            "inactive for 90.00:00:00."
        )
    elif code == 50173:
        text = (
            "The provided grant has expired due to it being revoked, and a fresh auth token is needed. "
            "Either an admin or a user revoked the tokens for this user, causing subsequent token "
            "refreshes to fail and require reauthentication. Have the user sign in again."
        )
    elif code == 65001:
        text = (
            f"The user or administrator has not consented to use the application with ID "
            f"'{rt.client_id}' named '{client_name(server, rt.client_id)}'. Send an interactive "
            "authorization request for this user and resource."
        )
    elif code in (50076, 50079):
        action = "use" if code == 50076 else "enroll in"
        text = (
            "Due to a configuration change made by your administrator, or because you moved to a new "
            f"location, you must {action} multi-factor authentication to access '{GRAPH_APP_ID}'."
        )
        # a Conditional Access challenge: msal surfaces ``suberror`` (as ``classification``) and the
        # ``claims`` to send with the next interactive request (shape UNVERIFIED beyond msal's handling)
        policy = str(
            uuid.UUID(int=server.tenant.rng_for("delegated.ca").getrandbits(128), version=4)
        )
        claims = '{"access_token":{"capolids":{"essential":true,"values":["' + policy + '"]}}}'
        return EntraError(
            400, "invalid_grant", code, text, extra={"suberror": "basic_action", "claims": claims}
        )
    else:  # 70043
        text = (
            "The refresh token has expired or is invalid due to sign-in frequency checks by conditional "
            f"access. The token was issued on {issued} and the maximum allowed lifetime for this request "
            "is 1.00:00:00."
        )
    return EntraError(400, "invalid_grant", code, text)


def _invalid_refresh_token() -> EntraError:
    return EntraError(
        400,
        "invalid_grant",
        70000,
        "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.",
    )


def _refresh_grant(
    server: Server, req: Request, tid: str, form: dict[str, Any], client_id: str
) -> Response:
    signins = state(server)
    with _lock:
        rt = signins.refresh_tokens.get(str(form.get("refresh_token", "")))
    if rt is None or rt.client_id.lower() != client_id.lower():
        raise _invalid_refresh_token()
    if rt.revoked_code is not None:
        raise _refresh_error(server, rt, rt.revoked_code)
    if rt.used and server.single_use_refresh_tokens:
        raise _invalid_refresh_token()
    scopes, reserved = rt.scopes, rt.reserved
    if str(form.get("scope", "")).split():
        asked, reserved_asked = parse_scopes(server, str(form["scope"]))
        scopes, reserved = asked or rt.scopes, reserved_asked | {"offline_access"}
    rt.used = True
    return _issue(server, req, tid, form, client_id, rt.user, rt.roles, scopes, reserved)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _issue(
    server: Server,
    req: Request,
    tid: str,
    form: dict[str, Any],
    client_id: str,
    user: dict[str, Any],
    roles: frozenset[str],
    scopes: tuple[str, ...],
    reserved: frozenset[str],
) -> Response:
    """A delegated access token (+ refresh token, id_token, client_info) [DC] [MSAL]."""
    import msgspec

    info = server.tokens.issue(
        tid,
        client_id,
        scopes,
        server.token_lifetime,
        server.graph_resource,
        user=user,
        user_roles=roles,
    )
    shown = list(scopes)
    if "profile" in reserved:
        shown.append("profile")
    if "openid" in reserved:
        shown += ["openid", "email"]
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(shown),
        "expires_in": server.token_lifetime,
        "ext_expires_in": server.token_lifetime,
        "access_token": info.token,
    }
    if "offline_access" in reserved:
        rt = RefreshToken(
            token="1.A" + secrets.token_urlsafe(160),
            client_id=client_id,
            user=user,
            roles=roles,
            scopes=scopes,
            reserved=reserved,
            issued_at=time.time(),
        )
        with _lock:
            state(server).refresh_tokens[rt.token] = rt
        body["refresh_token"] = rt.token
    now = int(time.time())
    if "openid" in reserved:
        claims = {
            "aud": client_id,
            "iss": f"{server.base_url}/{tid}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": user.get("displayName"),
            "oid": user["id"],
            "preferred_username": user.get("userPrincipalName"),
            "rh": "0.A" + secrets.token_urlsafe(24),
            "sub": _b64(uuid.uuid5(uuid.NAMESPACE_OID, f"{user['id']}:{client_id}").bytes),
            "tid": tid,
            "uti": secrets.token_urlsafe(16),
            "ver": "2.0",
        }
        head = _b64(msgspec.json.encode({"typ": "JWT", "alg": "RS256", "kid": "sandbox"}))
        body["id_token"] = f"{head}.{_b64(msgspec.json.encode(claims))}.{secrets.token_urlsafe(48)}"
    if form.get("client_info") == "1":
        body["client_info"] = _b64(msgspec.json.encode({"uid": user["id"], "utid": tid}))
    return _entra_json(req, body)


def _entra_json(req: Request, body: dict[str, Any]) -> Response:
    return Response(
        200,
        json_response(body).body,
        {
            "Cache-Control": "no-store, no-cache",
            "Pragma": "no-cache",
            "x-ms-request-id": req.request_id,
        },
        "application/json; charset=utf-8",
    )


def revoke_refresh_tokens(server: Server, code: int = 50173) -> int:
    """Every refresh token issued so far answers ``invalid_grant`` with AADSTS ``code``; returns how many."""
    if int(code) not in REVOCATION_CODES:
        raise ValueError(f"code must be one of {REVOCATION_CODES}")
    with _lock:
        tokens = list(state(server).refresh_tokens.values())
    for rt in tokens:
        rt.revoked_code = int(code)
    return len(tokens)


def expire_device_codes(server: Server) -> None:
    """Every device code issued so far is past its ``expires_in`` (polls answer ``expired_token``)."""
    with _lock:
        for code in state(server).device_codes:
            code.expires_at = 0.0


# -- sandbox controls ----------------------------------------------------------------------------


def control_approve(server: Server, req: Request, m: re.Match[str]) -> Response:
    """POST /_sandbox/approve-device-codes?tenant=<id>&user=<upn>[&off=1]: auto-approve at first poll."""
    if req.query.get("off", "").lower() in ("1", "true", "yes"):
        server.auto_approve = None
        return Response(204)
    upn = req.query.get("user") or None
    if upn is not None:
        try:
            find_user(server, upn)
        except KeyError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from None
    server.auto_approve = upn if upn is not None else True
    return Response(204)


def control_revoke(server: Server, req: Request, m: re.Match[str]) -> Response:
    """POST /_sandbox/revoke-refresh-tokens?tenant=<id>&code=<n> (default 50173)."""
    try:
        revoke_refresh_tokens(server, int(req.query.get("code", "50173")))
    except ValueError as exc:
        raise GraphError(400, "BadRequest", str(exc)) from None
    return Response(204)


def register(table: RouteTable) -> None:
    """The device authorization endpoint (Entra error shape) and the sign-in controls."""
    table.add("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/devicecode", devicecode, kind="entra")
    table.add("POST", r"/_sandbox/approve-device-codes", control_approve, kind="control")
    table.add("POST", r"/_sandbox/revoke-refresh-tokens", control_revoke, kind="control")
