"""OData query options and paging for directory collections, written once (graph.md 5).

- ``$select``: validated against Microsoft's v1.0 metadata of the sandbox's cloud (graph.md 10,
  ``metadata.py``): an unknown property is 400 ``BadRequest`` "Parsing OData Select and Expand failed:
  Could not find a property named 'x' on type 'microsoft.graph.user'."; case-insensitive; selected
  properties are returned even when null; without it a type's default projection (users: the 11 default
  properties; graph.md 1 "Default projection is only 11 props"). Objects carry only properties the
  cloud's metadata defines (graph.md 10: e.g. no ``group.organizationId`` in usgov/china).
- ``$top``: 1..max (999, or 500 for users with ``signInActivity``), else 400 ``Invalid page size``.
- paging: default page 100, ``@odata.nextLink`` is absolute, keeps the original query and adds an opaque
  ``$skiptoken``; pages may be empty (``empty_pages`` inserts one between real pages); headers are not
  carried into nextLinks, so ``ConsistencyLevel`` must be resent.
- advanced queries (``ConsistencyLevel: eventual`` + ``$count=true``) are required for ``endswith``,
  ``ne``, ``not``, ``$search``, ``$filter`` with ``$orderby`` and ``$orderby`` on most properties;
  ``$count=true`` without the header is silently ignored; ``@odata.count`` only on the first page.
- ``$skip`` is unsupported on directory collections.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import msgspec

from .. import metadata
from ..server import GraphError, Request, Response, bad_request

if TYPE_CHECKING:
    from ..server import Server

_encode = msgspec.json.encode
KNOWN_OPTIONS = {
    "$select", "$top", "$filter", "$count", "$orderby", "$search", "$skiptoken", "$expand", "$skip", "$format",
}  # fmt: skip


#: Collection-valued properties (per the v1.0 resource docs) the model may not generate: Graph answers
#: an unset collection with ``[]``, not ``null``. Any other unmodelled property is selected as ``null``.
COLLECTION_PROPERTIES = frozenset(
    {
        "addIns", "addresses", "alternativeNames", "alternativeSecurityIds", "appRoles",
        "assignedLabels", "assignedLicenses", "assignedPlans", "businessPhones", "creationOptions",
        "deviceActionResults", "identities", "imAddresses", "infoCatalogs", "interests",
        "keyCredentials", "licenseAssignmentStates", "managerApplications",
        "notificationEmailAddresses", "oauth2PermissionScopes", "onPremisesProvisioningErrors",
        "otherMails", "passwordCredentials", "pastProjects", "phones", "physicalIds",
        "provisionedPlans", "proxyAddresses", "replyUrls", "resourceSpecificApplicationPermissions",
        "responsibilities", "schools", "serviceProvisioningErrors", "skills", "systemLabels",
    }
)  # fmt: skip


@dataclass
class EntityType:
    """Properties of one Graph type as the sandbox serves it (see :func:`graph_type`)."""

    name: str  # e.g. "user"
    stored: tuple[str, ...]  # model properties the cloud's metadata defines
    extras: dict[str, Any] = field(
        default_factory=dict
    )  # valid properties the model does not generate: their value when selected
    default: tuple[str, ...] | None = (
        None  # projection without $select (None: every stored property)
    )
    list_unsupported: frozenset[str] = frozenset()  # only on GET by id: 501 on lists (graph.md 1)
    exact: bool = True  # the model's objects hold exactly ``stored`` (identity projection)
    by_lower: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_lower = {p.lower(): p for p in (*self.stored, *self.extras, *self.list_unsupported)}

    @property
    def qualified(self) -> str:
        """``microsoft.graph.<name>``."""
        return f"microsoft.graph.{self.name}"

    def has(self, prop: str) -> bool:
        """Whether ``prop`` exists on this type."""
        return prop.lower() in self.by_lower


def model_keys(items: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The keys of a collection's model objects (an empty tenant collection has just ``id``)."""
    return tuple(items[0]) if items else ("id",)


