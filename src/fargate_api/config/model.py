"""The typed, frozen model of `fargate-api.toml`.

Every default is the reference pattern's value, except where the reference is unsafe or
unreliable; those defaults fix the defect and say so next to the field. Cross-field rules
live here too, so that a config that validates is one that synthesizes.
"""

from __future__ import annotations

import re
from enum import StrEnum
from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictStr,
    field_validator,
    model_validator,
)

from fargate_api.config.fargate_sizes import FARGATE_MEMORY_BY_CPU, describe_memory_choices
from fargate_api.config.subnet_plan import (
    LARGEST_VPC_PREFIX,
    SMALLEST_VPC_PREFIX,
    SubnetPlan,
    SubnetPlanError,
    plan_subnets,
)
from fargate_api.route_globs import glob_covers

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
    2557, 2922, 3288, 3653,
)  # fmt: skip

# A security group holds 60 inbound rules: one per range and listener port (HTTP + HTTPS).
MAX_SECURITY_GROUP_RULES = 60
MAX_INGRESS_CIDRS = MAX_SECURITY_GROUP_RULES // 2

# Fargate's stopTimeout upper bound.
MAX_STOP_TIMEOUT = 120

# Images whose official builds need root and a writable root filesystem (they bind port
# 80 and write caches or pid files under /var). For them the hardening is left off, for
# every other image it is on: "on where the image allows".
ROOT_WRITABLE_IMAGES = (
    "public.ecr.aws/docker/library/nginx",
    "public.ecr.aws/nginx/nginx",
    "nginx",
    "docker.io/library/nginx",
    "library/nginx",
    "public.ecr.aws/docker/library/httpd",
    "httpd",
)

NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9-]{0,27}$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
SECRET_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:(ssm:[a-z0-9-]+:\d{12}:parameter/.+"
    r"|secretsmanager:[a-z0-9-]+:\d{12}:secret:.+)$"
)
CERTIFICATE_ARN_PATTERN = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$"
# ALB rule conditions: a path pattern or a host pattern, 128 characters at most each.
PATH_PATTERN = r"^/[A-Za-z0-9_\-.$/~\"'@:+&*?]{0,127}$"
HOST_PATTERN = r"^(?=.{1,128}$)[A-Za-z0-9*?](?:[A-Za-z0-9*?.-]*[A-Za-z0-9*?])?$"
# A service of [[services]] names a stack (NAME-service-<name>) and an ECS service, and
# may become a DNS label: lower case, so that it is one.
SERVICE_NAME_PATTERN = r"^[a-z](?:[a-z0-9-]{0,26}[a-z0-9])?$"
# An ALB rule takes five condition values in all (hosts + paths), three per condition.
MAX_RULE_VALUES = 5
MAX_CONDITION_VALUES = 3
DOMAIN_PATTERN = (
    r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])$"
)
HOSTED_ZONE_PATTERN = r"^Z[A-Z0-9]{1,31}$"
# What ACM accepts as a certificate name: a host name, or one left-most `*.` wildcard.
CERTIFICATE_NAME_PATTERN = r"^(\*\.)?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$"
# An environment's name ends the config's name (`name-staging`), so it follows its rules.
ENVIRONMENT_PATTERN = r"^[a-z][a-z0-9-]{0,15}$"
PRIVATE_ECR_PATTERN = r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"

# ECS's own defaults for the traffic-shifting strategies; the synth writes them out, so a
# template says what ECS will do without the reader knowing ECS's defaults.
DEFAULT_BAKE_TIME = 15
DEFAULT_CANARY_PERCENT = 5.0
DEFAULT_CANARY_INTERVAL = 10
DEFAULT_LINEAR_PERCENT = 10.0
DEFAULT_LINEAR_INTERVAL = 6
# Ours: long enough to try the new revision through the test listener by hand.
DEFAULT_TEST_TRAFFIC_TIME = 5
MAX_SHIFT_MINUTES = 1440  # BakeTimeInMinutes, CanaryBakeTimeInMinutes, StepBakeTimeInMinutes
MAX_PAUSE_MINUTES = 20160  # a lifecycle hook's TimeoutInMinutes
# CloudFormation refuses a canary or linear deployment whose computed time exceeds 33 hours
# (its handler gives up at 36); the pause for test traffic counts against the same limit.
MAX_DEPLOYMENT_MINUTES = 33 * 60
# CloudWatch: Period x EvaluationPeriods may span one day (a week for periods of an hour+).
MAX_ALARM_WINDOW = 86400
MAX_LONG_PERIOD_ALARM_WINDOW = 7 * 86400


class NatMode(StrEnum):
    PER_AZ = "per-az"
    SINGLE = "single"
    NONE = "none"


class Platform(StrEnum):
    X86_64 = "X86_64"
    ARM64 = "ARM64"


class _Section(BaseModel):
    # Strict: TOML has real types, so `port = true` or `cpu = "256"` is a mistake to
    # report, not to coerce. Fields that must be parsed from strings opt out with Lax.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


def _check_name(value: str) -> str:
    if not re.fullmatch(NAME_PATTERN, value):
        raise ValueError(
            f"{value!r} is not a usable name: start with a letter, then letters, digits "
            "or '-', 28 characters at most (it prefixes stack and resource names)"
        )
    return value


ResourceName = Annotated[str, AfterValidator(_check_name)]


def _cidr_text(value: object) -> object:
    if isinstance(value, str | IPv4Network):
        return value
    raise ValueError("expected a CIDR string such as '10.0.0.0/16'")


