"""A custom domain in the twin: the internet's resolver and the VPC's answer it with the
ALB's addresses, and HTTPS verifies with the twin's own CA, without `-k`.

The templates are `tests/variants/domain.toml`'s (an ACM certificate for api.example.com,
an alias record to the ALB, HTTP redirecting to HTTPS), run in process mode: the point
is names and certificates, not the container runtime. Every check goes through the CLI
(`local exec --internet`, as a user would) or the namespaces the twin built.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Any

from twin.twin_support import REPO, cli, in_netns, twin_status

DOMAIN = "api.example.com"
VARIANT = REPO / "tests/variants/domain.toml"
SCALE = "0.1"
CURL = ("curl", "-sS", "--noproxy", "*", "-m", "5", "--connect-timeout", "3")


def _up(name: str) -> tuple[str, dict[str, Any]]:
    up = cli(
        "local", "up", "-c", str(VARIANT), "--name", name,
        "--runtime", "process", "--time-scale", SCALE,
    )  # fmt: skip
    return up.stdout + up.stderr, twin_status(name)


def _internet(name: str, *command: str) -> subprocess.CompletedProcess[str]:
    """`local exec --internet`: the command on the twin's internet host, trusting its CA."""
    return cli("local", "exec", "--name", name, "--internet", "--", *command, check=False)


def _addresses(getent: str) -> set[str]:
    return {line.split()[0] for line in getent.splitlines() if line.strip()}


def _curls(name: str, *requests: tuple[str, ...]) -> list[str]:
    """Each curl (its arguments after CURL) on the internet host, all in one `local exec
    --internet`: one line each, its `-w` output then ` rc=<its exit code>`."""
    script = "\n".join(
        f'{shlex.join([*CURL, *args])} 2>/dev/null; echo " rc=$?"' for args in requests
    )
    proc = _internet(name, "sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_https_by_domain_verifies_with_the_twins_ca_and_http_redirects(
    twin_name: tuple[str, str],
) -> None:
    name, prefix = twin_name
    output, status = _up(name)
    url = f"https://{DOMAIN}"
    assert status["domain_urls"] == [url]
    ca = Path(status["ca_file"])
    assert ca.is_file() and ca.is_relative_to(Path("/run/fargate-api") / f"{prefix}twin")
    assert url in output and str(ca) in output  # `local up` says where both are
    (alb_name,) = status["load_balancer"]["dns_names"]
    ip = status["load_balancer"]["public_ips"][0]
    quiet = ("-o", "/dev/null", "-w")
    answers = _curls(
        name,
        # No -k: the certificate names the domain and chains to the twin's CA.
        (*quiet, "%{http_code} %{ssl_verify_result}", f"{url}/"),
        # The ALB's own DNS name is on the certificate too.
        (*quiet, "%{http_code}", f"https://{alb_name}/"),
        # HTTP answers with the listener's redirect to HTTPS, which curl then follows.
        (*quiet, "%{http_code} %{redirect_url}", f"http://{DOMAIN}/some/path?q=1"),
        ("-L", *quiet, "%{http_code} %{url_effective}", f"http://{DOMAIN}/"),
        # By address the certificate names no host the client asked for: refused (60).
        (*quiet, "%{http_code}", f"https://{ip}/"),
    )
    assert answers == [
        "200 0 rc=0",
        "200 rc=0",
        f"301 https://{DOMAIN}:443/some/path?q=1 rc=0",
        f"200 https://{DOMAIN}:443/ rc=0",
        "000 rc=60",
    ]
    # What the CA changes: without it (plain `ip netns exec`, the system's CAs only) curl
    # refuses the certificate.
    untrusted = in_netns(f"{prefix}inet", *CURL, "-o", "/dev/null", f"{url}/")
    assert untrusted.returncode == 60, untrusted.stderr  # SSL certificate problem
    # From this machine, through the forwarder's port, with the CA and the domain's name.
    port = status["ports"]["443"]
    host = subprocess.run(
        [*CURL, "--cacert", str(ca), "--connect-to", f"{DOMAIN}:443:127.0.0.1:{port}",
         "-o", "/dev/null", "-w", "%{http_code}", f"{url}/"],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip
    assert host.stdout == "200", host.stderr
    cli("local", "down", "--name", name)
    assert not ca.exists()  # the CA and its key go with the twin


def test_the_domain_resolves_on_the_internet_and_in_the_vpc(twin_name: tuple[str, str]) -> None:
    name, prefix = twin_name
    _, status = _up(name)
    public = set(status["load_balancer"]["public_ips"])
    assert len(public) == 2
    task = status["tasks"][0]
    private_name = "ip-" + task["private_ip"].replace(".", "-") + ".ec2.internal"
    # On the internet host (`local exec --internet`), through its resolv.conf: the domain
    # by the ALB's public addresses; another name of the zone and the tasks' private
    # names are unknown there (exit 2 at once, not a timeout).
    script = "; ".join(
        f'getent hosts {host}; echo "rc=$?"' for host in (DOMAIN, "other.example.com", private_name)
    )
    outside = _internet(name, "sh", "-c", script)
    lines = outside.stdout.splitlines()
    assert lines[-2:] == ["rc=2", "rc=2"], outside
    assert lines[-3] == "rc=0" and _addresses("\n".join(lines[:-3])) == public, outside
    resolv = Path(f"/etc/netns/{prefix}inet/resolv.conf").read_text()
    assert resolv.startswith("nameserver 203.0.113.53\n")
    # A task asks the VPC's resolver (base + 2): the same public addresses, as on AWS,
    # and its own private name, which only the VPC knows.
    inside = in_netns(f"{prefix}t-{task['id']}", "getent", "hosts", DOMAIN)
    assert inside.returncode == 0 and _addresses(inside.stdout) == public, inside
    own = in_netns(f"{prefix}t-{task['id']}", "getent", "hosts", private_name)
    assert own.returncode == 0 and _addresses(own.stdout) == {task["private_ip"]}, own
