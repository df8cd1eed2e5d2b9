"""Delta query and the mutation API of the sandbox (graph.md 2; m365_graph_sandbox/routes/delta.py)."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from m365_graph_sandbox import ChangeLog, Sandbox


def start(monkeypatch, **kwargs) -> Sandbox:
    kwargs.setdefault("users", 1200)
    kwargs.setdefault("seed", 5)
    sb = Sandbox(**kwargs).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    return sb


@pytest.fixture
def sb(monkeypatch):
    box = start(monkeypatch)
    yield box
    box.stop()


def session(sb: Sandbox) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {sb.issue_token()}"
    return s


def run_round(s, url, headers=None):
    """Follow nextLinks to the deltaLink: (pages, deltaLink)."""
    pages = []
    while True:
        r = s.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body)
        if "@odata.nextLink" in body:
            assert "@odata.deltaLink" not in body
            url = body["@odata.nextLink"]
            continue
        return pages, body["@odata.deltaLink"]


def items(pages):
    return [o for p in pages for o in p["value"]]


def query_of(link):
    return parse_qs(urlsplit(link).query, keep_blank_values=True)


def merge(state, members, pages):
    """A client's local store: apply a round (objects merged by id, members@delta merged)."""
    for obj in items(pages):
        oid = obj["id"]
        if "@removed" in obj:
            state.pop(oid, None)
            members.pop(oid, None)
            continue
        state[oid] = {k: v for k, v in obj.items() if k != "members@delta"}
        for link in obj.get("members@delta", ()):
            group = members.setdefault(oid, set())
            if "@removed" in link:
                group.discard(link["id"])
            else:
                group.add(link["id"])


def list_all(s, url):
    out = []
    while url:
        r = s.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["value"]
        url = body.get("@odata.nextLink")
    return out


def graph_error(response, status, code):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    return error


# -- rounds, pages, tokens -------------------------------------------------------------------------


def test_initial_round_pages_select_and_tokens(sb):
    s = session(sb)
    pages, delta_link = run_round(s, f"{sb.base_url}/v1.0/users/delta?$select=displayName,jobTitle")
    assert [len(p["value"]) for p in pages] == [200] * 6
    users = items(pages)
    assert sorted(u["id"] for u in users) == sorted(u["id"] for u in sb.tenant.users)
    assert all(set(u) == {"id", "displayName", "jobTitle"} for u in users)
    assert pages[0]["@odata.context"].endswith("$metadata#users(displayName,jobTitle)")
    for page in pages[:-1]:  # the token carries the query: no $select repeated
        assert set(query_of(page["@odata.nextLink"])) == {"$skiptoken"}
        assert page["@odata.nextLink"].startswith(f"{sb.base_url}/v1.0/users/delta?")
    assert set(query_of(delta_link)) == {"$deltatoken"}
    assert sb.count(path="/v1.0/users/delta") == 6
    # nothing changed: an empty page with a new deltaLink
    again, next_link = run_round(s, delta_link)
    assert len(again) == 1
    assert again[0]["value"] == []
    assert set(query_of(next_link)) == {"$deltatoken"}


def test_server_page_size_and_prefer_maxpagesize(sb):
    s = session(sb)
    url = f"{sb.base_url}/v1.0/users/delta?$select=id"
    r = s.get(url, headers={"Prefer": "odata.maxpagesize=50"})
    assert len(r.json()["value"]) == 50
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=50"
    # a bigger value does not raise the server's 200; headers are not carried into nextLinks
    r = s.get(r.json()["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=999"})
    assert len(r.json()["value"]) == 200
    assert "Preference-Applied" not in r.headers
    pages, _ = run_round(s, url, headers={"Prefer": "odata.maxpagesize=500"})
    assert len(pages) == 6