# Parsed from a TOML string, so exempt from the sections' strict mode (but only strings).
Cidr = Annotated[IPv4Network, Strict(False), BeforeValidator(_cidr_text)]
CidrList = Annotated[tuple[Cidr, ...], Strict(False)]


class NetworkConfig(_Section):
    cidr: Cidr = Field(default=IPv4Network("10.0.0.0/16"), description="The VPC's IPv4 range.")
    az_count: Annotated[int, Field(ge=2, le=6)] = 2
    nat: NatMode = Field(
        default=NatMode.PER_AZ,
        strict=False,
        description="per-az: one NAT gateway and EIP per AZ (no cross-AZ dependency); "
        "single: one NAT gateway for all AZs (cheaper, one AZ failure domain); "
        "none: no NAT, tasks reach AWS through VPC endpoints only.",
    )
    vpc_endpoints: bool = Field(
        default=False,
        description="S3 gateway endpoint plus ECR (api, dkr) and CloudWatch Logs interface "
        "endpoints in the private subnets. Required when nat = 'none'.",
    )
    subnet_prefix: Annotated[int | None, Field(ge=17, le=28)] = None
    public_subnets: CidrList = ()
    private_subnets: CidrList = ()
    flow_logs: bool = True  # the reference has none (FSBP EC2.6)
    flow_logs_retention_days: int = 90

    @field_validator("cidr")
    @classmethod
    def _vpc_size(cls, value: IPv4Network) -> IPv4Network:
        if not LARGEST_VPC_PREFIX <= value.prefixlen <= SMALLEST_VPC_PREFIX:
            raise ValueError(
                f"a VPC range must be between /{LARGEST_VPC_PREFIX} and "
                f"/{SMALLEST_VPC_PREFIX}, got /{value.prefixlen}"
            )
        return value

    @field_validator("flow_logs_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return _check_retention(value)

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkConfig:
        try:
            self.subnet_plan()
        except SubnetPlanError as exc:
            raise ValueError(str(exc)) from None
        if self.nat is NatMode.NONE and not self.vpc_endpoints:
            raise ValueError(
                "nat = 'none' leaves the private subnets without a way to pull images "
                "or send logs; set vpc_endpoints = true, or choose nat = 'single'"
            )
        return self

    def subnet_plan(self) -> SubnetPlan:
        return plan_subnets(
            self.cidr,
            self.az_count,
            self.subnet_prefix,
            self.public_subnets,
            self.private_subnets,
        )


BuildPlatform = Literal["linux/amd64", "linux/arm64"]
PLATFORM_BY_BUILD: dict[str, Platform] = {
    "linux/amd64": Platform.X86_64,
    "linux/arm64": Platform.ARM64,
}
BUILD_BY_PLATFORM: dict[Platform, BuildPlatform] = {
    Platform.X86_64: "linux/amd64",
    Platform.ARM64: "linux/arm64",
}


def _build_table(value: object) -> object:
    # `build = "examples/api"` is the short form of `[service.build] context = ...`.
    return {"context": value} if isinstance(value, str) else value


class BuildConfig(_Section):
    """How to build the service's image from source, instead of naming a pushed `image`."""

    context: Annotated[str, Field(min_length=1)] = Field(
        description="The build context folder, relative to the config file."
    )
    dockerfile: Annotated[str, Field(min_length=1)] = Field(
        default="Dockerfile", description="The Dockerfile, relative to the context."
    )
    target: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] = None
    build_args: dict[str, str] = Field(default_factory=dict)
    platform: BuildPlatform | None = Field(
        default=None,
        description="linux/amd64 or linux/arm64; also sets the task's runtime platform. "
        "Default: the one service.platform names (X86_64).",
    )
    keep_images: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=30,
        description="The ECR repository's lifecycle policy keeps this many newest images.",
    )

    @field_validator("build_args")
    @classmethod
    def _arg_names(cls, value: dict[str, str]) -> dict[str, str]:
        return _sorted_names(value, "build argument")


class AutoscalingConfig(_Section):
    min: Annotated[int, Field(ge=1, le=1000)] = 2
    max: Annotated[int, Field(ge=1, le=1000)] = 10
    cpu_target: Annotated[float | None, Field(gt=0, le=100, allow_inf_nan=False)] = None
    requests_per_target: Annotated[int | None, Field(ge=1)] = None
    scale_in_cooldown: Annotated[int, Field(ge=0, le=3600)] = 60
    scale_out_cooldown: Annotated[int, Field(ge=0, le=3600)] = 60

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingConfig:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        if self.cpu_target is None and self.requests_per_target is None:
            raise ValueError("set cpu_target, requests_per_target or both")
        return self