def graph_type(
    server: Server,
    name: str,
    keys: Sequence[str],
    *,
    values: dict[str, Any] | None = None,
    default: Sequence[str] | None = None,
    list_unsupported: frozenset[str] = frozenset(),
) -> EntityType:
    """``microsoft.graph.<name>`` in the server's cloud, built once per server (graph.md 10).

    Its properties are the cloud's metadata (``metadata.properties``); ``keys`` are the model objects'
    keys: those the metadata lacks for the cloud are never served, metadata properties the model lacks
    are selected as ``values[p]`` (else ``[]`` for collections, ``null`` otherwise).
    ``list_unsupported`` properties are selectable on a GET by id only (501 on lists, graph.md 1).
    """

    def build() -> EntityType:
        props = metadata.properties(name, server.cloud)
        allowed = set(props)
        stored = tuple(k for k in keys if k in allowed)
        given = values or {}
        unsupported = frozenset(list_unsupported) & allowed
        extras = {
            p: given.get(p, [] if p in COLLECTION_PROPERTIES else None)
            for p in props
            if p not in stored
        }
        projection = None if default is None else tuple(p for p in default if p in allowed)
        return EntityType(
            name, stored, extras, projection, unsupported, exact=len(stored) == len(keys)
        )

    return entity_type(server, name, build)


def unknown_property(name: str, type_name: str) -> GraphError:
    """Graph's answer to a ``$select`` (or ``$expand``) of a property the type lacks (graph.md 10)."""
    return GraphError(
        400,
        "BadRequest",
        "Parsing OData Select and Expand failed: Could not find a property named "
        f"'{name}' on type '{type_name}'.",
    )


def select_fields(
    req: Request, etypes: Sequence[EntityType], *, listing: bool = True
) -> tuple[str, ...] | None:
    """The validated ``$select`` list (canonical spelling), or None when absent.

    With several types (directoryObject collections), a property is valid when any type has it and
    the error names ``microsoft.graph.directoryObject``.
    """
    raw = req.query.get("$select")
    if raw is None:
        return None
    fields: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        canonical = None
        for etype in etypes:
            canonical = etype.by_lower.get(name.lower())
            if canonical is not None:
                if listing and canonical in etype.list_unsupported:
                    raise GraphError(
                        501,
                        "NotImplemented",
                        f"The property '{canonical}' does not support listing; read it with a GET of one {etype.name}.",
                    )
                break
        if canonical is None:
            type_name = (
                etypes[0].qualified if len(etypes) == 1 else "microsoft.graph.directoryObject"
            )
            raise unknown_property(name, type_name)
        if canonical not in fields:
            fields.append(canonical)
    return tuple(fields)


def projector(etype: EntityType, fields: tuple[str, ...] | None) -> Callable[[dict], dict]:
    """A function giving an object's projection: selected properties (nulls kept) or the default set."""
    if fields is None:
        if etype.default is None and etype.exact:
            return lambda obj: obj
        fields = etype.default if etype.default is not None else etype.stored
    stored = tuple(f for f in fields if f in etype.stored)
    extra = {f: etype.extras[f] for f in fields if f not in etype.stored and f in etype.extras}
    if not extra:
        return lambda obj: {f: obj[f] for f in stored}

    def project(obj: dict) -> dict:
        out = {f: obj[f] for f in stored}
        out.update(extra)
        return out

    return project


def check_options(req: Request, allowed: Sequence[str]) -> None:
    """Reject OData options a collection does not take (graph.md 1/5)."""
    for key in req.query:
        if not key.startswith("$"):
            continue
        lowered = key.lower()
        if lowered not in KNOWN_OPTIONS:
            raise bad_request(f"Unrecognized query argument specified: '{key}'.")
        if lowered == "$skip" and "$skip" not in allowed:
            raise bad_request("'$skip' is not supported by the service.")
        if lowered == "$expand" and "$expand" not in allowed:
            raise GraphError(
                501, "NotImplemented", "The sandbox does not model $expand on this resource."
            )
        if lowered not in allowed:
            option = lowered[1:].capitalize()
            raise bad_request(
                f"The query specified in the URI is not valid. Query option '{option}' is not allowed. "
                "To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or "
                "QueryValidationSettings.",
                "BadRequest",
            )


