"""Faults that model malformed or hostile answers, token-endpoint faults, periodic revocation, Host log."""

from __future__ import annotations

import socket
import ssl
import time

import msal
import pytest
import requests

from m365_graph_sandbox import Sandbox

HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy login</body></html>"
LIFETIME = "Lifetime validation failed, the token is expired."


@pytest.fixture(scope="module")
def box():
    with Sandbox(users=150, seed=4) as sb:
        yield sb


@pytest.fixture
def sb(box, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_bundle)
    box.faults.clear()
    box.reset_log()
    box.revoke_tokens_every(0)
    yield box
    box.faults.clear()
    box.revoke_tokens_every(0)


def fresh_token(sb) -> str:
    response = requests.post(
        f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/token",
        data={"client_id": sb.client_id, "client_secret": sb.client_secret,
              "grant_type": "client_credentials", "scope": sb.graph_scope},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def session(sb) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {fresh_token(sb)}"
    return s


def token_post(sb) -> requests.Response:
    return requests.post(
        f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/token",
        data={"client_id": sb.client_id, "client_secret": sb.client_secret,
              "grant_type": "client_credentials", "scope": sb.graph_scope},
    )  # fmt: skip


def raw_exchange(sb, path: str, timeout: float = 5.0) -> bytes:
    """Send one GET over a fresh TLS connection and read until the server closes it."""
    host, port = "127.0.0.1", int(sb.base_url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=sb.ca_bundle)
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as conn,
    ):
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def report_location(sb, s) -> str:
    response = s.get(
        f"{sb.base_url}/v1.0/reports/getOffice365ActiveUserDetail(period='D7')",
        allow_redirects=False,
    )
    assert response.status_code == 302
    return response.headers["Location"]


# -- body / status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, HTML, "text/html; charset=utf-8"),
        (200, b'{"value": [{"id"', None),
        (200, b"null", None),
        (200, b'{"value": 5}', "application/json"),
        (200, b"", None),
        (500, HTML, "text/html"),
        (404, b"", "text/plain"),
    ],
)
def test_body_faults_on_graph(sb, status, body, content_type):
    s = session(sb)
    sb.faults.add(r"^/v1\.0/users$", status, body=body, content_type=content_type)
    response = s.get(f"{sb.base_url}/v1.0/users")
    assert response.status_code == status
    assert response.content == body
    assert response.headers["Content-Length"] == str(len(body))
    assert response.headers["Content-Type"] == content_type or (
        content_type is None and response.headers["Content-Type"].startswith("application/json")
    )
    assert response.headers["request-id"]
    assert s.get(f"{sb.base_url}/v1.0/users").json()["value"], "times=1: then the real answer"


def test_body_default_status_is_200(sb):
    sb.faults.add(r"^/v1\.0/organization$", body=b"null")
    response = session(sb).get(f"{sb.base_url}/v1.0/organization")
    assert (response.status_code, response.content) == (200, b"null")


def test_body_fault_on_the_download(sb):
    s = session(sb)
    location = report_location(sb, s)
    real = requests.get(location)
    assert real.content.startswith(b"\xef\xbb\xbf")
    broken = (
        b"\xef\xbb\xbfReport Refresh Date,User Principal Name\r\n2025-01-01,\xff\xfe\xc3(\x80\r\n"
    )
    sb.faults.add(r"^/download/", body=broken, content_type="application/octet-stream")
    response = requests.get(location)
    assert response.status_code == 200
    assert response.content == broken
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8-sig")
    sb.faults.add(r"^/download/", 200, body=HTML, content_type="text/html")
    assert requests.get(location).content == HTML
    sb.faults.add(r"^/download/", 503, headers={"Retry-After": "1"})
    response = requests.get(location)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert requests.get(location).content == real.content


def test_body_fault_on_the_token_endpoint(sb):
    sb.faults.add(r"/oauth2/v2\.0/token$", 200, body=HTML, content_type="text/html")
    response = token_post(sb)
    assert response.status_code == 200
    assert response.content == HTML
    sb.faults.add(r"/oauth2/v2\.0/token$", 200, body=b'{"token_type": "Bearer"}')
    assert token_post(sb).json() == {"token_type": "Bearer"}
    assert "access_token" in token_post(sb).json()