class ServiceConfig(_Section):
    name: ResourceName = "web"
    image: Annotated[str, Field(min_length=1)] = "public.ecr.aws/docker/library/nginx:latest"
    build: Annotated[BuildConfig | None, BeforeValidator(_build_table)] = Field(
        default=None,
        description="Build the image from source and push it to the stack's own ECR "
        "repository, pinned by digest; an alternative to `image`.",
    )
    port: Annotated[int, Field(ge=1, le=65535)] = 80
    cpu: int = 256
    memory: int = 512
    desired_count: Annotated[int, Field(ge=0, le=1000)] = 2
    command: Annotated[tuple[StrictStr, ...], Strict(False)] = ()
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variable name -> SSM parameter or Secrets Manager ARN.",
    )
    health_check_path: Annotated[str, Field(pattern=r"^/\S*$", max_length=1024)] = "/"
    health_check_codes: Annotated[str, Field(pattern=r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")] = (
        "200-399"
    )
    # The reference probes every 6 s but ejects only after 10 failures (60 s); 10 s x 2
    # ejects a dead task in 20 s.
    health_check_interval: Annotated[int, Field(ge=5, le=300)] = 10
    health_check_timeout: Annotated[int, Field(ge=2, le=120)] = 5
    healthy_threshold: Annotated[int, Field(ge=2, le=10)] = 2
    unhealthy_threshold: Annotated[int, Field(ge=2, le=10)] = 2
    health_check_grace_period: Annotated[int, Field(ge=0, le=2147483647)] = 30
    # The reference's 0 s cuts in-flight requests on every deploy and scale-in.
    deregistration_delay: Annotated[int, Field(ge=0, le=3600)] = 45
    stop_timeout: Annotated[int, Field(ge=2, le=MAX_STOP_TIMEOUT)] = 60
    platform: Platform = Field(default=Platform.X86_64, strict=False)
    spot: Annotated[int, Field(ge=0, le=100, description="Percent of tasks on Fargate Spot.")] = 0
    read_only_root_filesystem: bool | Literal["auto"] = "auto"
    user: str | None = Field(
        default=None,
        description="Run the container as this user (uid[:gid]); unset keeps the image's.",
    )
    log_retention_days: int = 30
    container_insights: bool = True
    # Only in [[services]]: how the shared load balancer routes to this service, who else
    # may reach it, and its own scaling. Config._check_services refuses them in [service].
    paths: Annotated[tuple[StrictStr, ...], Strict(False)] = Field(
        default=(),
        description="Path patterns this service answers on the shared load balancer, e.g. "
        '["/api/*"] (ALB path-pattern syntax: * and ? wildcards).',
    )
    hosts: Annotated[tuple[StrictStr, ...], Strict(False)] = Field(
        default=(),
        description='Host names this service answers, e.g. ["docs.example.com"] or '
        '["*.example.com"].',
    )
    priority: Annotated[int | None, Field(ge=1, le=50000)] = Field(
        default=None,
        description="The listener rule's priority (lower is tried first); default 10 x "
        "the service's position in the file.",
    )
    allow_from: Annotated[tuple[StrictStr, ...], Strict(False)] = Field(
        default=(),
        description="Names of other [[services]] whose tasks may reach this service's port "
        "directly; by default none can.",
    )
    autoscaling: AutoscalingConfig | None = None

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not re.fullmatch(PATH_PATTERN, path):
                raise ValueError(
                    f"{path!r} is not an ALB path pattern: start with '/', at most 128 "
                    "characters of letters, digits and _-.$/~\"'@:+&*? (e.g. '/api/*')"
                )
        _no_repeats(value, "path")
        return value

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not re.fullmatch(HOST_PATTERN, host):
                raise ValueError(
                    f"{host!r} is not an ALB host pattern: a host name of letters, digits, "
                    "'-' and '.', with * or ? wildcards, 128 characters at most "
                    "(e.g. 'docs.example.com')"
                )
        _no_repeats(value, "host")
        return tuple(host.lower() for host in value)

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return _check_retention(value)

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: int) -> int:
        if value not in FARGATE_MEMORY_BY_CPU:
            allowed = ", ".join(str(c) for c in FARGATE_MEMORY_BY_CPU)
            raise ValueError(f"{value} is not a Fargate CPU size; allowed: {allowed}")
        return value

    @field_validator("environment", "secrets")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        return _sorted_names(value, "environment variable")

    @field_validator("secrets")
    @classmethod
    def _secret_arns(cls, value: dict[str, str]) -> dict[str, str]:
        for name, arn in value.items():
            if not re.fullmatch(SECRET_ARN_PATTERN, arn):
                raise ValueError(
                    f"secret {name} = {arn!r} is not an SSM parameter or Secrets Manager "
                    "ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or "
                    "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
                )
        return value

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$", value):
            raise ValueError(f"{value!r} is not uid, uid:gid, user or user:group")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> ServiceConfig:
        allowed = FARGATE_MEMORY_BY_CPU[self.cpu]
        if self.memory not in allowed:
            raise ValueError(
                f"memory = {self.memory} does not fit cpu = {self.cpu}; Fargate allows "
                f"{describe_memory_choices(self.cpu)} MiB for it"
            )
        if self.health_check_timeout >= self.health_check_interval:
            raise ValueError(
                f"health_check_timeout ({self.health_check_timeout}) must be shorter than "
                f"health_check_interval ({self.health_check_interval})"
            )
        shortest_stop = self.deregistration_delay + 1
        if shortest_stop > MAX_STOP_TIMEOUT:
            raise ValueError(
                f"deregistration_delay ({self.deregistration_delay}) must be below "
                f"{MAX_STOP_TIMEOUT}: stop_timeout must be longer than it, and Fargate allows "
                f"a stop_timeout of {MAX_STOP_TIMEOUT} s at most"
            )
        if self.stop_timeout < shortest_stop:
            raise ValueError(
                f"stop_timeout ({self.stop_timeout}) must be longer than "
                f"deregistration_delay ({self.deregistration_delay}) so that a task "
                f"finishes its drained requests before it is killed; use {shortest_stop} "
                "or more"
            )
        if self.build is not None:
            if "image" in self.model_fields_set:
                raise ValueError(
                    "image and build are both set: a service runs either a pushed image or "
                    "one built from source; remove one of them"
                )
            wanted = self.build.platform
            if (
                wanted is not None
                and "platform" in self.model_fields_set
                and PLATFORM_BY_BUILD[wanted] is not self.platform
            ):
                raise ValueError(
                    f"build.platform = {wanted!r} and platform = {self.platform.value!r} "
                    "disagree: an image built for one architecture cannot run on the other; "
                    f"set platform = {PLATFORM_BY_BUILD[wanted].value!r} or drop one of them"
                )
        clash = set(self.environment) & set(self.secrets)
        if clash:
            raise ValueError(
                f"{', '.join(sorted(clash))} is set in both environment and secrets; keep it in one"
            )
        return self

    def effective_platform(self) -> Platform:
        """The task's CPU architecture: the build's platform wins, as the image follows it."""
        if self.build is not None and self.build.platform is not None:
            return PLATFORM_BY_BUILD[self.build.platform]
        return self.platform

    def build_platform(self) -> BuildPlatform:
        return BUILD_BY_PLATFORM[self.effective_platform()]

    def image_repository(self) -> str:
        """The image without its tag or digest (a registry port's colon is kept)."""
        without_digest = self.image.split("@", 1)[0]
        name, _, tag = without_digest.rpartition(":")
        return name if name and "/" not in tag else without_digest

    def image_needs_root(self) -> bool:
        # A built image is the user's own: it gets the hardening every other image gets.
        return self.build is None and self.image_repository() in ROOT_WRITABLE_IMAGES

    def effective_read_only_root(self) -> bool:
        if self.read_only_root_filesystem == "auto":
            return not self.image_needs_root()
        return self.read_only_root_filesystem


