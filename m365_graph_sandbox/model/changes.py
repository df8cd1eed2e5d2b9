"""Directory mutations and their change tracking, the state behind delta query (graph.md 2).

Deterministic, no clock: a version counter is bumped by every mutation, and each object (per kind) and
each group membership remembers the version of its last change. A delta token is (collection, query,
version at the end of its round); the next round returns what changed after that version, as net state
(an object created then deleted in between comes as removed).

What Graph does and this models (graph.md 2, concepts/delta-query-overview.md, delta-query-groups.md):

- soft delete: users, Microsoft 365 (``Unified``) groups, applications and service principals go to the
  deleted items container (restorable, delta ``@removed.reason`` "changed"); devices and other groups are
  deleted permanently (``"deleted"``); purging a soft-deleted object makes it ``"deleted"``.
- a deleted object disappears from every list (``/users``, ``/groups``, ``/groups/{id}/members``,
  ``/devices/{id}/registeredOwners``, ``/directoryRoles/{id}/members``, managers): "either by removing
  the membership or by deleting the user object itself" a membership shows as removed in
  ``members@delta`` (delta-query-groups.md).
- restoring a soft-deleted object brings it back with its properties and, where the other end still
  exists, its links (group memberships, a group's members, owners, roles, manager): the object reappears
  in delta as changed, the links as added members. (Entra documents restoring "the group object,
  properties and members" for Microsoft 365 groups; restoring a user's memberships follows admin guides,
  UNVERIFIED.)
- dynamic membership rules are not re-evaluated (a new or changed user does not join a dynamic group) and
  members of dynamic groups cannot be added or removed by hand (Graph refuses it too).
- deleting an application does not cascade to its service principal here (not modelled).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .directory import DEPARTMENTS, GIVEN, SUR
from .tenant import cloud_sid, new_guid

if TYPE_CHECKING:
    import random

    from .tenant import Tenant

#: delta collection -> (Graph type, Tenant attribute holding the live objects)
KINDS: dict[str, tuple[str, str]] = {
    "users": ("user", "users"),
    "groups": ("group", "groups"),
    "devices": ("device", "devices"),
    "applications": ("application", "applications"),
    "servicePrincipals": ("servicePrincipal", "service_principals"),
}
#: kinds whose objects are registered in ``tenant.objects`` (can be group members)
_DIRECTORY_OBJECTS = {"users", "groups", "devices", "servicePrincipals"}
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def check_kind(kind: str) -> str:
    """``kind`` if it is a delta collection, else ``ValueError``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    return kind


def _kind_sets() -> dict[str, set[str]]:
    return {k: set() for k in KINDS}