def parse_top(req: Request, max_top: int) -> int | None:
    """``$top`` as an int in 1..max_top, else Graph's 400."""
    raw = req.query.get("$top")
    if raw is None:
        return None
    try:
        top = int(raw)
    except ValueError:
        raise bad_request(
            f"Invalid page size specified: '{raw}'. Must be between 1 and {max_top} inclusive."
        ) from None
    if not 1 <= top <= max_top:
        raise bad_request(
            f"Invalid page size specified: '{raw}'. Must be between 1 and {max_top} inclusive."
        )
    return top


def is_advanced(req: Request) -> bool:
    """``ConsistencyLevel: eventual`` present (graph.md 5)."""
    return (req.headers.get("ConsistencyLevel") or "").strip().lower() == "eventual"


# -- $filter ---------------------------------------------------------------------------------------

_CLAUSE = re.compile(
    r"""^(?:
      (?P<fn>startswith|endswith)\(\s*(?P<fprop>[A-Za-z][\w]*)\s*,\s*'(?P<fval>(?:[^']|'')*)'\s*\)
    | (?P<prop>[A-Za-z][\w]*)\s+(?P<op>eq|ne|ge|le|gt|lt)\s+(?P<val>'(?:[^']|'')*'|true|false|null|-?[\w:.\-]+)
    | (?P<aprop>[A-Za-z][\w]*)/any\(\s*(?P<var>\w+)\s*:\s*(?P=var)\s+eq\s+'(?P<aval>(?:[^']|'')*)'\s*\)
    )$""",
    re.X | re.I,
)


def _split(expr: str, word: str) -> list[str]:
    """Split on `` and ``/`` or `` outside quotes and parentheses."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    token = f" {word} "
    lowered = expr.lower()
    while i < len(expr):
        ch = expr[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and lowered.startswith(token, i):
            parts.append(expr[start:i])
            i += len(token)
            start = i
            continue
        i += 1
    parts.append(expr[start:])
    return [p.strip() for p in parts]


def _strip_parens(expr: str) -> str:
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, ch in enumerate(expr):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr
        expr = expr[1:-1].strip()
    return expr


def _literal(raw: str) -> Any:
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    low = raw.lower()
    if low in {"true", "false"}:
        return low == "true"
    if low == "null":
        return None
    try:
        return int(raw)
    except ValueError:
        return raw  # date-times compare as ISO strings


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def compile_filter(expr: str, etype: EntityType) -> tuple[Callable[[dict], bool], bool]:
    """``(predicate, needs_advanced_query)`` for the subset of ``$filter`` the sandbox models.

    String comparisons are case-insensitive as in the directory; ``endswith`` and ``ne`` need an
    advanced query (graph.md 5).
    """
    advanced = False

    def build(node: str) -> Callable[[dict], bool]:
        nonlocal advanced
        node = _strip_parens(node)
        ors = _split(node, "or")
        if len(ors) > 1:
            preds = [build(p) for p in ors]
            return lambda o: any(p(o) for p in preds)
        ands = _split(node, "and")
        if len(ands) > 1:
            preds = [build(p) for p in ands]
            return lambda o: all(p(o) for p in preds)
        if node.lower().startswith("not(") or node.lower().startswith("not "):
            advanced = True
            inner = build(node[3:])
            return lambda o: not inner(o)
        m = _CLAUSE.match(node)
        if m is None:
            raise bad_request(f"Invalid filter clause: '{node}'.", "BadRequest")
        prop = m.group("fprop") or m.group("prop") or m.group("aprop")
        canonical = etype.by_lower.get(prop.lower())
        if canonical is None:
            raise bad_request(
                f"Could not find a property named '{prop}' on type '{etype.qualified}'."
            )
        default = etype.extras.get(canonical)
        if m.group("fn"):
            fn = m.group("fn").lower()
            value = _literal(f"'{m.group('fval')}'").lower()
            if fn == "endswith":
                advanced = True
                return lambda o: (o.get(canonical, default) or "").lower().endswith(value)
            return lambda o: (o.get(canonical, default) or "").lower().startswith(value)
        if m.group("aprop"):
            value = _literal(f"'{m.group('aval')}'").lower()
            return lambda o: value in [_norm(v) for v in (o.get(canonical, default) or [])]
        op = m.group("op").lower()
        value = _norm(_literal(m.group("val")))
        if op == "ne":
            advanced = True
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "eq": lambda a, b: a == b,
            "ne": lambda a, b: a != b,
            "ge": lambda a, b: a is not None and b is not None and a >= b,
            "le": lambda a, b: a is not None and b is not None and a <= b,
            "gt": lambda a, b: a is not None and b is not None and a > b,
            "lt": lambda a, b: a is not None and b is not None and a < b,
        }
        compare = ops[op]
        return lambda o: compare(_norm(o.get(canonical, default)), value)

    predicate = build(expr)
    return predicate, advanced


def compile_search(expr: str, etype: EntityType) -> Callable[[dict], bool]:
    """``$search="prop:term"`` (OR/AND of clauses): a word of the property starts with the term."""
    expr = expr.strip()

    def clause(text: str) -> Callable[[dict], bool]:
        text = _strip_parens(text).strip().strip('"')
        prop, sep, term = text.partition(":")
        canonical = etype.by_lower.get(prop.strip().lower()) if sep else None
        if canonical is None:
            raise bad_request(f"Invalid $search clause: '{text}'.", "Request_UnsupportedQuery")
        term = term.strip().lower()
        splitter = re.compile(r"[^\w]+")
        return lambda o: any(
            w.startswith(term) for w in splitter.split((o.get(canonical) or "").lower())
        )

    ors = _split(expr, "OR")
    if len(ors) > 1:
        preds = [clause(p) for p in ors]
        return lambda o: any(p(o) for p in preds)
    ands = _split(expr, "AND")
    preds = [clause(p) for p in ands]
    return lambda o: all(p(o) for p in preds)


# -- paging ----------------------------------------------------------------------------------------


def _query_key(path: str, query: dict[str, str]) -> int:
    items = sorted((k, v) for k, v in query.items() if k.lower() != "$skiptoken")
    return zlib.crc32(repr((path, items)).encode())


def encode_skiptoken(path: str, query: dict[str, str], offset: int, empty: bool) -> str:
    """Opaque token: offset, empty-page flag and a hash of the query it belongs to."""
    raw = f"SBX1:{offset}:{int(empty)}:{_query_key(path, query):08x}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str, path: str, query: dict[str, str]) -> tuple[int, bool]:
    """``(offset, empty_page)``; a token from another query (or garbage) is rejected like Graph's."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        magic, offset, empty, key = raw.split(":")
        if magic != "SBX1" or int(key, 16) != _query_key(path, query):
            raise ValueError(raw)
        return int(offset), empty == "1"
    except (ValueError, UnicodeDecodeError):
        raise GraphError(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ) from None