class AccessLogsConfig(_Section):
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9!_.*'()/-]*$")] = ""


class LoadBalancerConfig(_Section):
    certificate_arn: Annotated[str | None, Field(pattern=CERTIFICATE_ARN_PATTERN)] = None
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 80
    https_port: Annotated[int, Field(ge=1, le=65535)] = 443
    idle_timeout: Annotated[int, Field(ge=1, le=4000)] = 30
    deletion_protection: bool = False
    access_logs: AccessLogsConfig | None = None
    ingress_cidrs: CidrList = (IPv4Network("0.0.0.0/0"),)
    domain: str | None = Field(
        default=None,
        description="Serve the API on this name (e.g. api.example.com): an ACM certificate "
        "validated by DNS, HTTPS with HTTP redirected to it, and a Route 53 alias record.",
    )
    hosted_zone_id: Annotated[str | None, Field(pattern=HOSTED_ZONE_PATTERN)] = Field(
        default=None,
        description="The Route 53 hosted zone of `domain`; default: `deploy` finds the zone "
        "by name.",
    )

    @field_validator("ssl_policy")
    @classmethod
    def _tls12(cls, value: str) -> str:
        weak = ("TLS-1-0", "TLS-1-1", "2015-05", "2016-08", "2015-04", "2015-03", "2014-")
        if not value.startswith("ELBSecurityPolicy-") or any(w in value for w in weak):
            raise ValueError(
                f"{value!r} is not a TLS 1.2+ ELB security policy; use for example "
                "ELBSecurityPolicy-TLS13-1-2-2021-06"
            )
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(DOMAIN_PATTERN, value):
            raise ValueError(
                f"{value!r} is not a domain name for the API: lower-case labels of letters, "
                "digits and '-' joined by dots, no wildcard, e.g. 'api.example.com'"
            )
        return value

    @field_validator("ingress_cidrs")
    @classmethod
    def _some_ingress(cls, value: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        _check_ranges(value)
        if len(value) > MAX_INGRESS_CIDRS:
            raise ValueError(
                f"{len(value)} ranges exceed the {MAX_INGRESS_CIDRS} that fit in one security "
                "group (60 rules, one per range and listener port); use a prefix list or "
                "fewer, wider ranges"
            )
        return value

    @model_validator(mode="after")
    def _ports_differ(self) -> LoadBalancerConfig:
        if self.https and self.http_port == self.https_port:
            raise ValueError("http_port and https_port must differ")
        if self.hosted_zone_id is not None and self.domain is None:
            raise ValueError(
                "hosted_zone_id is set without domain; set domain = 'api.example.com' (a "
                "name in that zone), or remove hosted_zone_id"
            )
        return self

    @property
    def https(self) -> bool:
        """HTTPS with a certificate given by ARN, or one the stack requests for `domain`."""
        return self.certificate_arn is not None or self.domain is not None

    @property
    def creates_certificate(self) -> bool:
        return self.domain is not None and self.certificate_arn is None

    def presumed_zone(self) -> str | None:
        """The hosted zone the domain is presumed to be in: its parent (example.com for
        api.example.com), or the domain itself when it is a zone's apex (example.com)."""
        if self.domain is None:
            return None
        return self.domain.split(".", 1)[1] if self.domain.count(".") > 1 else self.domain

    def listener_ports(self) -> tuple[int, ...]:
        return (self.http_port, self.https_port) if self.https else (self.http_port,)


class LocalConfig(_Section):
    command: str | None = Field(
        default=None,
        description="How the local twin runs the image: a shell command; {port} is "
        "replaced by the container port.",
    )
    secrets: dict[StrictStr, StrictStr] = Field(
        default_factory=dict,
        description="Values for the task definition's Secrets in the local twin, by "
        "variable name (or ValueFrom). Read by `local up` only: never written into the "
        "templates.",
    )

    @field_validator("command")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.strip():
            raise ValueError("must not be empty; leave it out to use the built-in stand-in")
        names = set(re.findall(r"\{([^{}]*)\}", value))
        unknown = names - {"port"}
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{sorted(unknown)[0]}}}; only {{port}} is replaced"
            )
        return value


