"""``tap-microsoft365 --check``: per tenant and selected stream, readable or why not, and counts."""

from __future__ import annotations

import json
import os

import pytest

from m365_graph_sandbox import Sandbox
from tests.conftest import catalog_for, run_cli

STREAMS = ["users", "groups", "group_members", "domains", "devices", "sign_ins",
           "usage_office365_active_user_detail"]  # fmt: skip


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=35, seed=31, audit_throttle=None) as sb:
        other = sb.add_tenant(users=20, company="Northwind Traders", premium=False)
        # the second tenant's app lacks two permissions (and Directory.Read.All, which covers them)
        other.granted_permissions.difference_update(
            {"Domain.Read.All", "Device.Read.All", "Directory.Read.All"}
        )
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        yield sb


def check(box, tmp_path, tenants):
    config = box.tap_config(tenants=tenants)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_for(config, STREAMS)))
    box.reset_log()
    return run_cli(
        config, "--catalog", str(catalog), "--check", tmp_path=tmp_path,
        env={"REQUESTS_CA_BUNDLE": box.ca_bundle},
    )  # fmt: skip


def test_check_names_each_unreadable_stream_with_its_reason_and_counts_objects(box, tmp_path):
    first, second = box.tenants
    result = check(box, tmp_path, [first.entry(label="Contoso"), second.entry(label="Northwind")])
    assert result.returncode == 1, result.stderr[-2000:]
    report = json.loads(result.stdout)  # stdout holds the JSON document only: no Singer messages
    assert report["checked"] == 2 * len(STREAMS)
    assert report["readable"] == 2 * len(STREAMS) - 3
    a, b = report["tenants"]
    assert a["sign_in"] == b["sign_in"] == "ok"
    assert all(cell["readable"] for cell in a["streams"].values())
    assert a["streams"]["users"]["count"] == len(first.tenant.users)
    assert a["streams"]["groups"]["count"] == len(first.tenant.groups)
    assert b["streams"]["users"]["count"] == len(second.tenant.users)
    unreadable = {n: c["kind"] for n, c in b["streams"].items() if not c["readable"]}
    assert unreadable == {"domains": "permission", "devices": "permission", "sign_ins": "licence"}
    assert "Domain.Read.All" in b["streams"]["domains"]["reason"]
    assert "Microsoft Entra ID P1 or P2" in b["streams"]["sign_ins"]["reason"]
    # the table for people
    assert "Tenant Northwind (" in result.stderr
    assert "NOT READABLE (licence)" in result.stderr
    assert f"Check: {report['readable']} of {report['checked']} stream reads possible" in result.stderr
    # cheap: one request per stream and tenant (two for the per-parent stream), plus the tokens
    graph = [r for r in box.all_requests if r.path.startswith("/v1.0/")]
    assert len(graph) == 2 * (len(STREAMS) + 1)
    assert all(r.query.get("$top") in (None, "1") for r in graph)


def test_check_exits_0_when_everything_is_readable(box, tmp_path):
    result = check(box, tmp_path, [box.tenants[0].entry()])
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["ok"] is True


def test_check_reports_a_tenant_that_cannot_sign_in(box, tmp_path):
    box.tenants[1].consented = False
    try:
        result = check(box, tmp_path, [box.tenants[0].entry(), box.tenants[1].entry()])
    finally:
        box.tenants[1].consented = True
    assert result.returncode == 1
    b = json.loads(result.stdout)["tenants"][1]
    assert "AADSTS700016" in b["sign_in"]
    assert not any(c["readable"] for c in b["streams"].values())
    assert "Traceback" not in result.stderr


def test_check_reads_settings_from_the_environment(box, tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "REQUESTS_CA_BUNDLE": box.ca_bundle}
    env.update({f"TAP_MICROSOFT365_{k.upper()}": str(v) for k, v in box.tap_config().items()})
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_for(box.tap_config(), ["users", "groups"])))
    proc = subprocess.run(
        [sys.executable, "-m", "tap_microsoft365", "--config", "ENV", "--catalog", str(catalog), "--check"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-1500:]
    report = json.loads(proc.stdout)
    assert report["tenants"][0]["streams"]["users"] == {"readable": True, "count": len(box.tenant.users)}