def test_empty_pages_carry_a_next_link(monkeypatch):
    sb = start(monkeypatch, users=450, empty_pages=True)
    try:
        pages, _ = run_round(session(sb), f"{sb.base_url}/v1.0/users/delta?$select=id")
        assert [len(p["value"]) for p in pages] == [200, 0, 200, 0, 50]
    finally:
        sb.stop()


def test_changes_in_the_next_round(sb):
    s = session(sb)
    _, link = run_round(s, f"{sb.base_url}/v1.0/users/delta?$select=displayName,department")
    users = sb.tenant.users
    changed, soft, hard, restored = users[1]["id"], users[2]["id"], users[3]["id"], users[4]["id"]
    sb.update("users", changed, department="Legal", displayName="Renamed User")
    created = sb.create("users")
    sb.soft_delete("users", soft)
    sb.hard_delete("users", hard)
    sb.soft_delete("users", restored)
    pages, link2 = run_round(s, link)
    got = {o["id"]: o for o in items(pages)}
    assert got[changed] == {"id": changed, "displayName": "Renamed User", "department": "Legal"}
    assert set(got[created]) == {"id", "displayName", "department"}
    assert got[soft] == {"id": soft, "@removed": {"reason": "changed"}}
    assert got[hard] == {"id": hard, "@removed": {"reason": "deleted"}}
    assert got[restored]["@removed"] == {"reason": "changed"}
    assert len(got) == 5
    # restore: back as a changed object; purge a soft-deleted one: now "deleted"
    sb.restore("users", restored)
    sb.hard_delete("users", soft)
    pages, _ = run_round(s, link2)
    got = {o["id"]: o for o in items(pages)}
    assert set(got) == {restored, soft}
    assert set(got[restored]) == {"id", "displayName", "department"}
    assert got[soft]["@removed"] == {"reason": "deleted"}
    # GET by id follows: gone when deleted, back when restored
    assert s.get(f"{sb.base_url}/v1.0/users/{soft}").status_code == 404
    assert s.get(f"{sb.base_url}/v1.0/users/{restored}?$select=id").json()["id"] == restored


def test_delta_function_spelling_and_batch(sb):
    s = session(sb)
    body = s.get(f"{sb.base_url}/v1.0/users/delta()?$select=displayName").json()
    assert body["@odata.nextLink"].startswith(f"{sb.base_url}/v1.0/users/delta()?$skiptoken=")
    batch = {"requests": [{"id": "1", "method": "GET", "url": "/users/delta?$select=id"}]}
    inner = s.post(f"{sb.base_url}/v1.0/$batch", json=batch).json()["responses"][0]
    assert inner["status"] == 200
    assert inner["body"]["@odata.nextLink"].startswith(
        f"{sb.base_url}/v1.0/users/delta?$skiptoken="
    )
    assert len(inner["body"]["value"]) == 200


def test_latest_token_and_filter_by_id(sb):
    s = session(sb)
    r = s.get(f"{sb.base_url}/v1.0/users/delta?$select=displayName&$deltatoken=latest")
    body = r.json()
    assert body["value"] == []
    assert "@odata.nextLink" not in body
    uid = sb.tenant.users[7]["id"]
    sb.update("users", uid, jobTitle="Chief Delta Officer")
    pages, _ = run_round(s, body["@odata.deltaLink"])
    assert items(pages) == [{"id": uid, "displayName": sb.tenant.users[7]["displayName"]}]
    other = sb.tenant.users[8]["id"]
    url = f"{sb.base_url}/v1.0/users/delta?$filter=id eq '{uid}' or id eq '{other}'&$select=id"
    pages, link = run_round(s, url)
    assert sorted(o["id"] for o in items(pages)) == sorted([uid, other])
    sb.update("users", sb.tenant.users[9]["id"], jobTitle="x")
    sb.update("users", other, jobTitle="y")
    assert [o["id"] for o in items(run_round(s, link)[0])] == [other]