class DeploymentStrategy(StrEnum):
    ROLLING = "rolling"
    BLUE_GREEN = "blue_green"
    CANARY = "canary"
    LINEAR = "linear"


def _is_tenth(value: float) -> bool:
    # CloudFormation's multipleOf 0.1, judged in tenths so that 0.3 counts as one.
    return abs(value * 10 - round(value * 10)) < 1e-6


def _alarms_table(value: object) -> object:
    # `alarms = true` means every alarm with its defaults, `alarms = false` none at all.
    if value is True:
        return {}
    if value is False:
        return None
    if isinstance(value, dict):
        return value
    raise ValueError("should be true, false or a table, e.g. { error_rate_percent = 2.0 }")


class DeploymentAlarmsConfig(_Section):
    """The CloudWatch alarms that fail and roll back a deployment, over every target group."""

    error_rate_percent: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = Field(
        default=5.0, description="Target 5xx responses per request, percent, per target group."
    )
    p99_response_time: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        default=2.0, description="Seconds: the p99 of TargetResponseTime, per target group."
    )
    unhealthy_hosts: bool = Field(
        default=True, description="Alarm as soon as one target is unhealthy."
    )
    period: Annotated[int, Field(ge=10, le=86400)] = 60
    evaluation_periods: Annotated[int, Field(ge=1)] = 2
    datapoints_to_alarm: Annotated[int, Field(ge=1)] = 2

    @field_validator("period")
    @classmethod
    def _period(cls, value: int) -> int:
        if value not in (10, 30) and value % 60:
            raise ValueError(
                f"{value} is not a CloudWatch alarm period; use 10, 30 or a multiple of 60"
            )
        return value

    @model_validator(mode="after")
    def _window(self) -> DeploymentAlarmsConfig:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapoints_to_alarm ({self.datapoints_to_alarm}) is more than "
                f"evaluation_periods ({self.evaluation_periods}): the alarm could never fire; "
                f"lower it or raise evaluation_periods"
            )
        limit = MAX_LONG_PERIOD_ALARM_WINDOW if self.period >= 3600 else MAX_ALARM_WINDOW
        window = self.period * self.evaluation_periods
        if window > limit:
            raise ValueError(
                f"evaluation_periods ({self.evaluation_periods}) x period ({self.period}) is "
                f"{window} s; CloudWatch allows {limit} s at most for this period"
            )
        return self

    def window_seconds(self) -> int:
        """How long a breach takes at most to be judged: the alarm's evaluation window."""
        return self.period * self.evaluation_periods


