"""Directory streams through Graph delta: full first round, then only changes and deletions."""

from __future__ import annotations

import os

import pytest

from m365_graph_sandbox import Sandbox

from .conftest import run_sync

DELTA = ["users", "groups", "group_members", "devices", "applications", "service_principals"]
DELTA_PATHS = {
    "users": "/v1.0/users/delta",
    "groups": "/v1.0/groups/delta",
    "devices": "/v1.0/devices/delta",
    "applications": "/v1.0/applications/delta",
    "service_principals": "/v1.0/servicePrincipals/delta",
}


@pytest.fixture
def box():
    """A fresh tenant per test: the tests change it."""
    with Sandbox(users=600, seed=21) as sb:
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        yield sb
        if previous is not None:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


def links(state: dict) -> dict[str, str]:
    out = {}
    for name, entry in state.get("bookmarks", {}).items():
        for partition in entry.get("partitions", []):
            if "delta_link" in partition:
                out[name] = partition["delta_link"]
    return out


def activations(result) -> set[str]:
    return {m["stream"] for m in result.messages if m["type"] == "ACTIVATE_VERSION"}


def live(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("_sdc_deleted_at") is None]


def removed(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("_sdc_deleted_at") is not None]


def test_first_round_is_full_then_an_unchanged_tenant_costs_one_request_per_stream(box):
    first = run_sync(box.tap_config(), DELTA)
    assert len(first.records("users")) == len(box.tenant.users)
    expected = sum(len(m) for m in box.tenant.memberships.values())
    assert len(first.records("group_members")) == expected
    assert set(links(first.state)) == set(DELTA)
    assert activations(first) >= set(DELTA), "a full round lets targets drop rows gone from Graph"
    for link in links(first.state).values():
        assert len(link) < 2000, "the state holds a link, not a list of objects"

    box.reset_log()
    second = run_sync(box.tap_config(), DELTA, state=first.state)
    for stream in DELTA:
        assert second.records(stream) == [], stream
    for stream, path in DELTA_PATHS.items():
        if stream != "groups":
            assert box.count(path=path) == 1, path
    assert box.count(path="/v1.0/groups/delta") == 2  # groups and group_members keep their own links
    assert not activations(second) & set(DELTA), "an incremental round must not drop unchanged rows"
    assert set(links(second.state)) == set(DELTA)


def test_changes_and_deletions_are_exactly_what_changed(box):
    first = run_sync(box.tap_config(), DELTA)
    changes = box.churn(fraction=0.01, seed=5)
    second = run_sync(box.tap_config(), DELTA, state=first.state)

    users = second.records("users")
    gone = changes.soft_deleted["users"] | changes.hard_deleted["users"]
    changed = (changes.updated["users"] | changes.created["users"] | changes.restored["users"]) - gone
    assert {r["id"] for r in live(users)} == changed
    assert {r["id"] for r in removed(users)} == gone
    reasons = {r["id"]: r["deletion_reason"] for r in removed(users)}
    assert all(reasons[i] == "changed" for i in changes.soft_deleted["users"])
    assert all(reasons[i] == "deleted" for i in changes.hard_deleted["users"])
    by_id = {u["id"]: u for u in box.tenant.users}
    for row in live(users):
        assert row["displayName"] == by_id[row["id"]]["displayName"]

    members = second.records("group_members")
    assert {(r["group_id"], r["member_id"]) for r in live(members)} == changes.memberships_added
    assert {(r["group_id"], r["member_id"]) for r in removed(members)} == (
        changes.memberships_removed
    )

    for stream, kind in (("devices", "devices"), ("applications", "applications")):
        rows = second.records(stream)
        touched = set().union(
            *(
                getattr(changes, what)[kind]
                for what in ("updated", "created", "restored", "soft_deleted", "hard_deleted")
            )
        )
        assert {r["id"] for r in rows} == touched, stream


