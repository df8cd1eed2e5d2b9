"""Retries, throttling, token renewal and permission errors against the sandbox's fault modes."""

from __future__ import annotations

import logging
import math
import time

import pytest

from tap_microsoft365.graph.errors import AuthError, GraphTransientError, PermissionMissingError

from .conftest import run_sync


def test_429_with_fractional_retry_after_is_waited_then_retried(sb):
    sb.faults.add(
        r"^/v1\.0/users$", 429, skip=1, headers={"Retry-After": "0.35"}, code="TooManyRequests"
    )
    started = time.monotonic()
    result = run_sync(sb.tap_config(page_size=100), ["user_sign_in_activity"])
    assert time.monotonic() - started >= 0.35
    assert len(result.records("user_sign_in_activity")) == len(sb.tenant.users)
    ids = [r["id"] for r in result.records("user_sign_in_activity")]
    assert len(ids) == len(set(ids)), "the retried page is not emitted twice"
    assert sb.count(path="/v1.0/users") == math.ceil(len(sb.tenant.users) / 100) + 1


def test_503_then_success(sb):
    sb.faults.add(r"^/v1\.0/organization$", 503, times=2, headers={"Retry-After": "0.05"})
    result = run_sync(sb.tap_config(), ["organization"])
    assert len(result.records("organization")) == 1
    assert sb.count(path="/v1.0/organization") == 3


def test_504_without_retry_after_backs_off(sb):
    sb.faults.add(r"^/v1\.0/domains$", 504, times=1)
    result = run_sync(sb.tap_config(), ["domains"])
    assert len(result.records("domains")) == len(sb.tenant.domains)
    assert sb.count(path="/v1.0/domains") == 2


def test_retry_budget_exhausted_fails_clearly(sb):
    sb.faults.add(
        r"^/v1\.0/organization$",
        429,
        times=-1,
        headers={"Retry-After": "0.01"},
        code="TooManyRequests",
    )
    with pytest.raises(GraphTransientError) as excinfo:
        run_sync(sb.tap_config(max_retries=2), ["organization"])
    message = str(excinfo.value)
    assert "429" in message
    assert "3 attempt(s)" in message
    assert "max_retries" in message
    assert "request-id" in message
    assert sb.count(path="/v1.0/organization") == 3


def test_token_renewed_once_after_401(sb):
    sb.faults.add(r"^/v1\.0/users$", 401, skip=1, code="InvalidAuthenticationToken")
    tokens_before = sb.count(method="POST", prefix=f"/{sb.tenant_id}/oauth2")
    result = run_sync(sb.tap_config(page_size=100), ["user_sign_in_activity"])
    assert len(result.records("user_sign_in_activity")) == len(sb.tenant.users)
    assert sb.count(method="POST", prefix=f"/{sb.tenant_id}/oauth2") - tokens_before == 2


def test_revoked_tokens_mid_sync_are_renewed(sb):
    sb.revoke_tokens_every(2)  # every token issued so far is revoked after the 2nd Graph request
    try:
        result = run_sync(sb.tap_config(page_size=100), ["user_sign_in_activity"])
    finally:
        sb.revoke_tokens_every(0)
    assert len(result.records("user_sign_in_activity")) == len(sb.tenant.users)
    assert sb.count(method="POST", prefix=f"/{sb.tenant_id}/oauth2") == 2


def test_401_after_renewal_fails_clearly(sb):
    sb.faults.add(r"^/v1\.0/organization$", 401, times=-1, code="InvalidAuthenticationToken")
    with pytest.raises(AuthError, match="rejected 3 newly issued tokens"):
        run_sync(sb.tap_config(), ["organization"])


def test_missing_permission_skips_the_stream_with_one_warning(sb, caplog):
    sb.granted_permissions.difference_update({"User.Read.All", "Directory.Read.All"})
    with caplog.at_level(logging.WARNING):
        result = run_sync(sb.tap_config(), ["users", "organization"])
    assert not result.records("users")
    assert len(result.records("organization")) == 1
    warnings = [
        r.getMessage() for r in caplog.records if "Skipping stream 'users'" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert "User.Read.All" in warnings[0]
    assert "Authorization_RequestDenied" in warnings[0]
    assert "Grant admin consent" in warnings[0]
    assert "request-id" in warnings[0]


def test_missing_permission_is_fatal_when_strict(sb):
    sb.granted_permissions.difference_update({"Domain.Read.All", "Directory.Read.All"})
    with pytest.raises(PermissionMissingError, match=r"Domain\.Read\.All"):
        run_sync(sb.tap_config(strict_permissions=True), ["domains"])


def test_inner_batch_429_is_retried_on_its_own(sb):
    expected = sum(len(m) for m in sb.tenant.role_members.values())
    sb.faults.add(
        r"^/v1\.0/directoryRoles/[^/]+/members$",
        429,
        times=3,
        headers={"Retry-After": "0.1"},
        code="TooManyRequests",
    )
    result = run_sync(sb.tap_config(), ["directory_roles", "directory_role_members"])
    rows = result.records("directory_role_members")
    assert len(rows) == expected
    assert len({(r["role_id"], r["member_id"]) for r in rows}) == expected
    baseline = math.ceil(len(sb.tenant.directory_roles) / 20)
    assert sb.count(path="/v1.0/$batch") >= baseline + 1


def test_secret_never_reaches_messages(sb):
    config = sb.tap_config()
    result = run_sync(config, ["organization", "domains"])
    text = repr(result.messages)
    assert config["client_secret"] not in text


def test_a_run_ends_with_a_summary_in_text_and_json(sb, tmp_path):
    import json

    from .conftest import catalog_for, run_cli

    sb.granted_permissions.difference_update({"Domain.Read.All", "Directory.Read.All"})
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_for(sb.tap_config(), ["organization", "domains", "groups"])))
    result = run_cli(sb.tap_config(), "--catalog", str(catalog), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines() if '"RECORD"' in line]
    [line] = [line for line in result.stderr.splitlines() if "Run summary (JSON): " in line]
    summary = json.loads(line.split("Run summary (JSON): ", 1)[1])
    assert summary["streams"]["organization"] == {"records": 1}
    assert summary["streams"]["groups"]["records"] == len(sb.tenant.groups)
    assert summary["streams"]["domains"]["records"] == 0
    assert "Domain.Read.All" in summary["streams"]["domains"]["skipped"]
    assert sum(s["records"] for s in summary["streams"].values()) == len(records)
    assert summary["requests"] >= 4
    assert summary["retries"] == 0
    text = [line for line in result.stderr.splitlines() if "Run summary: " in line]
    assert "2 streams" in text[0]
    assert any("skipped domains: stream 'domains' needs" in t for t in text)