class DeploymentConfig(_Section):
    """How ECS replaces a revision: rolling, or shifting traffic between two target groups."""

    strategy: DeploymentStrategy = Field(
        default=DeploymentStrategy.ROLLING,
        strict=False,
        description="rolling: replace tasks in place behind one target group; blue_green, "
        "canary, linear: start the new revision behind a second target group and shift the "
        "listener's traffic to it (all at once, a share first, or in equal steps).",
    )
    bake_time: Annotated[int | None, Field(ge=0, le=MAX_SHIFT_MINUTES)] = Field(
        default=None,
        description="Minutes the old revision is kept after all traffic has shifted, so a "
        f"rollback is instant; default {DEFAULT_BAKE_TIME} for blue_green, canary and linear.",
    )
    canary_percent: Annotated[float, Field(ge=0.1, le=100, allow_inf_nan=False)] = (
        DEFAULT_CANARY_PERCENT
    )
    canary_interval: Annotated[int, Field(ge=0, le=MAX_SHIFT_MINUTES)] = DEFAULT_CANARY_INTERVAL
    linear_percent: Annotated[float, Field(ge=3, le=100, allow_inf_nan=False)] = (
        DEFAULT_LINEAR_PERCENT
    )
    linear_interval: Annotated[int, Field(ge=0, le=MAX_SHIFT_MINUTES)] = DEFAULT_LINEAR_INTERVAL
    test_listener_port: Annotated[int | None, Field(ge=1, le=65535)] = Field(
        default=None,
        description="A second listener on this port reaches the new revision before any "
        "production traffic does.",
    )
    test_traffic_time: Annotated[int | None, Field(ge=0, le=MAX_PAUSE_MINUTES)] = Field(
        default=None,
        description="Minutes the deployment pauses with only the test listener on the new "
        f"revision; default {DEFAULT_TEST_TRAFFIC_TIME} with a test listener, 0 for no pause.",
    )
    test_listener_cidrs: CidrList | None = Field(
        default=None, description="Who may reach the test listener; default ingress_cidrs."
    )
    alarms: Annotated[DeploymentAlarmsConfig | None, BeforeValidator(_alarms_table)] = Field(
        default=None,
        description="true, false or a table; default on for blue_green, canary and linear.",
    )

    @field_validator("canary_percent", "linear_percent")
    @classmethod
    def _tenths(cls, value: float) -> float:
        if not _is_tenth(value):
            raise ValueError(f"{value} is not a multiple of 0.1 (ECS shifts traffic in tenths)")
        return round(value, 1)

    @field_validator("test_listener_cidrs")
    @classmethod
    def _test_ranges(cls, value: tuple[IPv4Network, ...] | None) -> tuple[IPv4Network, ...] | None:
        if value is not None:
            _check_ranges(value)
        return value

    @model_validator(mode="after")
    def _fits_the_strategy(self) -> DeploymentConfig:
        only_with = {
            "canary_percent": DeploymentStrategy.CANARY,
            "canary_interval": DeploymentStrategy.CANARY,
            "linear_percent": DeploymentStrategy.LINEAR,
            "linear_interval": DeploymentStrategy.LINEAR,
        }
        for key, strategy in only_with.items():
            if key in self.model_fields_set and self.strategy is not strategy:
                raise ValueError(
                    f"{key} is set, but strategy = {self.strategy.value!r}: it applies only "
                    f"to strategy = {strategy.value!r}; remove it or change the strategy"
                )
        if self.test_listener_port is not None and not self.shifts_traffic:
            raise ValueError(
                "test_listener_port is set, but strategy = 'rolling' keeps one target group, "
                "so there is no new revision to test apart; choose blue_green, canary or "
                "linear, or remove it"
            )
        if self.test_listener_port is None:
            for key in ("test_traffic_time", "test_listener_cidrs"):
                if key in self.model_fields_set:
                    raise ValueError(
                        f"{key} is set without test_listener_port; set the port of the test "
                        "listener, or remove it"
                    )
        total = self.deployment_minutes()
        if self.shifts_traffic and total > MAX_DEPLOYMENT_MINUTES:
            raise ValueError(
                f"bake_time and the shifting intervals add up to {total} minutes "
                f"({self._time_terms()}), more than the {MAX_DEPLOYMENT_MINUTES} minutes "
                "CloudFormation lets a deployment take; shorten them"
            )
        return self

    @property
    def shifts_traffic(self) -> bool:
        return self.strategy is not DeploymentStrategy.ROLLING

    def effective_bake_time(self) -> int | None:
        """Minutes; None for a rolling deployment that leaves it to ECS."""
        if self.bake_time is not None:
            return self.bake_time
        return DEFAULT_BAKE_TIME if self.shifts_traffic else None

    def effective_test_traffic_time(self) -> int:
        """Minutes of the pause after the test traffic shift; 0 for no pause."""
        if self.test_listener_port is None:
            return 0
        return (
            DEFAULT_TEST_TRAFFIC_TIME if self.test_traffic_time is None else self.test_traffic_time
        )

    def alarm_settings(self) -> DeploymentAlarmsConfig | None:
        """The alarms to create, or None: on by default where traffic shifts."""
        if "alarms" in self.model_fields_set:
            return self.alarms
        return DeploymentAlarmsConfig() if self.shifts_traffic else None

    def linear_steps(self) -> int:
        """Steps CloudFormation counts for a linear deployment (no wait after the last)."""
        tenths = round(self.linear_percent * 10)
        steps = 1000 // tenths
        return steps - 1 if 1000 % tenths == 0 else steps

    def deployment_minutes(self) -> int:
        """CloudFormation's estimate of a deployment's length, plus the test traffic pause."""
        minutes = (self.effective_bake_time() or 0) + self.effective_test_traffic_time()
        if self.strategy is DeploymentStrategy.CANARY:
            minutes += self.canary_interval
        elif self.strategy is DeploymentStrategy.LINEAR:
            minutes += self.linear_interval * self.linear_steps()
        return minutes

    def _time_terms(self) -> str:
        terms = [f"bake_time {self.effective_bake_time() or 0}"]
        if self.strategy is DeploymentStrategy.CANARY:
            terms.append(f"canary_interval {self.canary_interval}")
        elif self.strategy is DeploymentStrategy.LINEAR:
            terms.append(f"linear_interval {self.linear_interval} x {self.linear_steps()} steps")
        if self.effective_test_traffic_time():
            terms.append(f"test_traffic_time {self.effective_test_traffic_time()}")
        return " + ".join(terms)


