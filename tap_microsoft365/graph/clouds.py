"""National clouds: where to sign in, and which Graph resource a token is for (graph.md 7b, 10).

The token's scope comes from the cloud, never from ``graph_url``: Entra issues tokens for Graph's resource
(``https://graph.microsoft.com`` ...), whatever host the requests go to; a scope built from a proxy's host
is refused (AADSTS500011) or yields a token with the wrong audience (graph.md section 10).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    """One national cloud of Microsoft Graph."""

    name: str
    login: str  # authority host, e.g. https://login.microsoftonline.com
    graph: str  # Graph root and token resource, e.g. https://graph.microsoft.com

    @property
    def scope(self) -> str:
        """The client-credentials scope: the Graph resource + ``/.default`` (graph.md 7b)."""
        return f"{self.graph}/.default"

    @property
    def metadata_name(self) -> str:
        """The cloud's name in Microsoft's published metadata (graph-v1-properties.json)."""
        return {"usgov_dod": "usgov"}.get(self.name, self.name)


CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud("global", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
        Cloud("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
        Cloud("usgov_dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
        Cloud("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
    )
}

#: msal knows these authority hosts; any other (a proxy, the sandbox) needs instance discovery off.
WELL_KNOWN_LOGIN_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.microsoft.com",
    }
)
