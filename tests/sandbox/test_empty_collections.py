"""A tenant with an empty collection answers an empty page, not a server error."""

from __future__ import annotations

import pytest
import requests

from m365_graph_sandbox import Sandbox


@pytest.mark.parametrize(
    ("attribute", "path"),
    [
        ("managed_devices", "/v1.0/deviceManagement/managedDevices"),
        ("detected_apps", "/v1.0/deviceManagement/detectedApps"),
        ("devices", "/v1.0/devices"),
    ],
)
def test_empty_collection_is_an_empty_page(monkeypatch, attribute, path):
    with Sandbox(users=20, seed=2) as sb:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        setattr(sb.tenant, attribute, [])
        token = requests.post(
            f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sb.client_id,
                "client_secret": sb.client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
            timeout=10,
        ).json()["access_token"]
        answer = requests.get(
            f"{sb.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["value"] == []
