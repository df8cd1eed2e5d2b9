"""What users read when something fails: one line naming the cause and the fix.

Three kinds of failure (design.md): fatal (config, auth, malformed answers), skippable (a missing
permission, licence or cloud feature for one stream) and transient (throttling, 5xx, network, the token
endpoint; retried under one budget, fatal once it is spent). :func:`classify` is the one error table.
Messages never contain a secret or a token: they are built only from codes, hosts and stream names.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass


class TapMicrosoft365Error(Exception):
    """A failure with a message written for the user (cause and fix, one line)."""


class ConfigError(TapMicrosoft365Error):
    """The configuration is missing something or holds a malformed value (fatal)."""


class AuthError(TapMicrosoft365Error):
    """Entra ID refused to issue a token, or could not be reached (fatal)."""


class GraphError(TapMicrosoft365Error):
    """Graph answered with an error that retrying will not fix (fatal)."""


class MalformedAnswerError(GraphError):
    """Graph's answer is not what the API documents (HTML, truncated JSON, a nextLink loop ...)."""


class HostRefusedError(GraphError):
    """A nextLink, redirect or download URL names a host or scheme the token must never go to."""


class GraphTransientError(GraphError):
    """Graph kept throttling or failing until the retry budget ran out."""


class ThrottledTooLongError(GraphTransientError):
    """Graph asked to wait longer (``Retry-After``) than the caller will wait in this run."""


class GraphSkippableError(GraphError):
    """One stream cannot be read (missing permission, licence or cloud feature); the rest goes on."""


class PermissionMissingError(GraphSkippableError):
    """Graph answered 403 because the app lacks an application permission."""


class LicenseMissingError(GraphSkippableError):
    """Graph answered 403/400 because the tenant lacks the licence an endpoint needs."""


class NotInCloudError(GraphSkippableError):
    """The endpoint does not exist in this national cloud (400 "Resource not found for the segment")."""


class DeltaExpiredError(GraphError):
    """A delta link Graph no longer honours (400 ``syncStateNotFound``, 410 ``resyncRequired``)."""


class GraphNotFoundError(GraphError):
    """Graph answered 404: the object is gone (a parent deleted during the sync)."""


class FilterRefusedError(GraphError):
    """Graph refused a ``$filter`` (400 "Invalid filter clause"), e.g. a date beyond log retention."""