def next_link(server: Server, req: Request, offset: int, empty: bool) -> str:
    """Absolute nextLink carrying the original query plus a new ``$skiptoken`` (graph.md 5)."""
    params = [(k, v) for k, v in req.query.items() if k.lower() != "$skiptoken"]
    params.append(("$skiptoken", encode_skiptoken(req.path, req.query, offset, empty)))
    query = urlencode(params, safe="$,()'@:/", quote_via=quote)
    return f"{server.base_url}{req.path}?{query}"


def context_url(server: Server, fragment: str, fields: tuple[str, ...] | None) -> str:
    """``@odata.context``: ``…/v1.0/$metadata#users(id,displayName)``."""
    selected = f"({','.join(fields)})" if fields else ""
    return f"{server.base_url}/v1.0/$metadata#{fragment}{selected}"


def _filtered(
    server: Server, req: Request, items: Sequence[dict], etype: EntityType
) -> Sequence[dict]:
    """Apply $filter/$search/$orderby, caching the result per query for the following pages."""
    q = req.query
    expr, search, orderby = q.get("$filter"), q.get("$search"), q.get("$orderby")
    if expr is None and search is None and orderby is None:
        return items
    advanced = is_advanced(req)
    counted = q.get("$count", "").lower() == "true"
    needs = False
    predicates = []
    if expr is not None:
        predicate, needs = compile_filter(expr, etype)
        predicates.append(predicate)
        if needs and not advanced:
            op = (
                "endsWith"
                if "endswith" in expr.lower()
                else "ne"
                if " ne " in expr.lower()
                else "not"
            )
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Operator '{op}' is not supported because the 'ConsistencyLevel:eventual' header is "
                "missing. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
            )
    if search is not None:
        if not advanced:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works through MSGraph with a special request "
                "header: 'ConsistencyLevel: eventual'",
            )
        needs = True
        predicates.append(compile_search(search, etype))
    sort_key = None
    reverse = False
    if orderby is not None:
        prop, _, direction = orderby.strip().partition(" ")
        canonical = etype.by_lower.get(prop.lower())
        if canonical is None:
            raise bad_request(
                f"Could not find a property named '{prop}' on type '{etype.qualified}'."
            )
        reverse = direction.strip().lower() == "desc"
        simple = (
            canonical in {"displayName", "userPrincipalName"} and expr is None and search is None
        )
        if not simple and not advanced:
            raise GraphError(
                400, "Request_UnsupportedQuery", "Sorting not supported for current query."
            )
        needs = needs or not simple
        sort_key = canonical
    if needs and not counted:
        # advanced queries need $count=true as well as the header (graph.md 5)
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            "The query is not supported because the required parameters might be missing. Try adding "
            "$count with a value of true and the ConsistencyLevel header with a value of eventual.",
        )
    cache = server.cache.setdefault("odata.filtered", {})
    key = (req.path, expr, search, orderby)
    found = cache.get(key)
    if found is not None and found[0] is items:
        return found[1]
    result = [o for o in items if all(p(o) for p in predicates)] if predicates else list(items)
    if sort_key is not None:
        result.sort(
            key=lambda o: (o.get(sort_key) is None, _norm(o.get(sort_key) or "")), reverse=reverse
        )
    if len(cache) > 16:
        cache.clear()
    cache[key] = (items, result)
    return result


