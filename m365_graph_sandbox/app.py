"""``Sandbox``: the tenant model, TLS material and the HTTPS server behind one object (see CONTRACT.md)."""

from __future__ import annotations

import atexit
import random
import shutil
import string
import tempfile
import threading
from typing import Any

from . import metadata, tls
from .model import Tenant
from .model.changes import ChangeLog, Changes
from .routes import delta as _delta
from .server import FaultPlan, HttpsServer, RequestLog, Server, make_context

_TEMP_DIRS: list[str] = []


def _cleanup() -> None:
    for path in _TEMP_DIRS:
        shutil.rmtree(path, ignore_errors=True)


atexit.register(_cleanup)


class Sandbox:
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
    ) -> None:
        metadata.check_cloud(cloud)
        self.tenant = Tenant(users=users, seed=seed, premium=premium)
        self.seed = seed
        self.tenant_id = self.tenant.tenant_id
        self.client_id = self.tenant.client_id
        rng = random.Random(f"{seed}:secret")
        alphabet = string.ascii_letters + string.digits + "_-.~"
        # Entra secret values look like "abc8Q~" + 34 characters.
        self.client_secret = (
            "".join(rng.choice(alphabet) for _ in range(3))
            + "8Q~"
            + "".join(rng.choice(alphabet) for _ in range(34))
        )
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
        }
        self._workdir = workdir
        self._host, self._port = host, port
        self._httpd: HttpsServer | None = None
        self._thread: threading.Thread | None = None
        self.tls: tls.TlsFiles | None = None
        self.server = Server(
            self.tenant,
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_lifetime=token_lifetime,
            empty_pages=empty_pages,
            secret_expired=secret_expired,
            consent_missing=consent_missing,
            premium=premium,
            intune=intune,
            cloud=cloud,
        )
        # delta query (routes/delta.py, graph.md 2)
        self.server.delta_replays = bool(delta_replays)
        self.server.delta_token_lifetime = float(delta_token_lifetime)
        # activity logs (model/audit.py, routes/audit.py): volume and the 5-per-10-s throttle
        self.server.audit_throttle = audit_throttle
        if sign_ins_per_day is not None or audits_per_day is not None:
            self.tenant.audit.generate(
                sign_ins_per_day=40 if sign_ins_per_day is None else sign_ins_per_day,
                audits_per_day=20 if audits_per_day is None else audits_per_day,
            )

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
        self._httpd = HttpsServer((self._host, self._port), self.server, context)
        port = self._httpd.server_address[1]
        self.server.base_url = f"https://{self._host}:{port}"
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
        """Forget logged requests."""
        self.server.requests.clear()
        self.server.batch_requests.clear()

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
            self.tenant_id,
            self.client_id,
            self.server.granted_permissions if permissions is None else permissions,
            self.server.token_lifetime if lifetime is None else lifetime,
            self.graph_resource if audience is None else audience,
        )
        return info.token

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

    def _require_started(self) -> tls.TlsFiles:
        if self.tls is None:
            raise RuntimeError("Sandbox not started: call start() or use it as a context manager")
        return self.tls

    def __repr__(self) -> str:
        state = self.base_url or "stopped"
        return f"Sandbox(users={len(self.tenant.users)}, seed={self.seed}, cloud={self.cloud}, {state})"