def test_unsupported_query_options(sb):
    s = session(sb)
    base = f"{sb.base_url}/v1.0"
    for url in (
        f"{base}/users/delta?$top=5",
        f"{base}/users/delta?$orderby=displayName",
        f"{base}/users/delta?$expand=manager",
        f"{base}/groups/delta?$expand=owners",
        f"{base}/groups/delta?$top=10",
        f"{base}/users/delta?$filter=startswith(displayName,'A')",
    ):
        graph_error(s.get(url), 400, "Request_UnsupportedQuery")
    error = graph_error(s.get(f"{base}/users/delta?$select=nope"), 400, "BadRequest")
    assert (
        "Could not find a property named 'nope' on type 'microsoft.graph.user'" in error["message"]
    )
    # the token encodes the query: repeating $select on a nextLink is refused
    next_link = s.get(f"{base}/users/delta?$select=id").json()["@odata.nextLink"]
    graph_error(s.get(next_link + "&$select=id"), 400, "Request_UnsupportedQuery")
    graph_error(s.get(f"{base}/users/delta?$skiptoken=garbage"), 400, "Directory_ExpiredPageToken")
    # a users token is not a groups token
    _, link = run_round(s, f"{base}/devices/delta?$select=id")
    token = query_of(link)["$deltatoken"][0]
    graph_error(s.get(f"{base}/groups/delta?$deltatoken={token}"), 400, "BadRequest")
    # permissions as the list endpoints
    s.headers["Authorization"] = f"Bearer {sb.issue_token(permissions={'Device.Read.All'})}"
    graph_error(s.get(f"{base}/users/delta"), 403, "Authorization_RequestDenied")
    assert s.get(f"{base}/devices/delta").status_code == 200


def test_default_projection_without_select(sb):
    s = session(sb)
    page = s.get(f"{sb.base_url}/v1.0/users/delta").json()
    assert set(page["value"][0]) == {
        "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
        "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
    }  # fmt: skip


# -- groups and members@delta ----------------------------------------------------------------------


def test_group_members_split_over_pages_with_the_group_repeated(sb):
    s = session(sb)
    pages, _ = run_round(s, f"{sb.base_url}/v1.0/groups/delta?$select=displayName,members")
    staff = next(g for g in sb.tenant.groups if g["displayName"] == "All Staff")
    expected = {r["id"] for r in sb.tenant.memberships[staff["id"]]}
    assert len(expected) > 1000
    seen, chunks = set(), []
    for n, page in enumerate(pages):
        links = sum(len(o.get("members@delta", ())) for o in page["value"])
        assert links <= 500
        assert len(page["value"]) <= 200
        for obj in page["value"]:
            assert set(obj) <= {"id", "displayName", "members@delta"}
            if obj["id"] == staff["id"]:
                assert obj["displayName"] == "All Staff"
                chunks.append((n, len(obj["members@delta"])))
                seen |= {m["id"] for m in obj["members@delta"]}
    assert [c for _, c in chunks][:2] == [500, 500]
    assert len(chunks) == 3
    assert [n for n, _ in chunks] == [chunks[0][0], chunks[0][0] + 1, chunks[0][0] + 2]
    assert seen == expected
    # every group once (the split one repeated), members agree with /groups/{id}/members
    state, members = {}, {}
    merge(state, members, pages)
    assert set(state) == {g["id"] for g in sb.tenant.groups}
    empty = next(g for g in sb.tenant.groups if g["displayName"] == "Archived Project")
    assert empty["id"] not in members  # no members@delta for a group without members
    for gid in list(members)[:20]:
        listed = list_all(s, f"{sb.base_url}/v1.0/groups/{gid}/members?$select=id&$top=999")
        assert {m["id"] for m in listed} == members[gid]
    link = items(pages)[0]["members@delta"][0]
    assert set(link) == {"@odata.type", "id"}
    assert link["@odata.type"].startswith("#microsoft.graph.")


