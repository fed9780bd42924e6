"""Certificates for the twin's HTTPS listeners: a CA of the twin's own, and what it issues.

The ALB's listener certificate comes from ACM, which the twin cannot reach. Instead each
twin makes a throw-away certificate authority in its state folder (`TwinCa`: an EC key
and a self-signed CA certificate, valid for VALID_DAYS, removed with the folder on
`local down`) and issues every HTTPS listener a certificate from it for the names the
templates lead to that load balancer (elbv2/names.py): the ACM certificate's names, the
Route 53 records', the balancer's DNS name. A client that trusts the twin's CA (the
internet host does, see `ca_bundle`) then verifies `https://api.example.com/` as it would
on AWS, and a wrong name fails as it would there. `self_signed_certificate` stays for
one-off listeners (clients use ``curl -k``).

The `openssl` command line tool makes it so that no Python crypto dependency is needed
for a few files; the private keys never leave the state folder and are the owner's only.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

VALID_DAYS = 30
OPENSSL_TIMEOUT = 60.0
_NAME = re.compile(r"[A-Za-z0-9*.-]{1,64}")
# A subjectAltName entry: a DNS name (a leading "*." wildcard allowed) or an address.
_SAN_NAME = re.compile(r"(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")
_CN_MAX = 64  # X.509's upper bound for a common name
CA_CERT = "twin-ca.pem"
CA_KEY = "twin-ca.key"
CA_BUNDLE = "ca-bundle.pem"
# Where Debian (and most distributions) keep the system's trusted CAs, one file.
SYSTEM_BUNDLES = (
    Path("/etc/ssl/certs/ca-certificates.crt"),
    Path("/etc/pki/tls/certs/ca-bundle.crt"),
)


class CertificateError(RuntimeError):
    """The certificate could not be made; the message says why and how to fix it."""


def _subject_alt_name(common_name: str) -> str:
    try:
        ipaddress.ip_address(common_name)
    except ValueError:
        return f"DNS:{common_name}"
    return f"IP:{common_name}"


def self_signed_certificate(directory: Path, common_name: str) -> Path:
    """Write ``<directory>/<common_name>.pem``: private key then certificate, as haproxy's
    ``crt`` wants them in one file, readable by the owner only."""
    if not _NAME.fullmatch(common_name):
        raise ValueError(
            f"certificate name {common_name!r}: use a host name or address "
            "(letters, digits, '.', '-', '*'; at most 64 characters)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{common_name.replace('*', '_')}.pem"
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        key, cert = Path(scratch) / "key.pem", Path(scratch) / "cert.pem"
        _openssl(
            "req", "-x509", "-nodes", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-days", str(VALID_DAYS), "-subj", f"/CN={common_name}",
            "-addext", f"subjectAltName={_subject_alt_name(common_name)}",
            "-keyout", str(key), "-out", str(cert),
        )  # fmt: skip
        _write_private(target, key.read_text() + cert.read_text())
    return target


@dataclass(frozen=True)
class TwinCa:
    """The twin's certificate authority: ``<folder>/twin-ca.pem`` (public) and
    ``twin-ca.key`` (owner only). `ensure` makes it once; `issue` signs server
    certificates; `write_bundle` adds it to the system's CAs for the internet host."""

    folder: Path
    label: str = "fargate-api local twin"

    @property
    def cert(self) -> Path:
        return self.folder / CA_CERT

    @property
    def key(self) -> Path:
        return self.folder / CA_KEY

    def ensure(self) -> Path:
        """The CA certificate, made if it is not there yet."""
        if self.cert.is_file() and self.key.is_file():
            return self.cert
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder) as scratch:
            key, cert = Path(scratch) / "key.pem", Path(scratch) / "cert.pem"
            _openssl(
                "req", "-x509", "-nodes", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-days", str(VALID_DAYS), "-subj", f"/CN={_subject_text(self.label + ' CA')}",
                "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-addext", "subjectKeyIdentifier=hash",
                "-keyout", str(key), "-out", str(cert),
            )  # fmt: skip
            _write_private(self.key, key.read_text())
            cert.replace(self.cert)
        os.chmod(self.cert, 0o644)
        return self.cert

    def issue(self, target: Path, names: Sequence[str]) -> Path:
        """Write ``target``: a new key and a certificate signed by this CA for ``names``
        (every one a subjectAltName, the first also the common name when it fits), as
        haproxy's ``crt`` wants them in one file, readable by the owner only."""
        if not names:
            raise ValueError("a certificate needs at least one name")
        sans = [_checked_san(name) for name in names]
        self.ensure()
        common = names[0] if len(names[0]) <= _CN_MAX else self.label
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            folder = Path(scratch)
            key, request, cert = folder / "key.pem", folder / "req.pem", folder / "cert.pem"
            extensions = folder / "ext.cnf"
            extensions.write_text(
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid:always\n"
                f"subjectAltName={','.join(sans)}\n"
            )
            _openssl(
                "req", "-new", "-nodes", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-subj", f"/CN={_subject_text(common)}",
                "-keyout", str(key), "-out", str(request),
            )  # fmt: skip
            _openssl(
                "x509", "-req", "-in", str(request),
                "-CA", str(self.cert), "-CAkey", str(self.key), "-set_serial", _serial(),
                "-days", str(VALID_DAYS), "-extfile", str(extensions), "-out", str(cert),
            )  # fmt: skip
            _write_private(target, key.read_text() + cert.read_text())
        return target

    def write_bundle(self, target: Path) -> Path:
        """``target``: the system's trusted CAs followed by this CA, for clients that take
        one file (curl's CURL_CA_BUNDLE, OpenSSL's SSL_CERT_FILE, requests')."""
        parts = [self.ensure().read_text()]
        system = system_bundle()
        if system is not None:
            parts.insert(0, system.read_text(errors="replace").rstrip("\n") + "\n")
        scratch = target.with_name(f".{target.name}.tmp")
        scratch.write_text("".join(parts))
        os.chmod(scratch, 0o644)
        scratch.replace(target)
        return target


def system_bundle() -> Path | None:
    """The system's file of trusted CAs, if it has one."""
    found = ssl.get_default_verify_paths().cafile
    candidates = ([Path(found)] if found else []) + list(SYSTEM_BUNDLES)
    return next((path for path in candidates if path.is_file()), None)


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateError(
            "`openssl` not found: HTTPS listeners need it to make a certificate; "
            "install the Debian package openssl (apt-get install openssl)"
        )
    command = [openssl, *args]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=OPENSSL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CertificateError(f"`{' '.join(command)}` failed: {exc}") from None
    if proc.returncode != 0:
        raise CertificateError(
            f"`{' '.join(command)}` failed ({proc.returncode}): {proc.stderr.strip()}"
        )


def _checked_san(name: str) -> str:
    try:
        return f"IP:{ipaddress.ip_address(name)}"
    except ValueError:
        pass
    if len(name) > 253 or not _SAN_NAME.fullmatch(name):
        raise ValueError(
            f"certificate name {name!r}: use a host name ('*.' in front for a wildcard) "
            "or an address"
        )
    return f"DNS:{name.rstrip('.')}"


def _subject_text(text: str) -> str:
    """A -subj value: '/' and '=' would start another attribute, '\\' escapes."""
    return re.sub(r"[/=\\+,]", "-", text)[:_CN_MAX]


def _serial() -> str:
    return "0x" + os.urandom(16).hex()


def _write_private(target: Path, text: str) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(target, 0o600)  # O_CREAT's mode does not apply to an existing file
