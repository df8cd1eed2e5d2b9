"""Delegated admin sign-in: tap-microsoft365-login (device code), the token cache, renewal, re-auth."""

from __future__ import annotations

import io
import json
import os
import stat
import threading

import pytest

from m365_graph_sandbox import PUBLIC_CLIENT_ID, Sandbox
from tap_microsoft365 import login
from tap_microsoft365.graph.errors import AuthError
from tests.conftest import error_lines, run_cli, run_sync


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=30, seed=21, device_code_interval=0, audit_throttle=None) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        sb.tenant.report_options.throttle = None
        yield sb


@pytest.fixture
def primary(box):
    tenant = box.tenants[0]
    tenant.auto_approve = True
    tenant.single_use_refresh_tokens = False
    yield tenant
    tenant.auto_approve = None
    tenant.single_use_refresh_tokens = False


def delegated_config(box, tmp_path, **overrides):
    config = box.tap_config(token_cache_path=str(tmp_path / "m365-cache.json"), **overrides)
    del config["client_id"], config["client_secret"]
    return config


def sign_in(config, tmp_path, *args):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        import contextlib

        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            login.main(["--config", str(path), *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def cached_refresh_token(path) -> str:
    cache = json.loads(path.read_text())
    [token] = cache["RefreshToken"].values()
    return token["secret"]


def test_login_keeps_the_sign_in_in_a_private_cache_and_the_tap_syncs_from_it(box, primary, tmp_path):
    config = delegated_config(box, tmp_path)
    code, out, err = sign_in(config, tmp_path)
    assert code == 0, err
    assert "https://microsoft.com/devicelogin" in err
    assert "Signed in to tenant" in err
    assert "mode 0600" in err
    cache = tmp_path / "m365-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert out == ""  # nothing secret on stdout
    result = run_sync(config, ["users", "groups"])
    assert len(result.records("users")) == len(box.tenant.users)
    # the tap used the public client's delegated token, not an app secret
    info = box.server.tokens.get(box.issued_tokens[-1])
    assert info.delegated
    assert info.client_id == PUBLIC_CLIENT_ID
    assert "User.Read.All" in info.permissions


def test_renewal_keeps_the_newest_refresh_token_in_the_cache(box, primary, tmp_path):
    config = delegated_config(box, tmp_path)
    assert sign_in(config, tmp_path)[0] == 0
    cache = tmp_path / "m365-cache.json"
    first = cached_refresh_token(cache)
    primary.single_use_refresh_tokens = True  # an old refresh token no longer works once used
    box.revoke_tokens()  # access tokens expire mid-run: the tap renews with the refresh token
    run_sync(config, ["organization"])
    second = cached_refresh_token(cache)
    assert second != first
    assert second == primary.refresh_tokens_issued[-1]
    box.revoke_tokens()
    result = run_sync(config, ["organization"])  # works only with the rotated token
    assert len(result.records("organization")) == 1


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        (50173, "the sign-in was revoked"),
        (700082, "the refresh token expired"),
        (65001, "consent to the scopes"),
        (50076, "conditional access now requires multi-factor authentication"),
    ],
)
def test_a_refused_refresh_says_the_connection_needs_a_new_sign_in(
    box, primary, tmp_path, code, cause
):
    config = delegated_config(box, tmp_path)
    assert sign_in(config, tmp_path)[0] == 0
    primary.revoke_refresh_tokens(code=code)
    box.revoke_tokens()
    result = run_cli(
        config,
        "--catalog",
        str(write_catalog(tmp_path, config, ["organization"])),
        tmp_path=tmp_path,
        env={"REQUESTS_CA_BUNDLE": box.ca_bundle},
    )
    assert result.returncode == 1
    [line] = error_lines(result.stderr)
    assert "needs re-authorisation" in line
    assert cause in line
    assert f"AADSTS{code}" in line
    assert "tap-microsoft365-login --config" in line
    assert "Traceback" not in result.stderr


def write_catalog(tmp_path, config, streams):
    from tests.conftest import catalog_for

    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog_for(config, streams)))
    return path


