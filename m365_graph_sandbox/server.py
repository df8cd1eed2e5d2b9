"""The sandbox HTTPS server: one route table for Entra's token endpoint and Graph v1.0.

Every request gets a ``request-id`` (and echoes ``client-request-id``) and is logged; Graph errors use
``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``
(graph.md 7d). Bearer tokens are opaque to clients and checked against the registry of issued tokens,
which bakes the app's permissions in at issuance like real app-role claims (graph.md 7a); a token's
audience must be the Graph resource of the sandbox's cloud, whatever host the request named (graph.md
7b, 10). A route's Graph type missing from the cloud's metadata answers like an unknown URL segment
(graph.md 10, ``metadata.py``). Faults injected through :class:`FaultPlan` apply before authentication,
to outer and ``$batch`` inner requests alike (graph.md 5, 6); those acting on the connection (cut, reset,
slow drip) to outer requests only. HTTP/1.1 keep-alive with ``Content-Length``; TLS is negotiated per
connection in the handler thread so a slow client never blocks the accept loop.
"""

from __future__ import annotations

import base64
import contextlib
import re
import secrets
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypedDict, cast
from urllib.parse import parse_qsl, urlsplit

import msgspec

from . import metadata

if TYPE_CHECKING:
    from .model import Tenant

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_encode = msgspec.json.encode

#: Application permissions the sandbox app holds by default: everything the tap reads.
DEFAULT_PERMISSIONS = frozenset(
    {
        "User.Read.All",
        "GroupMember.Read.All",
        "Organization.Read.All",
        "LicenseAssignment.Read.All",
        "Domain.Read.All",
        "Directory.Read.All",
        "Device.Read.All",
        "Application.Read.All",
        "AuditLog.Read.All",
        "Reports.Read.All",
        "ReportSettings.Read.All",
        "DeviceManagementManagedDevices.Read.All",
        "RoleManagement.Read.Directory",
        # breadth endpoints (routes/breadth.py)
        "RoleEligibilitySchedule.Read.Directory",
        "Policy.Read.All",
        "DeviceManagementApps.Read.All",
        "SecurityEvents.Read.All",
        "IdentityRiskyUser.Read.All",
        "ServiceHealth.Read.All",
    }
)


#: ``cache_pages``: the rendered bytes a tenant's page cache may hold before its oldest entries go
PAGE_CACHE_BYTES = 2 << 30
#: request headers no answer depends on: left out of the page cache's key (the token is checked apart)
_UNKEYED_HEADERS = frozenset(
    {
        "authorization",
        "client-request-id",
        "return-client-request-id",
        "request-id",
        "content-length",
        "content-type",
        "connection",
        "keep-alive",
        "user-agent",
        "accept",
        "accept-encoding",
        "host",
    }
)


@dataclass
class _CachedPage:
    """A 200 answer of ``cache_pages`` (request-id headers left out); ``inner``: a ``$batch``'s inner log."""

    body: bytes
    headers: dict[str, str]
    content_type: str
    inner: list[RequestLog] | None = None


@dataclass
class RequestLog:
    """One HTTP request the sandbox answered (``$batch`` inner requests go to ``batch_requests``).

    ``host`` is the ``Host`` header the client sent (inner ``$batch`` requests: the outer one's), so tests
    can assert which host name a request named; ``status`` is 0 when a ``reset`` fault sent no answer.
    ``tenant_id`` is the tenant the request was routed to (see :class:`Dispatcher`), or ``""`` when no
    tenant could be told (unknown tenant in the path, unknown bearer token, …: the primary answered).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    host: str = ""
    tenant_id: str = ""


class GraphError(Exception):
    """A Graph error response (graph.md 7d: code is stable, message is for humans)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        inner: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.inner = inner or {}


