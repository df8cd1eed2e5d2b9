"""Delta query: ``GET /v1.0/{users|groups|devices|applications|servicePrincipals}/delta`` (graph.md 2).

Sources: concepts/delta-query-overview.md, delta-query-groups.md, api-reference/v1.0/api/user-delta.md,
group-delta.md (graph.md 2), concepts/errors.md (``resyncRequired``).

- A round: follow ``@odata.nextLink`` (absolute, carries ``$skiptoken``) until a page carries
  ``@odata.deltaLink`` (``$deltatoken``). Tokens are opaque and encode the original query (``$select``,
  ``$filter``, ``$expand``): a request carrying a token and a query option again is 400 (graph.md 2:
  "``$select`` + ``$skipToken`` together unsupported"). Pages may be empty and still carry a nextLink
  (``empty_pages`` inserts one between real pages, as on list endpoints).
- Page size is the server's: 200 objects (Microsoft Q&A "200 for objects such as users", UNVERIFIED) and
  at most 500 directory links (``members@delta`` entries) per page; a ``Prefer: odata.maxpagesize=N``
  request header below 200 is honoured (``Preference-Applied`` echoes it). Headers are not carried into
  nextLinks (graph.md 5): each request's own header sizes its page.
- Query options: ``$select`` (validated like list endpoints), ``$filter`` only ``id eq '…'`` joined by
  ``or`` (≤ 50 ids), ``$deltatoken=latest`` (only a deltaLink, no data), ``$expand=members`` on groups.
  ``$top``, ``$orderby``, other ``$expand``, ``$count``, ``$search`` → 400 ``Request_UnsupportedQuery``.
- Objects: created/changed ones with all selected properties (default projection without ``$select``)
  and always ``id``; removed ones ``{"id", "@removed": {"reason": "changed"}}`` when soft-deleted,
  ``"deleted"`` when permanent (devices, non-Microsoft 365 groups, purged objects).
  ``Prefer: return=minimal`` is not modelled (full objects, Graph's default).
- Groups: ``members@delta`` when ``members`` is in ``$select``, with ``$expand=members`` or without
  ``$select`` ("included in group objects by default, when the ``$select`` query parameter has not been
  specified", delta-query-groups.md). First round: every current member as ``{"@odata.type", "id"}``
  (no property for an empty group); later rounds: added members, removed ones with ``"@removed":
  {"reason": "deleted"}``; a group with only membership changes comes with its selected properties too.
  A group's links are split over pages (≤ 500 per page), the group object repeated on each.
- Replays (``delta_replays=True``): a few objects of a round are sent again on a later page (graph.md 2:
  "the same object can appear multiple times").
- Expiry: tokens (skip and delta) live ``delta_token_lifetime`` seconds (7 days for directory objects,
  graph.md 2); an expired one answers 400 ``syncStateNotFound``. ``Sandbox.expire_delta_tokens(mode)``
  makes every token issued so far answer 400 ``syncStateNotFound`` or 410 ``resyncRequired`` with
  ``Location`` = the delta URL with an empty ``$deltatoken`` plus the original query, which starts a
  full round.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import msgspec

from ..model.changes import KINDS
from ..server import GraphError, Request, Response, RouteTable, json_response
from .apps import APP_READ
from .devices import DEVICE_READ
from .directory import GROUP_READ, USER_READ, group_type, user_type
from .odata import EntityType, context_url, graph_type, projector, select_fields

if TYPE_CHECKING:
    from ..server import Server

_encode = msgspec.json.encode
PAGE_SIZE = 200
LINK_PAGE_SIZE = 500
MAX_FILTER_IDS = 50
TOKEN_LIFETIME = 7 * 86400.0
SYNC_STATE_NOT_FOUND = (
    "The sync state generation is not found. The delta token is expired and data must be "
    "synchronized again."
)
RESYNC_REQUIRED = "The delta token is no longer valid, and the app must reset the sync state."
PERMISSIONS = {
    "users": USER_READ,
    "groups": GROUP_READ,
    "devices": DEVICE_READ,
    "applications": APP_READ,
    "servicePrincipals": APP_READ,
}
_ROUNDS_KEPT = 32
_FILTER_CLAUSE = re.compile(r"^\s*id\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)
_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


def entity(server: Server, kind: str) -> EntityType:
    """The Graph type a delta collection serves, in the server's cloud (graph.md 10)."""
    if kind == "users":
        return user_type(server)
    if kind == "groups":
        return group_type(server)
    objects = server.tenant.changes.objects(kind)
    keys = tuple(objects[0]) if objects else ("id",)
    return graph_type(server, KINDS[kind][0], keys)