# -- redirects -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:9/v1.0/users",
        "file:///etc/passwd",
        "https://evil.example.com/v1.0/users",
        None,
    ],
)
def test_redirect_faults(sb, location):
    s = session(sb)
    headers = {"Location": location} if location else {}
    sb.faults.add(r"^/v1\.0/users$", 302, headers=headers)
    response = s.get(f"{sb.base_url}/v1.0/users", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers.get("Location") == location
    assert response.content == b""


def test_redirect_on_the_token_endpoint(sb):
    sb.faults.add(
        r"/oauth2/v2\.0/token$", 307, headers={"Location": "https://login.evil.example/t"}
    )
    response = requests.post(
        f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/token", data={}, allow_redirects=False
    )
    assert response.status_code == 307
    assert response.headers["Location"] == "https://login.evil.example/t"


# -- nextLink --------------------------------------------------------------------------------------


def test_next_link_to_anywhere(sb):
    s = session(sb)
    evil = "https://evil.example.com/v1.0/users?$skiptoken=steal"
    sb.faults.add(r"^/v1\.0/users$", next_link=evil)
    body = s.get(f"{sb.base_url}/v1.0/users?$top=5&$select=id").json()
    assert body["@odata.nextLink"] == evil
    assert [u["id"] for u in body["value"]] == [u["id"] for u in sb.tenant.users[:5]]
    assert list(body) == ["@odata.context", "@odata.nextLink", "value"]
    # a page that has no nextLink gets one
    sb.faults.add(r"^/v1\.0/domains$", next_link="http://127.0.0.1:9/v1.0/domains")
    body = s.get(f"{sb.base_url}/v1.0/domains").json()
    assert body["@odata.nextLink"] == "http://127.0.0.1:9/v1.0/domains"
    assert len(body["value"]) == len(sb.tenant.domains)
    # an answer that is not a page (an error) is left alone
    sb.faults.add(r"^/v1\.0/users$", next_link=evil)
    response = requests.get(f"{sb.base_url}/v1.0/users")
    assert response.status_code == 401
    assert "@odata.nextLink" not in response.json()


def test_next_link_to_itself(sb):
    s = session(sb)
    sb.faults.add(r"^/v1\.0/users$", next_link="self", times=-1)
    url = f"{sb.base_url}/v1.0/users?$top=7&$select=id,displayName"
    body = s.get(url).json()
    assert body["@odata.nextLink"] == url
    again = s.get(body["@odata.nextLink"]).json()
    assert again == body
    assert sb.count(path="/v1.0/users") == 2


def test_next_link_inside_batch(sb):
    sb.faults.add(r"^/v1\.0/groups$", next_link="self")
    body = {"requests": [{"id": "1", "method": "GET", "url": "/groups?$select=id&$top=3"}]}
    answer = session(sb).post(f"{sb.base_url}/v1.0/$batch", json=body).json()["responses"][0]
    assert answer["status"] == 200
    assert answer["body"]["@odata.nextLink"] == f"{sb.base_url}/v1.0/groups?$select=id&$top=3"
    assert len(answer["body"]["value"]) == 3


# -- connection faults -----------------------------------------------------------------------------


def test_cut_connection(sb):
    s = session(sb)
    sb.faults.add(r"^/v1\.0/users$", cut=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        s.get(f"{sb.base_url}/v1.0/users")
    assert s.get(f"{sb.base_url}/v1.0/users").status_code == 200, "the next request is served"
    assert sb.requests[-2].status == 200


def test_cut_connection_raw(sb):
    sb.faults.add(r"^/v1\.0/organization$", cut=True)
    data = raw_exchange(sb, "/v1.0/organization")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 ")  # no token: the real (error) answer, cut
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    assert length > 20
    assert len(body) == length // 2


def test_cut_on_the_download(sb):
    location = report_location(sb, session(sb))
    sb.faults.add(r"^/download/", cut=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(location)
    assert requests.get(location).status_code == 200


def test_reset_connection(sb):
    s = session(sb)
    sb.faults.add(r"^/v1\.0/users$", reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        s.get(f"{sb.base_url}/v1.0/users")
    assert sb.requests[-1].path == "/v1.0/users"
    assert sb.requests[-1].status == 0
    sb.faults.add(r"^/v1\.0/users$", reset=True)
    assert raw_exchange(sb, "/v1.0/users") == b""
    assert s.get(f"{sb.base_url}/v1.0/users").status_code == 200


def test_reset_on_the_token_endpoint(sb):
    sb.faults.add(r"/oauth2/v2\.0/token$", reset=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        token_post(sb)
    assert token_post(sb).status_code == 200


def test_slow_drip(sb):
    s = session(sb)
    sb.faults.add(r"^/v1\.0/organization$", drip=0.05)
    started = time.monotonic()
    response = s.get(f"{sb.base_url}/v1.0/organization", stream=True, timeout=0.5)
    assert response.status_code == 200
    assert time.monotonic() - started < 0.3, "the head comes at once"
    length = int(response.headers["Content-Length"])
    assert length > 1000, "a full answer: dripping it would take about a minute"
    first = response.raw.read(4)
    elapsed = time.monotonic() - started
    assert first == b'{"@o'
    assert 0.15 <= elapsed < 1.0, "one byte every 0.05 s, each within a 0.5 s read timeout"
    response.close()
    assert s.get(f"{sb.base_url}/v1.0/organization").json()["value"]


def test_drip_ends_when_the_sandbox_stops(monkeypatch):
    with Sandbox(users=5) as sb:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        s = session(sb)
        sb.faults.add(r"^/v1\.0/organization$", drip=5.0)
        response = s.get(f"{sb.base_url}/v1.0/organization", stream=True, timeout=2)
        assert response.status_code == 200
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        next(response.iter_content(10))


def test_connection_faults_do_not_match_batch_inner_requests(sb):
    cut = sb.faults.add(r"^/v1\.0/groups$", cut=True)
    reset = sb.faults.add(r"^/v1\.0/groups$", reset=True)
    drip = sb.faults.add(r"^/v1\.0/groups$", drip=1.0)
    body = {"requests": [{"id": "1", "method": "GET", "url": "/groups?$select=id"}]}
    response = session(sb).post(f"{sb.base_url}/v1.0/$batch", json=body)
    assert response.json()["responses"][0]["status"] == 200
    assert (cut.hits, reset.hits, drip.hits) == (0, 0, 0)
    assert len(sb.faults) == 3


def test_body_fault_inside_batch(sb):
    sb.faults.add(r"^/v1\.0/groups$", 200, body=b'{"value": [{"id"')
    sb.faults.add(r"^/v1\.0/users$", 502, body=HTML, content_type="text/html")
    body = {"requests": [{"id": "1", "method": "GET", "url": "/groups"},
                         {"id": "2", "method": "GET", "url": "/users"}]}  # fmt: skip
    answers = {
        a["id"]: a
        for a in session(sb).post(f"{sb.base_url}/v1.0/$batch", json=body).json()["responses"]
    }
    assert answers["1"]["status"] == 200
    assert answers["1"]["body"] == '{"value": [{"id"'
    assert answers["2"]["status"] == 502
    assert answers["2"]["headers"]["Content-Type"] == "text/html"
    assert answers["2"]["body"] == HTML.decode()


# -- matching rules --------------------------------------------------------------------------------


def test_new_kinds_keep_the_matching_rules(sb):
    s = session(sb)
    sb.faults.add(r"^/v1\.0/users$", body=b"null", method="POST")
    assert s.get(f"{sb.base_url}/v1.0/users").json()["value"], "method does not match"
    sb.faults.clear()
    sb.faults.add(r"^/v1\.0/users$", body=b"null", skip=1, times=2)
    got = [s.get(f"{sb.base_url}/v1.0/users?$select=id").content for _ in range(4)]
    assert [g == b"null" for g in got] == [False, True, True, False]
    fault = sb.faults.add(r"/domains", next_link="self", times=-1)
    for _ in range(3):
        assert "@odata.nextLink" in s.get(f"{sb.base_url}/v1.0/domains").json()
    assert fault.hits == 3


def test_fault_kinds_are_validated(sb):
    with pytest.raises(ValueError, match="needs a status"):
        sb.faults.add(r"/x")
    with pytest.raises(ValueError, match="reset"):
        sb.faults.add(r"/x", reset=True, body=b"")
    with pytest.raises(ValueError, match="exclusive"):
        sb.faults.add(r"/x", cut=True, drip=0.1)
    with pytest.raises(ValueError, match="next_link"):
        sb.faults.add(r"/x", 500, next_link="self")
    assert len(sb.faults) == 0


# -- token endpoint faults -------------------------------------------------------------------------


def entra_error(response, status, error):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)
    return body


def test_token_endpoint_503_then_success(sb):
    sb.faults.add(r"/oauth2/v2.0/token", 503, times=2, headers={"Retry-After": "0.1"})
    for _ in range(2):
        response = token_post(sb)
        entra_error(response, 503, "temporarily_unavailable")
        assert response.headers["Retry-After"] == "0.1"
    assert "access_token" in token_post(sb).json()


def test_token_endpoint_429_and_custom_codes(sb):
    sb.faults.add(r"/oauth2/v2.0/token", 429, headers={"Retry-After": "0.2"})
    response = token_post(sb)
    body = entra_error(response, 429, "temporarily_unavailable")
    assert response.headers["Retry-After"] == "0.2"
    assert body["trace_id"] == response.headers["request-id"]
    sb.faults.add(
        r"/oauth2/v2.0/token",
        400,
        code=50173,
        error="invalid_grant",
        message="The grant was revoked.",
    )
    body = entra_error(token_post(sb), 400, "invalid_grant")
    assert body["error_codes"] == [50173]
    assert body["error_description"].startswith("AADSTS50173: The grant was revoked.")


def test_token_endpoint_fault_through_msal(sb):
    app = msal.ConfidentialClientApplication(
        sb.client_id, client_credential=sb.client_secret,
        authority=f"{sb.base_url}/{sb.tenant_id}", instance_discovery=False,
    )  # fmt: skip
    # msal holds a 429/5xx answer for its integer Retry-After (a fractional one counts as 5 s)
    sb.faults.add(r"/oauth2/v2.0/token", 429, headers={"Retry-After": "0"})
    result = app.acquire_token_for_client(scopes=[sb.graph_scope])
    assert result["error"] == "temporarily_unavailable"
    assert result["error_codes"] == [90033]
    sb.faults.add(r"/oauth2/v2.0/token", 503, headers={"Retry-After": "0"})
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):  # msal raises on 5xx
        app.acquire_token_for_client(scopes=[sb.graph_scope])
    assert "access_token" in app.acquire_token_for_client(scopes=[sb.graph_scope])
    assert sb.count(path=f"/{sb.tenant_id}/oauth2/v2.0/token") == 3


# -- periodic revocation ---------------------------------------------------------------------------


def test_revoke_tokens_every_n_requests(sb):
    sb.revoke_tokens_every(3)
    url = f"{sb.base_url}/v1.0/organization"
    statuses = []
    s = session(sb)
    for _ in range(2):
        for _ in range(4):
            response = s.get(url)
            statuses.append(response.status_code)
        assert response.json()["error"]["message"] == LIFETIME
        s = session(sb)
    assert statuses == [200, 200, 200, 401] * 2
    # a $batch is one request; its inner requests use the outer token
    batch = {
        "requests": [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(5)]
    }
    for expected in (200, 200, 200, 401):
        assert s.post(f"{sb.base_url}/v1.0/$batch", json=batch).status_code == expected
    s = session(sb)
    answers = s.post(f"{sb.base_url}/v1.0/$batch", json=batch).json()["responses"]
    assert {a["status"] for a in answers} == {200}
    sb.revoke_tokens_every(0)
    assert {s.get(url).status_code for _ in range(6)} == {200}


def test_revoke_every_one(sb):
    sb.revoke_tokens_every(1)
    for _ in range(3):
        s = session(sb)
        assert s.get(f"{sb.base_url}/v1.0/domains").status_code == 200
        assert s.get(f"{sb.base_url}/v1.0/domains").status_code == 401
    with pytest.raises(ValueError, match=">= 0"):
        sb.revoke_tokens_every(-1)


# -- Host in the request log -----------------------------------------------------------------------


def test_request_log_records_the_host(sb):
    s = session(sb)
    port = sb.base_url.rsplit(":", 1)[1]
    s.get(f"{sb.base_url}/v1.0/domains")
    s.get(f"{sb.base_url}/v1.0/domains", headers={"Host": "graph.microsoft.com"})
    s.post(f"{sb.base_url}/v1.0/$batch", headers={"Host": "graph.microsoft.us"},
           json={"requests": [{"id": "1", "method": "GET", "url": "/domains"}]})  # fmt: skip
    hosts = [(r.path, r.host) for r in sb.requests]
    assert hosts[0] == (f"/{sb.tenant_id}/oauth2/v2.0/token", f"127.0.0.1:{port}")
    assert hosts[1:] == [
        ("/v1.0/domains", f"127.0.0.1:{port}"),
        ("/v1.0/domains", "graph.microsoft.com"),
        ("/v1.0/$batch", "graph.microsoft.us"),
    ]
    assert [(r.path, r.host) for r in sb.batch_requests] == [
        ("/v1.0/domains", "graph.microsoft.us")
    ]
