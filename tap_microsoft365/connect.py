"""One tenant's connection: its token source (app-only or delegated) and Graph client, from settings.

Used by the tap for each tenant of a run, by ``--check`` and by ``tap-microsoft365-login``.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlparse

from tap_microsoft365.context import RunContext
from tap_microsoft365.graph.auth import DelegatedTokenSource, TokenSource, load_credential
from tap_microsoft365.graph.client import DEFAULT_BATCH_CONCURRENCY, GraphClient
from tap_microsoft365.graph.clouds import CLOUDS, WELL_KNOWN_LOGIN_HOSTS, Cloud
from tap_microsoft365.graph.errors import ConfigError
from tap_microsoft365.graph.retry import DEFAULT_BUDGET_SECONDS, DEFAULT_MAX_RETRIES, RetryPolicy
from tap_microsoft365.permissions import delegated_scopes
from tap_microsoft365.scope import Scope
from tap_microsoft365.settings import check_url

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from tap_microsoft365.tenants import TenantEntry


def cloud_of(config: Mapping[str, t.Any]) -> Cloud:
    """The configured national cloud."""
    name = config.get("cloud") or "global"
    if name not in CLOUDS:
        raise ConfigError(f"Setting cloud is unknown. Fix: use one of {', '.join(CLOUDS)}.")
    return CLOUDS[name]


def authority_of(config: Mapping[str, t.Any]) -> str:
    """The login host: authority_url, else the cloud's."""
    return check_url("authority_url", config.get("authority_url") or cloud_of(config).login)


def token_source(
    config: Mapping[str, t.Any],
    entry: TenantEntry,
    policy: RetryPolicy,
    streams: Iterable[str],
    *,
    sign_in: bool = False,
) -> TokenSource:
    """The tenant's tokens: client credentials (secret or certificate), or a delegated sign-in.

    ``sign_in``: the delegated source ``tap-microsoft365-login`` signs in with (no refresh token yet).
    """
    cloud = cloud_of(config)
    authority_url = authority_of(config)
    common: dict[str, t.Any] = {
        "tenant_id": entry.tenant_id,
        "client_id": entry.sign_in_client_id if sign_in else entry.client_id,
        "authority_url": authority_url,
        "cloud": cloud,
        "well_known_authority": urlparse(authority_url).netloc in WELL_KNOWN_LOGIN_HOSTS,
        "policy": policy,
        "clock": policy.clock,
    }
    settings = entry.settings
    if entry.delegated or sign_in:
        return DelegatedTokenSource(
            delegated_scopes=delegated_scopes(streams, cloud.graph),
            cache_path=settings.get("token_cache_path") or None,
            refresh_token=None if sign_in else settings.get("refresh_token"),
            where=entry.describe(),
            **common,
        )
    return TokenSource(credential=load_credential(settings), **common)


def build_run_context(
    config: Mapping[str, t.Any], entry: TenantEntry, streams: Iterable[str]
) -> RunContext:
    """The tenant's run context: its Graph client (own token source and retry counters) and scope.

    ``streams``: the selected streams, whose delegated scopes a delegated connection asks for.
    """
    cloud = cloud_of(config)
    graph_url = check_url("graph_url", config.get("graph_url") or cloud.graph)
    policy = RetryPolicy(
        max_retries=int(config.get("max_retries", DEFAULT_MAX_RETRIES)),
        budget_seconds=float(config.get("retry_budget_seconds", DEFAULT_BUDGET_SECONDS)),
    )
    client = GraphClient(
        tenant_id=entry.tenant_id,
        graph_url=graph_url,
        tokens=token_source(config, entry, policy, streams),
        policy=policy,
        user_agent=config.get("user_agent") or "tap-microsoft365",
        deadline_seconds=float(config.get("request_timeout_seconds") or 300),
        batch_concurrency=int(config.get("batch_concurrency", DEFAULT_BATCH_CONCURRENCY)),
        link_aliases=(cloud.graph,),
    )
    return RunContext(
        tenant_id=entry.tenant_id,
        client=client,
        scope=Scope.from_config(config),
        label=entry.label,
        delegated=entry.delegated,
    )
