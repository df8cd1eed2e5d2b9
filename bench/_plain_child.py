"""The yardstick: a plain requests + msgspec reader of the same Graph pages, one JSON line per record.

Usage: python bench/_plain_child.py CONFIG_JSON users|group_members SELECT
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import msgspec
import requests


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


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    what, select = sys.argv[2], sys.argv[3]
    session = requests.Session()
    session.verify = os.environ["REQUESTS_CA_BUNDLE"]
    session.headers["Authorization"] = f"Bearer {token(session, config)}"
    base = f"{config['graph_url']}/v1.0"
    out = open(os.devnull, "wb")  # noqa: SIM115
    encode = msgspec.json.encode
    count = 0
    started = time.perf_counter()
    if what == "users":
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
        while queue:
            chunk, queue = queue[:20], queue[20:]
            reqs = [{"id": str(i), "method": "GET", "url": url} for i, (_, url) in enumerate(chunk)]
            answer = msgspec.json.decode(
                session.post(f"{base}/$batch", json={"requests": reqs}, timeout=60).content
            )
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
    print(json.dumps({"seconds": elapsed, "records": count, "peak_rss_mb": peak_kb / 1024}))


if __name__ == "__main__":
    main()
