"""``python -m m365_graph_sandbox`` / ``m365-graph-sandbox``: serve a sandbox until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading

from .app import Sandbox
from .metadata import CLOUDS, GRAPH_RESOURCES
from .server import DEFAULT_PERMISSIONS

#: The CLI's work folder when ``--workdir`` is not given: stable, so the CA bundle path is too.
DEFAULT_WORKDIR = ".sandbox"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: …)" unless the help text already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text:
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments (every flag has help text with its default)."""
    parser = argparse.ArgumentParser(
        prog="m365-graph-sandbox", description=__doc__, formatter_class=_HelpFormatter
    )
    add = parser.add_argument
    add("--users", type=int, default=300, metavar="N", help="users in the synthetic tenant")
    add(
        "--seed",
        type=int,
        default=42,
        metavar="S",
        help="seed of the tenant model (same seed, same tenant)",
    )
    add(
        "--port",
        type=int,
        default=0,
        metavar="P",
        help="port on 127.0.0.1 (default 0 = a free port)",
    )
    add(
        "--workdir", default=None, metavar="DIR",
        help="where the server/client certificates, keys and ca-bundle.pem go; reused when valid "
        f"(default: ./{DEFAULT_WORKDIR} under the current directory, created if missing)",
    )  # fmt: skip
    add(
        "--write-config", default=None, metavar="PATH",
        help="write the tap config JSON (tap_config() + ca_bundle) here, and REQUESTS_CA_BUNDLE=<path> "
        "to PATH.env (default: none)",
    )  # fmt: skip
    add(
        "--tenants", type=int, default=1, metavar="N",
        help="tenants behind the one listener: the primary plus N-1 more (seeds seed+1.., --users "
        "users each, the same options; the primary's app is multi-tenant with consent in all) "
        "(default 1)",
    )  # fmt: skip
    add(
        "--auto-approve-device-codes", action="store_true",
        help="delegated sign-in: approve every device code at its first poll as the tenant's first "
        "Global Administrator, in every tenant (default: off; POST /_sandbox/approve-device-codes "
        "turns it on later)",
    )  # fmt: skip
    add(
        "--device-code-interval", type=int, default=5, metavar="SECONDS",
        help="the polling interval device-code answers give (default 5, as Entra)",
    )  # fmt: skip
    add("--token-lifetime", type=int, default=3599, metavar="SECONDS", help="access token lifetime")
    add(
        "--latency-ms", type=float, default=0.0, metavar="MS",
        help="added to every request (benchmarks)",
    )  # fmt: skip
    add(
        "--cache-pages", action="store_true",
        help="answer repeated identical GETs (and $batch POSTs of GETs) of a tenant from the bytes "
        "rendered the first time, so re-reads cost the server almost nothing (benchmarks; default: off)",
    )  # fmt: skip
    add(
        "--empty-pages", action="store_true",
        help="insert an empty page carrying a nextLink between real pages (default: off)",
    )  # fmt: skip
    add(
        "--secret-expired", action="store_true",
        help="the token endpoint answers AADSTS7000222 (expired client secret) (default: off)",
    )  # fmt: skip
    add(
        "--consent-missing", action="store_true",
        help="the token endpoint answers AADSTS65001 (admin consent missing) (default: off)",
    )  # fmt: skip
    add(
        "--no-premium", dest="premium", action="store_false",
        help="an Entra ID Free tenant: sign-ins/provisioning and users.signInActivity 403, 7-day "
        "audit retention (default: P1/P2)",
    )  # fmt: skip
    add(
        "--no-intune", dest="intune", action="store_false",
        help="a tenant without Intune: /deviceManagement/* answers 400 (default: Intune licensed)",
    )  # fmt: skip
    add(
        "--cloud",
        choices=CLOUDS,
        default="global",
        help="national cloud to model: its Graph resource is the token audience and its v1.0 "
        "metadata decides properties, types and report functions ("
        + ", ".join(f"{c}: {r}" for c, r in GRAPH_RESOURCES.items())
        + "; default global)",
    )
    add(
        "--delta-replays",
        action="store_true",
        help="delta query: re-send a few objects of every round a second time on a later page "
        "(Graph may return the same object more than once in a round) (default: off)",
    )
    add(
        "--delta-token-lifetime", type=float, default=7 * 86400.0, metavar="SECONDS",
        help="seconds a delta token lives (default 604800 = 7 days, as for directory objects)",
    )  # fmt: skip
    add(
        "--sign-ins-per-day", type=int, default=None, metavar="N",
        help="sign-ins per day in the log, spread over the last 30 days (default 40)",
    )  # fmt: skip
    add(
        "--audits-per-day", type=int, default=None, metavar="N",
        help="directory audits per day in the log, spread over the last 30 days (default 20)",
    )  # fmt: skip
    add(
        "--no-audit-throttle", dest="audit_throttle", action="store_const", const=None,
        default=(5, 10.0),
        help="turn off the 5-requests-per-10-s limit of the activity-log APIs (default: on)",
    )  # fmt: skip
    add(
        "--deny-permission", action="append", default=[], metavar="NAME",
        help="remove an application permission from the app (repeatable), e.g. AuditLog.Read.All; "
        "tokens lack it and Graph answers 403. Granted by default: "
        + ", ".join(sorted(DEFAULT_PERMISSIONS))
        + " (Directory.Read.All alone still allows most directory reads: deny it too)",
    )  # fmt: skip
    add(
        "--reveal-report-names", action="store_true",
        help="report settings displayConcealedNames false: usage-report rows carry real UPNs and "
        "names that join users (default: concealed, as tenants since 2021)",
    )  # fmt: skip
    return parser


