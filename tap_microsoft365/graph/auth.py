"""App-only (client-credentials) tokens with msal: one app per tenant, renewed in time, retried.

Facts relied on (../shared/reference/graph.md section 7): msal does its OIDC discovery in the
``ConfidentialClientApplication`` constructor; a non-well-known authority (a proxy, the sandbox) needs
``instance_discovery=False``; the scope is the cloud's Graph resource + ``/.default`` (clouds.py, never
built from ``graph_url``); msal serves its cache until less than 5 minutes remain. With an ``http_client``
of ours, msal leaves retrying to it (msal's ``http_client`` docs): :class:`LoginSession` retries the token
endpoint's 429/5xx and connection errors under the tap's one :class:`RetryPolicy`, and refuses any host
but the authority's (the client secret travels in those requests).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import typing as t
from urllib.parse import urlsplit

import msal
import requests

from tap_microsoft365.graph.errors import (
    AuthError,
    ConfigError,
    GraphTransientError,
    HostRefusedError,
    auth_error_from_result,
    redact,
)
from tap_microsoft365.graph.retry import Retry, RetryPolicy, parse_retry_after

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tap_microsoft365.graph.clouds import Cloud

#: msal refreshes a cached token once fewer than this many seconds remain (graph.md 7a).
RENEW_MARGIN_SECONDS = 300
TOKEN_TIMEOUT_SECONDS = 30
LOGGER = logging.getLogger("tap-microsoft365")


def ca_bundle() -> str | bool:
    """The CA bundle requests would take from the environment (prepared sends skip the environment)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


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


