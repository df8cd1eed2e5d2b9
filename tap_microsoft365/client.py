"""The shared Graph client: paging, ``$select``, retries, error translation and ``$batch``, written once.

Graph behaviour relied on (../shared/reference/graph.md):
- paging follows the whole ``@odata.nextLink``; a page may be empty and still carry one (section 5);
- headers are not carried into nextLinks, so ``ConsistencyLevel`` is resent on every page (section 5);
- 429, 503 and 504 are retried after ``Retry-After``, which may be fractional; without it, exponential
  backoff (section 6);
- errors are ``{"error": {"code", "message", "innerError"}}``; branch on ``code`` (section 7d);
- ``$batch`` takes at most 20 relative requests and answers 200 even when inner requests fail; inner 429s
  carry their own ``Retry-After`` and are retried on their own (section 5).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import time
import typing as t
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

import backoff
import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseHATEOASPaginator

from tap_microsoft365.errors import (
    AuthError,
    GraphError,
    GraphSkippableError,
    GraphTransientError,
    LicenseMissingError,
    PermissionMissingError,
    graph_error_parts,
    request_ids,
)
from tap_microsoft365.permissions import requirement_for

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from tap_microsoft365.auth import GraphAuthenticator

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BATCH_LIMIT = 20  # requests per $batch (graph.md section 5)
DEFAULT_MAX_RETRIES = 8
#: $batch POSTs in flight at once: 2 x 20 member lists stays under Graph's identity limit of
#: 8,000 resource units per 10 s at real latency (graph.md section 6: members cost 3 RU each).
DEFAULT_BATCH_CONCURRENCY = 2
DEFAULT_RETRY_BUDGET_SECONDS = 900.0
MAX_BACKOFF_SECONDS = 60.0
PERMISSION_CODES = frozenset(
    {"Authorization_RequestDenied", "Authentication_MSGraphPermissionMissing", "AccessDenied"}
)
LICENSE_CODES = frozenset({"Authentication_RequestFromNonPremiumTenantOrB2CTenant"})

_decode = msgspec.json.Decoder().decode


def graph_json(response: requests.Response) -> dict:
    """The response body parsed once (paginator and parser both need it)."""
    body = getattr(response, "_graph_body", None)
    if body is None:
        body = _decode(response.content) if response.content else {}
        response._graph_body = body  # type: ignore[attr-defined]
    return body


def graph_session() -> requests.Session:
    """A keep-alive session that trusts ``REQUESTS_CA_BUNDLE``.

    singer-sdk sends prepared requests with ``Session.send``, which skips requests' environment
    settings, so the CA bundle from the environment is set on the session here.
    """
    session = requests.Session()
    session.verify = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    return session


@dataclass
class TenantConnection:
    """What every stream of one tenant shares: the token source, the HTTP session and the Graph base."""

    tenant_id: str
    graph_base: str  # e.g. https://graph.microsoft.com/v1.0
    authenticator: GraphAuthenticator
    session: requests.Session = field(default_factory=lambda: graph_session())
    #: Request pacers shared by the streams of one throttling scope (e.g. "audit": pacing.py).
    pacers: dict[str, t.Any] = field(default_factory=dict)

    def relative(self, url: str) -> str:
        """A Graph URL relative to the v1.0 root, as ``$batch`` wants it."""
        if url.startswith(self.graph_base):
            return url[len(self.graph_base) :]
        parts = urlsplit(url)
        path = parts.path.split("/v1.0", 1)[-1]
        return f"{path}?{parts.query}" if parts.query else path


class GraphNextLinkPaginator(BaseHATEOASPaginator):
    """Follows ``@odata.nextLink`` and continues past empty pages that still carry one."""

    def get_next_url(self, response: requests.Response) -> str | None:
        """The whole nextLink (it already holds $select, $top and $skiptoken)."""
        return graph_json(response).get("@odata.nextLink")

    def continue_if_empty(self, response: requests.Response) -> bool:
        """Graph may return an empty page with a nextLink (graph.md section 5)."""
        return "@odata.nextLink" in graph_json(response)


class TokenRenewalNeeded(RetriableAPIError):
    """A 401: the token was renewed and the request is sent again at once."""


@dataclass(order=True)
class _InnerRequest:
    ready_at: float
    seq: int
    key: t.Any = field(compare=False)
    url: str = field(compare=False)
    attempts: int = field(default=0, compare=False)


class GraphStream(RESTStream):
    """Base of every stream: a Graph collection read page by page with the cheapest query."""

    records_jsonpath = "$.value[*]"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("id",)
    #: Documented maximum ``$top`` of the endpoint; None when it takes no ``$top``.
    max_page_size: int | None = 999
    #: False for endpoints that take no ``$select`` (e.g. directoryRoles).
    supports_select: bool = True
    #: Fields the tap adds; never sent in ``$select``.
    tap_fields: t.ClassVar[tuple[str, ...]] = ("tenant_id",)
    #: True when the query needs ``ConsistencyLevel: eventual`` (advanced queries, graph.md section 5).
    advanced_query: bool = False
    #: Graph's JSON already has the schema's types (strings for date-times, ints, bools, lists, objects),
    #: so the SDK's per-value conformance (two thirds of its per-record time) is skipped; the one thing it
    #: did that matters, dropping keys the schema lacks, is done per record in ``parse_response``.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    # -- wiring to the tap's shared connection ---------------------------------------------------

    @property
    def connection(self) -> TenantConnection:
        """The tenant connection (one tenant per run today; contexts carry tenant_id already)."""
        return self._tap.connection  # type: ignore[attr-defined]

    @property
    def url_base(self) -> str:
        """Graph v1.0 root from the graph_url / cloud settings."""
        return self.connection.graph_base

    @property
    def authenticator(self) -> GraphAuthenticator:
        """The tenant's single authenticator (never rebuilt: it holds msal's token cache)."""
        return self.connection.authenticator

    @property
    def requests_session(self) -> requests.Session:
        """One keep-alive session shared by all streams."""
        return self.connection.session

    @property
    def partitions(self) -> list[dict] | None:
        """Every stream is partitioned by tenant, so state is per (stream, tenant) from day one."""
        return [{"tenant_id": self.connection.tenant_id}]

    @property
    def http_headers(self) -> dict:
        """User agent, plus ``ConsistencyLevel`` for advanced queries (resent on every page)."""
        headers = {"User-Agent": self.config.get("user_agent") or "tap-microsoft365"}
        if self.advanced_query:
            headers["ConsistencyLevel"] = "eventual"
        return headers

    # -- request building ------------------------------------------------------------------------

    @cached_property
    def select_fields(self) -> list[str]:
        """Exactly the Graph properties the schema declares (the tap's own fields excluded)."""
        return [name for name in self.schema["properties"] if name not in self.tap_fields]

    @cached_property
    def page_size(self) -> int | None:
        """The documented maximum, or the page_size setting when it is smaller."""
        if self.max_page_size is None:
            return None
        cap = self.config.get("page_size")
        return min(self.max_page_size, int(cap)) if cap else self.max_page_size

    def query_params(self, context: Context | None) -> dict[str, t.Any]:
        """Extra OData parameters of the first request (``$filter``, ``$count``)."""
        return {}

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        """``$select`` and ``$top`` on the first page; later pages use the nextLink as it is."""
        if next_page_token:
            return {}
        params: dict[str, t.Any] = {}
        if self.supports_select:
            params["$select"] = ",".join(self.select_fields)
        if self.page_size:
            params["$top"] = self.page_size
        params.update(self.query_params(context))
        return params

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """Graph request: nextLink verbatim, ``$`` kept literal, a client-request-id per request."""
        request = super().get_http_request(page=page)
        if page.next_page_token:
            request.url, request.params = page.next_page_token.geturl(), {}
        else:
            request.safe_query_chars = "$,()'@"
        request.headers["client-request-id"] = str(uuid.uuid4())
        request.headers["return-client-request-id"] = "true"
        return request

    def get_new_paginator(self) -> GraphNextLinkPaginator:
        """NextLink paging (the SDK default would read one page only)."""
        return GraphNextLinkPaginator()

    # -- responses -------------------------------------------------------------------------------

    @cached_property
    def schema_keys(self) -> frozenset[str]:
        """The record keys the schema declares."""
        return frozenset(self.schema["properties"])

    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The page's ``value`` items, tagged with the tenant; keys outside the schema dropped.

        With ``$select`` Graph returns exactly the selected properties (null ones included), so the
        key check is a length comparison for almost every record.
        """
        tenant_id = self.connection.tenant_id
        keys = self.schema_keys
        expected = len(self.select_fields) if self.supports_select else -1
        for item in graph_json(response).get("value", ()):
            if len(item) != expected:
                for key in [k for k in item if k not in keys]:
                    del item[key]
            item["tenant_id"] = tenant_id
            yield item

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """Records, or none with one warning when the tenant lacks a permission or licence."""
        try:
            yield from self.graph_records(context)
        except GraphSkippableError as exc:
            if self.config.get("strict_permissions"):
                raise
            self.logger.warning("Skipping stream '%s': %s", self.name, exc)

    def graph_records(self, context: Context | None) -> Iterable[dict]:
        """The stream's records; overridden by streams that are not one paged collection."""
        return super().get_records(context)

    def response_error_message(self, response: requests.Response) -> str:
        """Status, Graph's error code and ids; never the body (it may hold personal data)."""
        code, _, ids = graph_error_parts(response)
        return (
            f"Graph answered {response.status_code} {code or response.reason} for "
            f"{response.request.method} {urlsplit(response.url).path} ({ids})"
        )

    def validate_response(self, response: requests.Response) -> None:
        """Sort a failed response into retry, renew-and-retry, skippable or fatal."""
        status = response.status_code
        if status < 400:
            return
        if status == 401:
            header = response.request.headers.get("Authorization")
            if self.authenticator.renew_after_unauthorized(header):
                raise TokenRenewalNeeded(self.response_error_message(response), response)
            code, _, ids = graph_error_parts(response)
            raise AuthError(
                f"Graph rejected a newly issued token for stream '{self.name}' (401 {code}, {ids}). "
                "Fix: check that graph_url and the cloud setting match the tenant's cloud."
            )
        if status in RETRY_STATUSES:
            raise RetriableAPIError(self.response_error_message(response), response)
        raise self.error_for(status, response)

    def error_for(self, status: int, response: requests.Response) -> Exception:
        """The exception for a non-retriable Graph error (streams may add cases)."""
        code, message, ids = graph_error_parts(response)
        return self.error_from_parts(
            status,
            code,
            message,
            ids,
            response.request.method or "GET",
            urlsplit(response.url).path,
        )

    def error_from_parts(
        self, status: int, code: str, message: str, ids: str, method: str, path: str
    ) -> Exception:
        """Build the user-facing exception from a Graph error's status and code."""
        need = requirement_for(self.name)
        if code in LICENSE_CODES:
            return LicenseMissingError(
                f"the tenant lacks the licence stream '{self.name}' needs ({need.licence or 'Entra ID P1 or P2'}): "
                f"Graph answered {status} {code} for {method} {path} ({ids}). Fix: license the tenant "
                f"or deselect the stream."
            )
        if status == 403 and (code in PERMISSION_CODES or not code):
            return PermissionMissingError(
                f"stream '{self.name}' needs the Microsoft Graph application permission "
                f"{need.describe()} with admin consent: Graph answered 403 {code or 'Forbidden'} for "
                f"{method} {path} ({ids}). Fix: App registrations > your app > API permissions > Add a "
                f"permission > Microsoft Graph > Application permissions > {need.permissions[0]}, then "
                "Grant admin consent."
            )
        detail = f": {message}" if message else ""
        return GraphError(
            f"Graph answered {status} {code or 'error'} for {method} {path} in stream "
            f"'{self.name}'{detail} ({ids})."
        )

    # -- retries ---------------------------------------------------------------------------------

    def backoff_max_tries(self) -> int:
        """Attempts per request: the max_retries setting plus the first try."""
        return int(self.config.get("max_retries", DEFAULT_MAX_RETRIES)) + 1

    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        """``Retry-After`` (fractional allowed) when Graph sends it, else 1, 2, 4 ... 60 s."""
        fallback = backoff.expo(base=2, factor=1, max_value=MAX_BACKOFF_SECONDS)
        next(fallback)

        def wait(exc: Exception) -> float:
            if isinstance(exc, TokenRenewalNeeded):
                return 0.0
            response = getattr(exc, "response", None)
            header = response.headers.get("Retry-After") if response is not None else None
            return parse_retry_after(header) if header else float(next(fallback))

        return self.backoff_runtime(value=wait)

    def backoff_jitter(self, value: float) -> float:
        """No jitter: ``Retry-After`` is honoured exactly."""
        return value

    def backoff_handler(self, details: dict) -> None:
        """One warning per retry, with Graph's ids."""
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        what = (
            f"{response.status_code} for {response.request.method} {urlsplit(response.url).path} "
            f"({request_ids(response.headers)})"
            if response is not None
            else type(exc).__name__
        )
        self.logger.warning(
            "Stream '%s': Graph answered %s; retry %d of %d in %.2f s",
            self.name,
            what,
            details.get("tries", 0),
            self.backoff_max_tries() - 1,
            details.get("wait", 0.0),
        )

    def request_decorator(self, func: t.Callable) -> t.Callable:
        """SDK retries bounded by tries and a total time budget; exhaustion becomes one clear error."""
        budget = float(self.config.get("retry_budget_seconds", DEFAULT_RETRY_BUDGET_SECONDS))
        decorated = backoff.on_exception(
            self.backoff_wait_generator,
            (
                ConnectionResetError,
                RetriableAPIError,
                requests.exceptions.Timeout,
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
            ),
            max_tries=self.backoff_max_tries,
            max_time=budget,
            giveup=lambda exc: isinstance(exc, requests.exceptions.SSLError),
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )(func)

        def call(*args: t.Any, **kwargs: t.Any) -> requests.Response:
            started = time.monotonic()
            try:
                return decorated(*args, **kwargs)
            except RetriableAPIError as exc:
                raise GraphTransientError(
                    f"Stream '{self.name}': {exc} still failing after {self.backoff_max_tries()} "
                    f"attempts over {time.monotonic() - started:.0f} s. Fix: run again later (Graph "
                    "throttles per app and tenant), or raise max_retries / retry_budget_seconds."
                ) from None
            except requests.exceptions.SSLError:
                raise GraphError(
                    f"TLS verification of {self.url_base} failed. Fix: set REQUESTS_CA_BUNDLE to a CA "
                    "bundle that includes your proxy's certificate."
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                raise GraphTransientError(
                    f"Cannot reach Microsoft Graph at {self.url_base} ({type(exc).__name__}) after "
                    f"{self.backoff_max_tries()} attempts. Fix: check graph_url / cloud, DNS and "
                    "HTTPS_PROXY settings."
                ) from None

        return call

    # -- requests outside the paged collection ---------------------------------------------------

    def prepare_graph_request(
        self, method: str, url: str, json: dict | None = None
    ) -> requests.PreparedRequest:
        """An authenticated request with the stream's headers and a fresh client-request-id."""
        return self.build_prepared_request(
            method=method,
            url=url,
            json=json,
            headers={**self.http_headers, "client-request-id": str(uuid.uuid4())},
        )

    def send_graph(
        self, method: str, url: str, context: Context | None, json: dict | None = None
    ) -> requests.Response:
        """One Graph call with the shared retries and error translation (reports, settings)."""
        return self.request_decorator(self._request)(
            self.prepare_graph_request(method, url, json), context
        )

    # -- $batch ----------------------------------------------------------------------------------

    def batch_pages(
        self, requests_: Iterable[tuple[t.Any, str]], context: Context | None
    ) -> Iterator[tuple[t.Any, dict]]:
        """Yield ``(key, page body)`` for every page of every relative GET, 20 per ``$batch`` POST.

        Inner nextLinks and inner retries are queued into later batches; ``requests_`` is consumed
        lazily, so memory stays flat however many parents there are. An inner 404 (the parent was
        deleted meanwhile) is skipped.
        """
        source = iter(requests_)
        seq = itertools.count()
        waiting: list[_InnerRequest] = []  # heap by ready_at: follow-ups and retries
        send = self.request_decorator(self._request)
        max_tries = self.backoff_max_tries()
        concurrency = max(1, int(self.config.get("batch_concurrency", DEFAULT_BATCH_CONCURRENCY)))
        in_flight: deque[tuple[Future, list[_InnerRequest]]] = deque()
        exhausted = False

        def next_batch() -> list[_InnerRequest]:
            nonlocal exhausted
            now = time.monotonic()
            batch: list[_InnerRequest] = []
            while waiting and waiting[0].ready_at <= now and len(batch) < BATCH_LIMIT:
                batch.append(heapq.heappop(waiting))
            while not exhausted and len(batch) < BATCH_LIMIT:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                batch.append(_InnerRequest(0.0, next(seq), item[0], item[1]))
            return batch

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="graph-batch") as pool:
            while True:
                while len(in_flight) < concurrency and (batch := next_batch()):
                    body = {
                        "requests": [
                            {"id": str(i), "method": "GET", "url": inner.url}
                            for i, inner in enumerate(batch)
                        ]
                    }
                    prepared = self.prepare_graph_request("POST", f"{self.url_base}/$batch", body)
                    in_flight.append((pool.submit(send, prepared, context), batch))
                if not in_flight:
                    if exhausted and not waiting:
                        return
                    if waiting:
                        time.sleep(max(waiting[0].ready_at - time.monotonic(), 0.0))
                    continue
                future, batch = in_flight.popleft()
                response = future.result()
                yield from self._batch_answers(response, batch, waiting, seq, max_tries)

    def _batch_answers(
        self,
        response: requests.Response,
        batch: list[_InnerRequest],
        waiting: list[_InnerRequest],
        seq: itertools.count,
        max_tries: int,
    ) -> Iterator[tuple[t.Any, dict]]:
        """Yield the successful inner pages of one ``$batch``; queue follow-ups and retries."""
        for answer in graph_json(response).get("responses", ()):
            inner = batch[int(answer["id"])]
            status = int(answer.get("status", 0))
            page = answer.get("body") or {}
            if status < 300:
                next_link = page.get("@odata.nextLink")
                if next_link:
                    heapq.heappush(
                        waiting,
                        _InnerRequest(
                            0.0, next(seq), inner.key, self.connection.relative(next_link)
                        ),
                    )
                yield inner.key, page
            elif status == 404:
                self.logger.info("Stream '%s': %s is gone (404), skipped", self.name, inner.url)
            elif status in RETRY_STATUSES:
                inner.attempts += 1
                headers = answer.get("headers") or {}
                if inner.attempts >= max_tries:
                    raise GraphTransientError(
                        f"Stream '{self.name}': Graph answered {status} for batched GET "
                        f"{inner.url.split('?', 1)[0]} {inner.attempts} times. Fix: run again "
                        "later, or raise max_retries."
                    )
                header = headers.get("Retry-After") or headers.get("retry-after")
                delay = (
                    parse_retry_after(header)
                    if header
                    else min(2.0 ** (inner.attempts - 1), MAX_BACKOFF_SECONDS)
                )
                self.logger.warning(
                    "Stream '%s': batched request answered %s; retry %d in %.2f s",
                    self.name,
                    status,
                    inner.attempts,
                    delay,
                )
                inner.ready_at = time.monotonic() + delay
                heapq.heappush(waiting, inner)
            else:
                error = page.get("error") or {}
                inner_error = error.get("innerError") or {}
                ids = (
                    f"request-id {inner_error.get('request-id', '-')}, "
                    f"client-request-id {inner_error.get('client-request-id', '-')}"
                )
                raise self.error_from_parts(
                    status,
                    str(error.get("code") or ""),
                    str(error.get("message") or ""),
                    ids,
                    "GET",
                    inner.url.split("?", 1)[0],
                )


def parse_retry_after(value: str) -> float:
    """Seconds from a ``Retry-After`` header; Graph may send fractions such as ``2.128``."""
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 1.0


logging.getLogger("backoff").setLevel(logging.ERROR)
__all__ = ["FatalAPIError", "GraphStream", "TenantConnection", "graph_json"]
