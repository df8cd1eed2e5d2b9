"""What users read when something fails: one line naming the cause and the fix.

Three kinds of failure (see the design notes): fatal (config, auth), skippable (a missing permission or
licence for one stream) and transient (throttling, 5xx, network; retried, fatal once the budget is spent).
Messages never contain a secret or a token: they are built only from codes, hosts and stream names.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    import requests


class TapMicrosoft365Error(Exception):
    """A failure with a message written for the user (cause and fix, one line)."""


class ConfigError(TapMicrosoft365Error):
    """The configuration is missing something or holds a malformed value."""


class AuthError(TapMicrosoft365Error):
    """Entra ID refused to issue a token, or could not be reached."""


class GraphError(TapMicrosoft365Error):
    """Graph answered with an error that retrying will not fix."""


class GraphTransientError(GraphError):
    """Graph kept throttling or failing until the retry budget ran out."""


class GraphSkippableError(GraphError):
    """One stream cannot be read (missing permission or licence); the rest of the sync can go on."""


class PermissionMissingError(GraphSkippableError):
    """Graph answered 403 because the app lacks an application permission."""


class LicenseMissingError(GraphSkippableError):
    """Graph answered 403/400 because the tenant lacks the licence an endpoint needs."""


# AADSTS code -> (cause, fix). Codes from Entra's reference (graph.md section 7d); branch on codes, never
# on the description text, which Microsoft changes.
AADSTS_MESSAGES: dict[int, tuple[str, str]] = {
    7000215: (
        "the client secret is wrong",
        "copy the secret's Value (not its Secret ID) from Entra admin center > App registrations > "
        "your app > Certificates & secrets into client_secret",
    ),
    7000222: (
        "the client secret has expired",
        "create a new client secret under App registrations > your app > Certificates & secrets "
        "and put its Value in client_secret",
    ),
    700016: (
        "application {client_id} was not found in tenant {tenant_id}",
        "check client_id (the Application (client) ID) and tenant_id, and that the app is registered "
        "in, or consented to by, this tenant",
    ),
    90002: (
        "tenant {tenant_id} was not found",
        "check tenant_id (Entra admin center > Overview > Tenant ID) and the cloud setting",
    ),
    1002012: (
        "the requested scope is not valid for the client-credentials flow",
        "set graph_url to the Graph root (for example https://graph.microsoft.com); the tap asks for "
        "<graph_url>/.default",
    ),
    70011: (
        "the requested scope is not valid",
        "set graph_url to the Graph root of your cloud (for example https://graph.microsoft.com)",
    ),
    65001: (
        "admin consent has not been granted to the app",
        "in App registrations > your app > API permissions, click 'Grant admin consent for <tenant>'",
    ),
    500011: (
        "the Microsoft Graph service principal was not found in the tenant",
        "check graph_url and the cloud setting: tokens of one cloud do not work in another",
    ),
    700027: (
        "the client certificate was not accepted",
        "upload the certificate's public part to App registrations > your app > Certificates & "
        "secrets and set client_certificate_thumbprint to its SHA-1 thumbprint",
    ),
    700024: (
        "the client assertion is not within its valid time range",
        "check this machine's clock (it must be within a few minutes of real time)",
    ),
}


def auth_error_from_result(result: dict, *, tenant_id: str, client_id: str) -> AuthError:
    """Turn msal's error result (Entra's error body) into one line with cause and fix."""
    codes = result.get("error_codes") or []
    error = result.get("error", "unknown_error")
    correlation = result.get("correlation_id")
    for code in codes:
        if code in AADSTS_MESSAGES:
            cause, fix = AADSTS_MESSAGES[code]
            cause = cause.format(tenant_id=tenant_id, client_id=client_id)
            ref = f"AADSTS{code}" + (f", correlation-id {correlation}" if correlation else "")
            return AuthError(f"Authentication failed: {cause} ({ref}). Fix: {fix}.")
    description = str(result.get("error_description") or "").split("\n", 1)[0].strip()
    shown = f"AADSTS{codes[0]}" if codes else error
    return AuthError(
        f"Authentication failed ({shown}): {description or error}. Fix: check tenant_id, client_id "
        "and the credential in the app registration."
    )


def graph_error_parts(response: requests.Response) -> tuple[str, str, str]:
    """Return (code, message, ids) of a Graph error response; ids names request-id/client-request-id."""
    code, message = "", ""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or "")
            message = str(error.get("message") or "")
    except ValueError:
        pass
    return code, message, request_ids(response.headers)


def request_ids(headers: t.Mapping[str, str]) -> str:
    """Graph's request-id and client-request-id, the two ids Microsoft support asks for."""
    rid = headers.get("request-id", "-")
    crid = headers.get("client-request-id", "-")
    return f"request-id {rid}, client-request-id {crid}"
