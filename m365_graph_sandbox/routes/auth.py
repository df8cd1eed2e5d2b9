"""Entra ID: OIDC discovery and the v2.0 token endpoint, client-credentials grant (graph.md 7).

msal fetches ``/{tenant}/v2.0/.well-known/openid-configuration`` in its constructor and needs
``authorization_endpoint`` and ``token_endpoint`` (graph.md 7c); an unknown tenant answers 400
``invalid_tenant`` AADSTS90002, which msal surfaces as ``ValueError``. The token POST accepts a client
secret or a JWT ``client_assertion`` (RS256 with ``x5t`` = SHA-1 thumbprint, or PS256 with ``x5t#S256``;
graph.md 7a) whose signature is verified with the registered certificate. Errors use Entra's shape and
codes (graph.md 7d): 7000215, 7000222, 700016, 1002012, 65001, 700027, 700024, 500011, 90002.

The only resource this tenant knows is Microsoft Graph of the sandbox's cloud: the scope is
``<cloud Graph resource>/.default`` (graph.md 7b: global ``https://graph.microsoft.com``, usgov
``https://graph.microsoft.us``, china ``https://microsoftgraph.chinacloudapi.cn``) or Graph's application
id ``00000003-0000-0000-c000-000000000000/.default``. Any other resource, including the host the
requests go to (the sandbox's own ``https://127.0.0.1:<port>`` or ``localhost``) or another cloud's
Graph, is Entra's 400 ``invalid_resource`` AADSTS500011 (graph.md 7d, 10: "a scope made from another host
name is refused"). The issued token's audience is the cloud's Graph resource (both spellings name the
same service principal), and Graph checks it on every request (server.py).
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from ..metadata import CLOUD_INSTANCES
from ..server import EntraError, Request, Response, RouteTable, json_response

if TYPE_CHECKING:
    from ..server import Server

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def resolve_tenant(server: Server, name: str) -> str | None:
    """The tenant id for a tenant id or any verified domain name in the authority path."""
    t = server.tenant
    name = name.lower()
    if name == t.tenant_id:
        return t.tenant_id
    if any(d["id"].lower() == name and d["isVerified"] for d in t.domains):
        return t.tenant_id
    return None


def registered_app(server: Server, client_id: str) -> Server | None:
    """The server holding the registration of ``client_id`` when that app may sign in to this tenant.

    Several tenants (app.py ``add_tenant``): a tenant accepts its own single-tenant app and the primary's
    multi-tenant app where that one has admin consent (``server.app_consented``), i.e. a service
    principal in the tenant. An app without a service principal in the tenant is "not found in the
    directory" (AADSTS700016, graph.md 7d: "wrong client id or wrong tenant, not consented").
    """
    wanted = client_id.lower()
    home = server.shared_app
    if wanted == server.client_id.lower():
        # the primary's own app is the multi-tenant one: its consent flag applies to it
        return server if home is not None or server.app_consented else None
    if home is not None and server.app_consented and wanted == home.client_id.lower():
        return home
    return None


def _not_in_directory(server: Server, client_id: str) -> EntraError:
    return EntraError(
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{server.tenant.company}'. "
        "This can happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant. You may have sent your authentication request to the "
        "wrong tenant.",
    )


def _unknown_tenant(name: str) -> EntraError:
    return EntraError(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing "
        "into the correct cloud. Check with your subscription administrator, this may happen if there "
        "are no active subscriptions for the tenant.",
    )


def openid_configuration(server: Server, req: Request, m: re.Match[str]) -> Response:
    """OIDC discovery document (graph.md 7c: authorization_endpoint + token_endpoint required)."""
    tid = resolve_tenant(server, m.group("tenant"))
    if tid is None:
        raise _unknown_tenant(m.group("tenant"))
    base = f"{server.base_url}/{tid}"
    doc = {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{server.base_url}/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver"],
        "kerberos_endpoint": f"{base}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": CLOUD_INSTANCES[server.cloud],
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": server.graph_resource.removeprefix("https://"),
        "rbac_url": "https://pas.windows.net",
    }
    return Response(200, json_response(doc).body, {}, "application/json; charset=utf-8")


def _b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _check_assertion(server: Server, assertion: str, client_id: str, token_endpoint: str) -> None:
    """Verify a client assertion's key, signature and claims like Entra (graph.md 7a)."""
    bad = EntraError(401, "invalid_client", 700027, "Client assertion failed signature validation.")
    try:
        head_b64, claims_b64, sig_b64 = assertion.split(".")
        header = json.loads(_b64url(head_b64))
        claims = json.loads(_b64url(claims_b64))
        signature = _b64url(sig_b64)
    except (ValueError, TypeError):
        raise EntraError(
            400, "invalid_request", 50027, "JWT token is invalid or malformed."
        ) from None
    alg = header.get("alg")
    if "x5t#S256" in header:
        thumb = _b64url(header["x5t#S256"]).hex().upper()
        registered = server.cert_thumbprint_sha256
    elif "x5t" in header:
        thumb = _b64url(header["x5t"]).hex().upper()
        registered = server.cert_thumbprint
    else:
        raise bad
    if not registered or thumb != registered:
        raise EntraError(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint "
            f"of key used by client: '{thumb}', Please visit the Azure Portal, Graph Explorer or directly "
            f"use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at "
            "https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service "
            "endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0"
            "&tabs=http to build a query request URL, such as "
            f"'https://graph.microsoft.com/beta/applications/{client_id}']",
        )
    signed = f"{head_b64}.{claims_b64}".encode()
    try:
        if alg == "RS256":
            server.cert_public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256":
            server.cert_public_key.verify(
                signature,
                signed,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                hashes.SHA256(),
            )
        else:
            raise bad
    except InvalidSignature:
        raise bad from None
    now = time.time()
    if not (claims.get("nbf", 0) - 300 <= now <= claims.get("exp", 0) + 300):
        raise EntraError(
            401, "invalid_client", 700024, "Client assertion is not within its valid time range."
        )
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise EntraError(
            401,
            "invalid_client",
            700023,
            "Client assertion audience claim does not match Realm issuer.",
        )
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and a.rstrip("/") == token_endpoint for a in audiences):
        raise EntraError(
            400,
            "invalid_client",
            700021,
            f"Client assertion audience claim does not match Realm issuer. Review the documentation at "
            f"https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials . "
            f"Token audience: {aud}. Expected: {token_endpoint}",
        )


