"""``GraphClient``: the only code in the tap that does HTTP (design.md).

One client per tenant holds the session, the token source, the retry policy, the pacers and the host
allow-list. Graph behaviour relied on (../shared/reference/graph.md):
- paging follows the whole ``@odata.nextLink``; a page may be empty and still carry one (section 5);
- headers are not carried into nextLinks, so ``ConsistencyLevel`` is resent on every page (section 5);
- 429, 503 and 504 are retried after ``Retry-After`` (fractional or an HTTP-date); without it,
  exponential backoff (section 6); a 401 means the token expired or was revoked: renew and resend;
- errors are ``{"error": {"code", "message", "innerError"}}``, classified once (errors.classify);
- ``$batch`` takes at most 20 relative requests and answers 200 even when inner requests fail; inner 429s
  carry their own ``Retry-After`` and are retried on their own (section 5);
- report functions answer 302 with a short-lived pre-authenticated ``Location`` that must be fetched
  without the token (section 3).

Security: the bearer token is only ever sent to the configured Graph root over https. A nextLink, a
redirect or a ``$batch`` inner link naming any other scheme, host or port is refused before any request
leaves; report downloads must be https and never carry the token; Graph never redirects API calls.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import threading
import typing as t
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import msgspec
import requests

from tap_microsoft365.graph.auth import ca_bundle
from tap_microsoft365.graph.errors import (
    TRANSIENT_STATUSES,
    AuthError,
    Failure,
    GraphError,
    GraphNotFoundError,
    GraphTransientError,
    HostRefusedError,
    MalformedAnswerError,
    ThrottledTooLongError,
    classify,
    error_parts,
    request_ids,
)
from tap_microsoft365.graph.pacing import Pacer
from tap_microsoft365.graph.retry import Retry, RetryPolicy, parse_retry_after

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from tap_microsoft365.graph.auth import TokenSource

LOGGER = logging.getLogger("tap-microsoft365")
BATCH_LIMIT = 20  # requests per $batch (graph.md section 5)
#: 2 x 20 member lists in flight stays under Graph's identity limit of 8,000 resource units per 10 s at
#: real latency (graph.md section 6: members cost 3 RU each).
DEFAULT_BATCH_CONCURRENCY = 2
DEFAULT_CONNECT_TIMEOUT = 30.0
DEFAULT_READ_TIMEOUT = 120.0
#: Whole-request deadline: a server that drips a byte every few seconds is cut off here.
DEFAULT_DEADLINE_SECONDS = 300.0
MAX_DOWNLOAD_REDIRECTS = 5
READ_CHUNK = 1 << 16
_decode = msgspec.json.Decoder().decode
#: Key added to each page: the call that fetched it, for messages about its records.
CALL_KEY = "@tap.call"
_RENEWALS_PER_CALL = 2


@dataclass
class GraphResponse:
    """A whole answer: status, headers and the body read under the deadline."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The URL's path (never its query, which may hold a pre-authenticated download key)."""
        return urlsplit(self.url).path

    @property
    def ids(self) -> str:
        """Graph's request-id and client-request-id."""
        return request_ids(self.headers)

    def json_object(self, stream: str) -> dict:
        """The body as a JSON object, or one clear :class:`MalformedAnswerError`."""
        kind = self.headers.get("Content-Type", "no content type").split(";", 1)[0]
        if not self.body.strip():
            raise self.malformed(stream, f"an empty body ({kind}) instead of JSON")
        try:
            body = _decode(self.body)
        except msgspec.DecodeError:
            what = "an HTML page" if b"<html" in self.body[:512].lower() else f"a body ({kind})"
            raise self.malformed(stream, f"{what} that is not valid JSON (truncated?)") from None
        if not isinstance(body, dict):
            raise self.malformed(stream, f"JSON {type(body).__name__} instead of an object")
        return body

    def malformed(self, stream: str, what: str) -> MalformedAnswerError:
        """One line: the stream, the call, its ids, and what was wrong."""
        return MalformedAnswerError(
            f"Stream '{stream}': Graph answered {self.status} for {self.method} {self.path} "
            f"({self.ids}) with {what}. Fix: run again; if it persists, report the request-id to "
            "Microsoft support (a proxy between the tap and Graph can cause this too)."
        )


