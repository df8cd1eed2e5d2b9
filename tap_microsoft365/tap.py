"""tap-microsoft365: settings, the tenant connection and the stream registry."""

from __future__ import annotations

import contextlib
import copy
import re
import sys
import typing as t
from functools import cached_property
from urllib.parse import urlparse

from jsonschema import Draft7Validator
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import PluginBase, _ConfigInput

from tap_microsoft365.auth import CLOUDS, GraphAuthenticator, load_credential
from tap_microsoft365.client import TenantConnection
from tap_microsoft365.errors import ConfigError, TapMicrosoft365Error
from tap_microsoft365.streams import STREAM_TYPES

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.streams import Stream

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
WELL_KNOWN_LOGIN_HOSTS = {urlparse(login).netloc for login, _ in CLOUDS.values()} | {
    "login.partner.microsoftonline.cn",
    "login.microsoft.com",
}
SECRET_SETTINGS = ("client_secret", "client_certificate_passphrase")


class TapMicrosoft365(Tap):
    """Microsoft 365 and Entra ID through Microsoft Graph."""

    name = "tap-microsoft365"
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "tenant_id",
            th.StringType(nullable=False),
            required=True,
            title="Tenant ID",
            description="Directory (tenant) ID: a GUID, or the tenant's domain such as "
            "contoso.onmicrosoft.com (Entra admin center > Overview).",
        ),
        th.Property(
            "client_id",
            th.StringType(nullable=False),
            required=True,
            title="Client ID",
            description="Application (client) ID of the app registration.",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            secret=True,
            title="Client secret",
            description="Client secret Value. Use it, or a certificate.",
        ),
        th.Property(
            "client_certificate_path",
            th.StringType,
            title="Client certificate path",
            description="Path of a PEM file holding the certificate's private key (instead of a secret).",
        ),
        th.Property(
            "client_certificate_thumbprint",
            th.StringType,
            title="Client certificate thumbprint",
            description="SHA-1 thumbprint (hex) of the certificate uploaded to the app registration.",
        ),
        th.Property(
            "client_certificate_passphrase",
            th.StringType,
            secret=True,
            title="Client certificate passphrase",
            description="Passphrase of an encrypted PEM private key.",
        ),
        th.Property(
            "cloud",
            th.StringType,
            default="global",
            allowed_values=list(CLOUDS),
            title="Cloud",
            description="National cloud: global (also GCC), usgov (GCC High), usgov_dod, china. "
            "Sets the login host and the Graph root.",
        ),
        th.Property(
            "authority_url",
            th.StringType,
            title="Authority URL",
            description="Override the login host (default from cloud, https://login.microsoftonline.com), "
            "for proxies and the local sandbox. msal's instance discovery is off for custom hosts.",
        ),
        th.Property(
            "graph_url",
            th.StringType,
            title="Graph URL",
            description="Override the Graph root (default from cloud, https://graph.microsoft.com).",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="Earliest date-time to read for incremental streams (logs, reports).",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            title="Page size cap",
            description="Cap on $top; each endpoint is read at its documented maximum by default.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=8,
            title="Max retries",
            description="Retries of a throttled (429) or failing (5xx, network) request.",
        ),
        th.Property(
            "retry_budget_seconds",
            th.NumberType,
            default=900,
            title="Retry budget (seconds)",
            description="Longest total time spent retrying one request before the sync fails.",
        ),
        th.Property(
            "batch_concurrency",
            th.IntegerType,
            default=2,
            title="Batch concurrency",
            description="JSON $batch requests (20 Graph calls each) in flight at once for per-parent "
            "streams such as group_members. 2 stays under Graph's identity throttling limit.",
        ),
        th.Property(
            "strict_permissions",
            th.BooleanType,
            default=False,
            title="Strict permissions",
            description="Fail the sync when a stream lacks a permission or licence, instead of "
            "skipping that stream with a warning.",
        ),
        th.Property(
            "user_domains",
            th.ArrayType(th.StringType),
            title="User domains",
            description="Only users whose userPrincipalName ends with @<domain>, e.g. "
            '["contoso.com"]. Guests (#EXT#) are matched on the tenant domain of their UPN.',
        ),
        th.Property(
            "usage_report_period",
            th.StringType(allowed_values=["D7", "D30", "D90", "D180"]),
            default="D7",
            title="Usage report period",
            description="Period of the period-only usage reports (mailbox usage, service user counts).",
        ),
        th.Property(
            "usage_report_lookback_days",
            th.IntegerType,
            default=3,
            title="Usage report lookback (days)",
            description="Latest loaded report dates read again each run, as Microsoft back-fills usage.",
        ),
        th.Property(
            "usage_report_calls_per_10_minutes",
            th.IntegerType,
            default=14,
            title="Usage report calls per 10 minutes",
            description="Calls per report per 10 minutes (Graph allows 14); dates beyond wait for the "
            "next run.",
        ),
        th.Property(
            "usage_report_wait_for_limit",
            th.BooleanType,
            default=False,
            title="Wait at the usage report limit",
            description="At the report call limit, wait until the 10-minute window frees instead of "
            "leaving the remaining dates for the next run.",
        ),
        th.Property(
            "log_overlap_minutes",
            th.NumberType,
            default=15,
            title="Log overlap (minutes)",
            description="Activity logs (sign_ins, directory_audits, provisioning_logs): re-read this "
            "many minutes before the bookmark to catch late events; ids already emitted are skipped.",
        ),
        th.Property(
            "audit_requests_per_10s",
            th.NumberType,
            default=5,
            title="Activity-log requests per 10 s",
            description="Pace requests to the activity-log APIs under Graph's limit of 5 per 10 "
            "seconds per app and tenant; 0 turns pacing off (429s are still retried).",
        ),
        th.Property(
            "user_agent",
            th.StringType,
            title="User agent",
            description="User-Agent header sent to Graph.",
        ),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """Every stream; discovery needs no credentials."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    def load_streams(self) -> list[Stream]:
        """Streams in registry order, not by name: groups runs before group_members (id reuse)."""
        order = {stream_type.name: i for i, stream_type in enumerate(STREAM_TYPES)}
        return sorted(super().load_streams(), key=lambda s: order.get(s.name, len(order)))

    # -- the tenant connection -------------------------------------------------------------------

    @cached_property
    def connection(self) -> TenantConnection:
        """The one connection of this run, built from validated settings."""
        config = self.config
        tenant_id = str(config.get("tenant_id") or "").strip()
        client_id = str(config.get("client_id") or "").strip()
        check_ids(tenant_id, client_id)
        cloud = config.get("cloud") or "global"
        if cloud not in CLOUDS:
            raise ConfigError(f"cloud {cloud!r} is unknown. Fix: use one of {', '.join(CLOUDS)}.")
        default_login, default_graph = CLOUDS[cloud]
        authority_url = check_url("authority_url", config.get("authority_url") or default_login)
        graph_url = check_url("graph_url", config.get("graph_url") or default_graph)
        authenticator = GraphAuthenticator(
            tenant_id=tenant_id,
            client_id=client_id,
            credential=load_credential(config),
            authority_url=authority_url,
            graph_url=graph_url,
            well_known_authority=urlparse(authority_url).netloc in WELL_KNOWN_LOGIN_HOSTS,
        )
        return TenantConnection(
            tenant_id=tenant_id, graph_base=f"{graph_url}/v1.0", authenticator=authenticator
        )

    def preflight(self) -> None:
        """Validate settings and get a token before any stream starts, so config errors come first."""
        if any(s.selected or s.has_selected_descendents for s in self.streams.values()):
            self.connection.authenticator.access_token()

    # -- errors users read -----------------------------------------------------------------------

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """JSON-schema validation whose messages name the setting, never its value (secrets)."""
        schema = copy.deepcopy(self.config_jsonschema)
        self.append_builtin_config(schema)
        errors = [
            safe_validation_message(e) for e in Draft7Validator(schema).iter_errors(self._config)
        ]
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
        return errors

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        state: t.IO[str] | None = None,
        catalog: t.IO[str] | None = None,
    ) -> None:
        """Sync, turning every known failure into one line on stderr and exit code 1."""
        PluginBase.invoke.__func__(cls, about=about, about_format=about_format)  # type: ignore[attr-defined]
        cls.print_version(print_fn=cls.logger.info)
        config = config or _ConfigInput()
        with user_facing_errors(cls):
            tap = cls(
                config=config.config,
                state=None if state is None else read_json_stream(state),
                catalog=None if catalog is None else read_json_stream(catalog),
                parse_env_config=config.parse_env,
                validate_config=True,
            )
            tap.preflight()
            tap.sync_all()


def read_json_stream(handle: t.IO[str]) -> dict:
    """Load a JSON document from an open file (state, catalog)."""
    import json

    return json.loads(handle.read())


@contextlib.contextmanager
def user_facing_errors(cls: type[TapMicrosoft365]) -> Iterator[None]:
    """Log one line per known failure and exit 1; unknown errors keep their traceback."""
    try:
        yield
    except ConfigValidationError as exc:
        cls.logger.error("Invalid configuration: %s", "; ".join(exc.errors))
        sys.exit(1)
    except TapMicrosoft365Error as exc:
        cls.logger.error("%s", exc)
        sys.exit(1)


SETTING_HINTS = {
    "tenant_id": "the Directory (tenant) ID from Entra admin center > Overview",
    "client_id": "the Application (client) ID from App registrations > your app > Overview",
}


def safe_validation_message(error: t.Any) -> str:
    """Which setting is wrong and why, without echoing the value."""
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return "; ".join(
            f"setting {name} is missing: set {name}"
            + (f" ({SETTING_HINTS[name]})" if name in SETTING_HINTS else "")
            + f" in the config file or TAP_MICROSOFT365_{name.upper()}"
            for name in missing
        )
    where = ".".join(str(p) for p in error.path) or "config"
    if error.validator == "type":
        kinds = (
            error.validator_value
            if isinstance(error.validator_value, list)
            else [error.validator_value]
        )
        return f"setting {where} must be of type {' or '.join(k for k in kinds if k != 'null')}"
    if error.validator == "enum":
        return f"setting {where} must be one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "format":
        return f"setting {where} must be a {error.validator_value}"
    return f"setting {where} is not valid ({error.validator})"


def check_ids(tenant_id: str, client_id: str) -> None:
    """tenant_id is a GUID or a domain; client_id is a GUID (Entra's formats)."""
    if not tenant_id:
        raise ConfigError(
            "Setting tenant_id is missing. Fix: set it to the Directory (tenant) ID from Entra admin "
            "center > Overview."
        )
    if not (GUID.match(tenant_id) or DOMAIN.match(tenant_id)):
        raise ConfigError(
            f"Setting tenant_id {tenant_id!r} is neither a GUID nor a domain. Fix: copy the Directory "
            "(tenant) ID (a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47) from Entra admin center > "
            "Overview."
        )
    if not client_id:
        raise ConfigError(
            "Setting client_id is missing. Fix: set it to the Application (client) ID of the app "
            "registration."
        )
    if not GUID.match(client_id):
        raise ConfigError(
            f"Setting client_id {client_id!r} is not a GUID. Fix: copy the Application (client) ID "
            "(not the secret ID or the object ID) from App registrations > your app > Overview."
        )


def check_url(setting: str, value: str) -> str:
    """An https URL without trailing slash (msal refuses plain http)."""
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc:
        raise ConfigError(
            f"Setting {setting} {value!r} is not an https URL. Fix: use the form "
            "https://host[:port] (msal and Graph need TLS)."
        )
    return value.rstrip("/")


__all__ = ["TapMicrosoft365"]
