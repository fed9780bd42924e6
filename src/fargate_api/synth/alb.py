"""The public Application Load Balancer's pieces: its security group, attributes, listeners.

service.yml (one [service], with a load balancer of its own) and load-balancer.yml (the one
load balancer that [[services]] share) are built from these same pieces, so that the two
layouts cannot drift apart in what they open to the internet, log, or redirect.
"""

from __future__ import annotations

from fargate_api.config import Config
from fargate_api.config.model import LoadBalancerConfig
from fargate_api.synth.deployment import test_listener_ingress
from fargate_api.synth.intrinsics import Json, ref, sub
from fargate_api.synth.security_group_rules import NO_EGRESS_RULE, tcp_rule

LOAD_BALANCER = "PublicLoadBalancer"
LOAD_BALANCER_SG = "PublicLoadBalancerSG"
HTTP_LISTENER = "PublicLoadBalancerListener"
HTTPS_LISTENER = "PublicLoadBalancerHttpsListener"


def load_balancer_security_group(config: Config) -> Json:
    """The listener ports (and a test listener's) from their ranges; no egress of its own:
    each service gets a rule to its container port beside it."""
    lb = config.load_balancer
    ingress = [
        tcp_rule(port, f"Listener port {port} from {cidr}", CidrIp=str(cidr))
        for port in lb.listener_ports()
        for cidr in lb.ingress_cidrs
    ]
    ingress += test_listener_ingress(config)
    return {
        "GroupDescription": "Access to the public facing load balancer, listener ports only",
        "VpcId": ref("VpcId"),
        "SecurityGroupIngress": ingress,
        "SecurityGroupEgress": [NO_EGRESS_RULE],
    }


def task_egress(config: Config) -> Json:
    """The tasks' outbound rule: the internet through NAT, or HTTPS to the VPC endpoints."""
    if config.network.nat.value == "none":
        return tcp_rule(443, "HTTPS to AWS services through the VPC endpoints", CidrIp="0.0.0.0/0")
    return {
        "IpProtocol": "-1",
        "CidrIp": "0.0.0.0/0",
        "Description": "Outbound to the internet through the NAT gateways' fixed IPs",
    }


def task_egress_reaches(config: Config, port: int) -> bool:
    """Whether the tasks' outbound rule already lets them reach `port` in the VPC."""
    return config.network.nat.value != "none" or port == 443


def load_balancer_properties(config: Config) -> Json:
    lb = config.load_balancer
    attributes = [
        {"Key": "idle_timeout.timeout_seconds", "Value": str(lb.idle_timeout)},
        {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
        {"Key": "deletion_protection.enabled", "Value": str(lb.deletion_protection).lower()},
    ]
    if lb.access_logs:
        attributes += [
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": lb.access_logs.bucket},
            {"Key": "access_logs.s3.prefix", "Value": lb.access_logs.prefix},
        ]
    return {
        "Type": "application",
        "Scheme": "internet-facing",
        "IpAddressType": "ipv4",
        "Subnets": ref("PublicSubnetIds"),
        "SecurityGroups": [ref(LOAD_BALANCER_SG)],
        "LoadBalancerAttributes": attributes,
    }


def https_redirect(lb: LoadBalancerConfig) -> Json:
    """The HTTP listener's action when HTTPS serves: a permanent redirect, path kept."""
    return {
        "Type": "redirect",
        "RedirectConfig": {
            "Protocol": "HTTPS",
            "Port": str(lb.https_port),
            "Host": "#{host}",
            "Path": "/#{path}",
            "Query": "#{query}",
            "StatusCode": "HTTP_301",
        },
    }


def listener(port: int, protocol: str, actions: list[Json]) -> Json:
    return {
        "LoadBalancerArn": ref(LOAD_BALANCER),
        "Port": port,
        "Protocol": protocol,
        "DefaultActions": actions,
    }


def https_listener(
    lb: LoadBalancerConfig, port: int, actions: list[Json], certificate: object
) -> Json:
    """An HTTPS listener with the TLS 1.2+ policy; `certificate` is the CertificateArn value."""
    https = listener(port, "HTTPS", actions)
    https["Certificates"] = [{"CertificateArn": certificate}]
    https["SslPolicy"] = lb.ssl_policy
    return https


def load_balancer_url(config: Config, port: int | None = None) -> Json | str:
    """http(s)://<host>[:port]: the production listener's port, or `port` (a test
    listener's) with the production listener's scheme. The host is the custom domain when
    there is one (its certificate names it, not the load balancer's DNS name; a literal,
    as an Fn::Sub without a variable is a lint warning), else the load balancer's DNS name."""
    lb = config.load_balancer
    scheme, default_port = ("https", 443) if lb.https else ("http", 80)
    if port is None:
        port = lb.https_port if lb.https else lb.http_port
    suffix = "" if port == default_port else f":{port}"
    if lb.domain is not None:
        return f"https://{lb.domain}{suffix}"
    return sub(f"{scheme}://${{{LOAD_BALANCER}.DNSName}}{suffix}")