def test_members_delta_needs_members_selected(sb):
    s = session(sb)
    without = items(run_round(s, f"{sb.base_url}/v1.0/groups/delta?$select=displayName")[0])
    assert not any("members@delta" in g for g in without)
    # no $select: members@delta by default (delta-query-groups.md); $expand=members too
    default = s.get(f"{sb.base_url}/v1.0/groups/delta").json()["value"]
    assert any("members@delta" in g for g in default)
    expanded = s.get(f"{sb.base_url}/v1.0/groups/delta?$select=displayName&$expand=members").json()
    assert any("members@delta" in g for g in expanded["value"])


def test_membership_changes_in_members_delta(sb):
    s = session(sb)
    _, link = run_round(s, f"{sb.base_url}/v1.0/groups/delta?$select=displayName,members")
    t = sb.tenant
    group = next(
        g
        for g in t.groups
        if g["displayName"].startswith("SG ")
        and sum(r["@odata.type"] == "#microsoft.graph.user" for r in t.memberships[g["id"]]) >= 2
    )
    gid = group["id"]
    current = {r["id"] for r in t.memberships[gid]}
    newcomer = next(u["id"] for u in t.users if u["id"] not in current)
    leaver, deleted = sorted(m for m in current if t.objects[m][0] == "user")[:2]
    sb.add_member(gid, newcomer)
    sb.remove_member(gid, leaver)
    sb.soft_delete("users", deleted)  # deleting a user removes its memberships
    pages, _ = run_round(s, link)
    got = [o for o in items(pages) if o["id"] == gid]
    assert len(got) == 1
    assert got[0]["displayName"] == group["displayName"]  # the selected properties come along
    links = {m["id"]: m for m in got[0]["members@delta"]}
    assert links[newcomer] == {"@odata.type": "#microsoft.graph.user", "id": newcomer}
    for gone in (leaver, deleted):
        assert links[gone]["@removed"] == {"reason": "deleted"}
        assert links[gone]["@odata.type"].startswith("#microsoft.graph.")
    assert len(links) == 3
    listed = {m["id"] for m in list_all(s, f"{sb.base_url}/v1.0/groups/{gid}/members?$select=id")}
    assert listed == (current | {newcomer}) - {leaver, deleted}


def test_mutation_api_refuses_what_graph_refuses(sb):
    t = sb.tenant
    staff = next(g for g in t.groups if g["displayName"] == "All Staff")
    with pytest.raises(ValueError, match="dynamic group"):
        sb.add_member(staff["id"], t.users[0]["id"])  # dynamic group
    assigned = next(
        g for g in t.groups if g["displayName"].startswith("SG ") and t.memberships[g["id"]]
    )
    with pytest.raises(ValueError, match="already exist"):
        sb.add_member(assigned["id"], t.memberships[assigned["id"]][0]["id"])  # already a member
    with pytest.raises(ValueError, match="deleted permanently"):
        sb.soft_delete("devices", t.devices[0]["id"])  # devices are deleted permanently
    with pytest.raises(ValueError, match="notAProperty"):
        sb.update("users", t.users[0]["id"], notAProperty=1)
    with pytest.raises(KeyError):
        sb.restore("users", t.users[0]["id"])
    with pytest.raises(ValueError, match="unknown kind"):
        sb.create("planets")


# -- replays and expiry ----------------------------------------------------------------------------


def test_replays_resend_objects_on_a_later_page(monkeypatch):
    sb = start(monkeypatch, users=300, delta_replays=True)
    try:
        pages, link = run_round(session(sb), f"{sb.base_url}/v1.0/users/delta?$select=id")
        first: dict[str, int] = {}
        replayed = []
        for n, page in enumerate(pages):
            for obj in page["value"]:
                if obj["id"] in first:
                    replayed.append(obj["id"])
                    assert n > first[obj["id"]]
                else:
                    first[obj["id"]] = n
        assert len(first) == 300
        assert 1 <= len(replayed) <= 10
        # a small incremental round still replays, on a page of its own
        sb.update("users", sb.tenant.users[0]["id"], jobTitle="x")
        pages, _ = run_round(session(sb), link)
        assert [[o["id"] for o in p["value"]] for p in pages] == [[sb.tenant.users[0]["id"]]] * 2
    finally:
        sb.stop()


