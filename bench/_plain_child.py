"""The yardstick: a plain requests + msgspec reader of the same Graph pages, one JSON line per record.

Usage: python bench/_plain_child.py CONFIG_JSON users|group_members|sign_ins|usage_report ARG [bytes]

``bytes``: the server's ceiling: the same requests, bodies read but not parsed (nextLinks found by a
byte search, no records written); ``records`` is then 0 and ``bytes`` what was read. The pages are the
tap's: ``$select``/``$top`` as the tap asks them, and for group_members the tap's ``$batch`` bodies byte
for byte (compact JSON, 20 groups per batch), so a sandbox with ``--cache-pages`` answers both alike.
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
import time
from pathlib import Path

import msgspec
import requests

NEXT_LINK = re.compile(rb'"@odata\.nextLink":"([^"]+)"')


def token(session: requests.Session, config: dict) -> str:
    response = session.post(
        f"{config['authority_url']}/{config['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": config["client_id"],
            "client_secret": config["client_secret"],
            "scope": "https://graph.microsoft.com/.default",  # the cloud's Graph audience
        },
        timeout=30,
    )
    return response.json()["access_token"]


def pages(session: requests.Session, url: str):
    while url:
        body = msgspec.json.decode(session.get(url, timeout=60).content)
        yield body
        url = body.get("@odata.nextLink")


def raw_pages(session: requests.Session, url: str) -> int:
    """The ceiling's walk: bytes only, the nextLink by a byte search; returns the bytes read."""
    total = 0
    while url:
        content = session.get(url, timeout=60).content
        total += len(content)
        found = NEXT_LINK.findall(content)
        url = found[0].decode() if found else ""  # records carry no nextLink: the page's own
    return total


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    what, select = sys.argv[2], sys.argv[3]
    raw = sys.argv[4:] == ["bytes"]
    session = requests.Session()
    session.verify = os.environ["REQUESTS_CA_BUNDLE"]
    session.headers["Authorization"] = f"Bearer {token(session, config)}"
    base = f"{config['graph_url']}/v1.0"
    out = open(os.devnull, "wb")  # noqa: SIM115
    encode = msgspec.json.encode
    count = read = 0
    started = time.perf_counter()
    if raw and what == "users":
        session.get(f"{base}/users/delta?$select={select}&$deltatoken=latest", timeout=60)
        read = raw_pages(session, f"{base}/users?$select={select}&$top=999")
    elif raw and what == "sign_ins":
        read = raw_pages(
            session, f"{base}/auditLogs/signIns?$top=1000&$filter=createdDateTime ge {select}"
        )
    elif raw and what == "usage_report":
        answer = session.get(
            f"{base}/reports/getOffice365ActiveUserDetail(date={select})",
            allow_redirects=False,
            timeout=60,
        )
        read = len(
            requests.get(answer.headers["Location"], timeout=60, verify=session.verify).content
        )
    elif what == "users":
        # what the tap's full round reads: the $deltatoken=latest link, then /users at 999 per page
        session.get(f"{base}/users/delta?$select={select}&$deltatoken=latest", timeout=60)
        for body in pages(session, f"{base}/users?$select={select}&$top=999"):
            for record in body["value"]:
                record["tenant_id"] = config["tenant_id"]
                out.write(encode(record) + b"\n")
                count += 1
    elif what == "sign_ins":
        # one filtered listing over the retention, 1000 per page, newest first
        url = f"{base}/auditLogs/signIns?$top=1000&$filter=createdDateTime ge {select}"
        for body in pages(session, url):
            for record in body["value"]:
                record["tenant_id"] = config["tenant_id"]
                out.write(encode(record) + b"\n")
                count += 1
    elif what == "usage_report":
        # one date of getOffice365ActiveUserDetail: 302, bare download, CSV
        import csv
        import io

        answer = session.get(
            f"{base}/reports/getOffice365ActiveUserDetail(date={select})",
            allow_redirects=False,
            timeout=60,
        )
        text = requests.get(
            answer.headers["Location"], timeout=60, verify=session.verify
        ).content.decode("utf-8-sig")
        for row in csv.DictReader(io.StringIO(text)):
            row["tenant_id"] = config["tenant_id"]
            out.write(encode(row) + b"\n")
            count += 1
    else:  # group_members as the tap's full round: latest link, group ids, 20 groups per $batch
        session.get(f"{base}/groups/delta?$select=id,members&$deltatoken=latest", timeout=60)
        ids = [
            g["id"]
            for body in pages(session, f"{base}/groups?$select=id&$top=999")
            for g in body["value"]
        ]
        queue = [(gid, f"/groups/{gid}/members?$select={select}&$top=999") for gid in ids]
        batch_headers = {"Content-Type": "application/json"}
        while queue:
            chunk, queue = queue[:20], queue[20:]
            reqs = [{"id": str(i), "method": "GET", "url": url} for i, (_, url) in enumerate(chunk)]
            content = session.post(
                f"{base}/$batch", data=encode({"requests": reqs}), headers=batch_headers, timeout=60
            ).content
            if raw:  # inner nextLinks by a byte search (whose group they continue is not needed)
                read += len(content)
                queue.extend(
                    (None, link.decode().split("/v1.0", 1)[1])
                    for link in NEXT_LINK.findall(content)
                )
                continue
            answer = msgspec.json.decode(content)
            for item in answer["responses"]:
                gid = chunk[int(item["id"])][0]
                body = item["body"]
                if item["status"] != 200:
                    raise SystemExit(f"inner {item['status']}: {str(body)[:300]}")
                if body.get("@odata.nextLink"):
                    queue.append((gid, body["@odata.nextLink"].split("/v1.0", 1)[1]))
                for member in body["value"]:
                    row = {
                        "group_id": gid,
                        "member_id": member["id"],
                        "member_type": member.get("@odata.type"),
                        "tenant_id": config["tenant_id"],
                    }
                    out.write(encode(row) + b"\n")
                    count += 1
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"seconds": elapsed, "records": count, "bytes": read, "peak_rss_mb": peak_kb / 1024}
        )
    )


if __name__ == "__main__":
    main()