@dataclass
class ChangeLog:
    """Ground truth of a batch of mutations (``Sandbox.churn``): per kind, sets of object ids.

    ``memberships_added`` / ``memberships_removed`` are sets of ``(group_id, member_id)``, including
    memberships removed because the member was deleted and memberships brought back by a restore;
    memberships of a group deleted in the same batch are left out (the group is removed).
    ``version`` is the change counter after the batch.
    """

    updated: dict[str, set[str]] = field(default_factory=_kind_sets)
    created: dict[str, set[str]] = field(default_factory=_kind_sets)
    soft_deleted: dict[str, set[str]] = field(default_factory=_kind_sets)
    hard_deleted: dict[str, set[str]] = field(default_factory=_kind_sets)
    restored: dict[str, set[str]] = field(default_factory=_kind_sets)
    memberships_added: set[tuple[str, str]] = field(default_factory=set)
    memberships_removed: set[tuple[str, str]] = field(default_factory=set)
    version: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-able form: sorted lists (``[group_id, member_id]`` pairs for memberships)."""
        out: dict[str, Any] = {}
        for name in ("updated", "created", "soft_deleted", "hard_deleted", "restored"):
            out[name] = {k: sorted(v) for k, v in getattr(self, name).items()}
        out["memberships_added"] = sorted([g, m] for g, m in self.memberships_added)
        out["memberships_removed"] = sorted([g, m] for g, m in self.memberships_removed)
        out["version"] = self.version
        return out


@dataclass
class _Stash:
    """What a soft delete removed besides the object, to put back on restore."""

    member_of: list[str] = field(default_factory=list)  # groups the object was a member of
    members: list[dict[str, str]] = field(default_factory=list)  # a group's own members
    owner_of: list[str] = field(default_factory=list)  # devices it was a registered owner of
    role_of: list[str] = field(default_factory=list)  # directory roles it held
    manager: str | None = None  # its manager
    reports: list[str] = field(default_factory=list)  # users it managed
    owners: list[dict[str, str]] | None = None  # a device's registered owners
    assigned_to: list[dict[str, Any]] | None = None  # a service principal's appRoleAssignedTo


class Changes:
    """The tenant's change counter, per-object change versions and the mutation operations."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.version = 0
        self.lock = threading.RLock()
        #: kind -> id -> version of the last change (ordered by version: re-inserted on change)
        self.changed: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        #: kind -> id -> "live" | "soft" | "hard" for every object that ever changed
        self.state: dict[str, dict[str, str]] = {k: {} for k in KINDS}
        #: kind -> id -> soft-deleted object (Graph's deleted items)
        self.deleted: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self._stash: dict[str, _Stash] = {}
        #: group id -> member id -> (version, present) of the membership's last change (ordered)
        self.member_changes: dict[str, dict[str, tuple[int, bool]]] = {}
        #: group id -> version of its last membership change (ordered by version)
        self.group_member_version: dict[str, int] = {}
        self._member_of: dict[str, set[str]] | None = None
        self._index: dict[str, dict[str, dict[str, Any]]] = {}
        self._log: ChangeLog | None = None

    # -- lookups -----------------------------------------------------------------------------------

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """The live objects of ``kind`` (the tenant's list, in list order)."""
        return getattr(self.tenant, KINDS[check_kind(kind)][1])

    def index(self, kind: str) -> dict[str, dict[str, Any]]:
        """Live objects of ``kind`` by id (built on first use, then kept up to date)."""
        found = self._index.get(kind)
        if found is None:
            found = self._index[kind] = {o["id"]: o for o in self.objects(kind)}
        return found

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        """A live object of ``kind`` by id."""
        return self.index(kind).get(object_id)

    def member_of(self) -> dict[str, set[str]]:
        """Member id -> ids of the groups it is a direct member of (built on first use)."""
        if self._member_of is None:
            index: dict[str, set[str]] = {}
            for gid, refs in self.tenant.memberships.items():
                for ref in refs:
                    index.setdefault(ref["id"], set()).add(gid)
            self._member_of = index
        return self._member_of

    def changes_since(self, kind: str, since: int, until: int) -> list[tuple[str, str]]:
        """``(id, state)`` of objects of ``kind`` whose last change is in ``(since, until]``."""
        states = self.state[kind]
        return [(i, states[i]) for i, v in self.changed[kind].items() if since < v <= until]

    def members_since(self, since: int, until: int) -> dict[str, list[tuple[str, bool]]]:
        """Group id -> ``(member id, present)`` of membership changes in ``(since, until]``."""
        out: dict[str, list[tuple[str, bool]]] = {}
        for gid, v in self.group_member_version.items():
            if v <= since:
                continue
            changes = [
                (m, present)
                for m, (mv, present) in self.member_changes[gid].items()
                if since < mv <= until
            ]
            if changes:
                out[gid] = changes
        return out

    # -- bookkeeping -------------------------------------------------------------------------------

    def _bump(self) -> int:
        self.version += 1
        return self.version

    def _stamp(self, kind: str, object_id: str, state: str, version: int) -> None:
        changed = self.changed[kind]
        changed.pop(object_id, None)
        changed[object_id] = version
        self.state[kind][object_id] = state

    def _note(self, name: str, kind: str, object_id: str) -> None:
        if self._log is not None:
            getattr(self._log, name)[kind].add(object_id)

    def _member_changed(self, gid: str, mid: str, present: bool, version: int) -> None:
        changes = self.member_changes.setdefault(gid, {})
        changes.pop(mid, None)
        changes[mid] = (version, present)
        self.group_member_version.pop(gid, None)
        self.group_member_version[gid] = version
        if self._log is not None:
            pair = (gid, mid)
            if present:
                if pair in self._log.memberships_removed:
                    self._log.memberships_removed.discard(pair)
                else:
                    self._log.memberships_added.add(pair)
            elif pair in self._log.memberships_added:
                self._log.memberships_added.discard(pair)
            else:
                self._log.memberships_removed.add(pair)

    def _forget_groups(self, kind: str, ids: set[str]) -> None:
        """A deleted group's memberships leave the ChangeLog (the group itself is what changed)."""
        log = self._log
        if log is None or kind != "groups":
            return
        log.memberships_added = {p for p in log.memberships_added if p[0] not in ids}
        log.memberships_removed = {p for p in log.memberships_removed if p[0] not in ids}

    def _attach(self, kind: str, obj: dict[str, Any]) -> None:
        """Make ``obj`` live: tenant list, index, directory-object registry."""
        self.objects(kind).append(obj)
        self.index(kind)[obj["id"]] = obj
        if kind in _DIRECTORY_OBJECTS:
            self.tenant.register(KINDS[kind][0], obj)

    def _detach(self, kind: str, ids: set[str]) -> None:
        """Take the objects out of the tenant's list, the index and the registry."""
        objects = self.objects(kind)
        objects[:] = [o for o in objects if o["id"] not in ids]
        index = self.index(kind)
        for i in ids:
            index.pop(i, None)
            if kind in _DIRECTORY_OBJECTS:
                self.tenant.objects.pop(i, None)

    # -- links -------------------------------------------------------------------------------------

    def _unlink(self, kind: str, ids: set[str], version: int) -> dict[str, _Stash]:
        """Remove every link to the objects (one pass per container); returns what was removed."""
        t = self.tenant
        stash = {i: _Stash() for i in ids}
        member_of = self.member_of()
        affected: dict[str, set[str]] = {}
        for i in ids:
            for gid in member_of.pop(i, ()):
                affected.setdefault(gid, set()).add(i)
                stash[i].member_of.append(gid)
        for gid, gone in affected.items():
            refs = t.memberships.get(gid)
            if refs is not None:
                refs[:] = [r for r in refs if r["id"] not in gone]
            for mid in gone:
                self._member_changed(gid, mid, False, version)
        if kind == "groups":
            for gid in ids:
                refs = t.memberships.pop(gid, [])
                stash[gid].members = list(refs)
                for ref in refs:
                    groups = member_of.get(ref["id"])
                    if groups is not None:
                        groups.discard(gid)
                self.member_changes.pop(gid, None)
                self.group_member_version.pop(gid, None)
        if kind == "users":
            for did, owners in t.device_owners.items():
                if any(o["id"] in ids for o in owners):
                    for o in owners:
                        if o["id"] in ids:
                            stash[o["id"]].owner_of.append(did)
                    owners[:] = [o for o in owners if o["id"] not in ids]
            managers = t.managers
            for uid in ids:
                manager = managers.pop(uid, None)
                stash[uid].manager = manager
            for uid, manager in list(managers.items()):
                if manager in ids:
                    stash[manager].reports.append(uid)
                    del managers[uid]
        if kind in ("users", "groups", "servicePrincipals"):
            for rid, holders in t.role_members.items():
                if any(h["id"] in ids for h in holders):
                    for h in holders:
                        if h["id"] in ids:
                            stash[h["id"]].role_of.append(rid)
                    holders[:] = [h for h in holders if h["id"] not in ids]
        if kind == "devices":
            for did in ids:
                stash[did].owners = t.device_owners.pop(did, [])
        if kind == "servicePrincipals":
            for sid in ids:
                stash[sid].assigned_to = t.app_role_assigned_to.pop(sid, [])
        return stash

    def _relink(self, kind: str, object_id: str, stash: _Stash, version: int) -> None:
        """Put back the links a soft delete removed, where the other end still exists."""
        t = self.tenant
        member_of = self.member_of()
        if kind not in _DIRECTORY_OBJECTS:
            return
        ref = t.ref(object_id)
        for gid in stash.member_of:
            refs = t.memberships.get(gid)
            if refs is None or t.group(gid) is None:
                continue
            refs.append(ref)
            member_of.setdefault(object_id, set()).add(gid)
            self._member_changed(gid, object_id, True, version)
        if kind == "groups":
            refs = t.memberships.setdefault(object_id, [])
            for member in stash.members:
                if member["id"] in t.objects:
                    refs.append(member)
                    member_of.setdefault(member["id"], set()).add(object_id)
                    self._member_changed(object_id, member["id"], True, version)
        for did in stash.owner_of:
            owners = t.device_owners.get(did)
            if owners is not None:
                owners.append(ref)
        for rid in stash.role_of:
            holders = t.role_members.get(rid)
            if holders is not None:
                holders.append(ref)
        if stash.manager is not None and stash.manager in t.objects:
            t.managers[object_id] = stash.manager
        for uid in stash.reports:
            if uid in t.objects:
                t.managers[uid] = object_id
        if stash.owners is not None:
            t.device_owners[object_id] = [o for o in stash.owners if o["id"] in t.objects]
        if stash.assigned_to is not None:
            t.app_role_assigned_to[object_id] = stash.assigned_to

    # -- operations --------------------------------------------------------------------------------

    def update(self, kind: str, object_id: str, **props: Any) -> None:
        """Change properties of a live object (``KeyError`` if none; unknown properties ``ValueError``)."""
        with self.lock:
            obj = self._live(kind, object_id)
            unknown = [p for p in props if p not in obj or p == "id"]
            if unknown:
                raise ValueError(f"not a modelled {KINDS[kind][0]} property: {', '.join(unknown)}")
            obj.update(props)
            self._stamp(kind, object_id, "live", self._bump())
            self._note("updated", kind, object_id)

    def create(self, kind: str, obj: dict[str, Any] | None = None) -> str:
        """Add an object: ``obj`` (completed with every modelled key) or a generated realistic one."""
        with self.lock:
            check_kind(kind)
            version = self._bump()
            new = self._generate(kind, version) if obj is None else self._complete(kind, obj)
            oid = new["id"]
            if oid in self.index(kind) or oid in self.deleted[kind] or oid in self.tenant.objects:
                raise ValueError(f"an object with id {oid} exists")
            self._attach(kind, new)
            t = self.tenant
            if kind == "groups":
                t.memberships[oid] = []
            elif kind == "devices":
                t.device_owners[oid] = []
            elif kind == "servicePrincipals":
                t.app_role_assigned_to[oid] = []
            self._stamp(kind, oid, "live", version)
            self._note("created", kind, oid)
            return oid

    def soft_delete(self, kind: str, object_id: str) -> None:
        """Delete to the deleted items container (restorable); ``ValueError`` for kinds Graph purges."""
        self.soft_delete_many(kind, [object_id])

    def soft_delete_many(self, kind: str, ids: Iterable[str]) -> None:
        """:meth:`soft_delete` for several objects at once (one pass over the tenant's lists)."""
        with self.lock:
            objs = [self._live(kind, i) for i in ids]
            for obj in objs:
                if not self.restorable(kind, obj):
                    raise ValueError(
                        f"{KINDS[kind][0]} {obj['id']} is deleted permanently by Graph "
                        "(only users, Microsoft 365 groups, applications and service principals "
                        "are restorable): use hard_delete"
                    )
            if not objs:
                return
            version = self._bump()
            idset = {o["id"] for o in objs}
            self._detach(kind, idset)
            stash = self._unlink(kind, idset, version)
            self._forget_groups(kind, idset)
            when = self.tenant.iso(-version * 60)
            for obj in objs:
                oid = obj["id"]
                obj["deletedDateTime"] = when
                self.deleted[kind][oid] = obj
                self._stash[oid] = stash[oid]
                self._stamp(kind, oid, "soft", version)
                self._note("soft_deleted", kind, oid)

    def hard_delete(self, kind: str, object_id: str) -> None:
        """Delete permanently: a live object, or purge a soft-deleted one."""
        self.hard_delete_many(kind, [object_id])

    def hard_delete_many(self, kind: str, ids: Iterable[str]) -> None:
        """:meth:`hard_delete` for several objects at once."""
        with self.lock:
            check_kind(kind)
            ids = list(ids)
            live, purged = set(), set()
            for oid in ids:
                if oid in self.deleted[kind]:
                    purged.add(oid)
                else:
                    self._live(kind, oid)
                    live.add(oid)
            if not ids:
                return
            version = self._bump()
            if live:
                self._detach(kind, live)
                self._unlink(kind, live, version)
                self._forget_groups(kind, live)
            for oid in purged:
                del self.deleted[kind][oid]
                self._stash.pop(oid, None)
            for oid in ids:
                self._stamp(kind, oid, "hard", version)
                self._note("hard_deleted", kind, oid)

    def restore(self, kind: str, object_id: str) -> None:
        """Bring a soft-deleted object back (``KeyError`` when it is not in deleted items)."""
        with self.lock:
            check_kind(kind)
            obj = self.deleted[kind].pop(object_id, None)
            if obj is None:
                raise KeyError(f"{KINDS[kind][0]} {object_id} is not soft-deleted")
            version = self._bump()
            obj["deletedDateTime"] = None
            self._attach(kind, obj)
            self._relink(kind, object_id, self._stash.pop(object_id, _Stash()), version)
            self._stamp(kind, object_id, "live", version)
            self._note("restored", kind, object_id)

    def add_member(self, group_id: str, member_id: str) -> None:
        """Add a direct member to an assigned group (``ValueError`` as Graph refuses it)."""
        with self.lock:
            t = self.tenant
            group = self._live("groups", group_id)
            self._assigned(group)
            found = t.objects.get(member_id)
            if found is None:
                raise KeyError(f"no directory object {member_id}")
            if "Unified" in (group.get("groupTypes") or ()) and found[0] != "user":
                raise ValueError("Microsoft 365 groups have users as members only")
            if member_id == group_id:
                raise ValueError("a group cannot be a member of itself")
            member_of = self.member_of()
            if group_id in member_of.get(member_id, ()):
                raise ValueError(
                    "One or more added object references already exist for the following modified "
                    "properties: 'members'."
                )
            t.memberships.setdefault(group_id, []).append(t.ref(member_id))
            member_of.setdefault(member_id, set()).add(group_id)
            self._member_changed(group_id, member_id, True, self._bump())

    def remove_member(self, group_id: str, member_id: str) -> None:
        """Remove a direct member of an assigned group."""
        with self.lock:
            group = self._live("groups", group_id)
            self._assigned(group)
            member_of = self.member_of()
            if group_id not in member_of.get(member_id, ()):
                raise KeyError(f"{member_id} is not a member of group {group_id}")
            refs = self.tenant.memberships[group_id]
            refs[:] = [r for r in refs if r["id"] != member_id]
            member_of[member_id].discard(group_id)
            self._member_changed(group_id, member_id, False, self._bump())

    # -- churn -------------------------------------------------------------------------------------

    def churn(self, fraction: float = 0.01, seed: int = 1) -> ChangeLog:
        """A deterministic mix of mutations over the tenant; returns the ground truth.

        Per kind, about ``fraction`` of the live objects (at least one) change: half updated, 15 %
        created, 15 % soft-deleted (restorable kinds; permanent for devices and non-Microsoft 365
        groups), 10 % hard-deleted; up to 10 % of the objects soft-deleted earlier are restored and
        one more is purged. About ``fraction`` * users memberships are added and as many removed (on
        assigned groups). The objects of each operation are distinct, so the log is net state.
        """
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be in [0, 1]")
        from random import Random

        with self.lock:
            rng = Random(f"{seed}:churn:{self.version}")
            log = self._log = ChangeLog()
            try:
                deleting = self._churn_memberships(rng, fraction)
                for kind in KINDS:
                    self._churn_kind(rng, kind, fraction, deleting)
            finally:
                self._log = None
            log.version = self.version
            return log

    def _churn_memberships(self, rng: random.Random, fraction: float) -> set[str]:
        """Membership removes and adds on assigned groups; returns ids kept out of deletions."""
        t = self.tenant
        users = t.users
        count = max(1, round(fraction * len(users))) if fraction > 0 else 0
        assigned = [g for g in t.groups if "DynamicMembership" not in (g.get("groupTypes") or ())]
        touched: set[str] = set()
        if not assigned or not users:
            return touched
        removable = [g for g in assigned if t.memberships.get(g["id"])]
        for _ in range(count if removable else 0):
            group = removable[int(rng.random() * len(removable))]
            refs = t.memberships[group["id"]]
            if not refs:
                continue
            mid = refs[int(rng.random() * len(refs))]["id"]
            self.remove_member(group["id"], mid)
            touched.update((group["id"], mid))
        member_of = self.member_of()
        for _ in range(count * 3):
            if len(self._log.memberships_added if self._log else ()) >= count:
                break
            group = assigned[int(rng.random() * len(assigned))]
            user = users[int(rng.random() * len(users))]
            if group["id"] in member_of.get(user["id"], ()) or (group["id"], user["id"]) in (
                self._log.memberships_removed if self._log else ()
            ):
                continue
            self.add_member(group["id"], user["id"])
            touched.update((group["id"], user["id"]))
        return touched

    def _churn_kind(self, rng: random.Random, kind: str, fraction: float, keep: set[str]) -> None:
        objects = self.objects(kind)
        total = max(1, round(fraction * len(objects))) if fraction > 0 and objects else 0
        n_update = max(1, total // 2) if total else 0
        n_create = max(1, round(total * 0.15)) if total else 0
        n_soft = max(1, round(total * 0.15)) if total else 0
        n_hard = max(1, round(total * 0.10)) if total else 0
        pool = sorted(self.deleted[kind])
        n_restore = min(len(pool), max(1, round(total * 0.10))) if total else 0
        # restores and a purge of earlier soft deletes first, so today's deletes stay deleted
        chosen = rng.sample(pool, n_restore + (1 if len(pool) > n_restore else 0)) if pool else []
        for oid in chosen[:n_restore]:
            self.restore(kind, oid)
        if len(chosen) > n_restore:
            self.hard_delete(kind, chosen[-1])
        protected = set(keep) | set(chosen)
        candidates = [
            o
            for o in (rng.sample(objects, min(len(objects), (n_update + n_soft + n_hard) * 2 + 8)))
            if o["id"] not in protected and o.get("appId") != GRAPH_APP_ID
        ]
        updates = candidates[:n_update]
        rest = candidates[n_update:]
        soft = [o for o in rest if self.restorable(kind, o)][:n_soft]
        soft_ids = {o["id"] for o in soft}
        hard = [o for o in rest if o["id"] not in soft_ids][:n_hard]
        for obj in updates:
            self.update(kind, obj["id"], **self._new_values(kind, obj, rng))
        if soft:
            self.soft_delete_many(kind, [o["id"] for o in soft])
        if hard:
            self.hard_delete_many(kind, [o["id"] for o in hard])
        for _ in range(n_create):
            self.create(kind)

    def _new_values(self, kind: str, obj: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        v = self.version + 1
        if kind == "users":
            dept, titles = DEPARTMENTS[int(rng.random() * len(DEPARTMENTS))]
            out: dict[str, Any] = {"jobTitle": titles[int(rng.random() * len(titles))]}
            if obj.get("userType") == "Member":
                out["department"] = dept
            if rng.random() < 0.3:
                out["displayName"] = f"{obj['displayName']} ({v})"
            return out
        if kind == "groups":
            return {"description": f"{obj['displayName']} (revised {v})"}
        if kind == "devices":
            return {
                "displayName": f"{obj['displayName'].split('~')[0]}~{v}",
                "accountEnabled": rng.random() > 0.1,
            }
        return {"displayName": f"{obj['displayName'].split(' ~')[0]} ~{v}"}

    # -- helpers -----------------------------------------------------------------------------------

    def restorable(self, kind: str, obj: dict[str, Any]) -> bool:
        """Whether Graph soft-deletes this object (graph.md 2: users, M365 groups, apps, SPs)."""
        if kind == "groups":
            return "Unified" in (obj.get("groupTypes") or ())
        return kind in ("users", "applications", "servicePrincipals")

    def _live(self, kind: str, object_id: str) -> dict[str, Any]:
        obj = self.get(check_kind(kind), object_id)
        if obj is None:
            raise KeyError(f"no live {KINDS[kind][0]} {object_id}")
        return obj

    @staticmethod
    def _assigned(group: dict[str, Any]) -> None:
        if "DynamicMembership" in (group.get("groupTypes") or ()):
            raise ValueError(
                "Insufficient privileges to complete the operation.: members of a dynamic group "
                "are managed by its membership rule"
            )

    def _template(self, kind: str) -> dict[str, Any]:
        objects = self.objects(kind) or list(self.deleted[kind].values())
        if not objects:
            raise ValueError(f"no {kind} left to take the shape of a new object from")
        return objects[0]

    def _complete(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        template = self._template(kind)
        unknown = [k for k in obj if k not in template]
        if unknown:
            raise ValueError(f"not a modelled {KINDS[kind][0]} property: {', '.join(unknown)}")
        out: dict[str, Any] = {
            k: ([] if isinstance(v, list) else None) for k, v in template.items()
        }
        out.update(copy.deepcopy(obj))
        if not out.get("id"):
            from random import Random

            out["id"] = new_guid(Random(f"{self.tenant.seed}:create:{self.version}"))
        if "securityIdentifier" in out and out["securityIdentifier"] is None:
            out["securityIdentifier"] = cloud_sid(out["id"])
        return out

    def _generate(self, kind: str, version: int) -> dict[str, Any]:
        """A realistic new object shaped like the existing ones (every modelled key)."""
        from random import Random

        t = self.tenant
        rng = Random(f"{t.seed}:create:{kind}:{version}")
        objects = self.objects(kind)
        when = t.iso(-version * 60)
        oid = new_guid(rng)
        n = version
        if kind == "users":
            cloud = [u for u in objects[:200] if u["userType"] == "Member"] or objects[:1]
            if not cloud:
                cloud = [self._template(kind)]
            base = copy.deepcopy(cloud[int(rng.random() * len(cloud))])
            given, sur = rng.choice(GIVEN), rng.choice(SUR)
            dept, titles = rng.choice(DEPARTMENTS)
            nick = f"{given}.{sur}.{n}".lower()
            upn = f"{nick}@{t.default_domain}"
            base.update(
                id=oid, displayName=f"{given} {sur}", givenName=given, surname=sur,
                userPrincipalName=upn, mail=upn, mailNickname=nick, department=dept,
                jobTitle=rng.choice(titles), createdDateTime=when, userType="Member",
                accountEnabled=True, creationType=None, externalUserState=None,
                externalUserStateChangeDateTime=None, employeeId=f"{900000 + n}",
                proxyAddresses=[f"SMTP:{upn}"], imAddresses=[upn], otherMails=[],
                identities=[{"signInType": "userPrincipalName", "issuer": t.initial_domain,
                             "issuerAssignedId": upn}],
                securityIdentifier=cloud_sid(oid), lastPasswordChangeDateTime=when,
                signInSessionsValidFromDateTime=when, assignedLicenses=[], assignedPlans=[],
                licenseAssignmentStates=[],
                deletedDateTime=None,
            )  # fmt: skip
            for key in list(base):
                if key.startswith("onPremises"):
                    base[key] = None
            if "signInActivity" in base:
                base["signInActivity"] = None
            return base
        if kind == "groups":
            unified = version % 2 == 0
            pick = [
                g for g in objects[:400]
                if ("Unified" in g["groupTypes"]) == unified and "DynamicMembership" not in g["groupTypes"]
            ] or [self._template(kind)]  # fmt: skip
            base = copy.deepcopy(pick[0])
            name = f"{'Project' if unified else 'SG'} {rng.choice(GIVEN)} new {n}"
            nick = "".join(ch for ch in name if ch.isalnum())
            mail = f"{nick.lower()}@{t.default_domain}" if base.get("mailEnabled") else None
            base.update(
                id=oid, displayName=name, description=f"{name} (created)", createdDateTime=when,
                renewedDateTime=when, mailNickname=nick, mail=mail, securityIdentifier=cloud_sid(oid),
                proxyAddresses=[f"SMTP:{mail}"] if mail else [], deletedDateTime=None,
                membershipRule=None, membershipRuleProcessingState=None,
            )  # fmt: skip
            for key in list(base):
                if key.startswith("onPremises"):
                    base[key] = None
            return base
        base = copy.deepcopy(self._template(kind))
        base.update(id=oid, deletedDateTime=None)
        if kind == "devices":
            base.update(
                deviceId=new_guid(rng), displayName=f"DESKTOP-N{n:05d}", registrationDateTime=when,
                approximateLastSignInDateTime=when, securityIdentifier=cloud_sid(oid),
                physicalIds=[f"[USER-GID]:{new_guid(rng)}:{rng.getrandbits(40)}"],
            )  # fmt: skip
        elif kind == "applications":
            app_id = new_guid(rng)
            base.update(
                appId=app_id, displayName=f"Contoso App new {n}", createdDateTime=when,
                identifierUris=[f"api://{app_id}"], passwordCredentials=[], keyCredentials=[],
            )  # fmt: skip
        elif kind == "servicePrincipals":
            app_id = new_guid(rng)
            name = f"Contoso Service new {n}"
            base.update(
                appId=app_id, displayName=name, appDisplayName=name, appRoles=[],
                servicePrincipalNames=[app_id], appOwnerOrganizationId=t.tenant_id,
                signInAudience="AzureADMyOrg",
            )  # fmt: skip
            if "createdDateTime" in base:
                base["createdDateTime"] = when
        return base


def build(tenant: Tenant) -> None:
    """Attach the (empty) change tracking state: version 0, nothing changed yet."""
    tenant.changes = Changes(tenant)