def test_expired_tokens_sync_state_not_found(sb):
    s = session(sb)
    url = f"{sb.base_url}/v1.0/users/delta?$select=displayName"
    first = s.get(url).json()
    _, link = run_round(s, url)
    sb.expire_delta_tokens()
    for old in (link, first["@odata.nextLink"]):
        error = graph_error(s.get(old), 400, "syncStateNotFound")
        assert error["message"] == (
            "The sync state generation is not found. The delta token is expired and data must be "
            "synchronized again."
        )
    # a new round works and its tokens are fresh
    _, fresh = run_round(s, url)
    assert s.get(fresh).status_code == 200


def test_resync_required_is_410_with_location(sb):
    s = session(sb)
    url = f"{sb.base_url}/v1.0/groups/delta?$select=displayName,members"
    _, link = run_round(s, url)
    sb.expire_delta_tokens(mode="resyncRequired")
    r = s.get(link)
    error = graph_error(r, 410, "resyncRequired")
    assert (
        error["message"]
        == "The delta token is no longer valid, and the app must reset the sync state."
    )
    location = r.headers["Location"]
    assert location.startswith(f"{sb.base_url}/v1.0/groups/delta?")
    assert query_of(location) == {"$deltatoken": [""], "$select": ["displayName,members"]}
    pages, _ = run_round(s, location)  # a full round again, with the original query
    assert {o["id"] for o in items(pages)} == {g["id"] for g in sb.tenant.groups}
    assert any("members@delta" in o for o in items(pages))


def test_token_lifetime(monkeypatch):
    sb = start(monkeypatch, users=50, delta_token_lifetime=0.0)
    try:
        s = session(sb)
        _, link = run_round(s, f"{sb.base_url}/v1.0/users/delta")
        graph_error(s.get(link), 400, "syncStateNotFound")
    finally:
        sb.stop()


# -- other collections, churn and list endpoints ---------------------------------------------------


def test_devices_applications_service_principals(sb):
    s = session(sb)
    links = {}
    for kind in ("devices", "applications", "servicePrincipals"):
        pages, links[kind] = run_round(s, f"{sb.base_url}/v1.0/{kind}/delta?$select=displayName")
        assert len(items(pages)) == len(sb.changes.objects(kind))
    device, app, sp = (
        sb.tenant.devices[0]["id"],
        sb.tenant.applications[0]["id"],
        sb.tenant.service_principals[0]["id"],
    )
    sb.hard_delete("devices", device)
    sb.soft_delete("applications", app)
    sb.update("servicePrincipals", sp, displayName="Renamed SP")
    assert items(run_round(s, links["devices"])[0]) == [
        {"id": device, "@removed": {"reason": "deleted"}}
    ]
    assert items(run_round(s, links["applications"])[0]) == [
        {"id": app, "@removed": {"reason": "changed"}}
    ]
    assert items(run_round(s, links["servicePrincipals"])[0]) == [
        {"id": sp, "displayName": "Renamed SP"}
    ]
    assert device not in {d["id"] for d in list_all(s, f"{sb.base_url}/v1.0/devices?$top=999")}
    assert app not in {a["id"] for a in list_all(s, f"{sb.base_url}/v1.0/applications?$top=999")}