def _denied(parser: argparse.ArgumentParser, names: list[str]) -> set[str]:
    """The granted permissions ``names`` stand for (case-insensitive); unknown names exit with 2."""
    known = {p.lower(): p for p in DEFAULT_PERMISSIONS}
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        parser.error(
            f"--deny-permission: not a permission the app holds: {', '.join(unknown)} "
            f"(choose from {', '.join(sorted(DEFAULT_PERMISSIONS))})"
        )
    return {known[n.lower()] for n in names}


def default_workdir() -> str:
    """``./.sandbox`` under the current directory, created (with a ``.gitignore`` of ``*``) if missing."""
    path = os.path.abspath(DEFAULT_WORKDIR)
    os.makedirs(path, exist_ok=True)
    ignore = os.path.join(path, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w", encoding="utf-8") as handle:
            handle.write("# written by m365-graph-sandbox\n*\n")
    return path


def write_config(path: str, config: dict[str, object], ca_bundle: str) -> str:
    """Write the tap config JSON (+ ``ca_bundle``) to ``path`` and ``REQUESTS_CA_BUNDLE`` to ``path.env``.

    The .env line is quoted for POSIX shells only when needed (``set -a; . sandbox.json.env``).
    Returns the .env file's path.
    """
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({**config, "ca_bundle": ca_bundle}, handle, indent=2)
    env_path = path + ".env"
    with open(env_path, "w", encoding="utf-8") as handle:
        handle.write(f"REQUESTS_CA_BUNDLE={shlex.quote(ca_bundle)}\n")
    return env_path


def main(argv: list[str] | None = None) -> int:
    """Start, write the tap config if asked, print one JSON line, serve until a signal."""
    parser = build_parser()
    args = parser.parse_args(argv)
    denied = _denied(parser, args.deny_permission)
    workdir = os.path.abspath(args.workdir) if args.workdir is not None else default_workdir()

    sandbox = Sandbox(
        users=args.users,
        seed=args.seed,
        workdir=workdir,
        port=args.port,
        token_lifetime=args.token_lifetime,
        empty_pages=args.empty_pages,
        secret_expired=args.secret_expired,
        consent_missing=args.consent_missing,
        premium=args.premium,
        intune=args.intune,
        sign_ins_per_day=args.sign_ins_per_day,
        audits_per_day=args.audits_per_day,
        audit_throttle=args.audit_throttle,
        cloud=args.cloud,
        delta_replays=args.delta_replays,
        delta_token_lifetime=args.delta_token_lifetime,
        device_code_interval=args.device_code_interval,
        cache_pages=args.cache_pages,
    )
    if args.tenants < 1:
        parser.error("--tenants: at least 1")
    for index in range(1, args.tenants):
        sandbox.add_tenant(
            users=args.users,
            seed=args.seed + index,
            premium=args.premium,
            intune=args.intune,
            token_lifetime=args.token_lifetime,
            empty_pages=args.empty_pages,
            secret_expired=args.secret_expired,
            consent_missing=args.consent_missing,
            sign_ins_per_day=args.sign_ins_per_day,
            audits_per_day=args.audits_per_day,
            audit_throttle=args.audit_throttle,
            delta_replays=args.delta_replays,
            delta_token_lifetime=args.delta_token_lifetime,
        )
    # tenant simulation: before start, so the first token already lacks the denied permissions
    for tenant in sandbox.tenants:
        tenant.granted_permissions = tenant.granted_permissions - denied
        if args.reveal_report_names:
            tenant.tenant.report_options.concealed_names = False
        if args.auto_approve_device_codes:
            tenant.auto_approve = True
    sandbox.start()
    for tenant in sandbox.tenants:
        tenant.server.latency = args.latency_ms / 1000.0
    config_path = env_path = None
    if args.write_config:
        config_path = os.path.abspath(args.write_config)
        config = sandbox.tap_config()
        if len(sandbox.tenants) > 1:
            config["tenants"] = [
                {"tenant_id": t.tenant_id, "label": t.company} for t in sandbox.tenants
            ]
        env_path = write_config(config_path, config, sandbox.ca_bundle)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    line = {
        "base_url": sandbox.base_url,
        "ca_bundle": sandbox.ca_bundle,
        "tenant_id": sandbox.tenant_id,
        "tenant_ids": [t.tenant_id for t in sandbox.tenants],
        "cloud": sandbox.cloud,
        "graph_resource": sandbox.graph_resource,
        "config_path": config_path,
        "env_path": env_path,
        "workdir": sandbox.workdir,
        "pid": os.getpid(),
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
