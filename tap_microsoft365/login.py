"""``tap-microsoft365-login``: an admin signs in once (device code) and the tap keeps the connection.

msal's device-code flow (graph.md 8) with the delegated scopes of the streams (of ``--catalog``'s
selection, else every stream) plus ``offline_access`` (msal adds it). The client is the tenant entry's
``client_id``, else Microsoft Graph Command Line Tools, a public client every tenant knows: no app
registration is needed; the admin consents to the scopes for the organisation at the sign-in. The
sign-in lands in an msal token cache file (``token_cache_path``, mode 0600) that each run renews from,
or, with ``--print-refresh-token``, its refresh token goes to stdout for a secret store (``refresh_token``).
"""

from __future__ import annotations

import argparse
import json
import sys
import typing as t

from tap_microsoft365.connect import token_source
from tap_microsoft365.graph.auth import DelegatedTokenSource, reauth_error
from tap_microsoft365.graph.errors import ConfigError, TapMicrosoft365Error
from tap_microsoft365.graph.retry import RetryPolicy
from tap_microsoft365.tenants import TenantEntry, tenant_entries

if t.TYPE_CHECKING:
    from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    out = argparse.ArgumentParser(
        prog="tap-microsoft365-login",
        description="Sign in once as an admin of a tenant (device code); the tap then renews the "
        "connection on every run without an app registration or a secret.",
    )
    out.add_argument("--config", required=True, help="the tap's config file (JSON)")
    out.add_argument(
        "--tenant",
        help="the tenant_id (or label) of the tenants entry to sign in for (default: each delegated "
        "tenant of the config, one after the other)",
    )
    out.add_argument(
        "--catalog",
        help="sign in for the scopes of this catalog's selected streams only (default: every stream)",
    )
    out.add_argument(
        "--print-refresh-token",
        action="store_true",
        help="print the refresh token on stdout (for a secret store; set it as refresh_token) "
        "instead of, or as well as, writing token_cache_path",
    )
    return out


def selected_streams(catalog_path: str | None) -> list[str]:
    """The streams to ask scopes for: the catalog's selected ones, else every stream."""
    from tap_microsoft365.tap import STREAM_NAMES

    if catalog_path is None:
        return list(STREAM_NAMES)
    try:
        with open(catalog_path, encoding="utf-8") as handle:
            catalog = json.load(handle)
        names = [
            entry["tap_stream_id"]
            for entry in catalog["streams"]
            if any(
                m.get("breadcrumb") == [] and m.get("metadata", {}).get("selected")
                for m in entry.get("metadata", [])
            )
        ]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            "The --catalog file cannot be read as a Singer catalog. Fix: pass the file "
            "tap-microsoft365 --discover wrote (with streams selected)."
        ) from None
    return [n for n in names if n in STREAM_NAMES]


def chosen(entries: list[TenantEntry], wanted: str | None) -> list[TenantEntry]:
    """The entries to sign in for."""
    if wanted:
        match = [e for e in entries if wanted.lower() in (e.tenant_id.lower(), e.label.lower())]
        if not match:
            raise ConfigError(
                "--tenant names no tenant of the config. Fix: pass a tenant_id or label of the "
                "tenants setting."
            )
        return match
    return [e for e in entries if e.delegated] or entries[:1]


def sign_in(
    config: dict[str, t.Any],
    entry: TenantEntry,
    streams: list[str],
    *,
    print_refresh_token: bool,
    out: t.TextIO,
    err: t.TextIO,
) -> None:
    """One tenant's device-code sign-in, kept in the cache file and/or printed."""
    cache_path = entry.settings.get("token_cache_path")
    if not cache_path and not print_refresh_token:
        raise ConfigError(
            f"Nowhere to keep the sign-in of {entry.describe()}. Fix: set token_cache_path in the "
            "config (a file path; it is written with mode 0600), or pass --print-refresh-token."
        )
    policy = RetryPolicy(max_retries=int(config.get("max_retries", 8)))
    tokens = token_source(config, entry, policy, streams, sign_in=True)
    if not isinstance(tokens, DelegatedTokenSource):
        raise AssertionError("a sign-in gives a delegated token source")
    app = tokens.app()
    flow = app.initiate_device_flow(scopes=tokens.scopes)
    if "user_code" not in flow:
        raise reauth_error(flow, entry.describe())
    print(f"{entry.describe()[:1].upper() + entry.describe()[1:]}: {flow['message']}", file=err, flush=True)
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        raise TapMicrosoft365Error(
            f"The sign-in for {entry.describe()} did not complete: "
            f"{result.get('error', 'unknown_error')}. Fix: run tap-microsoft365-login again and "
            "enter the code within 15 minutes, as an admin of the tenant."
        )
    who = (result.get("id_token_claims") or {}).get("preferred_username") or "the admin"
    if cache_path:
        tokens.save_cache()
        print(
            f"Signed in to {entry.describe()} as {who}; the sign-in is kept in token_cache_path "
            "(mode 0600). Runs renew it from there.",
            file=err,
        )
    if print_refresh_token:
        refresh = result.get("refresh_token")
        if not refresh:
            raise TapMicrosoft365Error(
                f"Entra returned no refresh token for {entry.describe()}. Fix: the client must be "
                "allowed offline_access; use the default client (leave client_id unset)."
            )
        print(refresh, file=out)


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: one line per failure, exit 1."""
    args = parser().parse_args(argv)
    from tap_microsoft365.inputs import check_files

    try:
        check_files(["--config", args.config])
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
        streams = selected_streams(args.catalog)
        for entry in chosen(tenant_entries(config, sign_in=True), args.tenant):
            sign_in(
                config,
                entry,
                streams,
                print_refresh_token=args.print_refresh_token,
                out=sys.stdout,
                err=sys.stderr,
            )
    except TapMicrosoft365Error as exc:
        print(f"tap-microsoft365-login: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