def test_churn_delta_and_list_endpoints_agree(sb):
    s = session(sb)
    urls = {
        "users": f"{sb.base_url}/v1.0/users/delta?$select=displayName,jobTitle,department",
        "groups": f"{sb.base_url}/v1.0/groups/delta?$select=displayName,description,members",
        "devices": f"{sb.base_url}/v1.0/devices/delta?$select=displayName",
        "applications": f"{sb.base_url}/v1.0/applications/delta?$select=displayName",
        "servicePrincipals": f"{sb.base_url}/v1.0/servicePrincipals/delta?$select=displayName",
    }
    stores, links = {}, {}
    for kind, url in urls.items():
        state, members = {}, {}
        pages, links[kind] = run_round(s, url)
        merge(state, members, pages)
        stores[kind] = (state, members)
    for seed in (1, 2):  # the second churn restores some of the first one's soft deletes
        log = sb.churn(0.05, seed=seed)
        assert isinstance(log, ChangeLog)
        assert log.restored["users"] or seed == 1
        for kind in urls:
            state, members = stores[kind]
            pages, links[kind] = run_round(s, links[kind])
            got = {o["id"]: o for o in items(pages)}
            gone = log.soft_deleted[kind] | log.hard_deleted[kind]
            assert log.created[kind] | log.updated[kind] | log.restored[kind] | gone <= set(got)
            for oid in log.soft_deleted[kind]:
                assert got[oid]["@removed"] == {"reason": "changed"}
            for oid in log.hard_deleted[kind]:
                assert got[oid]["@removed"] == {"reason": "deleted"}
            merge(state, members, pages)
            listed = list_all(
                s, urls[kind].replace("/delta", "").replace(",members", "") + ",id&$top=999"
            )
            assert {o["id"] for o in listed} == set(state)
            assert {o["id"]: o["displayName"] for o in listed} == {
                k: v["displayName"] for k, v in state.items()
            }
        # memberships: the merged members@delta equal /groups/{id}/members for every changed group
        _, members = stores["groups"]
        touched = {g for g, _ in log.memberships_added | log.memberships_removed}
        assert touched
        for gid in touched:
            if gid not in stores["groups"][0]:
                continue
            listed = list_all(s, f"{sb.base_url}/v1.0/groups/{gid}/members?$select=id&$top=999")
            assert {m["id"] for m in listed} == members.get(gid, set())
        for gid, mid in log.memberships_added:
            assert mid in members.get(gid, set())
        for gid, mid in log.memberships_removed:
            assert mid not in members.get(gid, set())


def test_churn_is_deterministic_and_has_an_http_route(monkeypatch):
    one, two = start(monkeypatch, users=400, seed=8), start(monkeypatch, users=400, seed=8)
    try:
        log = one.churn(0.02, seed=4)
        r = requests.post(f"{two.base_url}/_sandbox/churn?fraction=0.02&seed=4")  # no token needed
        assert r.status_code == 200
        assert r.json() == log.to_json()
        data = r.json()
        assert set(data) == {
            "updated", "created", "soft_deleted", "hard_deleted", "restored",
            "memberships_added", "memberships_removed", "version",
        }  # fmt: skip
        assert set(data["updated"]) == {
            "users",
            "groups",
            "devices",
            "applications",
            "servicePrincipals",
        }
        assert all(len(pair) == 2 for pair in data["memberships_added"])
        r = requests.post(f"{two.base_url}/_sandbox/expire-delta-tokens?mode=resyncRequired")
        assert r.status_code == 204
        assert requests.post(f"{two.base_url}/_sandbox/churn?fraction=7").status_code == 400
    finally:
        one.stop()
        two.stop()


def test_churn_is_fast_on_a_large_tenant():
    sb = Sandbox(users=30000, seed=2)
    import time

    began = time.perf_counter()
    log = sb.churn(0.01, seed=1)
    assert time.perf_counter() - began < 2.0
    assert len(log.updated["users"]) == 150
    assert len(log.memberships_added) == 300


def test_cli_flags():
    out = subprocess.run(
        [sys.executable, "-m", "m365_graph_sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--delta-replays" in out
    assert "same object more than once" in " ".join(out.split())