class EntraError(Exception):
    """An Entra ID token-endpoint error (graph.md 7a/7d: error, error_description "AADSTSnnnn: …", error_codes)."""

    def __init__(
        self,
        status: int,
        error: str,
        code: int,
        description: str,
        *,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.status, self.error, self.code, self.description = status, error, code, description
        #: further body fields, e.g. ``suberror`` and ``claims`` of a Conditional Access challenge
        self.extra = extra or {}


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    """400 in Graph's shape."""
    return GraphError(400, code, message)


def not_found(resource: str) -> GraphError:
    """404 for a missing directory object, as Graph words it."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{resource}' does not exist or one of its queried reference-property objects are not present.",
    )


class Headers:
    """Case-insensitive view of request headers that keeps the client's spelling for the log."""

    __slots__ = ("_lower", "raw")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self.raw: dict[str, str] = {}
        self._lower: dict[str, str] = {}
        for key, value in items:
            self.raw[key] = value
            self._lower[key.lower()] = value

    def get(self, name: str, default: str | None = None) -> str | None:
        """Header value or ``default``."""
        return self._lower.get(name.lower(), default)


@dataclass
class Request:
    """What a route handler receives."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    request_id: str
    client_request_id: str
    inner: bool = False
    token: TokenInfo | None = None

    def json(self) -> Any:
        """The body as JSON (400 when it is not)."""
        try:
            return msgspec.json.decode(self.body or b"null")
        except msgspec.DecodeError:
            raise bad_request("Invalid JSON in request body.", "BadRequest") from None


@dataclass
class Response:
    """A handler's answer: ``body`` is encoded JSON unless ``content_type`` says otherwise.

    ``transport`` (set by faults only) changes how the HTTP layer sends it: ``"reset"`` closes the
    connection without an answer, ``"cut"`` sends the head with the full ``Content-Length`` and half the
    body then closes, ``"drip"`` sends the body one byte every ``drip`` seconds.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE
    transport: str | None = None
    drip: float = 0.0


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Encode ``obj`` with msgspec."""
    return Response(status, _encode(obj), headers or {})


Handler = Callable[["Server", Request, "re.Match[str]"], Response]
#: ``(server, request, match) -> the URL segment the cloud's metadata lacks, or None``
SegmentCheck = Callable[["Server", Request, "re.Match[str]"], "str | None"]


class RouteOptions(TypedDict):
    """``RouteTable.add`` options a route module shares between its routes (``**opts``)."""

    permissions: Iterable[str]
    entity: str


@dataclass
class Route:
    """A method + path regex, its handler, and the permissions any one of which grants it.

    ``kind`` is ``"graph"`` (bearer token + permission check) or ``"entra"`` (token endpoint: no bearer,
    errors in Entra's shape). ``cost`` is the resource-unit cost of graph.md 6. ``entity`` is the Graph
    type the route serves: a cloud whose metadata lacks it answers the path's last segment as unknown
    (graph.md 10); ``segment_check`` does the same for what a type cannot express (report functions).
    """

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    permissions: tuple[str, ...] = ()
    kind: str = "graph"
    cost: int = 1
    entity: str | None = None
    segment_check: SegmentCheck | None = None


class RouteTable:
    """Ordered routes; the first whose regex fully matches the path wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        permissions: Iterable[str] = (),
        kind: str = "graph",
        cost: int = 1,
        entity: str | None = None,
        segment_check: SegmentCheck | None = None,
    ) -> None:
        """Register ``handler`` for ``method`` on paths fully matching ``pattern``."""
        self.routes.append(
            Route(
                method.upper(),
                re.compile(pattern),
                handler,
                tuple(permissions),
                kind,
                cost,
                entity,
                segment_check,
            )
        )

    def match(self, method: str, path: str) -> tuple[Route, re.Match[str]] | tuple[None, bool]:
        """``(route, match)``, or ``(None, path_exists_for_another_method)``."""
        other = False
        for route in self.routes:
            m = route.pattern.fullmatch(path)
            if m is not None:
                if route.method == method:
                    return route, m
                other = True
        return None, other


@dataclass
class Fault:
    """One injected failure rule (see :meth:`FaultPlan.add`)."""

    pattern: re.Pattern[str]
    status: int | None
    method: str | None
    times: int
    skip: int
    headers: dict[str, str]
    code: str | int | None
    message: str | None
    body: bytes | None = None
    content_type: str | None = None
    next_link: str | None = None
    cut: bool = False
    reset: bool = False
    drip: float | None = None
    error: str | None = None
    every: int = 1
    hits: int = 0
    #: matching requests counted towards ``every`` (after ``skip``)
    seen: int = 0

    @property
    def transport(self) -> bool:
        """Whether the fault acts on the connection (only outer requests have one)."""
        return self.cut or self.reset or self.drip is not None

    @property
    def answers(self) -> bool:
        """Whether the fault answers instead of the route (else the route runs and the fault alters it)."""
        return (
            self.reset
            or self.body is not None
            or (self.status is not None and self.next_link is None)
        )


_DEFAULT_FAULT = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "Resource not found."),
    409: ("Conflict", "Conflict."),
    429: ("TooManyRequests", "Please retry again later."),
    500: ("InternalServerError", "An internal server error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "Service is temporarily unavailable. Please retry."),
    504: ("GatewayTimeout", "Gateway timeout."),
}