def collection(
    server: Server,
    req: Request,
    items: Sequence[dict],
    etype: EntityType,
    *,
    fragment: str,
    allowed: Sequence[str] = (
        "$select",
        "$top",
        "$filter",
        "$count",
        "$orderby",
        "$search",
        "$skiptoken",
    ),
    max_top: int = 999,
    default_top: int = 100,
    project: Callable[[dict], dict] | None = None,
    fields: tuple[str, ...] | None = None,
    select_types: Sequence[EntityType] | None = None,
) -> Response:
    """One page of a directory collection with Graph's paging and query rules (graph.md 5)."""
    check_options(req, allowed)
    if fields is None:
        fields = select_fields(req, select_types or [etype])
    top = parse_top(req, max_top)
    items = _filtered(server, req, items, etype)
    page_size = top or default_top
    offset, empty = 0, False
    token = req.query.get("$skiptoken")
    if token is not None:
        offset, empty = decode_skiptoken(token, req.path, req.query)
    body: dict[str, Any] = {"@odata.context": context_url(server, fragment, fields)}
    if token is None and is_advanced(req) and req.query.get("$count", "").lower() == "true":
        body["@odata.count"] = len(items)
    if empty:
        body["@odata.nextLink"] = next_link(server, req, offset, False)
        body["value"] = []
        return Response(200, _encode(body))
    end = offset + page_size
    if end < len(items):
        body["@odata.nextLink"] = next_link(server, req, end, server.empty_pages)
    if project is None:
        project = projector(etype, fields)
    body["value"] = [project(o) for o in items[offset:end]]
    return Response(200, _encode(body))


def single(
    server: Server, req: Request, obj: dict | None, etype: EntityType, *, fragment: str, key: str
) -> Response:
    """GET of one entity: ``$select`` only; 404 in Graph's words when missing."""
    check_options(req, ("$select",))
    if obj is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
        )
    fields = select_fields(req, [etype], listing=False)
    body = {"@odata.context": context_url(server, f"{fragment}/$entity", fields)}
    body.update(projector(etype, fields)(obj))
    return Response(200, _encode(body))


def entity_type(server: Server, key: str, factory: Callable[[], EntityType]) -> EntityType:
    """An :class:`EntityType` built once per server (types derive from the tenant's data)."""
    cache = server.cache.setdefault("odata.types", {})
    etype = cache.get(key)
    if etype is None:
        etype = cache[key] = factory()
    return etype
