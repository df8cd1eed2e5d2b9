"""TLS material for the sandbox: a self-signed server certificate and a registered client certificate.

msal refuses non-https authorities (graph.md 7c), so the sandbox serves TLS with a self-signed certificate
for ``127.0.0.1``/``localhost``. ``ca_bundle`` is the system bundle plus that certificate, so pointing
``REQUESTS_CA_BUNDLE`` at it keeps other HTTPS working. The client certificate is what an app registration
holds for certificate credentials: Entra identifies it by the SHA-1 thumbprint of the DER certificate,
sent by msal as the JWT ``x5t`` header (graph.md 7a).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsFiles:
    """Paths and identifiers of the generated material."""

    server_cert: str
    server_key: str
    ca_bundle: str
    client_key: str
    client_cert: str
    client_thumbprint: str  # SHA-1 hex of the DER client certificate (x5t)
    client_thumbprint_sha256: str  # SHA-256 hex (x5t#S256, msal >= 1.35 with public_certificate)
    client_public_key: rsa.RSAPublicKey


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tap-microsoft365 Graph sandbox"),
        ]
    )


def _self_signed(key, common_name: str, *, server: bool) -> x509.Certificate:  # noqa: ANN001
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30 if server else 365))
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = builder.add_extension(ski, critical=False).add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        ).add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256())


def system_bundle_text() -> str:
    """The CA bundle requests would use: ``$REQUESTS_CA_BUNDLE`` when it is a file, else certifi's."""
    env = os.environ.get("REQUESTS_CA_BUNDLE")
    if env and os.path.isfile(env):
        path = env
    else:
        import certifi

        path = certifi.where()
    return Path(path).read_text(encoding="utf-8")


FILES = ("server.pem", "server.key", "client.key", "client.pem")
#: Reused material must stay valid at least this long (seconds) after a start.
REUSE_MARGIN = 86400


def _load(out: Path) -> tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey] | None:
    """The material in ``out`` when complete, matching and valid for a day more; else None."""
    try:
        server_cert = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
        server_key = serialization.load_pem_private_key((out / "server.key").read_bytes(), None)
        client_cert = x509.load_pem_x509_certificate((out / "client.pem").read_bytes())
        client_key = serialization.load_pem_private_key((out / "client.key").read_bytes(), None)
        san = server_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound):
        return None
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=REUSE_MARGIN)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo

    def same(cert: x509.Certificate, key: object) -> bool:
        public = getattr(key, "public_key", None)
        return public is not None and cert.public_key().public_bytes(
            serialization.Encoding.DER, spki
        ) == public().public_bytes(serialization.Encoding.DER, spki)

    if (
        not isinstance(client_key, rsa.RSAPrivateKey)
        or not same(server_cert, server_key)
        or not same(client_cert, client_key)
        or ipaddress.ip_address("127.0.0.1") not in san.get_values_for_type(x509.IPAddress)
        or min(server_cert.not_valid_after_utc, client_cert.not_valid_after_utc) < soon
    ):
        return None
    return server_cert, client_cert, client_key


def _write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write atomically (another sandbox sharing the folder may be reading it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)


class _FolderLock:
    """An exclusive ``flock`` on ``<workdir>/.lock`` (POSIX; a no-op elsewhere)."""

    def __init__(self, out: Path) -> None:
        self.path = out / ".lock"
        self.handle: Any = None

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        self.handle = open(self.path, "a")  # held until __exit__
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()  # releases the lock


def generate(workdir: str | os.PathLike, *, reuse: bool = True) -> TlsFiles:
    """Write server cert/key, client cert/key and the CA bundle into ``workdir``.

    With ``reuse`` (default), material already in ``workdir`` that is complete, matching and valid for
    another day is kept: the server certificate, the client certificate and its thumbprint stay the
    same across restarts, and sandboxes sharing the folder serve the same certificate, so one CA
    bundle trusts all of them. Only ``ca-bundle.pem`` is rewritten (system bundle + the certificate).
    A lock on ``<workdir>/.lock`` keeps sandboxes starting at once from mixing their files.
    """
    out = Path(workdir)
    out.mkdir(parents=True, exist_ok=True)
    with _FolderLock(out):
        found = _load(out) if reuse else None
        if found is None:
            server_cert, client_cert, client_key = _new_material(out)
        else:
            server_cert, client_cert, client_key = found
        cert_pem = server_cert.public_bytes(serialization.Encoding.PEM)
        system = system_bundle_text()
        if not system.endswith("\n"):
            system += "\n"
        bundle = out / "ca-bundle.pem"
        # $REQUESTS_CA_BUNDLE may be this very bundle (a shell that sourced the .env file): add the
        # certificate only when it is not there yet, so restarts do not grow the file.
        if cert_pem.decode() not in system:
            system += "# tap-microsoft365 Graph sandbox\n" + cert_pem.decode()
        _write(bundle, system.encode("utf-8"))
    der = client_cert.public_bytes(serialization.Encoding.DER)
    return TlsFiles(
        server_cert=str(out / "server.pem"),
        server_key=str(out / "server.key"),
        ca_bundle=str(bundle),
        client_key=str(out / "client.key"),
        client_cert=str(out / "client.pem"),
        client_thumbprint=hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 (x5t is SHA-1 by spec)
        client_thumbprint_sha256=hashlib.sha256(der).hexdigest().upper(),
        client_public_key=client_key.public_key(),
    )


def _new_material(out: Path) -> tuple[x509.Certificate, x509.Certificate, rsa.RSAPrivateKey]:
    """Fresh server and client keys and certificates, written into ``out``."""
    # EC keeps start-up fast; the client key is RSA because msal signs assertions with RS256/PS256.
    server_key = ec.generate_private_key(ec.SECP256R1())
    # A unique subject per sandbox: bundles often hold several sandboxes' certificates, and OpenSSL
    # picks the issuer by subject name, so equal names would make verification fail.
    server_cert = _self_signed(
        server_key, f"127.0.0.1 Graph sandbox {secrets.token_hex(6)}", server=True
    )
    client_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_cert = _self_signed(client_key, "tap-microsoft365 sandbox client", server=False)
    pkcs8 = serialization.PrivateFormat.PKCS8
    none = serialization.NoEncryption()
    _write(
        out / "server.key", server_key.private_bytes(serialization.Encoding.PEM, pkcs8, none), 0o600
    )
    _write(
        out / "client.key", client_key.private_bytes(serialization.Encoding.PEM, pkcs8, none), 0o600
    )
    _write(out / "client.pem", client_cert.public_bytes(serialization.Encoding.PEM))
    _write(out / "server.pem", server_cert.public_bytes(serialization.Encoding.PEM))
    return server_cert, client_cert, client_key
