"""The twin's CA and the listener certificates it issues; the internet's resolver; the
HAProxy lines and the `local exec --internet` environment that use them (pure, or
openssl on files only)."""

from __future__ import annotations

import stat
import subprocess
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from fargate_api.twin.cli.commands import _host_curl, internet_tls_env
from fargate_api.twin.daemon.contracts import TwinState
from fargate_api.twin.ec2.addresses import INTERNET_DNS
from fargate_api.twin.ec2.dns import InternetResolver, VpcResolver
from fargate_api.twin.elbv2 import tls
from fargate_api.twin.naming import TwinNames
from unit.twin.haproxy_scenarios import balancer, listener, render, section


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


def _verify(ca: Path, cert: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _openssl("verify", "-x509_strict", "-CAfile", str(ca), *extra, str(cert))


@pytest.fixture
def ca(tmp_path: Path) -> tls.TwinCa:
    return tls.TwinCa(tmp_path / "ca", label="fargate-api twin demo")


def test_the_ca_is_made_once_with_its_key_for_the_owner_only(ca: tls.TwinCa) -> None:
    cert = ca.ensure()
    assert cert == ca.cert and ca.key.is_file()
    assert stat.S_IMODE(ca.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.cert.stat().st_mode) == 0o644
    text = _openssl("x509", "-noout", "-text", "-in", str(cert)).stdout
    assert "CN = fargate-api twin demo CA" in text
    assert "CA:TRUE" in text and "Certificate Sign" in text
    before = cert.read_bytes()
    assert ca.ensure().read_bytes() == before  # not made again


def test_an_issued_certificate_carries_every_name_and_verifies(
    ca: tls.TwinCa, tmp_path: Path
) -> None:
    names = ["api.example.com", "*.apps.example.com", "alb-fa12.us-east-1.elb.amazonaws.com"]
    pem = ca.issue(tmp_path / "lb0" / "listener-443.pem", names)
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    text = pem.read_text()
    assert text.index("PRIVATE KEY-----") < text.index("BEGIN CERTIFICATE-----")
    shown = _openssl("x509", "-noout", "-subject", "-ext", "subjectAltName", "-in", str(pem))
    assert "CN = api.example.com" in shown.stdout
    assert all(f"DNS:{name}" in shown.stdout for name in names)
    assert sorted(p.name for p in pem.parent.iterdir()) == ["listener-443.pem"]  # no scratch
    assert _verify(ca.cert, pem).returncode == 0
    for host in ("api.example.com", "web.apps.example.com"):
        assert _verify(ca.cert, pem, "-verify_hostname", host).returncode == 0, host
    # A name the templates do not lead to the balancer fails as it would on AWS.
    wrong = _verify(ca.cert, pem, "-verify_hostname", "other.example.com")
    assert wrong.returncode != 0 and "hostname mismatch" in wrong.stdout + wrong.stderr


def test_a_certificate_from_another_twins_ca_does_not_verify(
    ca: tls.TwinCa, tmp_path: Path
) -> None:
    other = tls.TwinCa(tmp_path / "other")
    pem = other.issue(tmp_path / "x.pem", ["api.example.com"])
    assert _verify(ca.ensure(), pem).returncode != 0


def test_a_long_first_name_is_a_san_but_not_the_common_name(ca: tls.TwinCa, tmp_path: Path) -> None:
    long_name = ("a" * 60) + ".example.com"
    pem = ca.issue(tmp_path / "long.pem", [long_name])
    shown = _openssl("x509", "-noout", "-subject", "-ext", "subjectAltName", "-in", str(pem))
    assert f"DNS:{long_name}" in shown.stdout and "CN = fargate-api twin demo" in shown.stdout


@pytest.mark.parametrize("bad", ["a b.example.com", "x/y", "api.*.example.com", "-subj=x,y"])
def test_names_that_are_not_host_names_are_refused(
    ca: tls.TwinCa, tmp_path: Path, bad: str
) -> None:
    with pytest.raises(ValueError, match="certificate name"):
        ca.issue(tmp_path / "bad.pem", [bad])
    with pytest.raises(ValueError, match="at least one name"):
        ca.issue(tmp_path / "none.pem", [])


def test_the_bundle_is_the_systems_cas_then_the_twins(ca: tls.TwinCa, tmp_path: Path) -> None:
    bundle = ca.write_bundle(tmp_path / "ca-bundle.pem")
    text = bundle.read_text()
    own = ca.cert.read_text()
    assert text.endswith(own)
    system = tls.system_bundle()
    if system is not None:
        assert text.startswith(system.read_text()[:200])
        assert text.count("BEGIN CERTIFICATE") > 1


def test_without_openssl_the_ca_says_what_to_install(
    ca: tls.TwinCa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fargate_api.twin.elbv2.tls.shutil.which", lambda _name: None)
    with pytest.raises(tls.CertificateError, match="Debian package openssl"):
        ca.ensure()


# ------------------------------------------------------------------ HAProxy, one cert each


def test_each_https_listener_binds_its_own_certificate(tmp_path: Path) -> None:
    first = listener(key="Svc/HttpsListener", port=443, protocol="HTTPS")
    second = listener(key="Svc/AdminListener", port=8443, protocol="HTTPS")
    certs = {"Svc/HttpsListener": tmp_path / "a.pem", "Svc/AdminListener": tmp_path / "b.pem"}
    config = render(balancer(listener(), first, second), listener_certs=certs)
    assert all(
        f"ssl crt '{tmp_path / 'a.pem'}'" in line
        for line in section(config, "frontend ls.Svc.HttpsListener")
        if line.startswith("bind")
    )
    assert any(
        f"ssl crt '{tmp_path / 'b.pem'}'" in line
        for line in section(config, "frontend ls.Svc.AdminListener")
    )
    # One listener without an entry and no fallback: the error names it.
    with pytest.raises(ValueError, match="Svc/AdminListener is HTTPS"):
        render(balancer(first, second), listener_certs={"Svc/HttpsListener": tmp_path / "a.pem"})


# ------------------------------------------------------------------ the internet's resolver


def test_the_internet_resolver_runs_on_the_internet_host_with_its_own_files() -> None:
    names = TwinNames("demo", state_root=Path("/run/fargate-api"))
    resolver = InternetResolver(names)
    command = resolver.command()
    assert command[:4] == ["ip", "netns", "exec", "fa-demo-inet"]
    assert f"--listen-address={INTERNET_DNS}" in command
    assert "--addn-hosts=/run/fargate-api/fa-demo-twin/internet-dns.hosts" in command
    assert "--local=/#/" in command  # nothing else, never forwarded
    vpc = VpcResolver(names, IPv4Network("10.0.0.0/16"))
    assert {resolver.hosts_file, resolver.pid_file, resolver.log_file}.isdisjoint(
        {vpc.hosts_file, vpc.pid_file, vpc.log_file}
    )


# ------------------------------------------------------------------ local exec --internet


def test_exec_on_the_internet_host_trusts_the_twins_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURL_CA_BUNDLE", "/somewhere/else.pem")
    monkeypatch.setenv("KEEP_ME", "1")
    state = TwinState(
        name="demo",
        phase="running",
        ca_file="/run/fargate-api/fa-demo-twin/ca/twin-ca.pem",
        ca_bundle="/run/fargate-api/fa-demo-twin/ca/ca-bundle.pem",
    )
    env = internet_tls_env(state)
    assert env is not None and env["KEEP_ME"] == "1"
    for variable in ("CURL_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        assert env[variable] == state.ca_bundle
    assert env["NODE_EXTRA_CA_CERTS"] == state.ca_file
    assert internet_tls_env(TwinState(name="demo", phase="running")) is None


def test_summary_tells_how_to_reach_the_domain_from_this_machine() -> None:
    state = TwinState(
        name="demo",
        phase="running",
        domain_urls=["https://api.example.com"],
        ca_file="/run/fargate-api/fa-demo-twin/ca/twin-ca.pem",
        ports={"80": 40001, "443": 40002},
    )
    assert _host_curl(state) == (
        "curl --cacert /run/fargate-api/fa-demo-twin/ca/twin-ca.pem "
        "--connect-to api.example.com:443:127.0.0.1:40002 https://api.example.com/"
    )
    odd_port = state.model_copy(update={"domain_urls": ["https://api.example.com:8443"]})
    assert _host_curl(odd_port) is None  # no forwarder for that listener
    assert _host_curl(state.model_copy(update={"ca_file": None})) is None
