"""The CLI: default work folder, config + .env files, --help, tenant simulation flags (CONTRACT.md)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from m365_graph_sandbox import Sandbox, Tenant
from m365_graph_sandbox.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REQUESTS_CA_BUNDLE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "m365_graph_sandbox", "--users", "30", *map(str, args)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line, "the sandbox exited before printing its JSON line"
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def token(info, config):
    response = requests.post(
        f"{info['base_url']}/{config['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": config["client_id"],
            "client_secret": config["client_secret"],
            "scope": f"{info['graph_resource']}/.default",
        },
        verify=info["ca_bundle"],
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def graph(info, config, path):
    return requests.get(
        f"{info['base_url']}/v1.0{path}",
        headers={"Authorization": f"Bearer {token(info, config)}"},
        verify=info["ca_bundle"],
        allow_redirects=False,
        timeout=10,
    )


def test_default_workdir_is_stable_and_reused(tmp_path):
    with cli("--port", 0, cwd=tmp_path) as first:
        folder = tmp_path / ".sandbox"
        assert first["workdir"] == str(folder)
        assert first["ca_bundle"] == str(folder / "ca-bundle.pem")
        assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
        cert = (folder / "server.pem").read_bytes()
        client_key = (folder / "client.key").read_bytes()
        # a second sandbox sharing the folder serves the same certificate: one bundle trusts both
        with cli("--port", 0, cwd=tmp_path) as second:
            assert second["ca_bundle"] == first["ca_bundle"]
            for info in (first, second):
                url = (
                    f"{info['base_url']}/{info['tenant_id']}/v2.0/.well-known/openid-configuration"
                )
                assert requests.get(url, verify=first["ca_bundle"], timeout=10).ok
    with cli("--port", 0, cwd=tmp_path) as again:  # a restart: same path, same material
        assert again["ca_bundle"] == first["ca_bundle"]
        assert (folder / "server.pem").read_bytes() == cert
        assert (folder / "client.key").read_bytes() == client_key
        bundle = Path(again["ca_bundle"]).read_text()
        assert bundle.count(cert.decode()) == 1


def test_restart_with_the_bundle_in_the_environment_does_not_grow_it(tmp_path, monkeypatch):
    first = Sandbox(users=5, workdir=str(tmp_path)).start()
    first.stop()
    size = Path(first.ca_bundle).stat().st_size
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", first.ca_bundle)  # a shell that sourced the .env file
    again = Sandbox(users=5, workdir=str(tmp_path)).start()
    again.stop()
    assert again.ca_bundle == first.ca_bundle
    assert Path(again.ca_bundle).stat().st_size == size
    assert again.cert_thumbprint == first.cert_thumbprint


def test_expired_material_is_replaced(tmp_path, monkeypatch):
    from m365_graph_sandbox import tls

    first = tls.generate(tmp_path)
    monkeypatch.setattr(tls, "REUSE_MARGIN", 40 * 86400)  # the server cert lives 30 days
    second = tls.generate(tmp_path)
    assert second.client_thumbprint != first.client_thumbprint
    assert tls.generate(tmp_path, reuse=False).client_thumbprint != second.client_thumbprint


def test_python_api_keeps_a_temp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Sandbox(users=5) as sb:
        assert not Path(sb.ca_bundle).is_relative_to(tmp_path)
    assert not (tmp_path / ".sandbox").exists()


def test_config_and_env_file_carry_the_ca_bundle(tmp_path):
    folder = tmp_path / "work dir"  # a space: the .env line is quoted for shells
    config_path = tmp_path / "sandbox.json"
    with cli("--workdir", folder, "--write-config", config_path, cwd=tmp_path) as info:
        config = json.loads(config_path.read_text())
        assert info["config_path"] == str(config_path)
        assert info["env_path"] == str(config_path) + ".env"
        assert info["ca_bundle"] == str(folder / "ca-bundle.pem")
        assert config["ca_bundle"] == info["ca_bundle"]
        tap = {k: v for k, v in config.items() if k != "ca_bundle"}
        assert set(tap) == {"tenant_id", "client_id", "client_secret", "authority_url",
                            "graph_url", "cloud"}  # fmt: skip
        assert config["graph_url"] == info["base_url"]
        env_file = Path(info["env_path"])
        assert env_file.read_text().startswith("REQUESTS_CA_BUNDLE=")
        shell = subprocess.run(
            ["sh", "-c", f'set -a; . "{env_file}"; printf %s "$REQUESTS_CA_BUNDLE"'],
            capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
        )  # fmt: skip
        assert shell.stdout == info["ca_bundle"]
        assert token(info, config)
    # no --write-config: no files, null paths
    with cli(cwd=tmp_path) as bare:
        assert bare["config_path"] is None
        assert bare["env_path"] is None


def test_every_flag_has_help_with_its_default():
    parser = build_parser()
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, action.option_strings
        text = parser._get_formatter()._expand_help(action)
        assert "default" in text, action.option_strings
    for flag in ("--users", "--seed", "--port", "--workdir", "--write-config", "--latency-ms",
                 "--no-premium", "--no-intune", "--no-audit-throttle", "--sign-ins-per-day",
                 "--cloud", "--delta-replays", "--deny-permission", "--reveal-report-names"):  # fmt: skip
        assert flag in parser.format_help()
    out = subprocess.run(
        [sys.executable, "-m", "m365_graph_sandbox", "--help"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout  # fmt: skip
    assert "(default: 300)" in out
    assert "./.sandbox" in out


def test_deny_permission(tmp_path):
    config_path = tmp_path / "c.json"
    with cli("--deny-permission", "AuditLog.Read.All", "--deny-permission", "reports.read.all",
             "--write-config", config_path, cwd=tmp_path) as info:  # fmt: skip
        config = json.loads(config_path.read_text())
        assert graph(info, config, "/auditLogs/signIns").status_code == 403
        assert graph(info, config, "/users?$select=id,signInActivity").status_code == 403
        report = graph(info, config, "/reports/getOffice365ActiveUserDetail(period='D7')")
        assert report.status_code == 403
        assert graph(info, config, "/users").status_code == 200
        assert graph(info, config, "/auditLogs/directoryAudits").status_code == 403


def test_deny_permission_rejects_unknown_names(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "m365_graph_sandbox", "--deny-permission", "AuditLogs.Read.All"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 2
    assert "AuditLogs.Read.All" in done.stderr
    assert "AuditLog.Read.All" in done.stderr
    assert not (tmp_path / ".sandbox").exists()  # nothing started


def report_rows(info, config, function="getOffice365ActiveUserDetail(period='D7')"):
    answer = graph(info, config, f"/reports/{function}")
    assert answer.status_code == 302
    data = requests.get(answer.headers["Location"], verify=info["ca_bundle"], timeout=10)
    return list(csv.DictReader(io.StringIO(data.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("reveal", [False, True])
def test_reveal_report_names(tmp_path, reveal):
    config_path = tmp_path / "c.json"
    flags = ["--reveal-report-names"] if reveal else []
    with cli(*flags, "--write-config", config_path, cwd=tmp_path) as info:
        config = json.loads(config_path.read_text())
        settings = graph(info, config, "/admin/reportSettings").json()
        assert settings["displayConcealedNames"] is not reveal
        users = graph(info, config, "/users?$select=id,userPrincipalName&$top=999").json()["value"]
        upns = {u["userPrincipalName"] for u in users}
        rows = report_rows(info, config)
        names = {r["User Principal Name"] for r in rows}
        assert len(rows) == len(users)
        if reveal:
            assert names == upns  # every row joins a user
        else:
            assert not names & upns
            assert all(len(n) == 32 and n.isupper() for n in names)


def test_usage_reports_use_the_tenants_upns():
    tenant = Tenant(users=200, seed=4)
    upns = [u["userPrincipalName"] for u in tenant.users]
    assert [u["upn"] for u in tenant.usage.users] == upns
    assert {s["upn"] for s in tenant.usage.sites} <= set(upns)
    assert any("#EXT#" in u for u in upns)  # guests too, with their #EXT# UPNs


def test_sandbox_kwargs_and_cli_flags_still_work(tmp_path):
    with cli("--latency-ms", 1, "--no-premium", "--no-intune", "--no-audit-throttle",
             "--sign-ins-per-day", 5, "--cloud", "usgov", "--delta-replays", "--seed", 3,
             "--workdir", tmp_path / "w", "--write-config", tmp_path / "c.json",
             cwd=tmp_path) as info:  # fmt: skip
        assert set(info) >= {"base_url", "ca_bundle", "tenant_id", "cloud", "graph_resource",
                             "config_path", "pid"}  # fmt: skip
        assert info["cloud"] == "usgov"
