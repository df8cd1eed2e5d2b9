"""users.signInActivity agrees with the sandbox's own sign-in log (model/audit.py; graph.md 1a)."""

from __future__ import annotations

import time

import pytest
import requests

from m365_graph_sandbox import Sandbox, Tenant
from m365_graph_sandbox.model.audit import TICKS, iso_ticks


def log_truth(tenant):
    """Per user id: (newest sign-in record, newest successful one), from the rendered log."""
    audit = tenant.audit
    newest, newest_ok = {}, {}
    for tick, serial in zip(audit.sign_ins.ticks, audit.sign_ins.serials, strict=True):
        record = audit.sign_in(serial, tick)
        newest[record["userId"]] = record
        if record["status"]["errorCode"] == 0:
            newest_ok[record["userId"]] = record
    return newest, newest_ok


def second(record):
    return record["createdDateTime"][:19] + "Z"


def check(tenant):
    newest, newest_ok = log_truth(tenant)
    window = iso_ticks(tenant.audit.sign_ins.ticks[0])[:19] + "Z"
    never = 0
    for user in tenant.users:
        activity = user["signInActivity"]
        if activity["lastSignInDateTime"] is None:
            never += 1
            assert set(activity.values()) == {None}
            assert user["id"] not in newest
            continue
        record = newest.get(user["id"])
        if record is None:  # inactive, or never named by the log: older than anything the log holds
            assert activity["lastSignInDateTime"] < window
        else:
            assert activity["lastSignInDateTime"] == second(record)
            assert activity["lastSignInRequestId"] == record["id"]
        ok = newest_ok.get(user["id"])
        if ok is None:
            assert activity["lastSuccessfulSignInDateTime"] < window
        else:
            assert activity["lastSuccessfulSignInDateTime"] == second(ok)
            assert activity["lastSuccessfulSignInRequestId"] == ok["id"]
        # non-interactive sign-ins are not in the v1.0 log: never after the last successful one
        assert (
            activity["lastNonInteractiveSignInDateTime"] <= activity["lastSuccessfulSignInDateTime"]
        )
        assert (
            activity["lastSuccessfulSignInDateTime"] <= activity["lastSignInDateTime"] or ok is None
        )
        assert all(activity.values())
    return never, len(newest)


def test_sign_in_activity_matches_the_log():
    tenant = Tenant(users=600, seed=7)
    never, in_log = check(tenant)
    assert 0.06 < never / 600 < 0.14  # about 10 % never signed in
    assert in_log > 0.8 * 600  # most users are in a small tenant's log
    assert any(u["signInActivity"]["lastSignInDateTime"] for u in tenant.users if u["id"] not in
               log_truth(tenant)[0])  # fmt: skip  # inactive users exist
    # dates follow the real clock now, not a fixed past date
    newest = max(u["signInActivity"]["lastSignInDateTime"] or "" for u in tenant.users)
    assert newest > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))


def test_other_volumes_and_late_sign_ins_keep_it_consistent():
    tenant = Tenant(users=300, seed=3)
    tenant.audit.generate(sign_ins_per_day=5)  # fewer records: more users only have older dates
    check(tenant)
    log = tenant.audit.sign_ins
    serials = log.add(time.time() - 1, 12)  # late records: their users' last sign-in moves forward
    check(tenant)
    audit = tenant.audit
    pos = {s: i for i, s in enumerate(log.serials)}
    record = audit.sign_in(serials[-1], log.ticks[pos[serials[-1]]])
    user = tenant.user(record["userId"])
    assert user["signInActivity"]["lastSignInRequestId"] == record["id"]
    # an old late record moves only users whose last sign-in was older still
    before = [dict(u["signInActivity"]) for u in tenant.users]
    at = log.ticks[0] / TICKS + 0.5
    log.add(at, 3)
    check(tenant)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    for old, user in zip(before, tenant.users, strict=True):
        if old["lastSignInDateTime"] is None or old["lastSignInDateTime"] > stamp:
            assert user["signInActivity"] == old


@pytest.mark.slow
def test_100k_users_sign_in_activity_is_cheap():
    started = time.monotonic()
    tenant = Tenant(users=100_000, seed=1)
    built = time.monotonic() - started
    started = time.monotonic()
    tenant.audit.refresh_sign_in_activity()
    refresh = time.monotonic() - started
    assert built < 15
    assert refresh < 3
    nulls = sum(u["signInActivity"]["lastSignInDateTime"] is None for u in tenant.users)
    assert 0.09 < nulls / 100_000 < 0.11


def test_served_sign_in_activity_is_the_model(monkeypatch):
    with Sandbox(users=50, seed=2) as sb:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        token = sb.issue_token()
        body = requests.get(
            f"{sb.base_url}/v1.0/users?$select=id,signInActivity",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        newest, _ = log_truth(sb.tenant)
        served = {row["id"]: row["signInActivity"] for row in body["value"]}
        assert served == {u["id"]: u["signInActivity"] for u in sb.tenant.users}
        some = next(uid for uid in served if uid in newest)
        assert served[some]["lastSignInDateTime"] == second(newest[some])
        # a sign-in record names a user who exists, and that user's date matches
        listing = requests.get(
            f"{sb.base_url}/v1.0/auditLogs/signIns?$top=1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["value"][0]
        assert served[listing["userId"]]["lastSignInDateTime"] == second(listing)