# -- tokens ----------------------------------------------------------------------------------------


@dataclass
class Query:
    """The query a token encodes: the original ``$select``, ``$filter``, ``$expand`` strings."""

    select: str | None = None
    filter: str | None = None
    expand: str | None = None

    def params(self) -> list[tuple[str, str]]:
        """The options as URL parameters (for ``Location``)."""
        out = []
        for key, value in (
            ("$select", self.select),
            ("$filter", self.filter),
            ("$expand", self.expand),
        ):
            if value is not None:
                out.append((key, value))
        return out


@dataclass
class Cursor:
    """What a token carries: collection, query, the round's bounds and position, its serial."""

    kind: str
    query: Query
    since: int | None  # None: a full (initial) round
    until: int  # version at the start of the round = the deltaLink's version
    serial: int = 0
    index: int = 0
    member_offset: int = 0
    empty: bool = False


def _pack(prefix: str, cursor: Cursor, tenant_id: str = "") -> str:
    """An opaque token for ``cursor``; its checksum covers ``tenant_id``, so it is bound to the tenant.

    Several tenants share one sandbox host: a delta or skip token of one tenant is not valid in another
    (Graph's state tokens belong to the tenant's sync state, graph.md 2).
    """
    q = cursor.query
    fields = [
        cursor.kind, q.select, q.filter, q.expand, cursor.since, cursor.until, cursor.serial,
        cursor.index, cursor.member_offset, int(cursor.empty),
    ]  # fmt: skip
    payload = _encode([prefix, *fields])
    check = zlib.crc32(tenant_id.encode() + payload).to_bytes(4, "big")
    return base64.urlsafe_b64encode(check + payload).decode().rstrip("=")


def _unpack(prefix: str, token: str, kind: str, tenant_id: str = "") -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        check, payload = raw[:4], raw[4:]
        if zlib.crc32(tenant_id.encode() + payload).to_bytes(4, "big") != check:
            raise ValueError("checksum")
        got = msgspec.json.decode(payload)
        if not isinstance(got, list) or len(got) != 11 or got[0] != prefix or got[1] != kind:
            raise ValueError("shape")
        _, k, select, filt, expand, since, until, serial, index, moff, empty = got
        return Cursor(
            k, Query(select, filt, expand), since, until, serial, index, moff, bool(empty)
        )
    except (ValueError, TypeError, msgspec.DecodeError):
        if prefix == "skip":
            raise GraphError(
                400,
                "Directory_ExpiredPageToken",
                "The specified page token value has expired and can no longer be included in your request.",
            ) from None
        raise GraphError(
            400, "BadRequest", "The delta token is not valid for this collection (sandbox wording)."
        ) from None


class TokenClock:
    """Serials of issued tokens, their issue times and the expiries set by ``expire_delta_tokens``."""

    def __init__(self) -> None:
        self.serial = 0
        self.issued_at: dict[int, float] = {}
        self.expiries: list[tuple[int, str]] = []  # (tokens with serial below, mode)
        self._lock = threading.Lock()

    def issue(self) -> int:
        """A new serial, stamped now (monotonic clock)."""
        with self._lock:
            self.serial += 1
            self.issued_at[self.serial] = time.monotonic()
            return self.serial

    def expire_all(self, mode: str) -> None:
        """Every token issued so far answers ``mode``."""
        if mode not in ("syncStateNotFound", "resyncRequired"):
            raise ValueError("mode must be 'syncStateNotFound' or 'resyncRequired'")
        self.expiries.append((self.serial + 1, mode))

    def check(self, server: Server, req: Request, cursor: Cursor) -> None:
        """400 ``syncStateNotFound`` / 410 ``resyncRequired`` for an expired token."""
        mode = next((m for cutoff, m in self.expiries if cursor.serial < cutoff), None)
        issued = self.issued_at.get(cursor.serial)
        lifetime = server.delta_token_lifetime
        if mode is None and issued is not None and time.monotonic() - issued > lifetime:
            mode = "syncStateNotFound"
        if mode is None:
            return
        if mode == "syncStateNotFound":
            raise GraphError(400, "syncStateNotFound", SYNC_STATE_NOT_FOUND)
        params = [("$deltatoken", ""), *cursor.query.params()]
        location = f"{server.base_url}{req.path}?{_urlencode(params)}"
        raise GraphError(410, "resyncRequired", RESYNC_REQUIRED, headers={"Location": location})