def audience_for(server: Server, resource: str) -> str | None:
    """The token audience for a requested resource, or None when Entra knows no such resource here.

    Graph of the sandbox's cloud, by its URI or its application id (graph.md 7b, 10), compared without
    a trailing slash and case-insensitively.
    """
    wanted = resource.rstrip("/")
    if wanted.lower() in {server.graph_resource.lower(), GRAPH_APP_ID}:
        return server.graph_resource
    return None


def token(server: Server, req: Request, m: re.Match[str]) -> Response:
    """POST /{tenant}/oauth2/v2.0/token (client_credentials)."""
    tenant_name = m.group("tenant")
    tid = resolve_tenant(server, tenant_name)
    if tid is None:
        raise _unknown_tenant(tenant_name)
    form: dict[str, Any] = dict(
        parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    )
    client_id = form.get("client_id", "")
    auth = req.headers.get("Authorization") or ""
    if auth.lower().startswith("basic "):  # client_secret_basic
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            client_id = client_id or user
            form.setdefault("client_secret", password)
        except ValueError:
            pass
    if form.get("grant_type") in (DEVICE_CODE_GRANT, "refresh_token"):
        from . import delegated  # the user grants (graph.md 8)

        form["client_id"] = client_id
        return delegated.token_grant(server, req, tid, form)
    if form.get("grant_type") != "client_credentials":
        raise EntraError(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type "
            f"'{form.get('grant_type', '')}'. The sandbox supports client_credentials, "
            f"{DEVICE_CODE_GRANT} and refresh_token.",
        )
    if not client_id:
        raise EntraError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    app = registered_app(server, client_id)
    if app is None:
        raise _not_in_directory(server, client_id)
    scopes = form.get("scope", "").split()
    if not scopes:
        raise EntraError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        )
    for scope in scopes:
        if not scope.endswith("/.default"):
            raise EntraError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
    resource = scopes[0][: -len("/.default")]
    audience = audience_for(server, resource)
    if audience is None:
        raise EntraError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{server.tenant.company}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You might have sent "
            "your authentication request to the wrong tenant.",
        )
    token_endpoint = f"{server.base_url}/{tid}/oauth2/v2.0/token"
    as_given = f"{server.base_url}/{tenant_name}/oauth2/v2.0/token"
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise EntraError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_assertion_type'.",
            )
        try:
            _check_assertion(app, form["client_assertion"], app.client_id, token_endpoint)
        except EntraError as exc:
            if exc.code != 700021 or token_endpoint == as_given:
                raise
            _check_assertion(app, form["client_assertion"], app.client_id, as_given)
    elif "client_secret" in form:
        if form["client_secret"] != app.client_secret:
            raise EntraError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{app.client_id}'.",
            )
        if server.secret_expired:
            raise EntraError(
                401,
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{app.client_id}' are expired. Visit the Azure "
                "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using "
                "certificate credentials for added security: https://aka.ms/certCreds.",
            )
    else:
        raise EntraError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if server.consent_missing:
        raise EntraError(
            400,
            "invalid_grant",
            65001,
            f"The user or administrator has not consented to use the application with ID '{app.client_id}' "
            f"named '{app.tenant.app_display_name}'. Send an interactive authorization request for this "
            "user and resource.",
        )
    info = server.tokens.issue(
        tid,
        app.client_id,
        server.granted_permissions,
        server.token_lifetime,
        audience,
    )
    body = {
        "token_type": "Bearer",
        "expires_in": server.token_lifetime,
        "ext_expires_in": server.token_lifetime,
        "access_token": info.token,
    }
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


def keys(server: Server, req: Request, m: re.Match[str]) -> Response:
    """JWKS placeholder: sandbox tokens are validated by registry, not signature."""
    if resolve_tenant(server, m.group("tenant")) is None:
        raise _unknown_tenant(m.group("tenant"))
    return Response(200, json_response({"keys": []}).body, {}, "application/json; charset=utf-8")


def register(table: RouteTable) -> None:
    """Entra routes (no bearer token, Entra error shape)."""
    tenant = r"/(?P<tenant>[^/]+)"
    table.add(
        "GET",
        tenant + r"/v2\.0/\.well-known/openid-configuration",
        openid_configuration,
        kind="entra",
    )
    table.add(
        "GET", tenant + r"/\.well-known/openid-configuration", openid_configuration, kind="entra"
    )
    table.add("POST", tenant + r"/oauth2/v2\.0/token", token, kind="entra")
    table.add("GET", tenant + r"/discovery/v2\.0/keys", keys, kind="entra")