def test_third_run_after_changes_is_empty(box):
    first = run_sync(box.tap_config(), DELTA)
    box.churn(fraction=0.01, seed=6)
    second = run_sync(box.tap_config(), DELTA, state=first.state)
    third = run_sync(box.tap_config(), DELTA, state=second.state)
    for stream in DELTA:
        assert third.records(stream) == [], stream


@pytest.mark.parametrize("mode", ["syncStateNotFound", "resyncRequired"])
def test_expired_link_resyncs_and_lets_targets_drop_what_is_gone(box, caplog, mode):
    first = run_sync(box.tap_config(), ["users"])
    victim = box.tenant.users[5]["id"]
    box.hard_delete("users", victim)
    box.expire_delta_tokens(mode=mode)
    with caplog.at_level("WARNING"):
        second = run_sync(box.tap_config(), ["users"], state=first.state)
    rows = second.records("users")
    assert len(live(rows)) == len(box.tenant.users)
    assert victim not in {r["id"] for r in rows}
    assert "users" in activations(second), "the resync's ACTIVATE_VERSION removes the deleted user"
    warned = [r.getMessage() for r in caplog.records if "no longer honours" in r.getMessage()]
    assert len(warned) == 1
    third = run_sync(box.tap_config(), ["users"], state=second.state)
    assert third.records("users") == [], "the resync saved a link that works"


def test_a_failed_round_keeps_the_previous_link(box):
    first = run_sync(box.tap_config(), ["users"])
    changes = box.churn(fraction=0.01, seed=7)
    box.faults.add(r"^/v1\.0/users/delta$", 500, times=-1)
    with pytest.raises(Exception, match="still failing"):
        run_sync(box.tap_config(max_retries=0), ["users"], state=first.state)
    box.faults.clear()
    again = run_sync(box.tap_config(), ["users"], state=first.state)
    gone = changes.soft_deleted["users"] | changes.hard_deleted["users"]
    assert {r["id"] for r in removed(again.records("users"))} == gone


def test_replayed_objects_are_sent_once():
    with Sandbox(users=600, seed=22, delta_replays=True) as sb:
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        result = run_sync(sb.tap_config(), ["users", "group_members"])
    ids = [r["id"] for r in result.records("users")]
    assert len(ids) == len(set(ids)) == len(sb.tenant.users)
    pairs = [(r["group_id"], r["member_id"]) for r in result.records("group_members")]
    assert len(pairs) == len(set(pairs))


def test_full_sync_setting_forces_a_full_round(box):
    first = run_sync(box.tap_config(), ["users"])
    again = run_sync(box.tap_config(full_sync=True), ["users"], state=first.state)
    assert len(again.records("users")) == len(box.tenant.users)
    assert "users" in activations(again)


def test_user_sign_in_activity_is_read_in_full_at_500_per_page(box):
    result = run_sync(box.tap_config(), ["user_sign_in_activity"])
    rows = result.records("user_sign_in_activity")
    assert len(rows) == len(box.tenant.users)
    listing = [r for r in box.requests if r.path == "/v1.0/users"]
    assert len(listing) == -(-len(box.tenant.users) // 500)
    assert listing[0].query["$top"] == "500"
    assert set(listing[0].query["$select"].split(",")) == {"id", "userPrincipalName", "signInActivity"}
    by_id = {u["id"]: u for u in box.tenant.users}
    with_values = [r for r in rows if (r["signInActivity"] or {}).get("lastSignInDateTime")]
    assert with_values
    assert with_values[0]["signInActivity"] == by_id[with_values[0]["id"]]["signInActivity"]
    assert "users" not in [m["stream"] for m in result.messages if m["type"] == "RECORD"]


def test_skipped_full_table_stream_sends_no_activate_version(box):
    box.granted_permissions.discard("Domain.Read.All")
    box.granted_permissions.discard("Directory.Read.All")
    result = run_sync(box.tap_config(), ["domains", "organization"])
    assert result.records("domains") == []
    assert "domains" not in activations(result), "a skipped stream must not delete the table's rows"
    assert "organization" in activations(result)