class FaultPlan:
    """Injected failures by path regex: throttling, errors, malformed or hostile answers.

    Throttling (429 + ``Retry-After``, graph.md 6), 5xx, 401, …, and any body with any status,
    redirects, a nextLink pointing anywhere, a cut or reset connection, a slow-drip body (see :meth:`add`).
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        path_regex: str,
        status: int | None = None,
        *,
        method: str | None = None,
        times: int = 1,
        skip: int = 0,
        headers: dict[str, str] | None = None,
        code: str | int | None = None,
        message: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        next_link: str | None = None,
        cut: bool = False,
        reset: bool = False,
        drip: float | None = None,
        error: str | None = None,
        every: int = 1,
    ) -> Fault:
        """Alter the next ``times`` matching requests (-1: always) after ``skip`` matching ones pass.

        ``every=N`` (N >= 1, default 1): of the matching requests after ``skip``, only each N-th is
        altered (the N-th, 2N-th, ...; ``times`` counts altered ones); the others pass on to later faults
        and the route. E.g. ``add(r".", 503, every=20, times=-1)``: one request in 20, deterministically.

        ``path_regex`` is searched in the request path (no query); ``$batch`` inner requests are matched
        by their path prefixed with ``/v1.0``. What the fault does:

        - ``status`` alone: Graph's error body (Entra's on the token endpoint: ``error``,
          ``error_description`` "AADSTS…", ``error_codes``, …; ``code`` = the AADSTS number, ``error`` the
          OAuth error) with ``code``/``message``; a 3xx status has an empty body (``headers`` gives it a
          ``Location``, or not);
        - ``body=`` (bytes, with ``content_type``, default Graph's JSON type) and ``status`` (default
          200): exactly that answer, e.g. an HTML page, truncated JSON, ``null``, ``b""``;
        - ``next_link=URL``: the real answer with ``@odata.nextLink`` set to URL (added when the page has
          none); ``"self"`` means the request's own absolute URL;
        - ``cut=True``: the real answer's head with the full ``Content-Length``, half its body, close;
        - ``reset=True``: close the connection (RST) without any answer;
        - ``drip=seconds``: the real answer's head, then its body one byte every ``seconds``;
        - ``headers`` are added to whatever is answered.

        ``cut`` and ``drip`` also apply to a ``status``/``body`` answer. ``cut``, ``reset`` and ``drip``
        act on the connection, so they only match outer requests (``$batch`` inner ones skip them).
        """
        if status is None and body is not None:
            status = 200
        if reset and (body is not None or next_link or cut or drip is not None):
            raise ValueError("reset=True closes the connection: it takes no other kind")
        if cut and drip is not None:
            raise ValueError("cut and drip are exclusive")
        if next_link is not None and (status is not None or body is not None):
            raise ValueError("next_link alters the real answer: give no status or body")
        if drip is not None and drip < 0:
            raise ValueError("drip is seconds per byte (>= 0)")
        if status is None and next_link is None and not (cut or reset or drip is not None):
            raise ValueError("a fault needs a status, a body or one of next_link/cut/reset/drip")
        if int(every) < 1:
            raise ValueError("every is a count of matching requests (>= 1)")
        fault = Fault(
            re.compile(path_regex),
            None if status is None else int(status),
            method.upper() if method else None,
            int(times),
            int(skip),
            dict(headers or {}),
            code,
            message,
            None if body is None else bytes(body),
            content_type,
            next_link,
            bool(cut),
            bool(reset),
            None if drip is None else float(drip),
            error,
            int(every),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, *, inner: bool = False) -> Fault | None:
        """The fault that answers this request, consuming one of its ``times``."""
        with self._lock:
            for fault in self._faults:
                if fault.times == 0 or (fault.method and fault.method != method):
                    continue
                if inner and fault.transport:
                    continue
                if not fault.pattern.search(path):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.every > 1:
                    fault.seen += 1
                    if fault.seen % fault.every:
                        continue
                if fault.times > 0:
                    fault.times -= 1
                fault.hits += 1
                return fault
        return None

    def __len__(self) -> int:
        return sum(1 for f in self._faults if f.times != 0)


@dataclass
class TokenInfo:
    """An issued access token: expiry, the permissions baked in at issuance, audience, revocation flag.

    ``audience`` is the token's ``aud``: the Graph resource it was issued for (graph.md 7b, 10).
    """

    token: str
    client_id: str
    expires_at: float
    permissions: frozenset[str]
    revoked: bool = False
    audience: str = ""
    #: a delegated (user) token from the device-code or refresh-token grant: ``permissions`` are its
    #: delegated scopes (``scp``), ``user_roles`` the signed-in user's directory role display names
    delegated: bool = False
    user_upn: str = ""
    user_id: str = ""
    user_roles: frozenset[str] = frozenset()


class TokenRegistry:
    """Tokens the sandbox issued (access tokens are opaque to clients; graph.md 7a)."""

    def __init__(self) -> None:
        self._tokens: dict[str, TokenInfo] = {}
        self._lock = threading.Lock()

    def issue(
        self,
        tenant_id: str,
        client_id: str,
        permissions: Iterable[str],
        lifetime: int,
        aud: str,
        *,
        user: dict[str, Any] | None = None,
        user_roles: Iterable[str] = (),
    ) -> TokenInfo:
        """A new JWT-shaped token (unsigned for clients' purposes: only the registry is trusted).

        ``user``: a delegated token for that user (claims ``scp``, ``upn``, ``oid``, ``idtyp`` user) instead
        of an app-only one (``roles``, ``idtyp`` app), as Entra's access tokens (graph.md 7a, 8).
        """
        now = int(time.time())
        perms = frozenset(permissions)
        header = {"typ": "JWT", "alg": "RS256", "kid": "sandbox"}
        claims: dict[str, Any] = {
            "aud": aud,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": client_id,
            "idtyp": "app",
            "roles": sorted(perms),
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        if user is not None:
            del claims["roles"]
            claims.update(
                idtyp="user",
                scp=" ".join(sorted(perms)),
                upn=user.get("userPrincipalName"),
                oid=user["id"],
                name=user.get("displayName"),
            )

        def part(obj: Any) -> str:
            return base64.urlsafe_b64encode(_encode(obj)).rstrip(b"=").decode()

        token = f"{part(header)}.{part(claims)}.{secrets.token_urlsafe(48)}"
        info = TokenInfo(token, client_id, time.time() + lifetime, perms, audience=aud)
        if user is not None:
            info.delegated = True
            info.user_upn = str(user.get("userPrincipalName") or "")
            info.user_id = str(user["id"])
            info.user_roles = frozenset(user_roles)
        with self._lock:
            self._tokens[token] = info
        return info

    def get(self, token: str) -> TokenInfo | None:
        """The registry entry of a token, if the sandbox issued it."""
        return self._tokens.get(token)

    def issued(self) -> list[str]:
        """Every access token issued so far, oldest first (for tests that scan outputs for them)."""
        with self._lock:
            return list(self._tokens)

    def revoke_all(self) -> int:
        """Mark every token issued so far as expired; returns how many."""
        with self._lock:
            for info in self._tokens.values():
                info.revoked = True
            return len(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)


def now_iso_inner() -> str:
    """``innerError.date`` as Graph writes it (no fractional seconds, no zone; graph.md 7d)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


class Server:
    """Sandbox state shared by all handlers: tenant, app registration, tokens, faults, log, routes."""

    #: activity-log throttle ``(requests, seconds)`` or None (off); set by ``Sandbox`` only, so
    #: routes/audit.py reads it with a default (declared, no class-level value)
    audit_throttle: tuple[int, float] | None

    def __init__(
        self,
        tenant: Tenant,
        *,
        client_id: str,
        client_secret: str,
        cert_thumbprint: str | None = None,
        cert_thumbprint_sha256: str | None = None,
        cert_public_key: Any = None,
        token_lifetime: int = 3599,
        empty_pages: bool = False,
        secret_expired: bool = False,
        consent_missing: bool = False,
        premium: bool = True,
        intune: bool = True,
        granted_permissions: set[str] | None = None,
        cloud: str = "global",
    ) -> None:
        from . import routes

        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.cert_thumbprint = (cert_thumbprint or "").upper()
        self.cert_thumbprint_sha256 = (cert_thumbprint_sha256 or "").upper()
        self.cert_public_key = cert_public_key
        self.token_lifetime = int(token_lifetime)
        self.empty_pages = empty_pages
        self.secret_expired = secret_expired
        self.consent_missing = consent_missing
        self.premium = premium
        #: False: a tenant without an Intune licence (deviceManagement answers 400, routes/devices.py)
        self.intune = intune
        #: the national cloud modelled (metadata.CLOUDS): its Graph resource is every token's audience
        self.cloud = metadata.check_cloud(cloud)
        self.graph_resource = metadata.GRAPH_RESOURCES[self.cloud]
        self.granted_permissions: set[str] = (
            set(DEFAULT_PERMISSIONS) if granted_permissions is None else granted_permissions
        )
        self.base_url = ""
        self.faults = FaultPlan()
        self.tokens = TokenRegistry()
        self.requests: list[RequestLog] = []
        self.batch_requests: list[RequestLog] = []
        self.routes = RouteTable()
        #: scratch space for route modules (e.g. caches), keyed by module
        self.cache: dict[str, Any] = {}
        #: seconds added to every outer request, to simulate Graph's latency in benchmarks
        self.latency = 0.0
        #: set while stopping: wakes slow-drip answers so they end
        self.stopping = threading.Event()
        #: delta query (routes/delta.py): re-send a few objects of each round on a later page
        self.delta_replays = False
        #: seconds a delta/skip token lives (graph.md 2: 7 days for directory objects)
        self.delta_token_lifetime = 7 * 86400.0
        #: revoke every token after each ``revoke_every``-th authenticated Graph request (0: off)
        self.revoke_every = 0
        #: several tenants (app.py ``add_tenant``): the server of the tenant whose multi-tenant app is
        #: also accepted here (None: this server's own app is the multi-tenant one, the primary)
        self.shared_app: Server | None = None
        #: whether the multi-tenant app has admin consent (a service principal) in this tenant; False:
        #: its client id is unknown here (AADSTS700016), as for an app not provisioned in a tenant
        self.app_consented = True
        #: every tenant's outer requests in answer order (the Dispatcher's list), or None
        self.merged_log: list[RequestLog] | None = None
        #: delegated sign-in (routes/delegated.py): the ``interval`` the device-code answer tells clients
        #: to wait between polls (Entra: 5), a device code's lifetime (Entra: 900 s), auto-approval at
        #: the first poll (None: off; True: the default admin; a UPN: that user), refresh tokens that
        #: can be redeemed only once (Entra's are not: graph.md 8)
        self.device_code_interval = 5
        self.device_code_lifetime = 900
        self.auto_approve: bool | str | None = None
        self.single_use_refresh_tokens = False
        #: ``cache_pages`` (CONTRACT.md "Page cache"): repeated identical GETs (and ``$batch`` POSTs of
        #: GETs) answered from the bytes rendered the first time; ``page_cache_bytes`` caps what is kept
        self.cache_pages = False
        self.page_cache_bytes = PAGE_CACHE_BYTES
        self.page_cache_stats = {"hits": 0, "misses": 0}
        self._pages: dict[tuple[Any, ...], _CachedPage] = {}
        self._pages_size = 0
        self._pages_lock = threading.Lock()
        self._authenticated = 0
        self._count_lock = threading.Lock()
        for module in routes.MODULES:
            module.register(self.routes)
        self.routes.add("GET", r"/_sandbox/page-cache", _page_cache_control, kind="control")

    # -- dispatch ----------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        *,
        inner: bool = False,
        token: TokenInfo | None = None,
        host: str | None = None,
        routed: bool = True,
        refuse: GraphError | None = None,
    ) -> Response:
        """Route one request (outer HTTP or ``$batch`` inner) and log it.

        ``routed`` False: the dispatcher could not tell the tenant and fell back to this server (the log
        entry's ``tenant_id`` is then empty); ``refuse``: answer this error instead of routing.
        """
        if self.latency and not inner:
            time.sleep(self.latency)
        parts = urlsplit(target)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        request_id = str(uuid.uuid4())
        client_request_id = headers.get("client-request-id") or request_id
        req = Request(
            method, path, query, headers, body, request_id, client_request_id, inner, token
        )
        route, match = self.routes.match(method, path)
        kind = route.kind if route is not None else ("entra" if "/oauth2/" in path else "graph")
        fault = None if refuse is not None else self.faults.take(method, path, inner=inner)
        page_key: tuple[Any, ...] | None = None
        cached: _CachedPage | None = None
        writes = False
        if self.cache_pages and refuse is None and route is not None:
            if fault is None and route.kind == "graph":
                page_key = self._page_key(req, parts.query)
                if page_key is not None:
                    cached = self._pages.get(page_key)
                    self._count_page(cached is not None)
            if page_key is None and method != "GET" and route.kind in ("graph", "control"):
                writes = True  # a write (or a control) may change any answer: before and after it
                self.clear_page_cache()
        try:
            if refuse is not None:
                raise refuse
            if cached is not None:
                response = Response(200, cached.body, dict(cached.headers), cached.content_type)
                if cached.inner is not None:  # the $batch's inner requests, logged as if answered
                    self.batch_requests.extend(replace(e) for e in cached.inner)
            elif fault is not None and fault.answers:
                response = self._fault_response(req, fault, kind)
            elif route is None:
                response = self._no_route(req, bool(match))
            else:
                # a route was found, so ``match`` is its re.Match (RouteTable.match's contract)
                found = cast("re.Match[str]", match)
                if route.kind == "graph":
                    self._authenticate(req, route, found)
                response = route.handler(self, req, found)
                if route.kind == "graph":
                    response.headers.setdefault("x-ms-resource-unit", str(self._cost(route, req)))
        except GraphError as exc:
            response = self.graph_error_response(req, exc)
        except EntraError as exc:
            response = self.entra_error_response(req, exc)
        except Exception as exc:  # a sandbox bug must still answer like a server
            response = self.graph_error_response(
                req,
                GraphError(
                    500, "InternalServerError", f"Sandbox error: {type(exc).__name__}: {exc}"
                ),
            )
        if fault is not None:
            response = self._apply_fault(target, response, fault)
        if page_key is not None and cached is None:
            self._store_page(page_key, req, response)
        elif writes:
            self.clear_page_cache()
        response.headers["request-id"] = request_id
        response.headers["client-request-id"] = client_request_id
        status = 0 if response.transport == "reset" else response.status
        host = host if host is not None else (headers.get("Host") or "")
        entry = RequestLog(
            method,
            path,
            query,
            dict(headers.raw),
            status,
            host,
            self.tenant.tenant_id if routed else "",
        )
        if inner:
            self.batch_requests.append(entry)
        else:
            self.requests.append(entry)
            if self.merged_log is not None:
                self.merged_log.append(entry)
        return response

    # -- page cache (cache_pages; CONTRACT.md "Page cache") -----------------------------------------

    def _page_key(self, req: Request, raw_query: str) -> tuple[Any, ...] | None:
        """The cache key of a cacheable request whose token is valid, else None (answered as usual).

        The token is validated here as ``_authenticate`` does (and counted for ``revoke_tokens_every``)
        and left on ``req.token``; the key holds its permissions, not the token itself.
        """
        method, path = req.method, req.path
        if method == "GET":
            if "/delta" in path or any(k.lower() == "$deltatoken" for k in req.query):
                return None  # delta rounds and their tokens follow the change log
            if self._audit_throttled() and "/auditLogs/" in path:
                return None  # the activity-log throttle counts every request
            body: bytes = b""
        elif method == "POST" and path == "/v1.0/$batch":
            if len(self.faults):  # inner requests meet the fault plan one by one
                return None
            body = req.body
        else:
            return None
        info = req.token
        if info is None:
            scheme, _, token = (req.headers.get("Authorization") or "").partition(" ")
            info = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if (
                info is None
                or info.revoked
                or time.time() >= info.expires_at
                or info.audience != self.graph_resource
            ):
                return None  # _authenticate answers the 401
            req.token = info
            self._count_authenticated()
        headers = tuple(
            sorted(
                (k.lower(), v)
                for k, v in req.headers.raw.items()
                if k.lower() not in _UNKEYED_HEADERS
            )
        )
        grants = (info.permissions, info.delegated, info.user_id, info.user_roles)
        query = tuple(parse_qsl(raw_query, keep_blank_values=True))
        return (method, path, query, headers, body, grants, self._page_stamp())

    def _audit_throttled(self) -> bool:
        return getattr(self, "audit_throttle", (5, 10.0)) is not None

    def _page_stamp(self) -> tuple[Any, ...]:
        """What the model's answers depend on besides the request: changes, log sizes, switches."""
        tenant = self.tenant
        audit = tenant.audit
        options = tenant.report_options
        return (
            tenant.changes.version,
            len(tenant.users),
            len(tenant.groups),
            len(audit.sign_ins),
            len(audit.directory_audits),
            len(audit.provisioning),
            tenant.premium,
            self.premium,
            self.intune,
            self.empty_pages,
            self.delta_replays,
            options.concealed_names,
            options.extra_column,
        )

    def _count_page(self, hit: bool) -> None:
        with self._pages_lock:
            self.page_cache_stats["hits" if hit else "misses"] += 1

    def _store_page(self, key: tuple[Any, ...], req: Request, response: Response) -> None:
        """Keep a 200 answer (a ``$batch`` only when all its inner requests were GETs answering 200)."""
        if response.status != 200 or response.transport is not None:
            return
        inner = None
        if req.method == "POST":
            inner = self._batch_log(req, response)
            if inner is None:  # it may have written (an inner PATCH, ...): forget everything
                self.clear_page_cache()
                return
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in {"request-id", "client-request-id"}
        }
        size = len(response.body) + len(key[4]) + 512
        with self._pages_lock:
            if key in self._pages or size > self.page_cache_bytes:
                return
            while self._pages and self._pages_size + size > self.page_cache_bytes:
                oldest = next(iter(self._pages))
                old = self._pages.pop(oldest)
                self._pages_size -= len(old.body) + len(oldest[4]) + 512
            self._pages[key] = _CachedPage(response.body, headers, response.content_type, inner)
            self._pages_size += size

    def _batch_log(self, req: Request, response: Response) -> list[RequestLog] | None:
        """The inner log entries a cached ``$batch`` replays, or None when it must not be cached."""
        if len(self.faults):
            return None
        try:
            items = msgspec.json.decode(req.body)["requests"]
            answers = msgspec.json.decode(response.body)["responses"]
        except (msgspec.DecodeError, KeyError, TypeError):
            return None
        statuses = {a.get("id"): a.get("status") for a in answers if isinstance(a, dict)}
        host = req.headers.get("Host") or ""
        entries = []
        for item in items:
            url = str(item.get("url") or "")
            target = "/v1.0" + (url if url.startswith("/") else "/" + url)
            parts = urlsplit(target)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if (
                str(item.get("method") or "").upper() != "GET"
                or statuses.get(item.get("id")) != 200
                or "/delta" in parts.path
                or any(k.lower() == "$deltatoken" for k in query)
                or (self._audit_throttled() and "/auditLogs/" in parts.path)
            ):
                return None
            headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
            entries.append(
                RequestLog("GET", parts.path, query, headers, 200, host, self.tenant.tenant_id)
            )
        return entries

    def clear_page_cache(self) -> None:
        """Forget every cached answer of this tenant (after editing ``sb.tenant`` by hand)."""
        with self._pages_lock:
            self._pages.clear()
            self._pages_size = 0

    def _apply_fault(self, target: str, response: Response, fault: Fault) -> Response:
        """What a fault changes on the answer: nextLink, headers, transport (see FaultPlan.add)."""
        if fault.next_link is not None:
            url = f"{self.base_url}{target}" if fault.next_link == "self" else fault.next_link
            response = _with_next_link(response, url)
        response.headers.update(fault.headers)
        if fault.reset:
            response.transport = "reset"
        elif fault.cut:
            response.transport = "cut"
        elif fault.drip is not None:
            response.transport, response.drip = "drip", fault.drip
        return response

    def _cost(self, route: Route, req: Request) -> int:
        """Resource units (graph.md 6): base cost, ``$select`` -1, ``$top`` < 20 -1, minimum 1."""
        cost = route.cost
        if "$select" in req.query:
            cost -= 1
        top = req.query.get("$top", "")
        if top.isdigit() and int(top) < 20:
            cost -= 1
        return max(cost, 1)

    def _challenge(self) -> dict[str, str]:
        authority = metadata.AUTHORITY_HOSTS[self.cloud]
        return {
            "WWW-Authenticate": f'Bearer realm="", authorization_uri="https://{authority}/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"'
        }

    def _authenticate(self, req: Request, route: Route, match: re.Match[str]) -> None:
        """Token (401), the cloud's metadata (400 unknown segment), then permissions (403).

        graph.md 7a/7d; the token's audience must be the cloud's Graph resource whatever host the
        request named (graph.md 10), checked after its lifetime as token validation does.
        """
        if req.token is None:
            auth = req.headers.get("Authorization") or ""
            scheme, _, token = auth.partition(" ")
            token = token.strip()
            challenge = self._challenge()
            if not token or scheme.lower() != "bearer":
                raise GraphError(
                    401, "InvalidAuthenticationToken", "Access token is empty.", headers=challenge
                )
            info = self.tokens.get(token)
            if info is None:
                message = (
                    "IDX14100: JWT is not well formed, there are no dots (.)."
                    if "." not in token
                    else "Access token validation failure. Invalid audience."
                )
                raise GraphError(401, "InvalidAuthenticationToken", message, headers=challenge)
            if info.revoked or time.time() >= info.expires_at:
                raise GraphError(
                    401,
                    "InvalidAuthenticationToken",
                    "Lifetime validation failed, the token is expired.",
                    headers=challenge,
                )
            if info.audience != self.graph_resource:
                raise GraphError(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token validation failure. Invalid audience.",
                    headers=challenge,
                )
            req.token = info
            self._count_authenticated()
        missing = None
        if route.entity is not None and not metadata.has_type(route.entity, self.cloud):
            missing = req.path.rstrip("/").rsplit("/", 1)[-1]
        elif route.segment_check is not None:
            missing = route.segment_check(self, req, match)
        if missing is not None:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{missing}'.")
        if route.permissions and not req.token.permissions.intersection(route.permissions):
            raise GraphError(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        if req.token.delegated:
            from .routes.delegated import check_user_roles

            check_user_roles(req)

    def _count_authenticated(self) -> None:
        """Revoke every token after each n-th accepted outer Graph request (``revoke_tokens_every``)."""
        with self._count_lock:
            self._authenticated += 1
            every = self.revoke_every
            due = every > 0 and self._authenticated % every == 0
        if due:
            self.tokens.revoke_all()

    def set_revoke_every(self, n: int) -> None:
        """Revoke all tokens issued so far after every ``n``-th accepted Graph request; 0 turns it off."""
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._count_lock:
            self.revoke_every = int(n)
            self._authenticated = 0

    def _no_route(self, req: Request, other_method: bool) -> Response:
        if other_method:
            raise GraphError(
                405,
                "Request_BadRequest",
                f"The HTTP method '{req.method}' is not allowed for this resource.",
            )
        if req.path.startswith("/v1.0/"):
            segments = [s for s in req.path[len("/v1.0/") :].split("/") if s]
            # the first segment Graph does not know: walk the known route prefixes
            known = 0
            for i in range(len(segments), 0, -1):
                prefix = "/v1.0/" + "/".join(segments[:i])
                if any(r.pattern.match(prefix) for r in self.routes.routes):
                    known = i
                    break
            segment = (
                segments[known] if known < len(segments) else (segments[-1] if segments else "")
            )
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
        raise GraphError(404, "NotFound", f"No such endpoint: {req.method} {req.path}")

    # -- error bodies ------------------------------------------------------------------------------

    def graph_error_response(self, req: Request, exc: GraphError) -> Response:
        """``{"error": {"code", "message", "innerError": {…}}}`` with the request's ids (graph.md 7d)."""
        inner = {
            "date": now_iso_inner(),
            "request-id": req.request_id,
            "client-request-id": req.client_request_id,
        }
        inner.update(exc.inner)
        body = {"error": {"code": exc.code, "message": exc.message, "innerError": inner}}
        return Response(exc.status, _encode(body), dict(exc.headers))

    def entra_error_response(self, req: Request, exc: EntraError) -> Response:
        """Entra's token-endpoint error body (graph.md 7a, 7d)."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        trace = req.request_id
        correlation = req.client_request_id
        description = (
            f"AADSTS{exc.code}: {exc.description} Trace ID: {trace} Correlation ID: {correlation} "
            f"Timestamp: {stamp}"
        )
        body = {
            "error": exc.error,
            "error_description": description,
            "error_codes": [exc.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"{self.base_url}/error?code={exc.code}",
        }
        body.update(exc.extra)
        return Response(
            exc.status,
            _encode(body),
            {"Cache-Control": "no-store, no-cache", "x-ms-request-id": trace},
            "application/json; charset=utf-8",
        )

    def _fault_response(self, req: Request, fault: Fault, kind: str) -> Response:
        """The answer of a fault that replaces the route's (reset, body, status)."""
        if fault.reset:
            return Response(0, b"", {}, "text/plain", transport="reset")
        status = fault.status if fault.status is not None else 200
        if fault.body is not None:
            return Response(status, fault.body, {}, fault.content_type or JSON_TYPE)
        if 300 <= status < 400:  # a redirect: no body, the Location (if any) comes from headers
            return Response(status, b"", {}, fault.content_type or "text/html; charset=utf-8")
        default_code, default_message = _DEFAULT_FAULT.get(
            status, ("UnknownError", "Injected fault.")
        )
        if kind == "entra":
            error = fault.error or {
                429: "temporarily_unavailable",
                503: "temporarily_unavailable",
            }.get(status, "server_error" if status >= 500 else "invalid_request")
            code = (
                fault.code if isinstance(fault.code, int) else (90033 if status >= 429 else 900144)
            )
            return self.entra_error_response(
                req, EntraError(status, error, code, fault.message or default_message)
            )
        inner: dict[str, Any] = {}
        if status == 429:  # graph.md 6: the throttling body's innerError carries code/status
            inner = {"code": "429", "message": "Please retry after", "status": "429"}
        return self.graph_error_response(
            req,
            GraphError(
                status,
                str(fault.code) if fault.code is not None else default_code,
                fault.message or default_message,
                inner=inner,
            ),
        )


class Dispatcher:
    """The front of the listener when it serves several tenants: picks the tenant's :class:`Server`.

    One HTTPS listener, one ``base_url`` for every tenant, as Entra's authority and Graph serve every
    tenant from the same hosts (graph.md 7b): the authority names the tenant in the path, Graph knows
    it from the access token (its ``tid``: graph.md 7a, tokens are tenant-bound). So:

    - ``/v1.0/...``: the tenant whose token registry issued the bearer token (``$batch`` inner requests
      stay in that tenant: the batch handler calls its own server); an unknown or missing token goes to
      the primary, which answers today's 401;
    - ``/download/<token>``: the tenant that issued that report download URL (else the primary: 401);
    - ``/_sandbox/...`` controls: the tenant named by an optional ``tenant=<id or verified domain>``
      query (default the primary; an unknown one is 400 ``BadRequest``);
    - anything else (``/{tenant}/oauth2/v2.0/token``, OIDC discovery, keys, device code): the first
      path segment, a tenant GUID or verified domain (``routes.auth.resolve_tenant``); an unknown one goes
      to the primary, which answers AADSTS90002 as today.
    """

    def __init__(self, primary: Server) -> None:
        self.servers: list[Server] = [primary]
        #: every tenant's outer requests, in the order they were answered
        self.merged_log: list[RequestLog] = []
        primary.merged_log = self.merged_log

    @property
    def primary(self) -> Server:
        """The first tenant's server (``Sandbox.server``)."""
        return self.servers[0]

    @property
    def stopping(self) -> threading.Event:
        """Shared by every tenant's server (wakes slow-drip answers on stop)."""
        return self.primary.stopping

    def add(self, server: Server) -> None:
        """Serve another tenant behind the same listener."""
        server.merged_log = self.merged_log
        server.stopping = self.primary.stopping
        server.base_url = self.primary.base_url
        self.servers.append(server)

    def find(self, name: str) -> Server | None:
        """The server of the tenant a GUID or verified domain names."""
        from .routes.auth import resolve_tenant

        for server in list(self.servers):
            if resolve_tenant(server, name) is not None:
                return server
        return None

    def route(
        self, path: str, query: str, headers: Headers
    ) -> tuple[Server, bool, GraphError | None]:
        """``(server, routed, refusal)`` for a request (see the class docstring)."""
        primary = self.primary
        servers = list(self.servers)
        if path == "/v1.0" or path.startswith("/v1.0/"):
            scheme, _, token = (headers.get("Authorization") or "").partition(" ")
            token = token.strip()
            if token and scheme.lower() == "bearer":
                for server in servers:
                    if server.tokens.get(token) is not None:
                        return server, True, None
            return primary, False, None
        if path.startswith("/download/"):
            from .routes.reports import issued_download

            key = path[len("/download/") :]
            for server in servers:
                if issued_download(server, key):
                    return server, True, None
            return primary, False, None
        if path.startswith("/_sandbox/"):
            name = dict(parse_qsl(query, keep_blank_values=True)).get("tenant")
            if not name:
                return primary, True, None
            found = self.find(name)
            if found is None:
                return (
                    primary,
                    False,
                    GraphError(
                        400, "BadRequest", f"No tenant '{name}' in this sandbox (sandbox wording)."
                    ),
                )
            return found, True, None
        segment = path.lstrip("/").split("/", 1)[0]
        found = self.find(segment) if segment else None
        if found is None:
            return primary, False, None
        return found, True, None

    def handle(self, method: str, target: str, headers: Headers, body: bytes) -> Response:
        """Route one outer request to its tenant's server."""
        parts = urlsplit(target)
        server, routed, refuse = self.route(parts.path, parts.query, headers)
        return server.handle(method, target, headers, body, routed=routed, refuse=refuse)


def _page_cache_control(server: Server, req: Request, m: re.Match[str]) -> Response:
    """GET /_sandbox/page-cache[?tenant=<id>]: ``{"enabled", "hits", "misses", "entries", "bytes"}``."""
    with server._pages_lock:
        stats = {
            "enabled": server.cache_pages,
            **server.page_cache_stats,
            "entries": len(server._pages),
            "bytes": server._pages_size,
        }
    return json_response(stats)


def _with_next_link(response: Response, url: str) -> Response:
    """The page with ``@odata.nextLink`` set to ``url``; an answer that is not a page is unchanged."""
    if not response.content_type.startswith("application/json"):
        return response
    try:
        body = msgspec.json.decode(response.body)
    except msgspec.DecodeError:
        return response
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        return response
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "@odata.nextLink":
            continue
        if key == "value":
            out["@odata.nextLink"] = url
        out[key] = value
    out.setdefault("@odata.nextLink", url)
    response.body = _encode(out)
    return response


class _Abort(Exception):
    """Raised by the handler once it dropped the connection on purpose (reset / cut faults)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after two minutes

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is ``Sandbox.requests``."""

    def _serve(self) -> None:
        state: Server | Dispatcher = self.server.state  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = Headers(self.headers.items())
        response = state.handle(self.command, self.path, headers, body)
        if response.transport == "reset":
            self._drop(reset=True)
        self._write(response, state)

    def _drop(self, *, reset: bool) -> None:
        """Close the connection now; ``reset``: with an RST (SO_LINGER 0) rather than a FIN."""
        self.close_connection = True
        conn = self.connection
        if reset:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for stream in (self.rfile, self.wfile):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        with contextlib.suppress(OSError):
            if not reset:
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        raise _Abort

    def _write(self, response: Response, state: Server | Dispatcher) -> None:
        body = response.body
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(body)}",
            f"Date: {self.date_time_string()}",
            "Cache-Control: no-cache",
            "Strict-Transport-Security: max-age=31536000",
        ]
        if self.close_connection:
            lines.append("Connection: close")
        for key, value in response.headers.items():
            lines.append(f"{key}: {value}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if response.transport == "cut":
            self.wfile.write(head + body[: len(body) // 2])
            self._drop(reset=False)
        if response.transport == "drip":
            self.close_connection = True
            self.wfile.write(head)
            for i in range(len(body)):
                if state.stopping.wait(response.drip):
                    break
                self.wfile.write(body[i : i + 1])
            return
        self.wfile.write(head + body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class HttpsServer(ThreadingHTTPServer):
    """Threading HTTP server that does the TLS handshake in each connection's own thread."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    #: typeshed types it with ``Self``, which mypy does not bind when called on ``self`` here
    RequestHandlerClass: Callable[[Any, Any, HttpsServer], BaseHTTPRequestHandler]

    def __init__(
        self, address: tuple[str, int], state: Server | Dispatcher, context: ssl.SSLContext
    ) -> None:
        self.state = state
        self.context = context
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the accepted socket in TLS, then serve it."""
        try:
            request.settimeout(30)
            conn = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with self._conn_lock:
            self._connections.add(conn)
        try:
            conn.settimeout(_Handler.timeout)
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ssl.SSLError, _Abort):
            pass
        finally:
            with self._conn_lock:
                self._connections.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are normal; do not print tracebacks."""

    def close_connections(self) -> None:
        """Drop every open keep-alive connection (on stop)."""
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def make_context(cert: str, key: str) -> ssl.SSLContext:
    """Server TLS context for the sandbox certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
