"""``python -m m365_graph_sandbox`` / ``m365-graph-sandbox``: serve a sandbox until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .app import Sandbox
from .metadata import CLOUDS, GRAPH_RESOURCES


def main(argv: list[str] | None = None) -> int:
    """Start, write the tap config if asked, print one JSON line, serve until a signal."""
    parser = argparse.ArgumentParser(prog="m365-graph-sandbox", description=__doc__)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--workdir", default=None, help="where cert, key and CA bundle go")
    parser.add_argument(
        "--write-config", default=None, metavar="PATH", help="write tap_config() JSON here"
    )
    parser.add_argument("--token-lifetime", type=int, default=3599)
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added to every request (benchmarks)"
    )
    parser.add_argument("--empty-pages", action="store_true")
    parser.add_argument("--secret-expired", action="store_true")
    parser.add_argument("--consent-missing", action="store_true")
    parser.add_argument("--no-premium", dest="premium", action="store_false")
    parser.add_argument("--no-intune", dest="intune", action="store_false")
    parser.add_argument(
        "--cloud",
        choices=CLOUDS,
        default="global",
        help="national cloud to model: its Graph resource is the token audience and its v1.0 "
        "metadata decides properties, types and report functions ("
        + ", ".join(f"{c}: {r}" for c, r in GRAPH_RESOURCES.items())
        + "; default global)",
    )
    parser.add_argument(
        "--delta-replays",
        action="store_true",
        help="delta query: re-send a few objects of every round a second time on a later page "
        "(Graph may return the same object more than once in a round)",
    )
    parser.add_argument(
        "--delta-token-lifetime", type=float, default=7 * 86400.0,
        help="seconds a delta token lives (default 7 days, as for directory objects)",
    )  # fmt: skip
    parser.add_argument("--sign-ins-per-day", type=int, default=None)
    parser.add_argument("--audits-per-day", type=int, default=None)
    parser.add_argument(
        "--no-audit-throttle", dest="audit_throttle", action="store_const", const=None,
        default=(5, 10.0), help="turn off the 5-requests-per-10-s limit of the activity-log APIs",
    )  # fmt: skip
    args = parser.parse_args(argv)

    sandbox = Sandbox(
        users=args.users,
        seed=args.seed,
        workdir=args.workdir,
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
    ).start()
    sandbox.server.latency = args.latency_ms / 1000.0
    config_path = None
    if args.write_config:
        config_path = os.path.abspath(args.write_config)
        with open(config_path, "w", encoding="utf-8") as handle:
            json.dump(sandbox.tap_config(), handle, indent=2)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    line = {
        "base_url": sandbox.base_url,
        "ca_bundle": sandbox.ca_bundle,
        "tenant_id": sandbox.tenant_id,
        "cloud": sandbox.cloud,
        "graph_resource": sandbox.graph_resource,
        "config_path": config_path,
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
