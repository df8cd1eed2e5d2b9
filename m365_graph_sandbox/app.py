"""``Sandbox``: the tenant model, TLS material and the HTTPS server behind one object (see CONTRACT.md)."""

from __future__ import annotations

import atexit
import random
import shutil
import string
import tempfile
import threading
from collections.abc import Iterable
from typing import Any

from . import metadata, tls
from .model import Tenant
from .model.changes import ChangeLog, Changes
from .routes import delegated as _signin
from .routes import delta as _delta
from .server import Dispatcher, FaultPlan, HttpsServer, RequestLog, Server, make_context

_TEMP_DIRS: list[str] = []


def _cleanup() -> None:
    for path in _TEMP_DIRS:
        shutil.rmtree(path, ignore_errors=True)


atexit.register(_cleanup)


def _secret(seed: int) -> str:
    """A client secret value drawn from ``seed``: Entra's look, "abc8Q~" + 34 characters."""
    rng = random.Random(f"{seed}:secret")
    alphabet = string.ascii_letters + string.digits + "_-.~"
    return (
        "".join(rng.choice(alphabet) for _ in range(3))
        + "8Q~"
        + "".join(rng.choice(alphabet) for _ in range(34))
    )


def _server(
    tenant: Tenant,
    client_id: str,
    client_secret: str,
    *,
    cloud: str,
    token_lifetime: int,
    empty_pages: bool,
    secret_expired: bool,
    consent_missing: bool,
    premium: bool,
    intune: bool,
    sign_ins_per_day: int | None,
    audits_per_day: int | None,
    audit_throttle: tuple[int, float] | None,
    delta_replays: bool,
    delta_token_lifetime: float,
) -> Server:
    """One tenant's server (its model, app registration, tokens, faults, log) with the options set."""
    server = Server(
        tenant,
        client_id=client_id,
        client_secret=client_secret,
        token_lifetime=token_lifetime,
        empty_pages=empty_pages,
        secret_expired=secret_expired,
        consent_missing=consent_missing,
        premium=premium,
        intune=intune,
        cloud=cloud,
    )
    # delta query (routes/delta.py, graph.md 2)
    server.delta_replays = bool(delta_replays)
    server.delta_token_lifetime = float(delta_token_lifetime)
    # activity logs (model/audit.py, routes/audit.py): volume and the 5-per-10-s throttle
    server.audit_throttle = audit_throttle
    if sign_ins_per_day is not None or audits_per_day is not None:
        tenant.audit.generate(
            sign_ins_per_day=40 if sign_ins_per_day is None else sign_ins_per_day,
            audits_per_day=20 if audits_per_day is None else audits_per_day,
        )
    return server


