"""Benchmarks against the local Graph sandbox, in one run; prints a table (nothing here is a test).

    .venv/bin/python bench/bench.py [--users 100000] [--small 10000] [--latency-ms 200] [--skip-latency]
    .venv/bin/python bench/bench.py --throughput-only [--users 100000]   # just table 1

1. records/s of the tap's streams (Singer messages to /dev/null) next to a plain requests + msgspec reader
   of the same pages and the server's own ceiling (the same requests, bodies not parsed), with the
   tap/plain ratio; the sandbox runs with ``--cache-pages`` and each stream's pages are read once by
   each reader before the measured reads, so every reader is answered from rendered bytes (the table's
   last column: the share of each measured read's pages the cache answered);
2. peak RSS of a users sync at --small and --users users, and their ratio;
3. Graph requests per stream for a full sync of the large tenant, next to the minimum the API allows;
4. wall time of a full sync with --latency-ms added to every request.
Each sync runs in its own process; the sandbox runs in another, so they do not share a GIL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CORE = ["users", "groups", "group_members", "subscribed_skus", "organization", "domains"]


class SandboxProcess:
    """``m365-graph-sandbox`` in a child process."""

    def __init__(self, users: int, latency_ms: float = 0.0, extra: tuple[str, ...] = ()) -> None:
        self.workdir = tempfile.mkdtemp(prefix="bench-sandbox-")
        self.config_path = os.path.join(self.workdir, "config.json")
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "m365_graph_sandbox",
                "--users",
                str(users),
                "--port",
                "0",
                "--workdir",
                self.workdir,
                "--write-config",
                self.config_path,
                "--latency-ms",
                str(latency_ms),
                *extra,
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.info = json.loads(self.proc.stdout.readline())
        self.env = {**os.environ, "REQUESTS_CA_BUNDLE": self.info["ca_bundle"]}

    def run(self, *args: str, env: dict | None = None) -> dict:
        out = subprocess.run(
            [PY, *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=ROOT,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])

    def tap(self, streams: list[str], env: dict | None = None, **settings: object) -> dict:
        config_path = self.config_path
        if settings:
            config = {**json.loads(Path(self.config_path).read_text()), **settings}
            config_path = os.path.join(self.workdir, "config-extra.json")
            Path(config_path).write_text(json.dumps(config))
        return self.run("bench/_tap_child.py", config_path, ",".join(streams), env=env)

    def plain(self, what: str, select: str, *, raw: bool = False) -> dict:
        extra = ("bytes",) if raw else ()
        return self.run("bench/_plain_child.py", self.config_path, what, select, *extra)

    def cache_stats(self) -> dict:
        """The sandbox's page-cache counters (``GET /_sandbox/page-cache``)."""
        answer = requests.get(
            f"{self.info['base_url']}/_sandbox/page-cache", verify=self.info["ca_bundle"], timeout=30
        )
        answer.raise_for_status()
        return answer.json()

    def measured(self, read: Callable[[], dict]) -> tuple[dict, str]:
        """``read()`` and the share of its cacheable requests the page cache answered, e.g. "100 %"."""
        before = self.cache_stats()
        result = read()
        after = self.cache_stats()
        hits = after["hits"] - before["hits"]
        total = hits + after["misses"] - before["misses"]
        return result, f"{100 * hits / total:.0f} %" if total else "-"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def throughput(sb: SandboxProcess) -> list[tuple]:
    """Per stream: ``(label, tap records, plain records, ceiling, plain, tap rec/s, ratio, cached)``.

    ``sb`` runs with ``--cache-pages``: one untimed read by the plain reader and one by the tap fill
    the cache (the tap's sign-in windows are its own URLs), then the ceiling, the plain reader and the
    tap are timed, each answered from the rendered bytes.
    """
    from tap_microsoft365.streams.directory import UsersStream

    rows = []
    users_select = ",".join(
        p for p in UsersStream.schema["properties"] if p not in UsersStream.tap_fields
    )
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=29)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    report_day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()
    for stream, what, select, settings in [
        ("users", "users", users_select, {}),
        ("group_members", "group_members", "id", {}),
        # pacing off on both sides (the sandbox's 5-per-10-s throttle is off too): code speed, not Graph's limit
        ("sign_ins", "sign_ins", since, {"audit_requests_per_10s": 0, "start_date": since}),
        # the sandbox's latest refreshed report date is today - 2: one date of 100,000 rows each way
        (
            "usage_office365_active_user_detail",
            "usage_report",
            report_day,
            {"start_date": f"{report_day}T00:00:00Z"},
        ),
    ]:
        sb.plain(what, select)  # warm the cache: the plain reader's pages ...
        sb.tap([stream], **settings)  # ... and the tap's
        ceiling, ceiling_cached = sb.measured(partial(sb.plain, what, select, raw=True))
        plain, plain_cached = sb.measured(partial(sb.plain, what, select))
        plain_rate = plain["records"] / plain["seconds"]
        ceiling_rate = plain["records"] / ceiling["seconds"]  # the same pages, so the same records
        runs = [(stream, {})]
        if stream == "users":  # before/after in one run: singer-sdk's default per-value conformance
            runs.insert(0, ("users (before: SDK conformance)", {"BENCH_SDK_CONFORMANCE": "1"}))
        for label, env in runs:
            tap, tap_cached = sb.measured(partial(sb.tap, [stream], env=env, **settings))
            n_tap = tap["records"].get(stream, 0)
            tap_rate = n_tap / tap["seconds"]
            rows.append(
                (
                    label,
                    n_tap,
                    plain["records"],
                    round(ceiling_rate),
                    round(plain_rate),
                    round(tap_rate),
                    tap_rate / plain_rate,
                    f"{ceiling_cached} / {plain_cached} / {tap_cached}",
                )
            )
    return rows


