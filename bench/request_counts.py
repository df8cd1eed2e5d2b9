"""Requests per stream of a full sync of a 10,000-user sandbox tenant, next to a request-per-parent plan.

Run from the repository root: ``python bench/request_counts.py [--users N]``. Streams run in the order
of a full sync (parents before their per-parent streams, so parent ids are reused); each group of
streams is synced with a fresh request log and its requests are attributed by path. A per-parent plan
sends every inner ``$batch`` request as its own GET, and reads licences and managers per user
(``/users/{id}/licenseDetails``, ``/users/{id}/manager``) of the users ``users`` listed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from m365_graph_sandbox import Sandbox
from tests.conftest import run_sync

#: (streams synced together, [(stream, outer path, inner path prefix or None)])
GROUPS = [
    (
        ["users", "user_licenses"],
        [("users", ("/v1.0/users",), None), ("user_licenses", ("/v1.0/subscribedSkus",), None)],
    ),
    (["user_managers"], [("user_managers", ("/v1.0/users",), None)]),
    (
        ["devices", "device_owners"],
        [("devices", ("/v1.0/devices",), None), ("device_owners", (), "/v1.0/devices/")],
    ),
    (["managed_devices"], [("managed_devices", ("/v1.0/deviceManagement/managedDevices",), None)]),
    (
        ["detected_apps", "detected_app_devices"],
        [
            ("detected_apps", ("/v1.0/deviceManagement/detectedApps",), None),
            ("detected_app_devices", (), "/v1.0/deviceManagement/detectedApps/"),
        ],
    ),
    (["applications"], [("applications", ("/v1.0/applications",), None)]),
    (
        ["service_principals", "app_role_assignments"],
        [
            ("service_principals", ("/v1.0/servicePrincipals",), None),
            ("app_role_assignments", (), "/v1.0/servicePrincipals/"),
        ],
    ),
    (
        ["oauth2_permission_grants"],
        [("oauth2_permission_grants", ("/v1.0/oauth2PermissionGrants",), None)],
    ),
    (
        ["directory_roles", "directory_role_members"],
        [
            ("directory_roles", ("/v1.0/directoryRoles",), None),
            ("directory_role_members", (), "/v1.0/directoryRoles/"),
        ],
    ),
]


LICENCE_SELECT = "id,userPrincipalName,assignedLicenses"


def belongs(request, stream: str) -> bool:
    """Whether a logged request was sent by ``stream`` (several streams read /users)."""
    if request.path != "/v1.0/users":
        return True
    if request.query.get("$select") == LICENCE_SELECT:
        return stream == "user_licenses"
    return stream == ("user_managers" if "$expand" in request.query else "users")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rows = []
    with Sandbox(users=args.users, seed=args.seed) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        users = len(sb.tenant.users)
        for streams, parts in GROUPS:
            sb.reset_log()
            result = run_sync(sb.tap_config(), streams)
            for stream, outer_paths, inner_prefix in parts:
                records = len(result.records(stream))
                if inner_prefix is None:
                    ours = sum(
                        1 for r in sb.requests if r.path in outer_paths and belongs(r, stream)
                    )
                    naive = ours
                    note = ""
                    if stream in ("user_licenses", "user_managers"):
                        # the users are listed by `users` already; then one GET per user
                        naive = users
                        note = "per-parent plan: /users/{id}/licenseDetails or /manager per user"
                    rows.append((stream, records, ours, naive, note))
                else:
                    inner = sum(1 for r in sb.batch_requests if r.path.startswith(inner_prefix))
                    parents = len(
                        {r.path for r in sb.batch_requests if r.path.startswith(inner_prefix)}
                    )
                    batches = sb.count(path="/v1.0/$batch")
                    rows.append(
                        (
                            stream,
                            records,
                            batches,
                            inner,
                            f"{parents} parents, {inner} inner requests",
                        )
                    )
    width = max(len(r[0]) for r in rows)
    print(f"Full sync of a {users:,}-user sandbox tenant (seed {args.seed})")
    print(f"{'stream':<{width}}  {'records':>8}  {'requests':>8}  {'per-parent plan':>15}  note")
    for stream, records, ours, naive, note in rows:
        print(f"{stream:<{width}}  {records:>8}  {ours:>8}  {naive:>15}  {note}")
    total_ours = sum(r[2] for r in rows)
    total_naive = sum(r[3] for r in rows)
    print(f"{'total':<{width}}  {'':>8}  {total_ours:>8}  {total_naive:>15}")


if __name__ == "__main__":
    main()