@dataclass
class _Inner:
    """One inner request of a ``$batch``, queued by when it may be sent."""

    ready_at: float
    seq: int
    key: t.Any = field(compare=False)
    url: str = field(compare=False)
    attempts: int = field(default=0, compare=False)
    first_failure: float | None = field(default=None, compare=False)

    def __lt__(self, other: _Inner) -> bool:
        return (self.ready_at, self.seq) < (other.ready_at, other.seq)


class GraphClient:
    """HTTP to Microsoft Graph for one tenant: ``get``, ``pages``, ``batch``, ``download``."""

    def __init__(
        self,
        *,
        tenant_id: str,
        graph_url: str,
        tokens: TokenSource,
        policy: RetryPolicy,
        user_agent: str = "tap-microsoft365",
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        batch_concurrency: int = DEFAULT_BATCH_CONCURRENCY,
        link_aliases: Iterable[str] = (),
    ) -> None:
        parts = urlsplit(graph_url.rstrip("/"))
        if parts.scheme != "https" or not parts.netloc:
            raise GraphError("graph_url must be an https URL. Fix: use the form https://host[:port].")
        self.tenant_id = tenant_id
        self.origin = f"https://{parts.netloc}"
        self.root = f"{self.origin}{parts.path}/v1.0"
        self._root_path = f"{parts.path}/v1.0/"
        #: Graph roots whose links are rewritten onto the configured root: behind a proxy or gateway
        #: (graph_url), Graph still writes its nextLinks with its own host (the cloud's Graph root).
        self._aliases = tuple(
            f"{alias.rstrip('/')}/v1.0/" for alias in link_aliases if alias.rstrip("/") != self.origin
        )
        self.tokens = tokens
        self.policy = policy
        self.user_agent = user_agent
        self.deadline_seconds = deadline_seconds
        self.timeout = (min(DEFAULT_CONNECT_TIMEOUT, read_timeout), read_timeout)
        self.batch_concurrency = max(1, batch_concurrency)
        self.session = requests.Session()
        self.session.verify = ca_bundle()
        self.session.trust_env = True
        self.pacers: dict[str, Pacer] = {}
        self._pacer_lock = threading.Lock()
        self.requests_sent = 0

    # -- where requests may go ---------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, t.Any] | None = None) -> str:
        """An absolute Graph URL from a path under v1.0 and query options (``$`` kept literal)."""
        url = f"{self.root}{path}"
        if params:
            url += "?" + urlencode(params, safe="$,()'@:/=")
        return url

    def check_graph_url(self, url: str, stream: str, source: str) -> str:
        """``url`` if it is under the configured Graph root over https, else :class:`HostRefusedError`.

        A link under the cloud's own Graph root (when ``graph_url`` names a proxy) is rewritten onto the
        configured root: requests still go nowhere else.
        """
        for alias in self._aliases:
            if url.startswith(alias):
                url = f"{self.root}/{url[len(alias) :]}"
                break
        parts = urlsplit(url)
        same_origin = parts.scheme == "https" and f"https://{parts.netloc}" == self.origin
        if same_origin and (parts.path + "/").startswith(self._root_path):
            return url
        where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
        raise HostRefusedError(
            f"Stream '{stream}': {source} points to {where}{'' if parts.netloc else ' (no host)'}, "
            "outside the Graph root set by graph_url/cloud; refused, no request sent (the token goes to "
            "that root only, over https). Fix: if a proxy rewrites Graph's links, make it keep the "
            "host and scheme of graph_url."
        )

    def relative(self, url: str, stream: str) -> str:
        """An absolute Graph link as the relative URL ``$batch`` wants (checked first)."""
        return self.check_graph_url(url, stream, "an inner @odata.nextLink")[len(self.root) :]

    def pacer(self, scope: str, requests_per_10s: float) -> Pacer | None:
        """The tenant's pacer of one throttling scope (e.g. ``audit``); None when pacing is off."""
        if requests_per_10s <= 0:
            return None
        with self._pacer_lock:
            found = self.pacers.get(scope)
            if found is None:
                found = self.pacers[scope] = Pacer(requests_per_10s, 10.0, name=scope)
            return found

    # -- one call ------------------------------------------------------------------------------------

    def _read(self, response: requests.Response, started: float, what: str) -> bytes:
        """The whole body, chunk by chunk, cut off at the request deadline."""
        chunks: list[bytes] = []
        deadline = started + self.deadline_seconds
        raw = response.raw
        while True:
            chunk = raw.read1(READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            if self.policy.clock() > deadline:
                response.close()
                raise Retry(
                    f"{what} did not complete within {self.deadline_seconds:g} s (the server sends "
                    "its answer too slowly)"
                )
        return b"".join(chunks)

    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        what: str,
    ) -> GraphResponse:
        """Send once and read the whole answer; network trouble becomes a :class:`Retry`."""
        started = self.policy.clock()
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                data=body,
                stream=True,
                allow_redirects=False,
                timeout=self.timeout,
            )
            self.requests_sent += 1
            content = self._read(response, started, what)
        except requests.exceptions.SSLError:
            raise GraphError(
                f"TLS verification of {urlsplit(url).netloc} failed. Fix: set REQUESTS_CA_BUNDLE to a "
                "CA bundle that includes your proxy's certificate."
            ) from None
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            raise Retry(f"{what}: connection failed or was cut ({type(exc).__name__})") from None
        except Exception as exc:  # urllib3 ProtocolError / IncompleteRead from read1
            if type(exc).__module__.startswith(("urllib3", "http.client")):
                raise Retry(f"{what}: connection cut ({type(exc).__name__})") from None
            raise
        return GraphResponse(method, url, response.status_code, response.headers, content)

    def send(
        self,
        method: str,
        url: str,
        *,
        stream: str,
        headers: Mapping[str, str] | None = None,
        json_body: t.Any = None,
        pace: Pacer | None = None,
        redirects: bool = False,
        max_wait: float | None = None,
    ) -> GraphResponse:
        """One Graph call with the token, retries and error classification.

        ``redirects``: a 3xx is returned to the caller (report functions) instead of refused.
        ``max_wait``: a 429/5xx whose ``Retry-After`` is longer raises :class:`ThrottledTooLongError`
        at once (the caller leaves the work for the next run) instead of waiting.
        """
        self.check_graph_url(url, stream, "a request")
        path = urlsplit(url).path
        what = f"{method} {path}"
        payload = msgspec.json.encode(json_body) if json_body is not None else None
        renewals = 0

        def attempt() -> GraphResponse:
            nonlocal renewals
            if pace is not None:
                pace.wait()
            token = self.tokens.access_token()
            request_headers = {
                "Authorization": f"Bearer {token}",
                "User-Agent": self.user_agent,
                "client-request-id": str(uuid.uuid4()),
                "return-client-request-id": "true",
                **(headers or {}),
            }
            if payload is not None:
                request_headers["Content-Type"] = "application/json"
            answer = self._exchange(method, url, request_headers, payload, what)
            if answer.status == 401:
                renewals += 1
                code, _ = error_parts(self._maybe_json(answer))
                if renewals > _RENEWALS_PER_CALL:
                    raise AuthError(
                        f"Stream '{stream}': Graph rejected {renewals} newly issued tokens (401 "
                        f"{code or 'Unauthorized'}) for {what} ({answer.ids}). Fix: check that the "
                        "cloud setting matches the tenant's cloud (the token's audience comes from it) "
                        "and that the app is not blocked by a Conditional Access policy."
                    )
                self.tokens.drop(token)
                raise Retry(f"Graph answered 401 for {what} (token expired or revoked)", immediate=True)
            if answer.status in TRANSIENT_STATUSES:
                wait = parse_retry_after(answer.headers.get("Retry-After"))
                if max_wait is not None and wait is not None and wait > max_wait:
                    raise ThrottledTooLongError(
                        f"Stream '{stream}': Graph answered {answer.status} for {what} "
                        f"({answer.ids}) asking to wait {wait:.0f} s, more than "
                        f"usage_report_max_wait_seconds ({max_wait:g} s)."
                    )
                raise Retry(f"Graph answered {answer.status} for {what} ({answer.ids})", wait)
            return answer

        answer = self.policy.run(
            attempt,
            what=f"Stream '{stream}': {what}",
            fix="run again later (Graph throttles per app and tenant), or raise max_retries / "
            "retry_budget_seconds.",
            on_retry=lambda outcome, tries, wait: LOGGER.warning(
                "Stream '%s': %s; retry %d of %d in %.2f s",
                stream,
                outcome.what,
                tries,
                self.policy.max_retries,
                wait,
            ),
        )
        if 300 <= answer.status < 400:
            if redirects:
                return answer
            raise answer.malformed(stream, "a redirect, which Graph API calls never answer")
        if answer.status >= 400:
            code, message = error_parts(self._maybe_json(answer))
            raise classify(
                answer.status, code, message, Failure(stream, method, answer.path, answer.ids)
            )
        return answer

    @staticmethod
    def _maybe_json(answer: GraphResponse) -> t.Any:
        try:
            return _decode(answer.body) if answer.body else None
        except msgspec.DecodeError:
            return None

    def get(self, path_or_url: str, *, stream: str, params: Mapping[str, t.Any] | None = None) -> dict:
        """One GET of a Graph object (a path under v1.0, or an absolute Graph URL)."""
        url = path_or_url if "://" in path_or_url else self.url(path_or_url, params)
        return self.send("GET", url, stream=stream).json_object(stream)

    # -- collections -----------------------------------------------------------------------------

    def pages(
        self,
        path: str,
        *,
        stream: str,
        params: Mapping[str, t.Any] | None = None,
        headers: Mapping[str, str] | None = None,
        pace: Pacer | None = None,
        ahead: bool = False,
    ) -> Iterator[dict]:
        """Every page of a collection: ``{"value": [...], "@odata.nextLink"?, ...}``, validated.

        Empty pages that carry a nextLink are followed (graph.md 5); a nextLink that repeats a page
        already read, or points outside the Graph root, ends the stream with one clear line. ``path``
        may be an absolute Graph URL (a saved delta link), checked like a nextLink.

        ``ahead``: while the caller works through a page, the next one is already being fetched (one
        page ahead, so memory stays at two pages): a stream's pages are a serial chain of nextLinks, and
        this overlaps the tap's per-record work with Graph's latency. For callers that read every page;
        one that stops early would leave one request made for nothing.
        """
        if "://" in path:
            url = self.check_graph_url(path, stream, "the saved @odata.deltaLink")
        else:
            url = self.url(path, params)
        seen: set[int] = set()

        def fetch(target: str) -> GraphResponse:
            return self.send("GET", target, stream=stream, headers=headers, pace=pace)

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-ahead") if ahead else None
        pending: Future[GraphResponse] | None = None
        try:
            while True:
                seen.add(hash(url))
                answer = pending.result() if pending is not None else fetch(url)
                pending = None
                page = answer.json_object(stream)
                if not isinstance(page.get("value"), list):
                    raise answer.malformed(stream, "no 'value' list in a collection page")
                page[CALL_KEY] = f"GET {answer.path} ({answer.ids})"  # for messages about its records
                next_link = page.get("@odata.nextLink")
                refused: GraphError | None = None
                next_url = ""
                if next_link is not None:
                    if not isinstance(next_link, str) or hash(next_link) in seen:
                        refused = answer.malformed(
                            stream, "an @odata.nextLink that repeats a page already read"
                        )
                    else:
                        try:
                            next_url = self.check_graph_url(next_link, stream, "@odata.nextLink")
                        except GraphError as exc:
                            refused = exc
                    if refused is None and pool is not None:
                        pending = pool.submit(fetch, next_url)
                yield page
                if refused is not None:
                    raise refused
                if next_link is None:
                    return
                url = next_url
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    # -- $batch ------------------------------------------------------------------------------------

    def batch(
        self, requests_: Iterable[tuple[t.Any, str]], *, stream: str
    ) -> Iterator[tuple[t.Any, dict]]:
        """Yield ``(key, page)`` for every page of every relative GET, 20 per ``$batch`` POST.

        Inner nextLinks and inner retries are queued into later batches; ``requests_`` is consumed
        lazily, so memory stays flat however many parents there are. An inner 404 (the parent was
        deleted meanwhile) is skipped; other inner errors go through the same error table.
        """
        source = iter(requests_)
        seq = itertools.count()
        waiting: list[_Inner] = []  # heap by ready_at: follow-ups and retries
        in_flight: deque[tuple[Future[GraphResponse], list[_Inner]]] = deque()
        exhausted = False
        clock = self.policy.clock
        url = f"{self.root}/$batch"

        def next_batch() -> list[_Inner]:
            nonlocal exhausted
            now = clock()
            batch: list[_Inner] = []
            while waiting and waiting[0].ready_at <= now and len(batch) < BATCH_LIMIT:
                batch.append(heapq.heappop(waiting))
            while not exhausted and len(batch) < BATCH_LIMIT:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                batch.append(_Inner(0.0, next(seq), item[0], item[1]))
            return batch

        with ThreadPoolExecutor(
            max_workers=self.batch_concurrency, thread_name_prefix="graph-batch"
        ) as pool:
            while True:
                while len(in_flight) < self.batch_concurrency and (batch := next_batch()):
                    body = {
                        "requests": [
                            {"id": str(i), "method": "GET", "url": inner.url}
                            for i, inner in enumerate(batch)
                        ]
                    }
                    future = pool.submit(self.send, "POST", url, stream=stream, json_body=body)
                    in_flight.append((future, batch))
                if not in_flight:
                    if exhausted and not waiting:
                        return
                    if waiting:
                        self.policy.sleep(max(waiting[0].ready_at - clock(), 0.0))
                    continue
                future, batch = in_flight.popleft()
                answer = future.result()
                yield from self._batch_answers(answer, batch, waiting, seq, stream)

    def _batch_answers(
        self,
        answer: GraphResponse,
        batch: list[_Inner],
        waiting: list[_Inner],
        seq: itertools.count,
        stream: str,
    ) -> Iterator[tuple[t.Any, dict]]:
        """The successful inner pages of one ``$batch``; follow-ups and retries queued."""
        responses = answer.json_object(stream).get("responses")
        if not isinstance(responses, list):
            raise answer.malformed(stream, "no 'responses' list in a $batch answer")
        for item in responses:
            inner = _inner_of(item, batch)
            if inner is None:
                raise answer.malformed(stream, "a $batch response with an unknown id")
            status = item.get("status") if isinstance(item.get("status"), int) else 0
            page = item.get("body")
            inner_path = "/v1.0" + inner.url.split("?", 1)[0]
            if 200 <= status < 300:
                if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                    raise answer.malformed(stream, f"no 'value' list for batched GET {inner_path}")
                next_link = page.get("@odata.nextLink")
                if next_link is not None:
                    if not isinstance(next_link, str):
                        raise answer.malformed(stream, f"a bad nextLink for {inner_path}")
                    relative = self.relative(next_link, stream)
                    if relative == inner.url:
                        raise answer.malformed(
                            stream, f"an @odata.nextLink that repeats batched GET {inner_path}"
                        )
                    heapq.heappush(waiting, _Inner(0.0, next(seq), inner.key, relative))
                yield inner.key, page
                continue
            headers = item.get("headers") if isinstance(item.get("headers"), dict) else {}
            inner_ids = _inner_ids(page)
            if status in TRANSIENT_STATUSES or status == 401:
                inner.attempts += 1
                now = self.policy.clock()
                if inner.first_failure is None:
                    inner.first_failure = now
                header = headers.get("Retry-After") or headers.get("retry-after")
                delay = parse_retry_after(header)
                if delay is None:
                    delay = min(2.0 ** (inner.attempts - 1), self.policy.max_backoff)
                spent = now - inner.first_failure
                if (
                    inner.attempts > self.policy.max_retries
                    or spent + delay > self.policy.budget_seconds
                ):
                    # the same policy as every other call: attempts and the time budget
                    raise GraphTransientError(
                        f"Stream '{stream}': batched GET {inner_path}: Graph answered {status} "
                        f"({inner_ids}), still failing after {inner.attempts} attempt(s) over "
                        f"{spent:.0f} s. Fix: run again later (Graph throttles per app and tenant), "
                        "or raise max_retries / retry_budget_seconds."
                    )
                LOGGER.warning(
                    "Stream '%s': batched GET %s answered %s; retry %d in %.2f s",
                    stream,
                    inner_path,
                    status,
                    inner.attempts,
                    delay,
                )
                inner.ready_at = self.policy.clock() + delay
                self.policy.retries += 1
                heapq.heappush(waiting, inner)
                continue
            code, message = error_parts(page)
            error = classify(status, code, message, Failure(stream, "GET", inner_path, inner_ids))
            if isinstance(error, GraphNotFoundError):
                LOGGER.info("Stream '%s': %s is gone (404), skipped", stream, inner_path)
                continue
            raise error

    # -- report downloads ------------------------------------------------------------------------

    def download(self, location: str, *, stream: str) -> GraphResponse:
        """GET a pre-authenticated download URL: https only, never the token, redirects checked."""
        url = location
        for _hop in range(MAX_DOWNLOAD_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.netloc:
                shown = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
                raise HostRefusedError(
                    f"Stream '{stream}': the report download link points to {shown}, not an https "
                    "host; refused, no request sent. Fix: if a proxy rewrites Graph's redirects, make "
                    "it keep https."
                )
            answer = self.policy.run(
                functools.partial(self._download_once, url, stream),
                what=f"Stream '{stream}': report download from {parts.netloc}",
                fix="run again later; the download host is part of Microsoft 365 reporting.",
                on_retry=lambda outcome, tries, wait: LOGGER.warning(
                    "Stream '%s': %s; retry %d in %.2f s", stream, outcome.what, tries, wait
                ),
            )
            if not 300 <= answer.status < 400:
                return answer
            target = answer.headers.get("Location")
            if not target:
                raise answer.malformed(stream, "a redirect without a Location header")
            url = requests.compat.urljoin(url, target)
        raise MalformedAnswerError(
            f"Stream '{stream}': the report download redirected more than "
            f"{MAX_DOWNLOAD_REDIRECTS} times (a redirect loop). Fix: run again later."
        )

    def _download_once(self, url: str, stream: str) -> GraphResponse:
        """One download attempt: no Authorization header (graph.md 3: the URL is pre-authenticated)."""
        answer = self._exchange("GET", url, {"User-Agent": self.user_agent}, None, "report download")
        if answer.status in TRANSIENT_STATUSES:
            raise Retry(
                f"the report download answered {answer.status}",
                parse_retry_after(answer.headers.get("Retry-After")),
            )
        return answer


def _inner_of(item: t.Any, batch: list[_Inner]) -> _Inner | None:
    """The queued request an inner answer belongs to (ids are the batch positions)."""
    if not isinstance(item, dict):
        return None
    try:
        index = int(item.get("id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return batch[index] if 0 <= index < len(batch) else None


def _inner_ids(page: t.Any) -> str:
    """request-id / client-request-id of an inner error (Graph puts them in ``innerError``)."""
    error = page.get("error") if isinstance(page, dict) else None
    inner = error.get("innerError") if isinstance(error, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    return (
        f"request-id {inner.get('request-id', '-')}, "
        f"client-request-id {inner.get('client-request-id', '-')}"
    )


__all__ = ["GraphClient", "GraphResponse"]
