"""Settings: the config schema and the checks that name a setting without echoing its value."""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_microsoft365.graph.clouds import CLOUDS
from tap_microsoft365.graph.errors import ConfigError

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
SECRET_SETTINGS = ("client_secret", "client_certificate_passphrase", "refresh_token")

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "tenant_id",
        th.StringType,
        title="Tenant ID",
        description="Directory (tenant) ID: a GUID, or the tenant's domain such as "
        "contoso.onmicrosoft.com (Entra admin center > Overview). Or list several in tenants.",
    ),
    th.Property(
        "tenants",
        th.ArrayType(
            th.ObjectType(
                th.Property("tenant_id", th.StringType, required=True),
                th.Property("label", th.StringType),
                th.Property("client_id", th.StringType),
                th.Property("client_secret", th.StringType, secret=True),
                th.Property("client_certificate_path", th.StringType),
                th.Property("client_certificate_thumbprint", th.StringType),
                th.Property("client_certificate_passphrase", th.StringType, secret=True),
                th.Property("token_cache_path", th.StringType),
                th.Property("refresh_token", th.StringType, secret=True),
            )
        ),
        title="Tenants",
        description="Several tenants in one run: a list of {tenant_id, label, and optionally the "
        "tenant's own client_id and credential}. Entries without credentials use the top-level ones "
        "(one multi-tenant app consented in each tenant). Every record carries tenant_id.",
    ),
    th.Property(
        "fail_fast",
        th.BooleanType,
        default=False,
        title="Fail fast",
        description="Stop the run at the first tenant that fails (revoked consent, expired secret, "
        "throttled too long) instead of going on with the other tenants; the exit code is non-zero "
        "either way.",
    ),
    th.Property(
        "client_id",
        th.StringType,
        title="Client ID",
        description="Application (client) ID of the app registration. Delegated sign-in without one "
        "uses Microsoft Graph Command Line Tools (14d82eec-204b-4c2f-b7e8-296a70dab67e).",
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
        "token_cache_path",
        th.StringType,
        title="Token cache path",
        description="Delegated sign-in: the msal token cache file tap-microsoft365-login writes (mode "
        "0600); the tap renews tokens from it and keeps the newest refresh token there.",
    ),
    th.Property(
        "refresh_token",
        th.StringType,
        secret=True,
        title="Refresh token",
        description="Delegated sign-in without a cache file: the refresh token "
        "tap-microsoft365-login --print-refresh-token printed, from a secret store.",
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
        description="Where Graph requests go (default from cloud, https://graph.microsoft.com), e.g. a "
    "proxy or gateway; the token's audience still comes from cloud.",
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
        "request_timeout_seconds",
        th.NumberType,
        default=300,
        title="Request deadline (seconds)",
        description="Longest time one Graph request may take from sending to the last byte of its "
        "answer; a slower answer is cut off and retried.",
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
        "full_sync",
        th.BooleanType,
        default=False,
        title="Full sync",
        description="Read the delta streams (users, groups, group_members, devices, applications, "
        "service_principals) in full this run instead of from their saved delta links; targets then "
        "drop rows of objects gone from Graph (ACTIVATE_VERSION).",
    ),
    th.Property(
        "user_domains",
        th.ArrayType(th.StringType),
        default=["*"],
        title="User domains",
        description='["*"] (default): every user, including those without an address. A list, e.g. '
        '["contoso.com"]: only users whose address (email_method) is in one of the domains, exact and '
        "case-insensitive (subdomains are not included); users without an address are then left out. "
        "Applied to every stream that names users.",
    ),
    th.Property(
        "email_method",
        th.StringType(allowed_values=["upn", "mail"]),
        default="upn",
        title="Email method",
        description="A user's address: upn (userPrincipalName) or mail (mail, else the UPN). Used by "
        "user_domains and user_deny_list, and emitted as users.email.",
    ),
    th.Property(
        "user_deny_list",
        th.ArrayType(th.StringType),
        title="User deny list",
        description="Addresses (per email_method) or user object ids never loaded in any stream.",
    ),
    th.Property(
        "exclude_guests",
        th.BooleanType,
        default=False,
        title="Exclude guests",
        description="Leave out guest users (userType Guest, #EXT# accounts) in every stream.",
    ),
    th.Property(
        "exclude_unlicensed_users",
        th.BooleanType,
        default=False,
        title="Exclude unlicensed users",
        description="Leave out users with no assigned licence in every stream.",
    ),
    th.Property(
        "exclude_disabled_users",
        th.BooleanType,
        default=False,
        title="Exclude disabled users",
        description="Leave out users whose account is disabled in every stream.",
    ),
    th.Property(
        "group_types",
        th.ArrayType(
            th.StringType(allowed_values=["unified", "security", "mail_enabled_security", "distribution"])
        ),
        title="Group types",
        description="Only these kinds of groups in groups and group_members: unified (Microsoft 365), "
        "security, mail_enabled_security, distribution. Default: all.",
    ),
    th.Property(
        "group_ids",
        th.ArrayType(th.StringType),
        title="Group ids",
        description="Only these groups (object ids or display names) in groups and group_members.",
    ),
    th.Property(
        "scope_concealed_report_rows",
        th.StringType(allowed_values=["keep", "drop"]),
        default="keep",
        title="Concealed report rows under a user scope",
        description="Usage-report rows whose names are concealed cannot be matched to the user scope: "
        "keep them (default) or drop them.",
    ),
    th.Property(
        "include_users_of_groups_only",
        th.BooleanType,
        default=False,
        title="Users of the scoped groups only",
        description="Only users who are direct members of the groups group_types/group_ids select.",
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
        "usage_report_max_wait_seconds",
        th.NumberType,
        default=60,
        title="Usage report longest wait (seconds)",
        description="A report answered 429 with a Retry-After longer than this leaves its remaining "
        "dates for the next run (bookmark intact) instead of waiting.",
    ),
    th.Property(
        "user_agent",
        th.StringType,
        title="User agent",
        description="User-Agent header sent to Graph.",
    ),
).to_dict()

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