class Config(_Section):
    name: ResourceName = "serverless-api-environment"
    environment: Annotated[str | None, Field(pattern=ENVIRONMENT_PATTERN)] = Field(
        default=None,
        description="Set by the loader from --env (never written in the file): the "
        "[env.NAME] table merged over the base config. `name` carries it as a suffix.",
    )
    network: NetworkConfig = NetworkConfig()
    service: ServiceConfig = ServiceConfig()
    services: Annotated[tuple[ServiceConfig, ...], Strict(False)] = Field(
        default=(),
        description="Several services behind the one load balancer, each routed by path "
        "and/or host; instead of [service].",
    )
    load_balancer: LoadBalancerConfig = LoadBalancerConfig()
    autoscaling: AutoscalingConfig | None = None
    deployment: DeploymentConfig = DeploymentConfig()
    local: LocalConfig = LocalConfig()

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        self._check_services()
        for index, svc in enumerate(self.service_list()):
            where = self.service_key(index)
            if (
                self.network.nat is NatMode.NONE
                and svc.build is None
                and not re.match(PRIVATE_ECR_PATTERN, svc.image)
            ):
                raise ValueError(
                    f"{where}.image {svc.image!r} is pulled from the internet, but "
                    "network.nat = 'none' gives the tasks no internet access; push the image "
                    "to a private ECR repository or choose nat = 'single'"
                )
            scaling = self.scaling_of(svc)
            scaling_key = f"{where}.autoscaling" if self.services else "autoscaling"
            if scaling is not None and not scaling.min <= svc.desired_count <= scaling.max:
                raise ValueError(
                    f"{where}.desired_count ({svc.desired_count}) must lie between "
                    f"{scaling_key}.min ({scaling.min}) and {scaling_key}.max ({scaling.max})"
                )
            if svc.deregistration_delay < self.load_balancer.idle_timeout:
                raise ValueError(
                    f"{where}.deregistration_delay ({svc.deregistration_delay}) is "
                    f"shorter than load_balancer.idle_timeout ({self.load_balancer.idle_timeout})"
                    ": requests still in flight would be cut during deploys; raise the delay"
                )
        self._check_deployment()
        return self

    def _check_services(self) -> None:
        routing = ("paths", "hosts", "priority", "allow_from", "autoscaling")
        used = [key for key in routing if key in self.service.model_fields_set]
        if used:
            raise ValueError(
                f"service.{used[0]} applies only to [[services]]: one [service] gets all of "
                "the load balancer's traffic; use [[services]] tables for several services"
            )
        if not self.services:
            return
        if "service" in self.model_fields_set:
            raise ValueError(
                "[service] and [[services]] are both set; use [[services]] only (one table "
                "per service), or [service] for one service"
            )
        if self.autoscaling is not None:
            raise ValueError(
                "autoscaling is set at the top level with [[services]]; move it under each "
                "service as [services.autoscaling]"
            )
        names = [svc.name for svc in self.services]
        for index, name in enumerate(names):
            if not re.fullmatch(SERVICE_NAME_PATTERN, name):
                raise ValueError(
                    f"services[{index}].name = {name!r} is not a valid stack name part and DNS "
                    "label: lower-case letters, digits and '-', starting with a letter, not "
                    "ending with '-', 28 characters at most"
                )
            if names.index(name) != index:
                raise ValueError(
                    f"services[{index}].name = {name!r} is used twice; give each service its "
                    "own name"
                )
            first = [logical_id_form(n) for n in names].index(logical_id_form(name))
            if first != index:
                raise ValueError(
                    f"services[{index}].name = {name!r} and services[{first}].name = "
                    f"{names[first]!r} both become {logical_id_form(name)!r} in the templates' "
                    "logical ids; rename one of them"
                )
        check_routes(self.services, [self.service_priority(i) for i in range(len(names))])
        self._check_certificate_names()
        for index, svc in enumerate(self.services):
            for source in svc.allow_from:
                if source == svc.name:
                    raise ValueError(
                        f"services[{index}].allow_from names {source!r} itself: a service's "
                        "own tasks need no rule; remove it"
                    )
                if source not in names:
                    raise ValueError(
                        f"services[{index}].allow_from names {source!r}, which is not a "
                        f"service; known: {', '.join(names)}"
                    )

    def _check_certificate_names(self) -> None:
        """The certificate the stack requests names every host the services route on, and
        CloudFormation validates each name in the domain's zone: a host that cannot be a
        certificate name, or lies in another zone, would fail or hang the deploy."""
        lb = self.load_balancer
        zone = lb.presumed_zone()
        if zone is None or not lb.creates_certificate:
            return
        for index, svc in enumerate(self.services):
            for host in svc.hosts:
                if not re.fullmatch(CERTIFICATE_NAME_PATTERN, host):
                    raise ValueError(
                        f"services[{index}].hosts: {host!r} cannot be a name of the certificate "
                        "that load_balancer.domain requests (a host name, or one leading "
                        f"'*.' wildcard); use e.g. '*.{zone}', or give load_balancer."
                        "certificate_arn of a certificate that covers it"
                    )
                if host != zone and not host.endswith(f".{zone}"):
                    raise ValueError(
                        f"services[{index}].hosts: {host!r} is not in {zone}, the zone of "
                        f"load_balancer.domain ({lb.domain}): its certificate name could not "
                        "be validated there; use a host under it, or give load_balancer."
                        "certificate_arn of a certificate that covers it"
                    )

    def service_list(self) -> tuple[ServiceConfig, ...]:
        """Every service: the [[services]], or the one [service]."""
        return self.services or (self.service,)

    def service_key(self, index: int) -> str:
        """How the config names the service at `index`, for messages."""
        return f"services[{index}]" if self.services else "service"

    def service_priority(self, index: int) -> int:
        """The listener rule priority of [[services]][index]: its own, else 10 x position."""
        own = self.services[index].priority
        return own if own is not None else 10 * (index + 1)

    def scaling_of(self, svc: ServiceConfig) -> AutoscalingConfig | None:
        return svc.autoscaling if self.services else self.autoscaling

    def for_service(self, svc: ServiceConfig) -> Config:
        """The config as one service's stack sees it: that service as [service], with its
        own scaling. Not validated again: every rule held for the whole config."""
        return self.model_copy(
            update={"service": svc, "services": (), "autoscaling": self.scaling_of(svc)}
        )

    def _check_deployment(self) -> None:
        deployment, lb = self.deployment, self.load_balancer
        port = deployment.test_listener_port
        if port is not None and port in lb.listener_ports():
            key = "https_port" if lb.https and port == lb.https_port else "http_port"
            raise ValueError(
                f"deployment.test_listener_port ({port}) is load_balancer.{key}: the test "
                "listener needs a port of its own; choose another, e.g. 8080"
            )
        if port is not None:
            ranges = len(lb.listener_ports()) * len(lb.ingress_cidrs)
            ranges += len(self.test_listener_cidrs())
            if ranges > MAX_SECURITY_GROUP_RULES:
                raise ValueError(
                    f"deployment.test_listener_port opens the load balancer's security group "
                    f"to deployment.test_listener_cidrs too: with load_balancer.ingress_cidrs "
                    f"on the other listeners that need {ranges} rules, and a security group "
                    f"holds {MAX_SECURITY_GROUP_RULES}; list fewer, wider ranges"
                )
        for index, svc in enumerate(self.service_list()):
            scaling = self.scaling_of(svc)
            key = f"{self.service_key(index)}.autoscaling" if self.services else "autoscaling"
            if deployment.shifts_traffic and scaling and scaling.requests_per_target is not None:
                raise ValueError(
                    f"{key}.requests_per_target tracks the requests of one target group, "
                    f"but with deployment.strategy = {deployment.strategy.value!r} ECS moves "
                    "the production traffic to the other group on every deployment; scale on "
                    f"{key}.cpu_target instead"
                )
        alarms = deployment.alarm_settings()
        if alarms is not None and alarms.p99_response_time >= lb.idle_timeout:
            raise ValueError(
                f"deployment.alarms.p99_response_time ({alarms.p99_response_time:g} s) is not "
                f"shorter than load_balancer.idle_timeout ({lb.idle_timeout} s): the load "
                "balancer cuts slower requests, so the alarm could never fire; lower it"
            )

    def test_listener_cidrs(self) -> tuple[IPv4Network, ...]:
        """Who may reach the test listener: its own ranges, else the listeners' ranges."""
        own = self.deployment.test_listener_cidrs
        return own if own is not None else self.load_balancer.ingress_cidrs


