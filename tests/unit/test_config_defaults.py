"""The defaults are the reference pattern's values, and the model cannot be changed."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from pydantic import ValidationError

from fargate_api.config import Config, NatMode, Platform, parse_config
from fargate_api.config.model import NetworkConfig, ServiceConfig


def test_empty_config_is_the_default() -> None:
    assert parse_config("") == Config()
    assert parse_config("# only a comment\n\n") == Config()


def test_default_name() -> None:
    assert Config().name == "serverless-api-environment"


def test_default_network_is_the_reference_vpc() -> None:
    net = Config().network
    assert net.cidr == IPv4Network("10.0.0.0/16")
    assert net.az_count == 2
    assert net.nat is NatMode.PER_AZ
    assert net.nat.value == "per-az"
    assert net.vpc_endpoints is False
    assert net.public_subnets == ()
    assert net.private_subnets == ()
    plan = net.subnet_plan()
    assert [str(n) for n in plan.public] == ["10.0.0.0/18", "10.0.64.0/18"]
    assert [str(n) for n in plan.private] == ["10.0.128.0/18", "10.0.192.0/18"]


def test_default_service_is_the_reference_service() -> None:
    svc = Config().service
    assert svc.name == "web"
    assert svc.image == "public.ecr.aws/docker/library/nginx:latest"
    assert svc.cpu == 256
    assert svc.memory == 512
    assert svc.port == 80
    assert svc.desired_count == 2
    assert svc.platform is Platform.X86_64
    assert svc.spot == 0
    assert svc.environment == {}
    assert svc.secrets == {}
    assert svc.command == ()
    assert svc.user is None


def test_default_hardening_values() -> None:
    svc = Config().service
    assert svc.unhealthy_threshold == 2
    assert svc.health_check_timeout < svc.health_check_interval
    assert Config().load_balancer.idle_timeout <= svc.deregistration_delay < svc.stop_timeout
    assert svc.stop_timeout <= 120


def test_default_listener_is_http_on_80() -> None:
    lb = Config().load_balancer
    assert lb.certificate_arn is None
    assert lb.https is False
    assert lb.http_port == 80
    assert lb.listener_ports() == (80,)
    assert lb.ingress_cidrs == (IPv4Network("0.0.0.0/0"),)
    assert lb.idle_timeout == 30  # the reference's idle_timeout.timeout_seconds


def test_no_autoscaling_and_no_local_command_by_default() -> None:
    assert Config().autoscaling is None
    assert Config().local.command is None


def test_https_adds_a_listener_port() -> None:
    config = parse_config(
        '[load_balancer]\ncertificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/a-1"\n'
    )
    assert config.load_balancer.https is True
    assert config.load_balancer.listener_ports() == (80, 443)


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(ValidationError):
        config.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.network.az_count = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.service.cpu = 512  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.load_balancer.http_port = 8080  # type: ignore[misc]
    assert config == Config()


def test_section_models_are_frozen_and_strict_about_keys() -> None:
    with pytest.raises(ValidationError):
        ServiceConfig(imagee="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        NetworkConfig().nat = NatMode.SINGLE  # type: ignore[misc]


def test_values_are_parsed_into_their_types() -> None:
    config = parse_config(
        '[network]\ncidr = "10.8.0.0/16"\nnat = "single"\n[service]\nplatform = "ARM64"\n'
    )
    assert config.network.cidr == IPv4Network("10.8.0.0/16")
    assert config.network.nat is NatMode.SINGLE
    assert config.service.platform is Platform.ARM64


def test_strings_are_stripped() -> None:
    config = parse_config('[service]\nimage = "  ghcr.io/acme/api:1  "\n')
    assert config.service.image == "ghcr.io/acme/api:1"


def test_environment_and_secrets_are_sorted() -> None:
    config = parse_config('[service.environment]\nZED = "1"\nALPHA = "2"\n')
    assert list(config.service.environment) == ["ALPHA", "ZED"]


@pytest.mark.parametrize(
    ("image", "needs_root"),
    [
        ("public.ecr.aws/docker/library/nginx:latest", True),
        ("public.ecr.aws/docker/library/nginx@sha256:" + "0" * 64, True),
        ("nginx", True),
        ("nginx:1.27-alpine", True),
        ("httpd:2.4", True),
        ("ghcr.io/acme/api:1.0", False),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/nginx-app:1", False),
    ],
)
def test_read_only_root_is_on_where_the_image_allows(image: str, needs_root: bool) -> None:
    svc = ServiceConfig(image=image)
    assert svc.read_only_root_filesystem == "auto"
    assert svc.effective_read_only_root() is not needs_root
    assert ServiceConfig(image=image, read_only_root_filesystem=True).effective_read_only_root()
    assert not ServiceConfig(
        image=image, read_only_root_filesystem=False
    ).effective_read_only_root()
