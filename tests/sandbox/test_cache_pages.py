"""``cache_pages`` (CONTRACT.md "Page cache"): repeated identical reads answered from rendered bytes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from m365_graph_sandbox import Sandbox

SELECT = "id,displayName,userPrincipalName"


def _session(sb: Sandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE (another sandbox's) must not win over verify
    session.verify = sb.ca_bundle
    session.headers["Authorization"] = f"Bearer {sb.issue_token()}"
    return session


def _read_all(session: requests.Session, url: str) -> list[bytes]:
    bodies = []
    while url:
        answer = session.get(url, timeout=30)
        assert answer.status_code == 200, answer.text
        bodies.append(answer.content)
        url = answer.json().get("@odata.nextLink")
    return bodies


@pytest.fixture(scope="module")
def cached():
    with Sandbox(users=120, seed=5, cache_pages=True) as sb:
        yield sb


@pytest.fixture(scope="module")
def plain():
    with Sandbox(users=120, seed=5) as sb:
        yield sb


def test_off_by_default(plain: Sandbox) -> None:
    assert plain.cache_pages is False
    session = _session(plain)
    for _ in range(2):
        _read_all(session, f"{plain.base_url}/v1.0/users?$select={SELECT}&$top=50")
    assert plain.page_cache_stats == {"hits": 0, "misses": 0}
    stats = session.get(f"{plain.base_url}/_sandbox/page-cache", timeout=30).json()
    assert stats["enabled"] is False
    assert stats["entries"] == 0


def test_identical_bodies_and_next_links(cached: Sandbox, plain: Sandbox) -> None:
    url = f"{{}}/v1.0/users?$select={SELECT}&$top=50"
    reference = _read_all(_session(plain), url.format(plain.base_url))
    session = _session(cached)
    before = cached.page_cache_stats
    first = _read_all(session, url.format(cached.base_url))
    second = _read_all(_session(cached), url.format(cached.base_url))  # another token, same grants
    after = cached.page_cache_stats
    assert len(first) == 3  # 120 users at 50 a page: the nextLinks are followed from the cache
    assert first == second
    # the same bytes as without the cache, but for the port in the absolute links
    port = lambda b, s: b.replace(s.base_url.encode(), b"BASE")  # noqa: E731
    assert [port(b, cached) for b in first] == [port(b, plain) for b in reference]
    assert after["hits"] - before["hits"] == 3
    assert after["misses"] - before["misses"] == 3
    # request ids stay fresh and the log still sees every request
    ids = {
        session.get(url.format(cached.base_url), timeout=30).headers["request-id"] for _ in range(3)
    }
    assert len(ids) == 3


def test_token_still_checked(cached: Sandbox) -> None:
    url = f"{cached.base_url}/v1.0/users?$select=id&$top=10"
    session = _session(cached)
    assert session.get(url, timeout=30).status_code == 200
    assert session.get(url, timeout=30).status_code == 200  # now cached
    bad = requests.get(
        url, headers={"Authorization": "Bearer nope"}, verify=cached.ca_bundle, timeout=30
    )
    assert bad.status_code == 401
    cached.revoke_tokens()
    assert session.get(url, timeout=30).status_code == 401
    assert requests.get(url, verify=cached.ca_bundle, timeout=30).status_code == 401


def test_permission_change_not_served_from_cache(cached: Sandbox) -> None:
    url = f"{cached.base_url}/v1.0/users?$select=id&$top=10"
    granted = set(cached.granted_permissions)
    assert _session(cached).get(url, timeout=30).status_code == 200
    assert _session(cached).get(url, timeout=30).status_code == 200
    try:
        cached.granted_permissions = granted - {"User.Read.All", "Directory.Read.All"}
        denied = _session(cached)
        for _ in range(2):
            answer = denied.get(url, timeout=30)
            assert answer.status_code == 403
            assert answer.json()["error"]["code"] == "Authorization_RequestDenied"
    finally:
        cached.granted_permissions = granted
    assert _session(cached).get(url, timeout=30).status_code == 200


def test_faulted_requests_not_cached(cached: Sandbox) -> None:
    url = f"{cached.base_url}/v1.0/groups?$select=id&$top=5"
    session = _session(cached)
    good = session.get(url, timeout=30).content
    cached.faults.add(r"/v1\.0/groups$", 503, times=1)
    assert session.get(url, timeout=30).status_code == 503
    assert session.get(url, timeout=30).content == good
    cached.faults.add(r"/v1\.0/groups$", next_link="https://elsewhere.example/x", times=1)
    assert session.get(url, timeout=30).json()["@odata.nextLink"] == "https://elsewhere.example/x"
    assert session.get(url, timeout=30).content == good


def test_changes_and_delta_not_stale(cached: Sandbox) -> None:
    session = _session(cached)
    uid = cached.tenant.users[3]["id"]
    url = f"{cached.base_url}/v1.0/users/{uid}?$select=id,displayName"
    assert session.get(url, timeout=30).json()["displayName"] != "Renamed By Test"
    session.get(url, timeout=30)
    cached.update("users", uid, displayName="Renamed By Test")
    assert session.get(url, timeout=30).json()["displayName"] == "Renamed By Test"
    latest = f"{cached.base_url}/v1.0/users/delta?$select=id&$deltatoken=latest"
    stats = cached.page_cache_stats
    links = [session.get(latest, timeout=30).json()["@odata.deltaLink"] for _ in range(2)]
    cached.update("users", uid, displayName="Again")
    links.append(session.get(latest, timeout=30).json()["@odata.deltaLink"])
    assert links[2] not in links[:2]
    assert cached.page_cache_stats == stats  # delta answers follow the change log, never the cache


def _batch(session: requests.Session, sb: Sandbox, ids: list[str]) -> requests.Response:
    reqs = [
        {"id": str(i), "method": "GET", "url": f"/groups/{gid}/members?$select=id&$top=999"}
        for i, gid in enumerate(ids)
    ]
    return session.post(f"{sb.base_url}/v1.0/$batch", json={"requests": reqs}, timeout=30)


def test_batch_cached_by_body(cached: Sandbox, plain: Sandbox) -> None:
    assigned = [
        g for g in cached.tenant.groups if "DynamicMembership" not in (g.get("groupTypes") or ())
    ]
    ids = [g["id"] for g in assigned[:5]]
    session = _session(cached)
    before = len(cached.batch_requests)
    first = _batch(session, cached, ids)
    hits = cached.page_cache_stats["hits"]
    second = _batch(session, cached, ids)
    assert cached.page_cache_stats["hits"] == hits + 1
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    reference = _batch(_session(plain), plain, ids).content
    assert first.content.replace(cached.base_url.encode(), b"B") == reference.replace(
        plain.base_url.encode(), b"B"
    )
    # a cached batch still logs its inner requests
    assert len(cached.batch_requests) - before == 10
    # a membership change is seen by the next batch
    member = cached.tenant.users[-1]["id"]
    cached.add_member(ids[0], member)
    third = _batch(session, cached, ids)
    assert member.encode() in third.content
    assert member.encode() not in first.content
    # an inner fault is not answered from the cache
    cached.faults.add(r"/members$", 429, times=1, headers={"Retry-After": "1"})
    statuses = {r["status"] for r in _batch(session, cached, ids).json()["responses"]}
    assert 429 in statuses
    assert _batch(session, cached, ids).content == third.content


def test_cli_flag() -> None:
    from m365_graph_sandbox.__main__ import build_parser

    assert build_parser().parse_args([]).cache_pages is False
    assert build_parser().parse_args(["--cache-pages"]).cache_pages is True
    out = subprocess.run(
        [sys.executable, "-m", "m365_graph_sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--cache-pages" in out.stdout