def clock(server: Server) -> TokenClock:
    """The server's token clock."""
    found = server.cache.get("delta.clock")
    if found is None:
        found = server.cache["delta.clock"] = TokenClock()
    return found


def _urlencode(params: list[tuple[str, str]]) -> str:
    return urlencode(params, safe="$,()'@:/", quote_via=quote)


# -- rounds ----------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One object of a round: the live object (or None when removed) and its member links."""

    id: str
    obj: dict[str, Any] | None
    reason: str | None = None
    links: list[dict[str, Any]] | None = None


@dataclass
class Round:
    """A materialized round: its entries in order; replays start at ``replay_start``."""

    entries: list[Entry]
    replay_start: int


def _filter_ids(raw: str | None) -> set[str] | None:
    if raw is None:
        return None
    ids = set()
    for part in re.split(r"\s+or\s+", raw.strip(), flags=re.IGNORECASE):
        m = _FILTER_CLAUSE.match(part)
        if m is None:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Unsupported filter for delta query: only id eq '<id>' clauses joined by 'or' are "
                "supported (sandbox wording).",
            )
        ids.add(m.group(1))
    if len(ids) > MAX_FILTER_IDS:
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            f"Too many ids in the delta filter: at most {MAX_FILTER_IDS} (sandbox wording).",
        )
    return ids


def _with_members(kind: str, query: Query) -> bool:
    """Whether groups carry ``members@delta`` (delta-query-groups.md)."""
    if kind != "groups":
        return False
    if query.expand is not None:
        return True
    if query.select is None:
        return True
    return any(p.strip().lower() == "members" for p in query.select.split(","))


