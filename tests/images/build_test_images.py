"""Builds the container images the twin's podman tests (and demos) run, without a registry.

Run it with the project's venv, as root:

    .venv/bin/python tests/images/build_test_images.py [--force] [--only NAME]

NAME is one of busybox, debian, nginx, python, example-api. Each image is skipped when
its tag already exists (unless --force). Everything but the example API builds with
`--network none`; only the Debian base downloads packages (mmdebstrap, from
deb.debian.org, outside any container).

* `localhost/fa-test-busybox:latest`: Debian's busybox-static binary, `FROM scratch`.
* `localhost/fa-test-debian:bookworm`: a Debian bookworm minbase (mmdebstrap) with
  python3, python3-venv, python3-pip, python3-boto3, ca-certificates, curl,
  nginx-light, iproute2 and procps (`ip` and `ps` for `local exec`): one base for the
  images below (about 40 s, once).
* `localhost/fa-test-nginx:latest`: nginx from that base, `nginx -g 'daemon off;'` on
  port 80, logs to stdout/stderr like the official image, stop signal SIGQUIT (graceful).
  It writes to /var/lib/nginx (request bodies, proxy temp files) and /run (nginx.pid):
  with readonlyRootFilesystem those need writable volumes. Also tagged as
  `public.ecr.aws/docker/library/nginx:latest` (the project's default image and the
  reference templates' ImageUrl default) and `docker.io/library/nginx:latest`, so
  templates naming nginx run a real nginx without pulling.
* `localhost/fa-test-python:3.11`: python3 (bookworm's 3.11) with boto3 and a `python`
  command; usable as `PYTHON_IMAGE` for examples/api/Dockerfile. The machine's own extra
  CAs (/usr/local/share/ca-certificates/*.crt, e.g. a TLS-intercepting proxy's) are
  trusted in it, with PIP_CERT and SSL_CERT_FILE pointing at the system bundle, so pip
  in a build reaches PyPI as the host does. Also tagged as
  `public.ecr.aws/docker/library/python:3.12-slim-bookworm`, the Dockerfile's default
  base, as a LOCAL STAND-IN for it (Python 3.11, not the official image): no registry
  is reachable in CI, and this lets `local up` build examples/api from its unchanged
  Dockerfile (`make demo` does). A real image already in the store under that name is
  kept; `--force` replaces it with the stand-in.
* example-api (`build_example_api(tag)`): examples/api built FROM that python image with
  `--network host`: its `pip install .` needs setuptools (the build backend) and FastAPI,
  uvicorn & co. from PyPI, which this machine reaches; making it offline would mean
  vendoring wheels, which is not worth it for a demo image.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fargate_api.twin.host.containers_conf import write_containers_conf
from fargate_api.twin.host.podman import Podman, PodmanError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_API = REPO / "examples" / "api"

BUSYBOX = "localhost/fa-test-busybox:latest"
DEBIAN = "localhost/fa-test-debian:bookworm"
NGINX = "localhost/fa-test-nginx:latest"
PYTHON = "localhost/fa-test-python:3.11"
EXAMPLE_API_TAG = "localhost/fa-test-example-api:latest"
# The images that templates name for "a stock nginx": the project's default image (also
# the reference's service.yml ImageUrl default) and Docker Hub's.
NGINX_ALIASES = ("public.ecr.aws/docker/library/nginx:latest", "docker.io/library/nginx:latest")
# examples/api/Dockerfile's default base, which the python image stands in for locally.
PYTHON_ALIASES = ("public.ecr.aws/docker/library/python:3.12-slim-bookworm",)

DEBIAN_PACKAGES = (
    "python3",
    "python3-venv",
    "python3-pip",
    "python3-boto3",
    "ca-certificates",
    "curl",
    "nginx-light",
    "iproute2",
    "procps",
)
BUSYBOX_BINARY = Path("/bin/busybox")

NGINX_SITE = """\
server {
    listen 80 default_server;
    server_name _;
    root /var/www/html;
    index index.html index.nginx-debian.html;
    location / {
        try_files $uri $uri/ =404;
    }
}
"""

NGINX_CONTAINERFILE = f"""\
FROM {DEBIAN}
COPY default.conf /etc/nginx/sites-available/default
RUN ln -sf /dev/stdout /var/log/nginx/access.log \\
    && ln -sf /dev/stderr /var/log/nginx/error.log \\
    && mkdir -p /var/lib/nginx /run
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
"""

PYTHON_CONTAINERFILE = f"""\
FROM {DEBIAN}
COPY ca/ /usr/local/share/ca-certificates/
RUN ln -sf /usr/bin/python3 /usr/local/bin/python \\
    && update-ca-certificates >/dev/null \\
    && python -c "import boto3, venv, ensurepip"
ENV PYTHONUNBUFFERED=1 \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["python"]
"""
# This machine's own CAs (e.g. a TLS-intercepting proxy's), trusted in the python image
# so that pip inside a build reaches PyPI the way the host does.
HOST_EXTRA_CAS = Path("/usr/local/share/ca-certificates")

BUSYBOX_CONTAINERFILE = """\
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
"""


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def podman_for_tests() -> Iterator[Podman]:
    """A Podman using the twin's containers.conf, written to a temp dir removed after."""
    with tempfile.TemporaryDirectory(prefix="fa-test-conf-") as folder:
        yield Podman(write_containers_conf(Path(folder) / "containers.conf"))


