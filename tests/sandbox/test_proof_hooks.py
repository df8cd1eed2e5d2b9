"""Hooks for the reliability proofs: FaultPlan ``every=N`` (only each N-th matching request is
altered, deterministically) and ``Sandbox.issued_tokens`` (for secret scans)."""

from __future__ import annotations

import pytest
import requests

from m365_graph_sandbox import Sandbox


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=30, seed=12) as sb:
        yield sb


@pytest.fixture
def sb(box, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_bundle)
    box.faults.clear()
    box.reset_log()
    yield box
    box.faults.clear()


def session(sb) -> requests.Session:
    token = requests.post(
        f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/token",
        data={"client_id": sb.client_id, "client_secret": sb.client_secret,
              "grant_type": "client_credentials", "scope": sb.graph_scope},
        timeout=10,
    ).json()["access_token"]  # fmt: skip
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def test_every_nth_matching_request_after_skip(sb):
    s = session(sb)
    fault = sb.faults.add(r"^/v1\.0/domains$", 503, every=3, skip=1, times=-1)
    statuses = [s.get(f"{sb.base_url}/v1.0/domains", timeout=10).status_code for _ in range(10)]
    # skip 1, then the 3rd, 6th, 9th of the rest
    assert statuses == [200, 200, 200, 503, 200, 200, 503, 200, 200, 503]
    assert fault.hits == 3
    s.get(f"{sb.base_url}/v1.0/organization", timeout=10)  # other paths do not count
    assert [s.get(f"{sb.base_url}/v1.0/domains", timeout=10).status_code for _ in range(3)] == [
        200,
        200,
        503,
    ]


def test_every_with_times_and_later_faults(sb):
    s = session(sb)
    periodic = sb.faults.add(r"^/v1\.0/", 429, every=2, times=2, headers={"Retry-After": "0.01"})
    later = sb.faults.add(r"^/v1\.0/", 504, every=3, times=-1)
    got = [s.get(f"{sb.base_url}/v1.0/domains", timeout=10) for _ in range(8)]
    # requests 2 and 4 are the periodic 429s; the others reach the next fault, which takes every
    # 3rd of those it sees (requests 1, 3, 5, 6, 7, 8 -> the 5th and the 8th)
    assert [r.status_code for r in got] == [200, 429, 200, 429, 504, 200, 200, 504]
    assert got[1].headers["Retry-After"] == "0.01"
    assert (periodic.hits, later.hits) == (2, 2)


def test_every_applies_to_batch_inner_requests_and_the_token_endpoint(sb):
    s = session(sb)
    sb.faults.add(r"^/v1\.0/domains$", 503, every=2, times=-1)
    body = {"requests": [{"id": str(i), "method": "GET", "url": "/domains"} for i in range(4)]}
    answers = s.post(f"{sb.base_url}/v1.0/$batch", json=body, timeout=10).json()["responses"]
    assert sorted(a["status"] for a in answers) == [200, 200, 503, 503]
    sb.faults.clear()
    sb.faults.add(r"/oauth2/v2\.0/token$", 503, every=2, times=1)
    data = {"client_id": sb.client_id, "client_secret": sb.client_secret,
            "grant_type": "client_credentials", "scope": sb.graph_scope}  # fmt: skip
    url = f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/token"
    statuses = [requests.post(url, data=data, timeout=10).status_code for _ in range(4)]
    assert statuses == [200, 503, 200, 200]


def test_every_is_validated(sb):
    with pytest.raises(ValueError, match="every"):
        sb.faults.add(r"/x", 503, every=0)
    assert len(sb.faults) == 0


def test_issued_tokens_lists_every_token(sb):
    before = len(sb.issued_tokens)
    s = session(sb)
    extra = sb.issue_token()
    tokens = sb.issued_tokens
    assert len(tokens) == before + 2
    assert tokens[-1] == extra
    assert s.headers["Authorization"] == f"Bearer {tokens[-2]}"