def _materialize(server: Server, cursor: Cursor) -> Round:
    """The round's entries: all live objects (first round) or what changed in (since, until]."""
    changes = server.tenant.changes
    kind = cursor.kind
    members = _with_members(kind, cursor.query)
    ids = _filter_ids(cursor.query.filter)
    memberships = server.tenant.memberships
    entries: list[Entry] = []
    with changes.lock:
        if cursor.since is None:
            for obj in changes.objects(kind):
                if ids is not None and obj["id"] not in ids:
                    continue
                links = list(memberships.get(obj["id"], ())) if members else None
                entries.append(Entry(obj["id"], obj, None, links))
        else:
            live = changes.index(kind)
            seen: dict[str, Entry] = {}
            for oid, state in changes.changes_since(kind, cursor.since, cursor.until):
                if ids is not None and oid not in ids:
                    continue
                found = live.get(oid) if state == "live" else None
                if state == "live" and found is None:
                    continue
                reason = None if state == "live" else ("changed" if state == "soft" else "deleted")
                entry = Entry(oid, found, reason)
                entries.append(entry)
                seen[oid] = entry
            if members:
                refs = server.tenant.ref
                for gid, diffs in changes.members_since(cursor.since, cursor.until).items():
                    if ids is not None and gid not in ids:
                        continue
                    group = live.get(gid)
                    if group is None:
                        continue
                    links = [
                        refs(mid) if present else _removed_link(server, mid)
                        for mid, present in diffs
                    ]
                    known = seen.get(gid)
                    if known is None:
                        known = seen[gid] = Entry(gid, group)
                        entries.append(known)
                    if known.obj is not None:
                        known.links = links
    replay_start = len(entries)
    if server.delta_replays and entries:
        count = min(10, max(1, len(entries) // 50))
        step = max(1, len(entries) // count)
        entries = entries + [entries[i] for i in range(0, len(entries), step)][:count]
    return Round(entries, replay_start)


def _removed_link(server: Server, member_id: str) -> dict[str, Any]:
    found = server.tenant.objects.get(member_id)
    kind = found[0] if found is not None else _deleted_type(server, member_id)
    return {
        "@odata.type": f"#microsoft.graph.{kind}",
        "id": member_id,
        "@removed": {"reason": "deleted"},
    }


def _deleted_type(server: Server, member_id: str) -> str:
    changes = server.tenant.changes
    for kind, (type_name, _) in KINDS.items():
        if member_id in changes.state[kind]:
            return type_name
    return "directoryObject"


def _round(server: Server, cursor: Cursor) -> Round:
    """The round a cursor belongs to, materialized once and kept (the last 32 rounds).

    A round evicted from the cache is materialized again from its bounds (the objects that changed in
    ``(since, until]`` are stable; a first round takes the objects live now).
    """
    q = cursor.query
    key = (cursor.kind, q.select, q.filter, q.expand, cursor.since, cursor.until)
    with server.tenant.changes.lock:
        rounds: OrderedDict[tuple, Round] = server.cache.setdefault("delta.rounds", OrderedDict())
        found = rounds.get(key)
        if found is None:
            found = rounds[key] = _materialize(server, cursor)
            while len(rounds) > _ROUNDS_KEPT:
                rounds.popitem(last=False)
        else:
            rounds.move_to_end(key)
        return found


# -- the route -------------------------------------------------------------------------------------


def _unsupported(option: str) -> GraphError:
    return GraphError(
        400,
        "Request_UnsupportedQuery",
        f"The query option '{option}' is not supported with delta query (sandbox wording).",
    )


def _options(kind: str, req: Request) -> dict[str, str]:
    """The request's OData options by lower-case name, refusing what delta does not take."""
    options: dict[str, str] = {}
    for key, value in req.query.items():
        if not key.startswith("$"):
            continue
        low = key.lower()
        if low == "$expand":
            if kind != "groups" or value.strip().lower() != "members":
                raise _unsupported(key)
        elif low not in ("$select", "$filter", "$deltatoken", "$skiptoken"):
            raise _unsupported(key)
        options[low] = value
    return options


def _fields(
    server: Server, req: Request, kind: str, etype: EntityType, query: Query
) -> tuple[str, ...] | None:
    """``$select`` without ``members`` (groups), validated against the type (graph.md 10)."""
    if query.select is None:
        return None
    parts = [p.strip() for p in query.select.split(",") if p.strip()]
    if kind == "users" and any(p.lower() == "manager" for p in parts):
        raise GraphError(501, "NotImplemented", "The sandbox does not model manager@delta.")
    if kind == "groups":
        parts = [p for p in parts if p.lower() != "members"]
    probe = dataclasses.replace(req, query={"$select": ",".join(parts)})
    return select_fields(probe, [etype]) or ()


def delta(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /{collection}/delta (graph.md 2)."""
    kind = m.group("kind")
    options = _options(kind, req)
    etype = entity(server, kind)
    tokens = clock(server)
    changes = server.tenant.changes
    tid = server.tenant.tenant_id
    skiptoken = options.get("$skiptoken") or None
    deltatoken = options.get("$deltatoken") or None
    query_given = any(k in options for k in ("$select", "$filter", "$expand"))
    if skiptoken is not None or (deltatoken is not None and deltatoken.lower() != "latest"):
        if query_given:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Query options cannot be combined with $skiptoken or $deltatoken: the token encodes "
                "the original query (sandbox wording).",
            )
        if skiptoken is not None:
            cursor = _unpack("skip", skiptoken, kind, tid)
        else:
            held = _unpack("delta", deltatoken or "", kind, tid)
            cursor = Cursor(kind, held.query, held.until, changes.version, held.serial)
        tokens.check(server, req, cursor)
    else:
        query = Query(options.get("$select"), options.get("$filter"), options.get("$expand"))
        _filter_ids(query.filter)
        cursor = Cursor(kind, query, None, changes.version)
    fields = _fields(server, req, kind, etype, cursor.query)
    body: dict[str, Any] = {"@odata.context": context_url(server, kind, fields)}
    if deltatoken is not None and deltatoken.lower() == "latest":
        latest = Cursor(kind, cursor.query, None, changes.version, tokens.issue())
        body["@odata.deltaLink"] = _link(server, req, "$deltatoken", _pack("delta", latest, tid))
        body["value"] = []
        return json_response(body)
    headers: dict[str, str] = {}
    page_size = PAGE_SIZE
    prefer = _MAXPAGESIZE.search(req.headers.get("Prefer") or "")
    if prefer is not None and 0 < int(prefer.group(1)) < PAGE_SIZE:
        page_size = int(prefer.group(1))
        headers["Preference-Applied"] = f"odata.maxpagesize={page_size}"
    if cursor.empty:
        follow = dataclasses.replace(cursor, empty=False, serial=tokens.issue())
        body["@odata.nextLink"] = _link(server, req, "$skiptoken", _pack("skip", follow, tid))
        body["value"] = []
        return json_response(body, headers=headers)
    rnd = _round(server, cursor)
    value, index, moff = _page(server, etype, fields, rnd, cursor, page_size)
    if index < len(rnd.entries):
        follow = Cursor(
            kind, cursor.query, cursor.since, cursor.until, tokens.issue(), index, moff,
            bool(server.empty_pages),
        )  # fmt: skip
        body["@odata.nextLink"] = _link(server, req, "$skiptoken", _pack("skip", follow, tid))
    else:
        done = Cursor(kind, cursor.query, None, cursor.until, tokens.issue())
        body["@odata.deltaLink"] = _link(server, req, "$deltatoken", _pack("delta", done, tid))
    body["value"] = value
    return json_response(body, headers=headers)


def _page(
    server: Server,
    etype: EntityType,
    fields: tuple[str, ...] | None,
    rnd: Round,
    cursor: Cursor,
    page_size: int,
) -> tuple[list[dict[str, Any]], int, int]:
    """One page from the cursor: ≤ ``page_size`` objects, ≤ 500 links; the next position."""
    project = projector(etype, fields)
    entries = rnd.entries
    index, moff = cursor.index, cursor.member_offset
    value: list[dict[str, Any]] = []
    links_left = LINK_PAGE_SIZE
    while index < len(entries) and len(value) < page_size:
        if index == rnd.replay_start and value and index > cursor.index:
            break  # replays come on a later page
        entry = entries[index]
        if entry.obj is None:
            value.append({"id": entry.id, "@removed": {"reason": entry.reason}})
            index += 1
            continue
        item = {"id": entry.id, **project(entry.obj)}
        links = entry.links
        if links:
            if links_left == 0:
                break
            chunk = links[moff : moff + links_left]
            item["members@delta"] = chunk
            links_left -= len(chunk)
            value.append(item)
            if moff + len(chunk) < len(links):
                moff += len(chunk)
                break  # the group comes again on the next page with the next chunk
            moff = 0
            index += 1
            continue
        value.append(item)
        index += 1
    return value, index, moff


def _link(server: Server, req: Request, name: str, token: str) -> str:
    return f"{server.base_url}{req.path}?{_urlencode([(name, token)])}"


# -- sandbox control (not Graph) -------------------------------------------------------------------


def invalidate(server: Server) -> None:
    """Drop list-endpoint caches after a mutation (filtered lists, the UPN index)."""
    for key in ("odata.filtered", "directory.upn"):
        server.cache.pop(key, None)


def control_churn(server: Server, req: Request, m: re.Match[str]) -> Response:
    """POST /_sandbox/churn?fraction=0.01&seed=1 → the ChangeLog as JSON (no auth; not Graph)."""
    try:
        fraction = float(req.query.get("fraction", "0.01"))
        seed = int(req.query.get("seed", "1"))
        log = server.tenant.changes.churn(fraction, seed)
    except ValueError as exc:
        raise GraphError(400, "BadRequest", str(exc)) from None
    invalidate(server)
    return json_response(log.to_json())


def control_expire(server: Server, req: Request, m: re.Match[str]) -> Response:
    """POST /_sandbox/expire-delta-tokens?mode=syncStateNotFound|resyncRequired (no auth)."""
    try:
        clock(server).expire_all(req.query.get("mode", "syncStateNotFound"))
    except ValueError as exc:
        raise GraphError(400, "BadRequest", str(exc)) from None
    return Response(204)


def register(table: RouteTable) -> None:
    """Delta routes (before ``/users/{id}`` so ``delta`` is not read as an id) and sandbox controls."""
    for kind, (type_name, _) in KINDS.items():
        table.add(
            "GET", rf"/v1\.0/(?P<kind>{kind})/delta(?:\(\))?", delta,
            permissions=PERMISSIONS[kind], entity=type_name,
        )  # fmt: skip
    table.add("POST", r"/_sandbox/churn", control_churn, kind="control")
    table.add("POST", r"/_sandbox/expire-delta-tokens", control_expire, kind="control")
