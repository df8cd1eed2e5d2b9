"""App-only (client-credentials) authentication with msal: one app per tenant, tokens renewed in time.

Facts relied on (../shared/reference/graph.md section 7): msal does its OIDC discovery in the
``ConfidentialClientApplication`` constructor; a non-well-known authority (a proxy, the sandbox) needs
``instance_discovery=False``; the scope must be ``<graph root>/.default``; token lifetime varies (60-90 min),
so renewal follows ``expires_in`` rather than a constant; msal serves its cache until less than 5 minutes
remain. TLS trust follows ``REQUESTS_CA_BUNDLE`` (requests applies it over any ``verify=``).
"""

from __future__ import annotations

import threading
import time
import typing as t
from urllib.parse import urlparse

import msal
import requests
from singer_sdk.authenticators import APIAuthenticatorBase

from tap_microsoft365.errors import AuthError, ConfigError, auth_error_from_result

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: cloud setting -> (login host, Graph root); graph.md section 7b.
CLOUDS: dict[str, tuple[str, str]] = {
    "global": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "usgov_dod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
}

#: msal refreshes a cached token once fewer than this many seconds remain (graph.md 7a).
RENEW_MARGIN_SECONDS = 300
TOKEN_TIMEOUT_SECONDS = 30


def network_error(host: str, exc: Exception) -> AuthError:
    """One line for a login host that cannot be reached or whose certificate is not trusted."""
    if isinstance(exc, requests.exceptions.SSLError):
        return AuthError(
            f"TLS verification of {host} failed. Fix: if a proxy or a private endpoint signs the "
            "connection, set REQUESTS_CA_BUNDLE to a CA bundle that includes its certificate."
        )
    return AuthError(
        f"Cannot reach the login host {host} ({type(exc).__name__}). Fix: check authority_url or the "
        "cloud setting, DNS, and the HTTPS_PROXY/NO_PROXY settings of this machine."
    )


class GraphAuthenticator(APIAuthenticatorBase):
    """Adds ``Authorization: Bearer`` from one msal app; renews before expiry and once after a 401.

    Built once per tenant and shared by every stream: singer-sdk calls an authenticator twice per
    request, so it must never rebuild the msal app (that would empty its token cache).
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: str | dict,
        authority_url: str,
        graph_url: str,
        well_known_authority: bool,
    ) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority_url = authority_url.rstrip("/")
        self.scopes = [f"{graph_url.rstrip('/')}/.default"]
        self._credential = credential
        self._well_known = well_known_authority
        self._app: msal.ConfidentialClientApplication | None = None
        self._token: str | None = None
        self._renew_at = 0.0
        self._renew_pending = False
        self._token_after_renewal: str | None = None
        self._lock = threading.Lock()
        self.tokens_acquired = 0

    @property
    def login_host(self) -> str:
        """The login host, for messages (never the credential)."""
        parsed = urlparse(self.authority_url)
        return f"{parsed.scheme}://{parsed.netloc}"

    def _build_app(self) -> msal.ConfidentialClientApplication:
        try:
            return msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._credential,
                authority=f"{self.authority_url}/{self.tenant_id}",
                # A custom host (proxy, sovereign endpoint, sandbox) must not trigger msal's instance
                # discovery, which would call login.microsoftonline.com (graph.md 7c).
                instance_discovery=None if self._well_known else False,
                timeout=TOKEN_TIMEOUT_SECONDS,
            )
        except ValueError as exc:
            # msal raises ValueError when OIDC discovery of the tenant fails: AADSTS90002.
            if "authority" in str(exc).lower():
                raise auth_error_from_result(
                    {"error": "invalid_tenant", "error_codes": [90002]},
                    tenant_id=self.tenant_id,
                    client_id=self.client_id,
                ) from None
            raise ConfigError(f"Invalid credential settings: {exc}") from None
        except requests.exceptions.RequestException as exc:
            raise network_error(self.login_host, exc) from None

    def access_token(self) -> str:
        """A valid access token, from memory until msal's renewal margin, else from msal."""
        token = self._token
        if token is not None and time.monotonic() < self._renew_at:
            return token
        with self._lock:
            if self._app is None:
                self._app = self._build_app()
            try:
                result = self._app.acquire_token_for_client(scopes=self.scopes)
            except requests.exceptions.RequestException as exc:
                raise network_error(self.login_host, exc) from None
            if "access_token" not in result:
                raise auth_error_from_result(
                    result, tenant_id=self.tenant_id, client_id=self.client_id
                )
            token = result["access_token"]
            if result.get("token_source") != "cache":
                self.tokens_acquired += 1
            expires_in = float(result.get("expires_in") or 0)
            self._renew_at = time.monotonic() + max(expires_in - RENEW_MARGIN_SECONDS, 0)
            self._token = token
            if self._renew_pending:
                self._token_after_renewal = token
                self._renew_pending = False
            return token

    def renew_after_unauthorized(self, authorization_header: str | None) -> bool:
        """Drop the token a 401 rejected; False when that token was already a renewal (give up)."""
        used = (authorization_header or "").removeprefix("Bearer ")
        with self._lock:
            if used and used == self._token_after_renewal:
                return False
            if self._app is not None:
                cache = self._app.token_cache
                for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    cache.remove_at(item)
            self._token = None
            self._renew_at = 0.0
            self._renew_pending = True
            return True

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set the bearer header on a prepared request."""
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        return request


def load_credential(config: Mapping[str, t.Any]) -> str | dict:
    """The msal client credential from config: a secret, or a PEM private key with its thumbprint."""
    secret = config.get("client_secret")
    cert_path = config.get("client_certificate_path")
    if cert_path:
        thumbprint = (config.get("client_certificate_thumbprint") or "").replace(":", "").strip()
        if not thumbprint:
            raise ConfigError(
                "client_certificate_path is set but client_certificate_thumbprint is not. Fix: copy the "
                "certificate's thumbprint from App registrations > your app > Certificates & secrets."
            )
        try:
            with open(cert_path, encoding="utf-8") as handle:
                private_key = handle.read()
        except OSError as exc:
            raise ConfigError(
                f"Cannot read client_certificate_path {cert_path!r} ({exc.strerror}). Fix: point it "
                "at the PEM file that holds the certificate's private key."
            ) from None
        if "PRIVATE KEY" not in private_key:
            raise ConfigError(
                f"{cert_path!r} holds no PEM private key. Fix: export the key as PEM "
                "(openssl pkcs12 -in cert.pfx -nocerts -nodes -out key.pem)."
            )
        credential: dict[str, str] = {"private_key": private_key, "thumbprint": thumbprint}
        if config.get("client_certificate_passphrase"):
            credential["passphrase"] = config["client_certificate_passphrase"]
        return credential
    if secret:
        return str(secret)
    raise ConfigError(
        "No credential: set client_secret, or client_certificate_path and "
        "client_certificate_thumbprint. Fix: create one under App registrations > your app > "
        "Certificates & secrets."
    )
