"""Several tenants in one run: partitions, keys unique across tenants, a failing tenant, the summary."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from m365_graph_sandbox import Sandbox
from tap_microsoft365.graph.errors import AuthError
from tap_microsoft365.tap import TapMicrosoft365
from tests.conftest import catalog_for, error_lines, run_cli, run_sync

STREAMS = ["users", "groups", "group_members", "subscribed_skus", "organization", "domains"]
FULL_TABLE = ["subscribed_skus", "organization", "domains"]


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=40, seed=11) as sb:
        sb.add_tenant(users=25, company="Fabrikam")
        sb.add_tenant(users=30, company="Tailspin Toys")
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        yield sb


@pytest.fixture
def tenants(box):
    """The three tenants, each consented with every permission, logs cleared."""
    box.reset_log()
    for tenant in box.tenants:
        tenant.consented = True
        tenant.faults.clear()
    yield box.tenants
    for tenant in box.tenants:
        tenant.consented = True
        tenant.faults.clear()


def config_for(box, **overrides):
    config = box.tap_config(tenants=[t.entry(label=t.company) for t in box.tenants], **overrides)
    config.pop("tenant_id")
    return config


def activations(result) -> list[str]:
    return [m["stream"] for m in result.messages if m["type"] == "ACTIVATE_VERSION"]


def test_every_tenant_is_read_with_tenant_id_on_every_record_and_its_own_state(box, tenants):
    result = run_sync(config_for(box), STREAMS)
    ids = [t.tenant_id for t in tenants]
    users = result.records("users")
    assert Counter(r["tenant_id"] for r in users) == {t.tenant_id: len(t.tenant.users) for t in tenants}
    for stream in STREAMS:
        records = result.records(stream)
        assert {r["tenant_id"] for r in records} == set(ids), stream
        # each tenant's rows are its own objects (ids read through that tenant's token)
    for tenant in tenants:
        mine = {r["id"] for r in users if r["tenant_id"] == tenant.tenant_id}
        assert mine == {u["id"] for u in tenant.tenant.users}
        assert tenant.count(path="/v1.0/users") == 1  # one listing per tenant, no cross-reads
    # state: one partition per tenant, each with its own delta link
    for stream in ("users", "groups", "group_members"):
        partitions = result.state["bookmarks"][stream]["partitions"]
        assert [p["context"]["tenant_id"] for p in partitions] == ids
        assert len({p["delta_link"] for p in partitions}) == 3


def test_keys_are_unique_across_tenants_and_start_with_tenant_id(box, tenants):
    result = run_sync(config_for(box), STREAMS)
    tap = TapMicrosoft365(config=config_for(box), validate_config=False)
    for name, stream in tap.streams.items():
        assert stream.primary_keys[0] == "tenant_id", name
        assert "tenant_id" in stream.schema["required"], name
    for stream in STREAMS:
        keys = tap.streams[stream].primary_keys
        rows = [tuple(r[k] for k in keys) for r in result.records(stream)]
        assert len(rows) == len(set(rows)), stream


def test_a_second_run_reads_each_tenant_from_its_own_link(box, tenants):
    first = run_sync(config_for(box), ["users"])
    tenants[1].update("users", tenants[1].tenant.users[0]["id"], jobTitle="Pilot")
    box.reset_log()
    second = run_sync(config_for(box), ["users"], state=first.state)
    assert [(r["tenant_id"], r["jobTitle"]) for r in second.records("users")] == [
        (tenants[1].tenant_id, "Pilot")
    ]
    for tenant in tenants:
        assert tenant.count(path="/v1.0/users/delta") == 1


def test_a_failing_tenant_does_not_stop_the_others_and_nothing_of_it_is_retired(box, tenants):
    tenants[1].consented = False  # the multi-tenant app lost its consent in Fabrikam
    result = run_sync(config_for(box), STREAMS)
    good = {tenants[0].tenant_id, tenants[2].tenant_id}
    for stream in STREAMS:
        assert {r["tenant_id"] for r in result.records(stream)} == good, stream
    assert result.tap.failures.keys() == {tenants[1].tenant_id}
    assert "AADSTS700016" in result.tap.failures[tenants[1].tenant_id]
    # Fabrikam's rows were not re-sent: no ACTIVATE_VERSION may retire them
    assert activations(result) == []
    summary = result.tap.summary()
    assert summary["failed_tenants"] == [tenants[1].tenant_id]
    by_id = {t["tenant_id"]: t for t in summary["tenants"]}
    assert by_id[tenants[1].tenant_id]["status"] == "failed"
    assert by_id[tenants[1].tenant_id]["label"] == "Fabrikam"
    assert by_id[tenants[0].tenant_id]["streams"]["users"]["records"] == len(tenants[0].tenant.users)
    assert by_id[tenants[0].tenant_id]["streams"]["users"]["requests"] >= 2


def test_activate_version_follows_the_last_tenant_when_every_read_was_full(box, tenants):
    result = run_sync(config_for(box), FULL_TABLE)
    assert sorted(activations(result)) == sorted(FULL_TABLE)
    for stream in FULL_TABLE:
        kinds = [m["type"] for m in result.messages if m.get("stream") == stream]
        # after every tenant's records, never before them
        assert kinds.index("ACTIVATE_VERSION") > max(i for i, k in enumerate(kinds) if k == "RECORD")
        versions = {m["version"] for m in result.messages
                    if m["type"] == "RECORD" and m["stream"] == stream}  # fmt: skip
        [activated] = [m["version"] for m in result.messages
                       if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream]  # fmt: skip
        assert versions == {activated}


def test_fail_fast_makes_the_first_failure_fatal(box, tenants):
    tenants[1].consented = False
    with pytest.raises(AuthError, match="AADSTS700016"):
        run_sync(config_for(box, fail_fast=True), ["organization"])


def test_cli_exits_1_names_the_failed_tenant_and_prints_the_summary(box, tenants, tmp_path):
    tenants[2].faults.add(r"/v1\.0/users$", 500, times=-1)  # Tailspin's Graph keeps failing
    config = config_for(box, max_retries=1, retry_budget_seconds=5)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_for(config, ["users", "organization"])))
    result = run_cli(
        config, "--catalog", str(catalog), tmp_path=tmp_path, env={"REQUESTS_CA_BUNDLE": box.ca_bundle}
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = error_lines(result.stderr)
    tailspin = tenants[2].tenant_id
    assert len(errors) == 2, errors
    assert f"Tenant 'Tailspin Toys' ({tailspin}) failed in stream 'users':" in errors[0]
    assert "The other tenants go on" in errors[0]
    assert f"1 of 3 tenants failed: tenant 'Tailspin Toys' ({tailspin})" in errors[1]
    [line] = [x for x in result.stderr.splitlines() if "Run summary (JSON): " in x]
    summary = json.loads(line.split("Run summary (JSON): ", 1)[1])
    assert summary["failed_tenants"] == [tailspin]
    assert [t["status"] for t in summary["tenants"]] == ["ok", "ok", "failed"]
    assert all(t["streams"] for t in summary["tenants"])
    assert any("retry" in w for w in summary["tenants"][2]["warnings"])
    assert "Run summary: 3 tenants (1 failed)" in result.stderr
    assert f"Run summary: tenant Tailspin Toys ({tailspin}): failed" in result.stderr
    # the other tenants' records all arrived
    records = [json.loads(x) for x in result.stdout.splitlines() if '"RECORD"' in x]
    users = [r["record"] for r in records if r["stream"] == "users"]
    assert {u["tenant_id"] for u in users} == {tenants[0].tenant_id, tenants[1].tenant_id}


def test_an_entry_with_its_own_app_uses_only_its_own_credential(box, tenants):
    config = box.tap_config(
        tenants=[tenants[0].entry(label="Contoso"), tenants[1].own_entry(label="Fabrikam")]
    )
    tenants[1].consented = False  # the shared app is not needed there
    result = run_sync(config, ["organization"])
    assert {r["tenant_id"] for r in result.records("organization")} == {
        tenants[0].tenant_id,
        tenants[1].tenant_id,
    }


@pytest.mark.parametrize(
    ("tenants_value", "expected"),
    [
        ("x", "setting tenants must be a list of objects"),
        ([{"label": "a"}], "setting tenants[0].tenant_id is missing"),
        ([{"tenant_id": "not a tenant"}], "Setting tenants[0].tenant_id is neither a GUID nor a domain"),
        (
            [{"tenant_id": "contoso.onmicrosoft.com"}, {"tenant_id": "CONTOSO.onmicrosoft.com"}],
            "setting tenants[1] repeats a tenant listed before it",
        ),
        ([{"tenant_id": "contoso.onmicrosoft.com", "secret": "s3cr3t-value"}], "setting tenants[0] has 1 key(s)"),
    ],
)
def test_a_bad_tenants_setting_is_one_line_without_values(box, tmp_path, tenants_value, expected):
    config = box.tap_config(tenants=tenants_value)
    config.pop("tenant_id")
    result = run_cli(config, tmp_path=tmp_path)
    assert result.returncode == 1
    [line] = error_lines(result.stderr)
    assert expected in line
    assert "s3cr3t-value" not in result.stderr
    assert "Traceback" not in result.stderr