def check_url(setting: str, value: str) -> str:
    """An https URL without trailing slash (msal refuses plain http)."""
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc:
        raise ConfigError(
            f"Setting {setting} is not an https URL. Fix: use the form "
            "https://host[:port] (msal and Graph need TLS)."
        )
    return value.rstrip("/")




# -- ranges and formats (checked before any request) ---------------------------------------------------

#: setting -> (lowest, highest, whole numbers only, a good value). Why each bound: a negative overlap
#: would skip events; a negative pacing rate or budget would switch pacing or retries off; no report can
#: be asked for more than 14 times per 10 minutes or for a date older than 28 days (graph.md 3, 6).
RANGES: dict[str, tuple[float, float, bool, str]] = {
    "page_size": (1, 999, True, "999"),
    "max_retries": (0, 50, True, "8"),
    "retry_budget_seconds": (1, 86_400, False, "900"),
    "request_timeout_seconds": (0.1, 3_600, False, "300"),
    "batch_concurrency": (1, 8, True, "2"),
    "log_overlap_minutes": (0, 1_440, False, "15"),
    "audit_requests_per_10s": (0, 1_000, False, "5, Graph's limit; 0 turns pacing off"),
    "usage_report_lookback_days": (0, 27, True, "3"),
    "usage_report_calls_per_10_minutes": (1, 100, True, "14, Graph's limit for CSV reports"),
    "usage_report_max_wait_seconds": (0, 900, False, "60"),
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def shown(value: t.Any) -> str:
    """A value safe to print: short non-secret values only (never longer than a GUID)."""
    text = str(value)
    return repr(value) if len(text) <= 36 and "\n" not in text else "a long value"


def parse_start_date(value: t.Any) -> dt.datetime:
    """``start_date`` as an aware UTC datetime: ISO 8601 date or date-time only."""
    text = str(value).strip()
    if not (_DATE.match(text) or _DATETIME.match(text)):
        raise ValueError("not an ISO 8601 date or date-time")
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def range_errors(config: t.Mapping[str, t.Any], now: dt.datetime | None = None) -> list[str]:
    """One message per setting outside its range or format, naming a good value."""
    errors: list[str] = []
    for name, (low, high, whole, example) in RANGES.items():
        value = config.get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue  # absent, or a type error the schema reports
        if (whole and value != int(value)) or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            errors.append(
                f"setting {name} is {shown(value)}: it must be {kind} from {low:g} to {high:g} "
                f"(e.g. {example})"
            )
    start = config.get("start_date")
    if start is not None:
        try:
            when = parse_start_date(start)
        except ValueError:
            errors.append(
                f"setting start_date is {shown(start)}: it must be an ISO 8601 date or date-time "
                "(e.g. 2026-01-31 or 2026-01-31T00:00:00Z)"
            )
        else:
            if when > (now or dt.datetime.now(dt.UTC)):
                errors.append(
                    "setting start_date is in the future: nothing would ever be read (e.g. a date "
                    "in the last 30 days)"
                )
    for name in ("user_domains",):
        domains = config.get(name)
        if isinstance(domains, list):
            bad = [
                d
                for d in domains
                if not isinstance(d, str) or (d.strip() != "*" and not DOMAIN.match(d.strip().lstrip("@")))
            ]
            if bad:
                errors.append(
                    f"setting {name} holds {len(bad)} value(s) that are not domain names "
                    "(e.g. [\"contoso.com\"], or [\"*\"] for every user)"
                )
    return errors


def format_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """The ids' and URLs' formats, checked with the rest of the settings (so ``--test`` says them too)."""
    from tap_microsoft365.tenants import entry_errors

    errors: list[str] = entry_errors(config)
    for name in ("authority_url", "graph_url"):
        value = config.get(name)
        if isinstance(value, str) and value:
            try:
                check_url(name, value)
            except ConfigError as exc:
                errors.append(str(exc))
    return errors
