"""Microsoft's published Graph v1.0 metadata per cloud, and the clouds' Graph resources.

``data/graph-v1-properties.json`` is a copy of ``shared/reference/graph-v1-properties.json`` (graph.md
section 10): for each Graph type and each cloud (global = ``v1.0-Prod.csdl``, usgov = ``v1.0-Fairfax.csdl``
= US Government L4, china = ``v1.0-Mooncake.csdl`` = 21Vianet) the structural properties the metadata
defines, base types included, and the ``reportRoot`` report functions per cloud. "A property or type absent
for a cloud is absent from that cloud's metadata" (graph.md 10): the sandbox validates ``$select`` against
it, serves only the properties it lists and answers a type or function a cloud lacks like an unknown URL
segment. It is loaded once per process.

The Graph resource (the access token's audience and the ``/.default`` scope's resource) per cloud follows
graph.md 7b; the token audience is the cloud's Graph resource whatever host requests go to (graph.md 10).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("data") / "graph-v1-properties.json"

#: Graph resource of each cloud (graph.md 7b: "Graph root" column). US Gov L5 (DoD) is not modelled.
GRAPH_RESOURCES = {
    "global": "https://graph.microsoft.com",
    "usgov": "https://graph.microsoft.us",
    "china": "https://microsoftgraph.chinacloudapi.cn",
}
#: Entra authority host of each cloud (graph.md 7b), used where Graph names its authority (401 challenge).
AUTHORITY_HOSTS = {
    "global": "login.microsoftonline.com",
    "usgov": "login.microsoftonline.us",
    "china": "login.chinacloudapi.cn",
}
#: ``cloud_instance_name`` of the OIDC discovery document (the authority host without ``login.``).
CLOUD_INSTANCES = {
    "global": "microsoftonline.com",
    "usgov": "microsoftonline.us",
    "china": "chinacloudapi.cn",
}
CLOUDS = tuple(GRAPH_RESOURCES)


def check_cloud(cloud: str) -> str:
    """``cloud`` if it is one of :data:`CLOUDS`, else ``ValueError``."""
    if cloud not in GRAPH_RESOURCES:
        raise ValueError(f"unknown cloud {cloud!r}: use one of {', '.join(CLOUDS)}")
    return cloud


@functools.lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    """The metadata file, parsed once."""
    with DATA_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def properties(type_name: str, cloud: str) -> tuple[str, ...]:
    """Structural properties of ``microsoft.graph.<type_name>`` in ``cloud`` (empty: type absent there)."""
    per_cloud = load()["types"].get(type_name)
    if per_cloud is None:
        raise KeyError(f"type {type_name!r} is not in {DATA_FILE.name}")
    return tuple(per_cloud.get(check_cloud(cloud), ()))


def has_type(type_name: str, cloud: str) -> bool:
    """Whether ``cloud``'s metadata defines the type (graph.md 10: absent types have no properties)."""
    return bool(properties(type_name, cloud))


#: Usage-report functions of the v1.0 reference (graph.md 3) that the reduced global list in
#: graph-v1-properties.json leaves out; the global cloud has them (learn.microsoft.com/graph/api/
#: reportroot-getemailactivityuserdetail, -getmailboxusagedetail, -getteamsuseractivityuserdetail,
#: -getm365appuserdetail). The usgov and china lists are Microsoft's whole lists (graph.md 10).
GLOBAL_DOCUMENTED_REPORTS = frozenset(
    {
        "getEmailActivityUserDetail",
        "getMailboxUsageDetail",
        "getTeamsUserActivityUserDetail",
        "getM365AppUserDetail",
    }
)


@functools.cache
def report_functions(cloud: str) -> frozenset[str]:
    """The ``reportRoot`` functions ``cloud``'s metadata defines (graph.md 10: usgov 3, china none)."""
    listed = frozenset(load()["reportRoot_functions"].get(check_cloud(cloud), ()))
    return listed | GLOBAL_DOCUMENTED_REPORTS if check_cloud(cloud) == "global" else listed
