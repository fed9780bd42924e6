"""A throw-away certificate for the twin's HTTPS listeners.

The ALB's listener certificate comes from ACM, which the twin cannot reach; a local
self-signed one lets HTTPS listeners run (clients use ``curl -k``). The `openssl` command
line tool makes it so that no Python crypto dependency is needed for one file.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

VALID_DAYS = 30
OPENSSL_TIMEOUT = 60.0
_NAME = re.compile(r"[A-Za-z0-9*.-]{1,64}")


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
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateError(
            "`openssl` not found: HTTPS listeners need it to make a certificate; "
            "install the Debian package openssl (apt-get install openssl)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{common_name.replace('*', '_')}.pem"
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        key, cert = Path(scratch) / "key.pem", Path(scratch) / "cert.pem"
        args = [
            openssl,
            *("req", "-x509", "-nodes", "-newkey", "ec"),
            *("-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-days", str(VALID_DAYS), "-subj", f"/CN={common_name}"),
            *("-addext", f"subjectAltName={_subject_alt_name(common_name)}"),
            *("-keyout", str(key), "-out", str(cert)),
        ]
        try:
            proc = subprocess.run(
                args, capture_output=True, text=True, timeout=OPENSSL_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CertificateError(f"`{' '.join(args)}` failed: {exc}") from None
        if proc.returncode != 0:
            raise CertificateError(
                f"`{' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()}"
            )
        pem = key.read_text() + cert.read_text()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(pem)
    os.chmod(target, 0o600)  # O_CREAT's mode does not apply to an existing file
    return target
