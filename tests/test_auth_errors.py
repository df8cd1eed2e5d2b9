"""Bad configuration and token-endpoint failures: one clear line, exit 1, no secret in any output."""

from __future__ import annotations

import uuid

import pytest

from m365_graph_sandbox import Sandbox
from tap_microsoft365.graph.errors import auth_error_from_result

from .conftest import error_lines, run_cli, run_sync

SELECT_ORG = ["organization"]


def assert_one_clear_line(result, *needles, secret=None):
    assert result.returncode == 1, result.stderr[-2000:]
    lines = error_lines(result.stderr)
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in result.stderr
    assert "Fix:" in lines[0]
    if secret:
        assert secret not in result.stderr
        assert secret not in result.stdout


def test_wrong_secret(sb, tmp_path):
    config = sb.tap_config(client_secret="not-the-secret-" + uuid.uuid4().hex)
    result = run_cli(config, tmp_path=tmp_path)
    assert_one_clear_line(
        result, "AADSTS7000215", "client secret is wrong", secret=config["client_secret"]
    )


def test_expired_secret(tmp_path):
    with Sandbox(users=10, secret_expired=True) as sb:
        config = sb.tap_config()
        result = run_cli(config, tmp_path=tmp_path, env={"REQUESTS_CA_BUNDLE": sb.ca_bundle})
    assert_one_clear_line(
        result, "AADSTS7000222", "expired", "new client secret", secret=config["client_secret"]
    )


def test_consent_missing(tmp_path):
    with Sandbox(users=10, consent_missing=True) as sb:
        config = sb.tap_config()
        result = run_cli(config, tmp_path=tmp_path, env={"REQUESTS_CA_BUNDLE": sb.ca_bundle})
    assert_one_clear_line(
        result, "AADSTS65001", "Grant admin consent", secret=config["client_secret"]
    )


def test_unknown_application(sb, tmp_path):
    config = sb.tap_config(client_id=str(uuid.uuid4()))
    result = run_cli(config, tmp_path=tmp_path)
    assert_one_clear_line(result, "AADSTS700016", "client_id", secret=config["client_secret"])
    # errors never echo setting values
    assert not [line for line in error_lines(result.stderr) if config["client_id"] in line]


def test_unknown_tenant(sb, tmp_path):
    config = sb.tap_config(tenant_id=str(uuid.uuid4()))
    result = run_cli(config, tmp_path=tmp_path)
    assert_one_clear_line(result, "AADSTS90002", "tenant_id", secret=config["client_secret"])
    assert not [line for line in error_lines(result.stderr) if config["tenant_id"] in line]


def test_missing_tenant_id(sb, tmp_path):
    config = sb.tap_config()
    del config["tenant_id"]
    result = run_cli(config, tmp_path=tmp_path)
    assert result.returncode == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1, lines
    assert "tenant_id is missing" in lines[0]
    assert "TAP_MICROSOFT365_TENANT_ID" in lines[0]
    assert config["client_secret"] not in result.stderr


def test_malformed_guid(sb, tmp_path):
    config = sb.tap_config(tenant_id="not a guid")
    result = run_cli(config, tmp_path=tmp_path)
    assert_one_clear_line(
        result, "tenant_id", "neither a GUID nor a domain", secret=config["client_secret"]
    )
    config = sb.tap_config(client_id="12345")
    result = run_cli(config, tmp_path=tmp_path)
    assert_one_clear_line(result, "client_id", "is not a GUID", secret=config["client_secret"])


def test_unreachable_host(sb, tmp_path):
    config = sb.tap_config(authority_url="https://127.0.0.1:9", max_retries=1)
    result = run_cli(config, tmp_path=tmp_path)
    assert_one_clear_line(
        result,
        "Token request to https://127.0.0.1:9: connection failed",
        "2 attempt(s)",
        "authority_url",
        secret=config["client_secret"],
    )


def test_untrusted_certificate(sb, tmp_path):
    config = sb.tap_config()
    result = run_cli(
        config, tmp_path=tmp_path, env={"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"}
    )
    assert_one_clear_line(
        result, "TLS verification", "REQUESTS_CA_BUNDLE", secret=config["client_secret"]
    )


def test_plain_http_url_is_refused(sb, tmp_path):
    config = sb.tap_config(graph_url="http://127.0.0.1:1")
    result = run_cli(config, tmp_path=tmp_path)
    assert_one_clear_line(result, "graph_url", "not an https URL")


def test_secret_typed_as_number_is_not_echoed(sb, tmp_path):
    config = sb.tap_config(client_secret=987654321123)
    result = run_cli(config, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "987654321123" not in result.stderr
    assert "client_secret must be of type string" in result.stderr


def test_certificate_credential(sb):
    config = sb.tap_config(
        client_secret=None,
        client_certificate_path=sb.cert_key_path,
        client_certificate_thumbprint=sb.cert_thumbprint,
    )
    config = {k: v for k, v in config.items() if v is not None}
    result = run_sync(config, SELECT_ORG)
    assert len(result.records("organization")) == 1


def test_certificate_with_wrong_thumbprint(sb, tmp_path):
    config = {k: v for k, v in sb.tap_config().items() if k != "client_secret"}
    config.update(client_certificate_path=sb.cert_key_path, client_certificate_thumbprint="AB" * 20)
    result = run_cli(config, tmp_path=tmp_path)
    assert_one_clear_line(result, "AADSTS700027", "certificate")


@pytest.mark.parametrize(
    ("code", "needle"),
    [(1002012, "scope"), (70011, "scope"), (500011, "cloud"), (12345, "AADSTS12345")],
)
def test_other_aadsts_codes_name_cause_and_fix(code, needle):
    error = auth_error_from_result(
        {
            "error": "invalid_request",
            "error_codes": [code],
            "error_description": f"AADSTS{code}: x",
        },
        tenant_id="t",
        client_id="c",
    )
    assert needle in str(error)
    assert "Fix:" in str(error)


def test_discovery_needs_no_credentials(tmp_path):
    result = run_cli({}, "--discover", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    import json

    names = {s["tap_stream_id"] for s in json.loads(result.stdout)["streams"]}
    assert {
        "users",
        "groups",
        "group_members",
        "subscribed_skus",
        "organization",
        "domains",
    } <= names