class _TenantApi:
    """What a tenant offers tests: its request log, faults, grants, tokens and the mutation API.

    Shared by :class:`Sandbox` (the primary tenant) and :class:`SandboxTenant` (any tenant).
    """

    server: Server
    tenant: Tenant

    @property
    def requests(self) -> list[RequestLog]:
        """Every HTTP request answered, in order (``$batch`` inner ones are in ``batch_requests``)."""
        return self.server.requests

    @property
    def batch_requests(self) -> list[RequestLog]:
        """Inner requests of ``$batch`` calls, path prefixed with ``/v1.0``."""
        return self.server.batch_requests

    @property
    def faults(self) -> FaultPlan:
        """The fault plan (see CONTRACT.md)."""
        return self.server.faults

    @property
    def granted_permissions(self) -> set[str]:
        """Application permissions baked into tokens issued from now on (mutable set)."""
        return self.server.granted_permissions

    @granted_permissions.setter
    def granted_permissions(self, value: set[str]) -> None:
        self.server.granted_permissions.clear()
        self.server.granted_permissions.update(value)

    def count(
        self, path: str | None = None, method: str | None = None, prefix: str | None = None
    ) -> int:
        """Logged requests matching ``path`` exactly, ``prefix``, and ``method``."""
        return sum(
            1
            for r in list(self.server.requests)
            if (path is None or r.path == path)
            and (prefix is None or r.path.startswith(prefix))
            and (method is None or r.method == method.upper())
        )

    def reset_log(self) -> None:
        """Forget this tenant's logged requests."""
        self.server.requests.clear()
        self.server.batch_requests.clear()

    @property
    def cache_pages(self) -> bool:
        """Whether repeated identical reads are answered from rendered bytes (CONTRACT.md "Page cache")."""
        return self.server.cache_pages

    @cache_pages.setter
    def cache_pages(self, value: bool) -> None:
        self.server.cache_pages = bool(value)
        if not value:
            self.server.clear_page_cache()

    @property
    def page_cache_stats(self) -> dict[str, int]:
        """``{"hits", "misses"}`` of the page cache (requests it could key) since the start."""
        return dict(self.server.page_cache_stats)

    def clear_page_cache(self) -> None:
        """Forget the cached answers (needed only after editing ``sb.tenant`` outside the change API)."""
        self.server.clear_page_cache()

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token issued so far (token endpoint and issue_token), oldest first."""
        return self.server.tokens.issued()

    def revoke_tokens(self) -> None:
        """Every token issued so far now gets 401 "Lifetime validation failed, the token is expired."."""
        self.server.tokens.revoke_all()

    def revoke_tokens_every(self, n: int) -> None:
        """After every ``n``-th Graph request whose token was accepted, revoke all tokens issued so far.

        Counted per request (outer requests only; a ``$batch`` is one), never by clock, so a long sync
        sees its token revoked at the same points on every run; the count restarts at each call.
        ``revoke_tokens_every(0)`` turns it off.
        """
        self.server.set_revoke_every(n)

    def issue_token(
        self,
        audience: str | None = None,
        *,
        permissions: set[str] | None = None,
        lifetime: int | None = None,
    ) -> str:
        """An access token as Entra would issue it, without the token endpoint (for tests).

        ``audience`` defaults to the cloud's Graph resource; any other value models a token obtained
        for another resource (e.g. another cloud's Graph, or the proxy's host), which Graph refuses with
        401 "Access token validation failure. Invalid audience." (graph.md 10).
        """
        info = self.server.tokens.issue(
            self.server.tenant.tenant_id,
            self.server.client_id,
            self.server.granted_permissions if permissions is None else permissions,
            self.server.token_lifetime if lifetime is None else lifetime,
            self.server.graph_resource if audience is None else audience,
        )
        return info.token

    # -- delegated sign-in (routes/delegated.py; graph.md 8) -------------------------------------

    @property
    def public_client_id(self) -> str:
        """The public client known in every tenant: "Microsoft Graph Command Line Tools"."""
        return _signin.PUBLIC_CLIENT_ID

    def approve_device_code(
        self,
        user_code: str | None = None,
        *,
        user: str | None = None,
        deny: bool = False,
        roles: Iterable[str] | None = None,
    ) -> str:
        """Finish a pending device code as its user would at ``https://microsoft.com/devicelogin``.

        ``user_code`` None: the latest pending one (``LookupError`` when none). ``user``: a UPN of this
        tenant (``KeyError`` if unknown), default the tenant's first Global Administrator (the first
        member user is made one when the tenant has none). ``roles``: directory role display names to use
        instead of the user's own (e.g. ``[]``: a user without any role). ``deny``: the user declines.
        Returns the user code.
        """
        return _signin.approve(self.server, user_code, user=user, deny=deny, roles=roles)

    @property
    def auto_approve(self) -> bool | str | None:
        """None: device codes wait for ``approve_device_code``; True / a UPN: approved at the first poll."""
        return self.server.auto_approve

    @auto_approve.setter
    def auto_approve(self, value: bool | str | None) -> None:
        if isinstance(value, str):
            _signin.find_user(self.server, value)
        self.server.auto_approve = value or None

    @property
    def device_code_interval(self) -> int:
        """The ``interval`` (seconds) device-code answers tell clients to wait between polls (mutable)."""
        return self.server.device_code_interval

    @device_code_interval.setter
    def device_code_interval(self, value: int) -> None:
        self.server.device_code_interval = int(value)

    @property
    def single_use_refresh_tokens(self) -> bool:
        """True: a refresh token already redeemed answers invalid_grant AADSTS70000 (Entra's do not)."""
        return self.server.single_use_refresh_tokens

    @single_use_refresh_tokens.setter
    def single_use_refresh_tokens(self, value: bool) -> None:
        self.server.single_use_refresh_tokens = bool(value)

    def revoke_refresh_tokens(self, code: int = 50173) -> int:
        """Every refresh token issued so far answers 400 invalid_grant with AADSTS ``code``.

        ``code``: 700082 (expired by inactivity), 50173 (revoked: fresh sign-in needed), 65001 (consent
        missing), 50076 (MFA required; with ``suberror`` and ``claims``), 50079 (MFA enrolment
        required; same), 70043 (sign-in frequency); anything else ``ValueError``. Returns how many.
        """
        return _signin.revoke_refresh_tokens(self.server, code)

    def expire_device_codes(self) -> None:
        """Every device code issued so far is expired: polls answer 400 expired_token AADSTS70019."""
        _signin.expire_device_codes(self.server)

    @property
    def refresh_tokens(self) -> list[str]:
        """Every refresh token issued in this tenant so far, oldest first."""
        return list(_signin.state(self.server).refresh_tokens)

    @property
    def refresh_tokens_issued(self) -> list[str]:
        """Alias of ``refresh_tokens``."""
        return self.refresh_tokens

    # -- mutations and delta (model/changes.py, routes/delta.py; graph.md 2) ------------------------

    @property
    def changes(self) -> Changes:
        """The change tracking state: ``version``, per-object change versions, deleted items."""
        return self.tenant.changes

    def update(self, kind: str, id: str, **props: Any) -> None:
        """Change properties of a live object of ``kind``.

        ``kind``: users, groups, devices, applications, servicePrincipals. The object shows as changed
        in the next delta round and with its new values in the list endpoint.
        """
        self.tenant.changes.update(kind, id, **props)
        _delta.invalidate(self.server)

    def create(self, kind: str, obj: dict[str, Any] | None = None) -> str:
        """Add an object (``obj`` completed with every modelled key, or a generated realistic one)."""
        new_id = self.tenant.changes.create(kind, obj)
        _delta.invalidate(self.server)
        return new_id

    def soft_delete(self, kind: str, id: str) -> None:
        """Delete to deleted items (users, Microsoft 365 groups, applications, service principals).

        Delta: ``@removed`` reason "changed"; ``ValueError`` for devices and other groups.
        """
        self.tenant.changes.soft_delete(kind, id)
        _delta.invalidate(self.server)

    def hard_delete(self, kind: str, id: str) -> None:
        """Delete permanently (or purge a soft-deleted object): delta reason "deleted"."""
        self.tenant.changes.hard_delete(kind, id)
        _delta.invalidate(self.server)

    def restore(self, kind: str, id: str) -> None:
        """Restore a soft-deleted object (and its links): it comes back as a changed object."""
        self.tenant.changes.restore(kind, id)
        _delta.invalidate(self.server)

    def add_member(self, group_id: str, member_id: str) -> None:
        """Add a direct member to an assigned (non-dynamic) group."""
        self.tenant.changes.add_member(group_id, member_id)
        _delta.invalidate(self.server)

    def remove_member(self, group_id: str, member_id: str) -> None:
        """Remove a direct member of an assigned group."""
        self.tenant.changes.remove_member(group_id, member_id)
        _delta.invalidate(self.server)

    def churn(self, fraction: float = 0.01, seed: int = 1) -> ChangeLog:
        """A deterministic mix of mutations over the tenant (see ``Changes.churn``); the ground truth."""
        log = self.tenant.changes.churn(fraction, seed)
        _delta.invalidate(self.server)
        return log

    def expire_delta_tokens(self, mode: str = "syncStateNotFound") -> None:
        """Expire every delta/skip token issued so far (graph.md 2).

        They answer 400 ``syncStateNotFound`` or, with ``mode="resyncRequired"``, 410 Gone + ``Location``.
        """
        _delta.clock(self.server).expire_all(mode)


class Sandbox(_TenantApi):
    """A local fake of Entra ID's token endpoint and Graph v1.0 on ``https://127.0.0.1:<port>``.

    ``cloud`` ("global", "usgov" = US Government L4, "china" = 21Vianet) picks the national cloud
    modelled: its Graph resource is the only resource the token endpoint knows and every token's
    audience (graph.md 7b, 10), and its v1.0 metadata decides which properties, types and report
    functions exist (``metadata.py``). Requests still go to ``base_url``: the sandbox plays a proxy in
    front of that cloud's Graph, which changes where requests go, not the scope (graph.md 10).
    """

    def __init__(
        self,
        users: int = 300,
        seed: int = 42,
        workdir: str | None = None,
        *,
        token_lifetime: int = 3599,
        empty_pages: bool = False,
        secret_expired: bool = False,
        consent_missing: bool = False,
        premium: bool = True,
        intune: bool = True,
        sign_ins_per_day: int | None = None,
        audits_per_day: int | None = None,
        audit_throttle: tuple[int, float] | None = (5, 10.0),
        port: int = 0,
        host: str = "127.0.0.1",
        cloud: str = "global",
        delta_replays: bool = False,
        delta_token_lifetime: float = 7 * 86400.0,
        device_code_interval: int = 5,
        cache_pages: bool = False,
    ) -> None:
        metadata.check_cloud(cloud)
        self.tenant = Tenant(users=users, seed=seed, premium=premium)
        self.seed = seed
        self.tenant_id = self.tenant.tenant_id
        self.client_id = self.tenant.client_id
        self.client_secret = _secret(seed)
        self.options = {
            "token_lifetime": token_lifetime,
            "empty_pages": empty_pages,
            "secret_expired": secret_expired,
            "consent_missing": consent_missing,
            "premium": premium,
            "intune": intune,
            "cloud": cloud,
            "delta_replays": delta_replays,
            "delta_token_lifetime": delta_token_lifetime,
            "device_code_interval": device_code_interval,
            "cache_pages": cache_pages,
        }
        self._workdir = workdir
        self._host, self._port = host, port
        self._httpd: HttpsServer | None = None
        self._thread: threading.Thread | None = None
        self.tls: tls.TlsFiles | None = None
        self.server = _server(
            self.tenant,
            self.client_id,
            self.client_secret,
            cloud=cloud,
            token_lifetime=token_lifetime,
            empty_pages=empty_pages,
            secret_expired=secret_expired,
            consent_missing=consent_missing,
            premium=premium,
            intune=intune,
            sign_ins_per_day=sign_ins_per_day,
            audits_per_day=audits_per_day,
            audit_throttle=audit_throttle,
            delta_replays=delta_replays,
            delta_token_lifetime=delta_token_lifetime,
        )
        self.server.device_code_interval = int(device_code_interval)
        self.server.cache_pages = bool(cache_pages)
        self._dispatcher = Dispatcher(self.server)
        #: every tenant behind this sandbox's listener; ``tenants[0]`` is the primary (this object's own)
        self.tenants: list[SandboxTenant] = [SandboxTenant(self, self.server)]

    # -- several tenants ---------------------------------------------------------------------------

    def add_tenant(
        self,
        users: int = 300,
        seed: int | None = None,
        *,
        premium: bool = True,
        intune: bool = True,
        company: str | None = None,
        consented: bool = True,
        token_lifetime: int | None = None,
        empty_pages: bool = False,
        secret_expired: bool = False,
        consent_missing: bool = False,
        sign_ins_per_day: int | None = None,
        audits_per_day: int | None = None,
        audit_throttle: tuple[int, float] | None = (5, 10.0),
        delta_replays: bool = False,
        delta_token_lifetime: float = 7 * 86400.0,
        device_code_interval: int | None = None,
        cache_pages: bool | None = None,
    ) -> SandboxTenant:
        """Serve another tenant behind the same listener (before or after ``start()``).

        Its own model (``users``, ``seed``: default the first seed after the primary's that no tenant
        uses), GUID, company and verified domains (``company`` default: the seed's draw, or the next
        company name no tenant of this sandbox has), its own single-tenant app registration, grants,
        tokens, faults and log. ``consented``: whether the primary's multi-tenant app (``sb.client_id``,
        its secret and certificate) has admin consent here. The cloud is the sandbox's. Options as
        :class:`Sandbox`'s (``token_lifetime``, ``device_code_interval``, ``cache_pages`` default: the primary's). ``ValueError`` when the seed gives
        a tenant id, or ``company`` a default domain, that another tenant already has.
        """
        from .model.organization import COMPANIES, company_slug, default_company

        used_seeds = {t.tenant.seed for t in self.tenants}
        if seed is None:
            seed = self.seed + 1
            while seed in used_seeds:
                seed += 1
        names = {t.company.lower() for t in self.tenants}
        slugs = {company_slug(t.company) for t in self.tenants}
        if company is None:
            company = default_company(seed)
            if company.lower() in names:
                order = [name for name, _ in COMPANIES]
                start = order.index(company)
                free = [n for n in order[start:] + order[:start] if n.lower() not in names]
                company = free[0] if free else f"{company} {len(self.tenants) + 1}"
        elif company_slug(company) in slugs:
            raise ValueError(f"a tenant of this sandbox already has the domains of {company!r}")
        model = Tenant(users=users, seed=seed, premium=premium, company=company)
        ids = {t.tenant_id for t in self.tenants} | {t.client_id for t in self.tenants}
        if model.tenant_id in ids or model.client_id in ids:
            raise ValueError(f"seed {seed} gives the id of a tenant this sandbox already serves")
        server = _server(
            model,
            model.client_id,
            _secret(seed),
            cloud=self.cloud,
            token_lifetime=self.server.token_lifetime if token_lifetime is None else token_lifetime,
            empty_pages=empty_pages,
            secret_expired=secret_expired,
            consent_missing=consent_missing,
            premium=premium,
            intune=intune,
            sign_ins_per_day=sign_ins_per_day,
            audits_per_day=audits_per_day,
            audit_throttle=audit_throttle,
            delta_replays=delta_replays,
            delta_token_lifetime=delta_token_lifetime,
        )
        server.shared_app = self.server
        server.app_consented = bool(consented)
        server.latency = self.server.latency
        server.cache_pages = self.server.cache_pages if cache_pages is None else bool(cache_pages)
        server.device_code_interval = (
            self.server.device_code_interval
            if device_code_interval is None
            else int(device_code_interval)
        )
        self._dispatcher.add(server)
        added = SandboxTenant(self, server)
        self.tenants.append(added)
        return added

    @property
    def all_requests(self) -> list[RequestLog]:
        """Every tenant's outer requests merged, in the order they were answered."""
        return list(self._dispatcher.merged_log)

    def reset_log(self) -> None:
        """Forget logged requests (every tenant's, and ``all_requests``)."""
        for server in list(self._dispatcher.servers):
            server.requests.clear()
            server.batch_requests.clear()
        self._dispatcher.merged_log.clear()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Generate TLS material, bind, and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self.server.stopping.clear()
        workdir = self._workdir
        if workdir is None:
            workdir = tempfile.mkdtemp(prefix="m365-graph-sandbox-")
            _TEMP_DIRS.append(workdir)
        self.workdir = workdir
        self.tls = tls.generate(workdir)
        self.server.cert_thumbprint = self.tls.client_thumbprint
        self.server.cert_thumbprint_sha256 = self.tls.client_thumbprint_sha256
        self.server.cert_public_key = self.tls.client_public_key
        context = make_context(self.tls.server_cert, self.tls.server_key)
        self._httpd = HttpsServer((self._host, self._port), self._dispatcher, context)
        port = self._httpd.server_address[1]
        for server in self._dispatcher.servers:
            server.base_url = f"https://{self._host}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="m365-graph-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.server.stopping.set()  # ends slow-drip answers
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- contract attributes -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>`` (authority and Graph root share it)."""
        return self.server.base_url

    authority_url = base_url
    graph_url = base_url

    @property
    def cloud(self) -> str:
        """The national cloud modelled: ``global``, ``usgov`` or ``china``."""
        return self.server.cloud

    @property
    def graph_resource(self) -> str:
        """The cloud's Graph resource: the token audience and the ``/.default`` scope's resource."""
        return self.server.graph_resource

    @property
    def graph_scope(self) -> str:
        """``<graph_resource>/.default``, the client-credentials scope for this cloud."""
        return f"{self.server.graph_resource}/.default"

    @property
    def ca_bundle(self) -> str:
        """System CA bundle + the sandbox certificate (for ``REQUESTS_CA_BUNDLE``)."""
        return self._require_started().ca_bundle

    @property
    def cert_key_path(self) -> str:
        """PEM private key of the registered client certificate."""
        return self._require_started().client_key

    @property
    def cert_path(self) -> str:
        """PEM of the registered client certificate (for ``public_certificate``)."""
        return self._require_started().client_cert

    @property
    def cert_thumbprint(self) -> str:
        """SHA-1 hex thumbprint of the registered client certificate (x5t)."""
        return self._require_started().client_thumbprint

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """The tap's config for this sandbox, plus overrides.

        ``authority_url`` and ``graph_url`` are the sandbox (a proxy in front of Entra and Graph);
        ``cloud`` names the cloud whose Graph resource the token must be for.
        """
        config = {
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "authority_url": self.base_url,
            "graph_url": self.base_url,
            "cloud": self.cloud,
        }
        config.update(overrides)
        return config

    def _require_started(self) -> tls.TlsFiles:
        if self.tls is None:
            raise RuntimeError("Sandbox not started: call start() or use it as a context manager")
        return self.tls

    def __repr__(self) -> str:
        state = self.base_url or "stopped"
        return f"Sandbox(users={len(self.tenant.users)}, seed={self.seed}, cloud={self.cloud}, {state})"


class SandboxTenant(_TenantApi):
    """One tenant behind a :class:`Sandbox`'s listener (``sb.tenants``; ``sb.add_tenant(...)``).

    ``client_id``/``client_secret`` are the tenant's own single-tenant app registration (accepted in this
    tenant only; for the primary it is the multi-tenant app ``sb.client_id`` itself). ``consented``:
    whether the primary's multi-tenant app has admin consent (a service principal) here, so Entra
    issues it tokens in this tenant; without it Entra answers AADSTS700016 "Application with identifier
    … was not found in the directory …" (graph.md 7d). Grants, ``secret_expired``, ``consent_missing``,
    faults, tokens and the request log are this tenant's.
    """

    def __init__(self, sandbox: Sandbox, server: Server) -> None:
        self.sandbox = sandbox
        self.server = server
        self.tenant = server.tenant
        self.tenant_id: str = server.tenant.tenant_id
        self.company: str = server.tenant.company
        self.client_id: str = server.client_id
        self.client_secret: str = server.client_secret

    @property
    def primary(self) -> bool:
        """Whether this is the sandbox's first tenant (``sb`` itself)."""
        return self.server is self.sandbox.server

    @property
    def consented(self) -> bool:
        """Whether the multi-tenant app (``sb.client_id``) may get tokens in this tenant (mutable)."""
        return self.server.app_consented

    @consented.setter
    def consented(self, value: bool) -> None:
        self.server.app_consented = bool(value)

    @property
    def secret_expired(self) -> bool:
        """Whether this tenant's token endpoint answers AADSTS7000222 for a client secret (mutable)."""
        return bool(self.server.secret_expired)

    @secret_expired.setter
    def secret_expired(self, value: bool) -> None:
        self.server.secret_expired = bool(value)

    @property
    def consent_missing(self) -> bool:
        """Whether this tenant's token endpoint answers AADSTS65001 after the credentials (mutable)."""
        return bool(self.server.consent_missing)

    @consent_missing.setter
    def consent_missing(self, value: bool) -> None:
        self.server.consent_missing = bool(value)

    def entry(self, **overrides: Any) -> dict[str, Any]:
        """A tap ``tenants`` list entry using the shared multi-tenant app: ``{"tenant_id"}`` + overrides."""
        return {"tenant_id": self.tenant_id, **overrides}

    def own_entry(self, **overrides: Any) -> dict[str, Any]:
        """A ``tenants`` entry with this tenant's own app: tenant_id, client_id, client_secret + overrides."""
        return {
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            **overrides,
        }

    def __repr__(self) -> str:
        return (
            f"SandboxTenant({self.company!r}, tenant_id={self.tenant_id}, "
            f"users={len(self.tenant.users)}, consented={self.consented})"
        )