def print_throughput(users: int, rows: list[tuple]) -> None:
    print(
        f"\n## Throughput ({users:,} users; sandbox --cache-pages; Singer messages to /dev/null)\n"
    )
    print(
        "| stream | tap records | plain records | server ceiling rec/s | plain rec/s | tap rec/s "
        "| tap/plain | from cache (ceiling / plain / tap) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for stream, n_tap, n_plain, ceiling, plain, tap, ratio, cached in rows:
        print(
            f"| {stream} | {n_tap:,} | {n_plain:,} | {ceiling:,} | {plain:,} | {tap:,} | "
            f"{ratio:.2f} | {cached} |",
            flush=True,
        )


DELTA_PATHS = {
    "users": "/v1.0/users/delta",
    "groups": "/v1.0/groups/delta",  # groups and group_members (members@delta) each keep a link
    "subscribed_skus": "/v1.0/subscribedSkus",
    "organization": "/v1.0/organization",
    "domains": "/v1.0/domains",
}
#: What the previous design asked for a full re-read of the same streams, per run (bench output of the
#: commit before delta, 100,000 users): /users at 500 per page, /groups at 999, 260 member $batch POSTs.
FULL_REREAD_100K = {"users": 200, "groups": 6, "group_members": 260, "rest": 3}


def incremental_runs(users: int) -> list[tuple]:
    """Run 1 (full), 1 % churn, run 2 (changes only), run 3 (no change): requests and records."""
    from m365_graph_sandbox import Sandbox

    sys.path.insert(0, str(ROOT))
    from tests.conftest import run_sync

    rows = []
    with Sandbox(users=users, seed=42) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        state = None
        for label in ("run 1 (full)", "run 2 (after 1 % churn)", "run 3 (no change)"):
            if label.startswith("run 2"):
                sb.churn(fraction=0.01, seed=7)
            sb.reset_log()
            started = time.perf_counter()
            result = run_sync(sb.tap_config(), CORE, state=state)
            seconds = time.perf_counter() - started
            state = result.state
            graph = [r for r in sb.requests if r.path.startswith("/v1.0/")]
            records = sum(1 for m in result.messages if m["type"] == "RECORD")
            deleted = sum(
                1
                for m in result.messages
                if m["type"] == "RECORD" and m["record"].get("_sdc_deleted_at")
            )
            per = {name: sb.count(path=path) for name, path in DELTA_PATHS.items()}
            rows.append((label, len(graph), per, records, deleted, seconds))
    return rows


def latency_runs(users: int, latency_ms: float) -> list[tuple]:
    """Wall time of run 1 and run 2 (1 % churn) at a simulated Graph latency, in child processes."""
    slow = SandboxProcess(users, latency_ms=latency_ms)
    state_file = os.path.join(slow.workdir, "state.json")
    rows = []
    try:
        first = slow.tap(CORE, env={"BENCH_STATE_OUT": state_file})
        rows.append(("run 1 (full)", first["seconds"]))
        requests.post(f"{slow.info['base_url']}/_sandbox/churn?fraction=0.01&seed=7",
                      verify=slow.info["ca_bundle"], timeout=120).raise_for_status()
        second = slow.tap(CORE, env={"BENCH_STATE_IN": state_file})
        rows.append(("run 2 (after 1 % churn)", second["seconds"]))
    finally:
        slow.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--sign-ins-per-day", type=int, default=10_000)
    parser.add_argument(
        "--throughput-only", action="store_true", help="only the throughput table (--users users)"
    )
    args = parser.parse_args()

    extra = ("--sign-ins-per-day", str(args.sign_ins_per_day), "--no-audit-throttle")
    big = SandboxProcess(args.users, extra=(*extra, "--cache-pages"))
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
        rates = throughput(big)
        print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
        if args.throughput_only:
            print_throughput(args.users, rates)
            return
        rss_big = big.tap(["users"])["peak_rss_mb"]
    finally:
        big.stop()
    small = SandboxProcess(args.small)
    try:
        rss_small = small.tap(["users"])["peak_rss_mb"]
    finally:
        small.stop()

    print_throughput(args.users, rates)

    print("\n## Peak RSS of a users sync\n")
    print(f"| {args.small:,} users | {args.users:,} users | ratio |\n|---:|---:|---:|")
    print(f"| {rss_small:.0f} MB | {rss_big:.0f} MB | {rss_big / rss_small:.2f} |")

    runs = incremental_runs(args.users)
    print(f"\n## Graph requests of the core streams, {args.users:,} users: full, then incremental\n")
    print(
        "| run | Graph requests | users/delta | groups/delta | SKUs+org+domains | records | "
        "deletions | seconds |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for label, total, per, records, deleted, seconds in runs:
        rest = per["subscribed_skus"] + per["organization"] + per["domains"]
        print(
            f"| {label} | {total} | {per['users']} | {per['groups']} | {rest} | {records:,} | "
            f"{deleted:,} | {seconds:.1f} |"
        )
    old = FULL_REREAD_100K
    print(
        f"| previous design, every run (full re-read, 100,000 users) | {sum(old.values())} | "
        f"{old['users']} (/users) | {old['groups']} (/groups) + {old['group_members']} $batch | "
        f"{old['rest']} | | | |"
    )

    if not args.skip_latency:
        print(f"\n## Wall time of the core streams at {args.latency_ms:.0f} ms per request\n")
        print("| run | wall time |\n|---|---:|")
        for label, seconds in latency_runs(args.users, args.latency_ms):
            print(f"| {label} | {seconds:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
