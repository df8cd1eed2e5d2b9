"""The tenants of a run: the ``tenants`` setting, or the top-level ``tenant_id`` as a list of one.

Each entry has a ``tenant_id`` and optionally a ``label`` and its own credentials; what an entry leaves
out comes from the top-level settings (one multi-tenant app consented in every tenant). An entry is
app-only (a client secret or a certificate) or delegated (an admin's sign-in kept in an msal token
cache, or a refresh token; no app registration needed: the default client is Microsoft Graph Command
Line Tools, a public client every tenant knows).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from tap_microsoft365.graph.errors import ConfigError
from tap_microsoft365.settings import DOMAIN, GUID

#: Microsoft Graph Command Line Tools: Microsoft's public client, known in every tenant; a delegated
#: sign-in with it needs no app registration (an admin consents to the scopes at the first sign-in).
GRAPH_CLI_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
#: Settings an entry may set for itself; the rest of the config applies to every tenant.
ENTRY_KEYS = (
    "tenant_id",
    "label",
    "client_id",
    "client_secret",
    "client_certificate_path",
    "client_certificate_thumbprint",
    "client_certificate_passphrase",
    "token_cache_path",
    "refresh_token",
)
CREDENTIAL_KEYS = ENTRY_KEYS[3:]


@dataclass(frozen=True)
class TenantEntry:
    """One tenant of the run and the settings its connection uses (its own, else the top-level ones)."""

    tenant_id: str
    label: str
    settings: t.Mapping[str, t.Any]
    position: int

    @property
    def delegated(self) -> bool:
        """An admin's sign-in (token cache or refresh token) rather than an app's credential."""
        return is_delegated(self.settings)

    @property
    def client_id(self) -> str:
        """The app's client id; in delegated mode Microsoft Graph Command Line Tools by default."""
        value = str(self.settings.get("client_id") or "").strip()
        return value or (GRAPH_CLI_CLIENT_ID if self.delegated else "")

    @property
    def sign_in_client_id(self) -> str:
        """The public client a device-code sign-in uses: the entry's own app only when delegated."""
        own = str(self.settings.get("client_id") or "").strip()
        return own if own and self.delegated else GRAPH_CLI_CLIENT_ID

    def describe(self) -> str:
        """``tenant 'label' (id)`` for messages: ids and labels are not secrets."""
        if self.label and self.label != self.tenant_id:
            return f"tenant '{self.label}' ({self.tenant_id})"
        return f"tenant {self.tenant_id}"


def is_delegated(settings: t.Mapping[str, t.Any]) -> bool:
    """True when the settings carry a sign-in (token cache or refresh token) and no app credential."""
    has_app_credential = bool(settings.get("client_secret") or settings.get("client_certificate_path"))
    has_sign_in = bool(settings.get("token_cache_path") or settings.get("refresh_token"))
    return has_sign_in and not has_app_credential


def _merged(config: t.Mapping[str, t.Any], entry: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The entry's settings over the top-level ones.

    An entry with its own credential takes none of the top-level credentials: a secret of one app
    never goes with another app's client id.
    """
    merged = {k: config.get(k) for k in ENTRY_KEYS if config.get(k) not in (None, "")}
    if any(entry.get(k) for k in CREDENTIAL_KEYS if k != "client_id"):
        for key in CREDENTIAL_KEYS:
            merged.pop(key, None)
    merged.update({k: v for k, v in entry.items() if v not in (None, "")})
    return merged


def entry_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """What is wrong with ``tenants`` (or the single ``tenant_id``), one message per cause."""
    try:
        tenant_entries(config)
    except ConfigError as exc:
        return [str(exc)]
    return []


def tenant_entries(config: t.Mapping[str, t.Any], *, sign_in: bool = False) -> list[TenantEntry]:
    """The run's tenants in the configured order; ConfigError naming the entry when one is wrong.

    ``sign_in``: for tap-microsoft365-login, where an entry needs no client id yet.
    """
    listed = config.get("tenants")
    single = str(config.get("tenant_id") or "").strip()
    if listed in (None, []):
        if not single:
            raise ConfigError(
                "setting tenant_id is missing: set tenant_id (the Directory (tenant) ID from Entra "
                "admin center > Overview) in the config file or TAP_MICROSOFT365_TENANT_ID, or list "
                "the tenants in the tenants setting"
            )
        raw: list[t.Any] = [{"tenant_id": single}]
    elif not isinstance(listed, list):
        raise ConfigError(
            "setting tenants must be a list of objects such as "
            '[{"tenant_id": "contoso.onmicrosoft.com", "label": "Contoso"}]'
        )
    else:
        raw = listed
    entries: list[TenantEntry] = []
    seen: set[str] = set()
    for position, item in enumerate(raw):
        where = f"tenants[{position}]" if listed else "tenant_id"
        if not isinstance(item, dict):
            raise ConfigError(
                f"setting {where} is not an object: give each tenant as "
                '{"tenant_id": "...", "label": "..."}'
            )
        unknown = sorted(set(item) - set(ENTRY_KEYS))
        if unknown:
            raise ConfigError(
                f"setting {where} has {len(unknown)} key(s) a tenant entry does not take (e.g. "
                f"'{unknown[0][:40]}'): an entry takes {', '.join(ENTRY_KEYS)}"
            )
        field = f"{where}.tenant_id" if listed else "tenant_id"
        tenant_id = item.get("tenant_id")
        if not isinstance(tenant_id, str) or not tenant_id.strip():
            raise ConfigError(f"setting {field} is missing: set it to the tenant's GUID or domain")
        tenant_id = tenant_id.strip()
        if not (GUID.match(tenant_id) or DOMAIN.match(tenant_id)):
            raise ConfigError(
                f"Setting {field} is neither a GUID nor a domain. Fix: copy the Directory "
                "(tenant) ID (a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47) from Entra admin "
                "center > Overview."
            )
        if tenant_id.lower() in seen:
            raise ConfigError(
                f"setting {where} repeats a tenant listed before it: list each tenant once"
            )
        seen.add(tenant_id.lower())
        label = item.get("label")
        if label is not None and not isinstance(label, str):
            raise ConfigError(f"setting {where}.label must be a string")
        settings = _merged(config, item)
        entry = TenantEntry(tenant_id, (label or "").strip()[:80] or tenant_id, settings, position)
        client_id = entry.sign_in_client_id if sign_in else entry.client_id
        if not client_id:
            raise ConfigError(
                "setting client_id is missing: set client_id (the Application (client) ID from App "
                "registrations > your app > Overview) in the config file or "
                "TAP_MICROSOFT365_CLIENT_ID"
                + (f" or in the entry of {entry.describe()}" if listed else "")
                + ", or sign in with tap-microsoft365-login for a delegated connection"
            )
        if not GUID.match(client_id):
            raise ConfigError(
                "Setting client_id"
                + (f" of {entry.describe()}" if listed else "")
                + " is not a GUID. Fix: copy the Application "
                "(client) ID (not the secret ID or the object ID) from App registrations > your app > "
                "Overview."
            )
        entries.append(entry)
    if listed and single and single.lower() not in seen:
        raise ConfigError(
            "setting tenant_id names a tenant the tenants setting does not list: remove tenant_id or "
            "add that tenant to tenants"
        )
    return entries