class LoginSession(requests.Session):
    """msal's HTTP client: the authority host only, over https; transient answers retried."""

    def __init__(self, authority_origin: str, policy: RetryPolicy) -> None:
        super().__init__()
        self.verify = ca_bundle()
        self.origin = authority_origin
        self.policy = policy

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: t.Any, **kwargs: t.Any
    ) -> requests.Response:
        """One login call: refused off the authority host, retried on 429/5xx/connection errors."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            raise HostRefusedError(
                f"The login flow asked for a call to {parts.scheme}://{parts.netloc}, which is not the "
                "authority host; refused (the client credential goes to the authority only). Fix: check "
                "authority_url and the cloud setting."
            )
        kwargs.setdefault("timeout", TOKEN_TIMEOUT_SECONDS)
        kwargs["allow_redirects"] = False

        def attempt() -> requests.Response:
            try:
                response = super(LoginSession, self).request(method, url, *args, **kwargs)
            except requests.exceptions.SSLError:
                raise
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                raise Retry(f"connection failed ({type(exc).__name__})") from None
            if response.status_code == 429 or response.status_code >= 500:
                raise Retry(
                    f"the login host answered {response.status_code}",
                    parse_retry_after(response.headers.get("Retry-After")),
                )
            return response

        def log(outcome: Retry, tries: int, wait: float) -> None:
            LOGGER.warning(
                "Token request to %s: %s; retry %d in %.2f s", self.origin, outcome.what, tries, wait
            )

        return self.policy.run(
            attempt,
            what=f"Token request to {self.origin}",
            fix="check authority_url or the cloud setting, DNS and HTTPS_PROXY/NO_PROXY; if Entra ID "
            "is having an outage (Microsoft 365 service health), run again later.",
            on_retry=log,
        )


class TokenSource:
    """Access tokens for one tenant from one msal app (never rebuilt: it holds msal's token cache)."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: str | dict,
        authority_url: str,
        cloud: Cloud,
        well_known_authority: bool,
        policy: RetryPolicy,
        clock: Callable[[], float],
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority_url = authority_url.rstrip("/")
        parts = urlsplit(self.authority_url)
        self.login_host = f"{parts.scheme}://{parts.netloc}"
        self.scopes = [cloud.scope]
        self._credential = credential
        self._well_known = well_known_authority
        self._policy = policy
        self._clock = clock
        self._app: t.Any = None  # msal's ConfidentialClientApplication (PublicClientApplication: delegated)
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.tokens_acquired = 0

    def _build_app(self) -> msal.ConfidentialClientApplication:
        try:
            return msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._credential,
                authority=f"{self.authority_url}/{self.tenant_id}",
                # A custom host (proxy, sovereign endpoint, sandbox) must not trigger msal's instance
                # discovery, which would call login.microsoftonline.com (graph.md 7c).
                instance_discovery=None if self._well_known else False,
                http_client=LoginSession(self.login_host, self._policy),
            )
        except ValueError as exc:
            # msal raises ValueError when OIDC discovery of the tenant fails: AADSTS90002.
            if "authority" in str(exc).lower():
                raise auth_error_from_result(
                    {"error": "invalid_tenant", "error_codes": [90002]},
                    tenant_id=self.tenant_id,
                    client_id=self.client_id,
                ) from None
            raise ConfigError(
                "The credential settings are not valid for msal (client_secret, or the certificate's "
                "PEM key and thumbprint). Fix: check them in the app registration."
            ) from None
        except requests.exceptions.RequestException as exc:
            raise network_error(self.login_host, exc) from None

    def _acquire(self, app: t.Any) -> dict:
        """Msal's answer for an app-only token (its cache first)."""
        return t.cast("dict", app.acquire_token_for_client(scopes=self.scopes))

    def _failure(self, result: dict) -> AuthError:
        """One line for Entra's refusal."""
        return auth_error_from_result(result, tenant_id=self.tenant_id, client_id=self.client_id)

    def access_token(self) -> str:
        """A valid access token: from memory until msal's renewal margin, else from msal."""
        token = self._token
        if token is not None and self._clock() < self._renew_at:
            return token
        with self._lock:
            if self._token is not None and self._clock() < self._renew_at:
                return self._token
            if self._app is None:
                self._app = self._build_app()
            try:
                result = self._acquire(self._app)
            except GraphTransientError as exc:
                raise AuthError(str(exc)) from None
            except msal.exceptions.MsalServiceError:
                raise AuthError(
                    f"The login host {self.login_host} kept failing. Fix: run again later."
                ) from None
            except requests.exceptions.RequestException as exc:
                raise network_error(self.login_host, exc) from None
            if "access_token" not in result:
                raise self._failure(result)
            if result.get("token_source") != "cache":
                self.tokens_acquired += 1
            expires_in = float(result.get("expires_in") or 0)
            self._renew_at = self._clock() + max(expires_in - RENEW_MARGIN_SECONDS, 0)
            self._token = result["access_token"]
            return self._token

    def drop(self, rejected: str) -> None:
        """Forget a token Graph rejected (401), so the next call gets a new one from Entra."""
        with self._lock:
            if self._token != rejected:
                return  # another thread renewed it already
            if self._app is not None:
                cache = self._app.token_cache
                for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    cache.remove_at(item)
            self._token = None
            self._renew_at = 0.0


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
                f"Cannot read the file client_certificate_path names ({exc.strerror}). Fix: point it "
                "at the PEM file that holds the certificate's private key."
            ) from None
        if "PRIVATE KEY" not in private_key:
            raise ConfigError(
                "The file client_certificate_path names holds no PEM private key. Fix: export the key "
                "as PEM (openssl pkcs12 -in cert.pfx -nocerts -nodes -out key.pem)."
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


class DelegatedTokenSource(TokenSource):
    """Tokens from an admin's sign-in: msal's public client and its token cache (graph.md 8).

    ``tap-microsoft365-login`` signs in with the device-code flow and writes the cache; each run renews
    access tokens from the cache's refresh token. Refresh tokens rotate on every use: msal keeps the
    newest in the cache, which is written back (mode 0600) whenever it changed. A refresh token from a
    secret store (``refresh_token``) seeds an in-memory cache instead. Entra's ``invalid_grant`` (expired,
    revoked, consent removed, conditional access) means the connection needs a new sign-in.
    """

    def __init__(
        self,
        *,
        delegated_scopes: list[str],
        cache_path: str | None,
        refresh_token: str | None,
        where: str,
        **kwargs: t.Any,
    ) -> None:
        super().__init__(credential="", **kwargs)
        self.scopes = delegated_scopes
        self.cache_path = cache_path
        self._refresh_token = refresh_token
        self.where = where  # "tenant 'label' (id)" for messages
        self.cache = shared_cache(cache_path) if cache_path else msal.SerializableTokenCache()

    def _build_app(self) -> msal.PublicClientApplication:
        try:
            return msal.PublicClientApplication(
                self.client_id,
                authority=f"{self.authority_url}/{self.tenant_id}",
                instance_discovery=None if self._well_known else False,
                http_client=LoginSession(self.login_host, self._policy),
                token_cache=self.cache,
            )
        except ValueError:
            raise auth_error_from_result(
                {"error": "invalid_tenant", "error_codes": [90002]},
                tenant_id=self.tenant_id,
                client_id=self.client_id,
            ) from None
        except requests.exceptions.RequestException as exc:
            raise network_error(self.login_host, exc) from None

    def app(self) -> msal.PublicClientApplication:
        """The msal public client (built once; it holds the token cache)."""
        with self._lock:
            if self._app is None:
                self._app = self._build_app()
            return t.cast("msal.PublicClientApplication", self._app)

    def _acquire(self, app: t.Any) -> dict:
        """From the cache (renewed with its refresh token), else from the configured refresh token."""
        account = pick_account(app.get_accounts(), self.tenant_id)
        result: dict | None = None
        if account is not None:
            result = app.acquire_token_silent_with_error(self.scopes, account)
        if result is None and self._refresh_token:
            result = app.acquire_token_by_refresh_token(self._refresh_token, scopes=self.scopes)
            self._refresh_token = None  # rotated: the cache holds the new one now
        if result is None:
            raise AuthError(
                f"The delegated connection of {self.where} has no sign-in: the token cache holds no "
                "account of this tenant. Fix: an admin of the tenant runs tap-microsoft365-login "
                "--config <this config file>."
            )
        if "access_token" in result:
            self.save_cache()
        return result

    def _failure(self, result: dict) -> AuthError:
        return reauth_error(result, self.where)

    def save_cache(self) -> None:
        """Write the cache back when msal changed it (a rotated refresh token), mode 0600."""
        if self.cache_path and self.cache.has_state_changed:
            write_cache(self.cache_path, self.cache.serialize())
            self.cache.has_state_changed = False


#: invalid_grant causes (Entra's AADSTS codes, graph.md 7d and 8) -> what happened.
REAUTH_CAUSES = {
    700082: "the refresh token expired (90 days without use)",
    50173: "the sign-in was revoked (a password change, or an admin revoked the sessions)",
    70043: "the sign-in expired under a sign-in frequency policy",
    65001: "consent to the scopes the selected streams need is missing or was removed",
    50076: "conditional access now requires multi-factor authentication",
    50079: "conditional access now requires the user to register for multi-factor authentication",
    70000: "the refresh token is not valid any more",
}


def reauth_error(result: dict, where: str) -> AuthError:
    """One line: the delegated connection needs a new sign-in, why, and the command that does it."""
    codes = [c for c in result.get("error_codes") or [] if isinstance(c, int)]
    cause = next((REAUTH_CAUSES[c] for c in codes if c in REAUTH_CAUSES), None)
    ref = f"AADSTS{codes[0]}" if codes else str(result.get("error") or "unknown_error")[:40]
    if cause is None and result.get("error") != "invalid_grant":
        description = redact(str(result.get("error_description") or "").split("\n", 1)[0])
        cause = description or "Entra refused the refresh token"
    return AuthError(
        f"The delegated connection of {where} needs re-authorisation: {cause or 'the sign-in is no longer valid'} "
        f"({ref}). Fix: an admin of the tenant runs tap-microsoft365-login --config <this config file> "
        "and signs in again."
    )


def pick_account(accounts: list[dict], tenant_id: str) -> dict | None:
    """The cached account of this tenant (its realm is the tenant's GUID), else the only one."""
    wanted = tenant_id.lower()
    for account in accounts:
        if str(account.get("realm") or "").lower() == wanted:
            return account
    for account in accounts:
        if str(account.get("username") or "").lower().endswith("@" + wanted):
            return account
    return accounts[0] if len(accounts) == 1 else None


#: One msal cache per cache file in this process: tenants that share a file share the cache, so a save by
#: one tenant never writes back another tenant's older refresh token.
_CACHES: dict[str, msal.SerializableTokenCache] = {}
_CACHES_LOCK = threading.Lock()


def shared_cache(path: str) -> msal.SerializableTokenCache:
    """The process's msal cache for the file ``path``, read from it at first use."""
    key = os.path.abspath(path)
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None:
            cache = _CACHES[key] = msal.SerializableTokenCache()
            cache.deserialize(read_cache(path))
        return cache


def read_cache(path: str) -> str:
    """The token cache file's text (empty when it does not exist yet)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the file token_cache_path names ({exc.strerror}). Fix: point it at the "
            "cache tap-microsoft365-login wrote."
        ) from None


def write_cache(path: str, text: str) -> None:
    """Replace the cache file atomically, readable by its owner only (it holds refresh tokens)."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