def check_routes(services: tuple[ServiceConfig, ...], priorities: list[int]) -> None:
    """Every service gets a rule that some request can reach: conditions, distinct
    priorities, and no rule hidden behind an earlier one that matches all it matches."""
    seen: dict[int, int] = {}
    for index, (svc, priority) in enumerate(zip(services, priorities, strict=True)):
        if not svc.paths and not svc.hosts:
            raise ValueError(
                f"services[{index}] ({svc.name}) has neither paths nor hosts, so no request "
                'reaches it; set paths = ["/*"] for the catch-all service, or a path or host'
            )
        if len(svc.paths) + len(svc.hosts) > MAX_RULE_VALUES:
            raise ValueError(
                f"services[{index}] ({svc.name}) lists {len(svc.paths) + len(svc.hosts)} "
                f"paths and hosts; an ALB rule takes {MAX_RULE_VALUES} at most"
            )
        for what, values in (("paths", svc.paths), ("hosts", svc.hosts)):
            if len(values) > MAX_CONDITION_VALUES:
                raise ValueError(
                    f"services[{index}] ({svc.name}) lists {len(values)} {what}; one condition "
                    f"of an ALB rule takes {MAX_CONDITION_VALUES} at most"
                )
        if priority in seen:
            other = seen[priority]
            raise ValueError(
                f"services[{index}].priority: {svc.name} and {services[other].name} both have "
                f"priority {priority}; give each service its own priority"
            )
        seen[priority] = index
    order = sorted(range(len(services)), key=lambda i: priorities[i])
    for position, later in enumerate(order):
        for earlier in order[:position]:
            first, second = services[earlier], services[later]
            if _covers(first.hosts, second.hosts) and _covers(first.paths, second.paths):
                same = first.hosts == second.hosts and first.paths == second.paths
                what = "routes the same paths and hosts as" if same else "shadows"
                raise ValueError(
                    f"services[{later}] ({second.name}): {first.name} (priority "
                    f"{priorities[earlier]}) {what} it (priority {priorities[later]}), so no "
                    f"request reaches {second.name}; give {second.name} a lower priority "
                    "number, or narrow the other's paths or hosts"
                )


def logical_id_form(name: str) -> str:
    """How a [[services]] name appears in logical ids: "api-v2" -> "ApiV2"."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-") if part)


def _covers(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    """Whether every value `inner` matches is matched by `outer` (no condition: all)."""
    if not outer:
        return True
    if not inner:
        return False
    return all(any(glob_covers(pattern, value) for pattern in outer) for value in inner)


def _no_repeats(value: tuple[str, ...], what: str) -> None:
    repeated = sorted({item for item in value if value.count(item) > 1})
    if repeated:
        raise ValueError(f"{what} {repeated[0]!r} is listed twice; list each {what} once")


def _sorted_names(value: dict[str, str], what: str) -> dict[str, str]:
    """Shell-style names only (they become variables), sorted for stable templates."""
    for name in value:
        if not re.fullmatch(ENV_NAME_PATTERN, name):
            raise ValueError(
                f"{name!r} is not a valid {what} name "
                "(letters, digits and _, not starting with a digit)"
            )
    return dict(sorted(value.items()))


def _check_ranges(value: tuple[IPv4Network, ...]) -> None:
    if not value:
        raise ValueError("at least one range is needed, e.g. ['0.0.0.0/0']")
    repeated = sorted({str(c) for c in value if value.count(c) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} is listed twice; list each range once")


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ValueError(f"{value} is not a CloudWatch Logs retention; allowed: {allowed}")
    return value