class UnknownPropertyError(GraphError):
    """A ``$select`` named a property this tenant's Graph does not know (400, "Could not find a property")."""

    def __init__(self, message: str, prop: str) -> None:
        super().__init__(message)
        self.prop = prop


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
        "the application (client_id) was not found in the tenant (tenant_id)",
        "check client_id (the Application (client) ID) and tenant_id, and that the app is registered "
        "in, or consented to by, this tenant",
    ),
    90002: (
        "the tenant (tenant_id) was not found",
        "check tenant_id (Entra admin center > Overview > Tenant ID) and the cloud setting",
    ),
    1002012: (
        "the requested scope is not valid for the client-credentials flow",
        "check the cloud setting: the tap asks for <the cloud's Graph resource>/.default",
    ),
    70011: (
        "the requested scope is not valid",
        "check the cloud setting (global, usgov, usgov_dod or china); graph_url only says where "
        "requests go",
    ),
    65001: (
        "admin consent has not been granted to the app",
        "in App registrations > your app > API permissions, click 'Grant admin consent for <tenant>'",
    ),
    500011: (
        "the Microsoft Graph service principal was not found in the tenant",
        "check the cloud setting matches the tenant's cloud: tokens of one cloud do not work in "
        "another (graph_url does not change the token's audience)",
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
    description = redact(str(result.get("error_description") or "").split("\n", 1)[0].strip())
    shown = f"AADSTS{codes[0]}" if codes else error
    return AuthError(
        f"Authentication failed ({shown}): {description or error}. Fix: check tenant_id, client_id "
        "and the credential in the app registration."
    )


_BEARER = re.compile(r"(?i)bearer\s+[^\s\"',;]+")
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_LONG_OPAQUE = re.compile(r"[A-Za-z0-9+/_~.-]{64,}={0,2}")
MAX_MESSAGE = 200


def redact(text: str) -> str:
    """Graph's human message without tokens (bearer values, JWTs, long opaque strings), one line."""
    text = _BEARER.sub("Bearer [redacted]", text)
    text = _JWT.sub("[redacted]", text)
    text = _LONG_OPAQUE.sub("[redacted]", text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def request_ids(headers: t.Mapping[str, str]) -> str:
    """Graph's request-id and client-request-id, the two ids Microsoft support asks for."""
    rid = headers.get("request-id", "-")
    crid = headers.get("client-request-id", "-")
    return f"request-id {rid}, client-request-id {crid}"


def error_parts(body: t.Any) -> tuple[str, str]:
    """(code, message) of a Graph error body ``{"error": {"code", "message"}}``; empty when absent."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), redact(str(error.get("message") or ""))


# -- the error table ---------------------------------------------------------------------------------
# One place maps every Graph answer to fatal / skippable / transient (design.md "three kinds of failure").
# Branch on status and Graph's error code; the message text only where Graph gives no usable code
# (graph.md 7d: "code only, message is not stable").

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
PERMISSION_CODES = frozenset(
    {"Authorization_RequestDenied", "Authentication_MSGraphPermissionMissing", "AccessDenied"}
)
LICENSE_CODES = frozenset(
    {
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        # PIM without Entra ID P2 (rbacapplication-list-roleeligibilityschedules; sandbox CONTRACT)
        "AadPremiumLicenseRequired",
    }
)
#: 400 "Request not applicable to target tenant." = no Intune licence (graph.md 10); generic code.
INTUNE_UNLICENSED = "request not applicable to target tenant"
#: 400 "Could not find a property named 'X' on type 'microsoft.graph.T'." (graph.md 10).
UNKNOWN_PROPERTY = re.compile(r"Could not find a property named '([^']+)'")
#: 400 "Resource not found for the segment 'X'." = the endpoint is not in this cloud (graph.md 10).
NO_SEGMENT = "resource not found for the segment"
INVALID_FILTER = "invalid filter clause"
#: Delta tokens expire (7 days for directory objects) or are reset: a full round is needed (graph.md 2).
DELTA_RESET_CODES = frozenset({"syncStateNotFound", "resyncRequired"})


@dataclass(frozen=True)
class Failure:
    """Where a Graph call failed: enough to write one line naming the stream, call and ids."""

    stream: str
    method: str
    path: str
    ids: str

    def call(self) -> str:
        """E.g. ``GET /v1.0/users (request-id ..., client-request-id ...)``."""
        return f"{self.method} {self.path} ({self.ids})"


def classify(status: int, code: str, message: str, where: Failure) -> GraphError:
    """The exception for a non-retriable Graph error answer, with cause and fix."""
    from tap_microsoft365.permissions import requirement_for_path

    low = message.lower()
    need = requirement_for_path(where.path)
    said = f"Graph answered {status} {code or 'error'} for {where.call()}"
    if code in LICENSE_CODES or (status == 400 and INTUNE_UNLICENSED in low):
        licence = need.licence or "Microsoft Entra ID P1 or P2"
        detail = f" '{message.rstrip('.')}'" if message else ""
        return LicenseMissingError(
            f"stream '{where.stream}' needs a licence the tenant lacks ({licence}; the app also needs "
            f"{need.permissions[0]}): {said}{detail}. "
            "Fix: license the tenant, or deselect the stream."
        )
    if status == 403 and (code in PERMISSION_CODES or not code):
        return PermissionMissingError(
            f"stream '{where.stream}' needs the Microsoft Graph application permission "
            f"{need.describe()} with admin consent: {said}. Fix: App registrations > your app > API "
            f"permissions > Add a permission > Microsoft Graph > Application permissions > "
            f"{need.permissions[0]}, then Grant admin consent."
        )
    if status == 400 and (match := UNKNOWN_PROPERTY.search(message)):
        return UnknownPropertyError(
            f"stream '{where.stream}': this tenant's Graph does not know the property "
            f"'{match.group(1)}': {said}.",
            match.group(1),
        )
    if status == 400 and NO_SEGMENT in low:
        return NotInCloudError(
            f"stream '{where.stream}': the endpoint does not exist in this tenant's national cloud: "
            f"{said}. Fix: deselect the stream for this cloud."
        )
    if status == 400 and INVALID_FILTER in low:
        return FilterRefusedError(f"stream '{where.stream}': {said}: {message}.")
    if code in DELTA_RESET_CODES or status == 410:
        return DeltaExpiredError(
            f"stream '{where.stream}': Graph no longer honours the saved delta link ({status} "
            f"{code or 'Gone'} for {where.call()})."
        )
    if status == 404:
        return GraphNotFoundError(f"stream '{where.stream}': {said} (the object is gone).")
    detail = f": {message}" if message else ""
    return GraphError(f"Stream '{where.stream}': {said}{detail}.")
