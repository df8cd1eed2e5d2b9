"""Graph requests of a scoped and an unscoped full sync of the user-keyed directory streams (nothing here is
a test): `.venv/bin/python bench/scope_requests.py [--users 100000]`. Prints a table."""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STREAMS = ["users", "user_licenses", "user_managers", "groups", "group_members", "devices", "device_owners"]


def main() -> None:
    from m365_graph_sandbox import Sandbox
    from tests.conftest import run_sync

    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    with Sandbox(users=args.users, seed=42) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        domain = collections.Counter(
            u["userPrincipalName"].rpartition("@")[2] for u in sb.tenant.users
        ).most_common()[-1][0]
        print(f"\n## Requests of a full sync ({args.users:,} users; scoped: user_domains [{domain}])\n")
        print("| sync | /users | $batch | other | total | users emitted | memberships | seconds |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, settings in (("unscoped", {}), ("scoped", {"user_domains": [domain]})):
            sb.reset_log()
            started = time.perf_counter()
            result = run_sync(sb.tap_config(**settings), STREAMS)
            seconds = time.perf_counter() - started
            graph = [r for r in sb.requests if r.path.startswith("/v1.0/")]
            users = sum(1 for r in graph if r.path == "/v1.0/users")
            batch = sum(1 for r in graph if r.path == "/v1.0/$batch")
            print(
                f"| {label} | {users} | {batch} | {len(graph) - users - batch} | {len(graph)} | "
                f"{len(result.records('users')):,} | {len(result.records('group_members')):,} | "
                f"{seconds:.1f} |"
            )


if __name__ == "__main__":
    main()