@contextmanager
def _context(files: dict[str, str | Path]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fa-test-build-") as folder:
        root = Path(folder)
        for name, content in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copy2(content, target)
            else:
                target.write_text(content)
        yield root


def build_busybox(podman: Podman, *, force: bool = False) -> str:
    if not force and podman.image_exists(BUSYBOX):
        progress(f"{BUSYBOX}: present")
        return BUSYBOX
    if not BUSYBOX_BINARY.exists():
        raise SystemExit(f"{BUSYBOX_BINARY} is missing: apt-get install -y busybox-static")
    with _context({"Containerfile": BUSYBOX_CONTAINERFILE, "bin/busybox": BUSYBOX_BINARY}) as ctx:
        podman.build(ctx, BUSYBOX, network="none", on_progress=progress)
    return BUSYBOX


def build_debian(podman: Podman, *, force: bool = False) -> str:
    if not force and podman.image_exists(DEBIAN):
        progress(f"{DEBIAN}: present")
        return DEBIAN
    if shutil.which("mmdebstrap") is None:
        raise SystemExit("mmdebstrap is missing: apt-get install -y mmdebstrap")
    with tempfile.TemporaryDirectory(prefix="fa-test-debian-") as folder:
        tarball = Path(folder) / "rootfs.tar"
        cmd = [
            "mmdebstrap",
            "--variant=minbase",
            f"--include={','.join(DEBIAN_PACKAGES)}",
            "--format=tar",
            "bookworm",
            str(tarball),
        ]
        progress("$ " + " ".join(cmd))
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=sys.stderr)
        imported = subprocess.run(
            podman.command(
                "import",
                "--change",
                'CMD ["/bin/bash"]',
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                str(tarball),
                DEBIAN,
            ),
            env=podman.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if imported.returncode != 0:
            raise PodmanError(["podman", "import", DEBIAN], imported.returncode, imported.stderr)
    progress(f"{DEBIAN}: imported")
    return DEBIAN


def build_nginx(podman: Podman, *, force: bool = False) -> str:
    if force or not podman.image_exists(NGINX):
        build_debian(podman)
        with _context({"Containerfile": NGINX_CONTAINERFILE, "default.conf": NGINX_SITE}) as ctx:
            podman.build(ctx, NGINX, network="none", on_progress=progress)
    else:
        progress(f"{NGINX}: present")
    image_id = podman.image_id(NGINX)
    for alias in NGINX_ALIASES:
        if force or podman.image_id(alias) != image_id:
            podman.tag(NGINX, alias)
            progress(f"{alias}: tagged as {NGINX}")
    return NGINX


def build_python(podman: Podman, *, force: bool = False) -> str:
    if not force and podman.image_exists(PYTHON):
        progress(f"{PYTHON}: present")
    else:
        build_debian(podman)
        files: dict[str, str | Path] = {
            "Containerfile": PYTHON_CONTAINERFILE,
            "ca/.keep": "",
        }
        for cert in sorted(HOST_EXTRA_CAS.glob("*.crt")):
            files[f"ca/{cert.name}"] = cert
        with _context(files) as ctx:
            podman.build(ctx, PYTHON, network="none", on_progress=progress)
    for alias in PYTHON_ALIASES:
        # A stand-in only where the real image is absent: one pulled under that name wins.
        if force or not podman.image_exists(alias):
            podman.tag(PYTHON, alias)
            progress(f"{alias}: tagged as {PYTHON} (a local stand-in)")
    return PYTHON


def build_example_api(
    tag: str = EXAMPLE_API_TAG, *, podman: Podman | None = None, force: bool = False
) -> str:
    """Builds examples/api FROM the python image (networked: pip needs PyPI)."""
    if podman is None:
        with podman_for_tests() as own:
            return build_example_api(tag, podman=own, force=force)
    if not force and podman.image_exists(tag):
        progress(f"{tag}: present")
        return tag
    build_python(podman)
    podman.build(
        EXAMPLE_API,
        tag,
        containerfile=EXAMPLE_API / "Dockerfile",
        build_args={"PYTHON_IMAGE": PYTHON},
        network="host",
        on_progress=progress,
    )
    return tag


def _build_example_api(podman: Podman, *, force: bool = False) -> str:
    return build_example_api(podman=podman, force=force)


BUILDERS: dict[str, Callable[..., str]] = {
    "busybox": build_busybox,
    "debian": build_debian,
    "nginx": build_nginx,
    "python": build_python,
    "example-api": _build_example_api,  # the rollout tests run the example API's image
}
DEFAULT_ORDER = ("busybox", "debian", "nginx", "python", "example-api")


def build_all(podman: Podman, *, force: bool = False, only: str | None = None) -> list[str]:
    return [BUILDERS[name](podman, force=force) for name in ((only,) if only else DEFAULT_ORDER)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    parser.add_argument("--only", choices=DEFAULT_ORDER, default=None)
    args = parser.parse_args(argv)
    try:
        with podman_for_tests() as podman:
            for tag in build_all(podman, force=args.force, only=args.only):
                progress(f"ready: {tag}")
    except (PodmanError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
