"""``POST /v1.0/$batch`` (graph.md 5).

At most 20 requests with unique ids and relative URLs (400 otherwise). Each inner request goes through
the same route table, fault plan, token and permission checks as an outer one (its path is prefixed with
``/v1.0``); the outer answer is 200 even when inner requests fail. Responses come back in an order that is
shuffled deterministically. ``dependsOn`` runs in order and a failed dependency gives 424. Inner
nextLinks are absolute URLs, inner throttles carry their own ``Retry-After`` in the inner headers.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

import msgspec

from ..server import GraphError, Headers, Request, Response, RouteTable

if TYPE_CHECKING:
    from ..server import Server

MAX_REQUESTS = 20


def _invalid(message: str = "Invalid batch payload format.") -> GraphError:
    return GraphError(400, "BadRequest", message)


def _inner_body(response: Response) -> Any:
    """The inner body as JSON when it is JSON, else as a string (an injected non-JSON body)."""
    if not response.body:
        return None
    if response.content_type.startswith("application/json"):
        try:
            msgspec.json.decode(response.body)
        except msgspec.DecodeError:
            return response.body.decode("utf-8", "replace")
        return msgspec.Raw(response.body)
    return response.body.decode("utf-8", "replace")


def batch(server: Server, req: Request, m: re.Match[str]) -> Response:
    """Run the inner requests and answer ``{"responses": [...]}``."""
    payload = req.json()
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _invalid()
    requests = payload["requests"]
    if not requests:
        raise _invalid()
    if len(requests) > MAX_REQUESTS:
        raise _invalid(
            f"The batch request contains {len(requests)} requests, but the maximum number of requests "
            f"in a batch is {MAX_REQUESTS}."
        )
    ids: list[str] = []
    for item in requests:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "method", "url")
        ):
            raise _invalid()
        if item["id"] in ids:
            raise _invalid(f"Batch request contains duplicate request id '{item['id']}'.")
        url = item["url"]
        if "://" in url:
            raise _invalid(
                f"Invalid request URL '{url}': requests in a batch must use relative URLs."
            )
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(d not in ids for d in depends):
            raise _invalid(
                "Invalid dependsOn: it must reference ids of earlier requests in the batch."
            )
        ids.append(item["id"])

    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in requests:
        rid = item["id"]
        failed = [d for d in item.get("dependsOn") or [] if statuses.get(d, 500) >= 400]
        if failed:
            statuses[rid] = 424
            responses.append(
                {
                    "id": rid,
                    "status": 424,
                    "headers": {"Content-Type": "application/json"},
                    "body": {
                        "error": {"code": "FailedDependency", "message": "Failed dependency."}
                    },
                }
            )
            continue
        url = item["url"]
        target = "/v1.0" + (url if url.startswith("/") else "/" + url)
        headers = Headers((str(k), str(v)) for k, v in (item.get("headers") or {}).items())
        body = item.get("body")
        raw = (
            b""
            if body is None
            else (body.encode() if isinstance(body, str) else msgspec.json.encode(body))
        )
        inner = server.handle(
            item["method"].upper(),
            target,
            headers,
            raw,
            inner=True,
            token=req.token,
            host=req.headers.get("Host") or "",
        )
        statuses[rid] = inner.status
        inner_headers = {"Content-Type": inner.content_type}
        inner_headers.update(
            (k, v)
            for k, v in inner.headers.items()
            if k.lower() not in {"request-id", "client-request-id"}
        )
        answer: dict[str, Any] = {"id": rid, "status": inner.status, "headers": inner_headers}
        body_value = _inner_body(inner)
        if body_value is not None:
            answer["body"] = body_value
        responses.append(answer)
    random.Random(f"{server.tenant.seed}:{','.join(ids)}").shuffle(responses)
    return Response(200, msgspec.json.encode({"responses": responses}))


def register(table: RouteTable) -> None:
    """The batch route: any valid token (inner requests check their own permissions)."""
    table.add("POST", r"/v1\.0/\$batch", batch)