def test_a_user_without_a_role_gets_directory_streams_and_a_skip_that_names_the_role(
    box, primary, tmp_path
):
    primary.auto_approve = None
    config = delegated_config(box, tmp_path)
    done: dict = {}
    worker = threading.Thread(target=lambda: done.update(result=sign_in(config, tmp_path)))
    worker.start()
    for _ in range(2000):
        try:
            primary.approve_device_code(roles=[])  # a user who holds no Entra role
            break
        except LookupError:
            threading.Event().wait(0.005)
    worker.join(timeout=30)
    assert done["result"][0] == 0, done["result"][2]
    result = run_sync(config, ["users", "sign_ins"])
    assert len(result.records("users")) == len(box.tenant.users)
    assert result.records("sign_ins") == []
    skip = result.tap.streams["sign_ins"].skip_reason
    assert "delegated connection" in skip
    assert "Global Reader, Reports Reader or Security Reader" in skip


def test_print_refresh_token_feeds_a_secret_store_setting(box, primary, tmp_path):
    config = box.tap_config()
    del config["client_id"], config["client_secret"]
    code, out, err = sign_in(config, tmp_path, "--print-refresh-token")
    assert code == 0, err
    refresh = out.strip()
    assert refresh
    assert refresh in primary.refresh_tokens_issued
    assert refresh not in err
    result = run_sync({**config, "refresh_token": refresh}, ["organization"])
    assert len(result.records("organization")) == 1


def test_login_without_a_place_for_the_sign_in_is_one_line(box, primary, tmp_path):
    config = box.tap_config()
    del config["client_id"], config["client_secret"]
    code, _out, err = sign_in(config, tmp_path)
    assert code == 1
    assert err.strip().splitlines() == [
        "tap-microsoft365-login: Nowhere to keep the sign-in of tenant "
        f"{box.tenant_id}. Fix: set token_cache_path in the config (a file path; it is written "
        "with mode 0600), or pass --print-refresh-token."
    ]


def test_a_cache_without_this_tenant_is_one_line(box, primary, tmp_path):
    config = delegated_config(box, tmp_path)
    (tmp_path / "m365-cache.json").write_text("{}")
    with pytest.raises(AuthError, match="has no sign-in: the token cache holds no account"):
        run_sync(config, ["organization"])


def test_two_tenants_share_one_cache_file_and_both_keep_their_newest_token(tmp_path):
    with Sandbox(users=15, seed=23, device_code_interval=0) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        other = sb.add_tenant(users=12, company="Fabrikam")
        for tenant in sb.tenants:
            tenant.auto_approve = True
            tenant.single_use_refresh_tokens = True  # an old refresh token fails once used
        cache = str(tmp_path / "shared-cache.json")
        config = sb.tap_config(token_cache_path=cache, tenants=[t.entry(label=t.company) for t in sb.tenants])
        del config["client_id"], config["client_secret"], config["tenant_id"]
        code, _out, err = sign_in(config, tmp_path)  # signs in to each delegated tenant in turn
        assert code == 0, err
        assert err.count("Signed in to tenant") == 2
        for _ in range(2):  # each run renews both tenants' tokens from the one file
            sb.revoke_tokens()
            other.revoke_tokens()
            result = run_sync(config, ["organization"])
            assert {r["tenant_id"] for r in result.records("organization")} == {sb.tenant_id, other.tenant_id}
            assert result.tap.failures == {}
        # one msal cache per file in the process: a save by one tenant carries the other's newest token
        from tap_microsoft365.connect import token_source
        from tap_microsoft365.graph.retry import RetryPolicy
        from tap_microsoft365.tenants import tenant_entries

        a, b = (token_source(config, e, RetryPolicy(), ["organization"]) for e in tenant_entries(config))
        assert a.cache is b.cache  # type: ignore[attr-defined]
        stored = json.loads((tmp_path / "shared-cache.json").read_text())["RefreshToken"].values()
        assert {t["secret"] for t in stored} == {sb.tenants[0].refresh_tokens_issued[-1],
                                                 other.refresh_tokens_issued[-1]}  # fmt: skip
