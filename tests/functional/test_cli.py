"""The CLI end to end, as a real process: exit codes, stdout vs stderr, files written,
error messages, and the template invariants of the pattern on what it writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from functional.support import (
    TEMPLATE_FILES,
    Json,
    SynthCache,
    cli_env,
    describe_run,
    load_template,
    resources_of_type,
    run_cli,
    variant_config,
    variant_names,
)

DEFAULT_OUT = "fargate-api.out"
DEPLOY_HINT = "--resolve-s3 --capabilities CAPABILITY_IAM"


def _one_error(stderr: str) -> None:
    """Exactly one error message, with a fix, and no traceback."""
    assert stderr.startswith("error: "), f"stderr does not start with 'error: ':\n{stderr}"
    assert stderr.count("error:") == 1, f"more than one error message:\n{stderr}"
    assert "\n  fix: " in stderr, f"the message gives no fix:\n{stderr}"
    assert "Traceback" not in stderr, f"a traceback without --debug:\n{stderr}"


# --- synth ---------------------------------------------------------------------------


def test_synth_without_config_writes_the_four_templates(
    tmp_path: Path, synthesized: SynthCache
) -> None:
    result = run_cli("synth", cwd=tmp_path)

    assert result.returncode == 0, describe_run(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == [DEFAULT_OUT], "wrote outside the out dir"
    out = tmp_path / DEFAULT_OUT
    assert sorted(p.name for p in out.iterdir()) == sorted(TEMPLATE_FILES)
    assert "Templates" in result.stdout, "the summary table belongs on stdout"
    assert f"wrote 4 templates to {DEFAULT_OUT}/" in result.stderr, describe_run(result)
    assert f"sam deploy --template-file {DEFAULT_OUT}/parent.yml" in result.stderr
    assert DEPLOY_HINT in result.stderr
    assert "wrote" not in result.stdout, "progress belongs on stderr"
    # No config at all means the defaults, exactly as an empty config file does.
    for name in TEMPLATE_FILES:
        no_config = (out / name).read_bytes()
        assert no_config == (synthesized.get("default") / name).read_bytes(), name


def test_synth_reads_fargate_api_toml_from_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "fargate-api.toml").write_text('name = "picked-up"\n', encoding="utf-8")
    result = run_cli("synth", cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    cluster = load_template(tmp_path / DEFAULT_OUT / "cluster.yml")
    assert cluster["Description"].startswith("picked-up:"), cluster["Description"]
    assert "--stack-name picked-up " in result.stderr, describe_run(result)


def test_synth_json_prints_json_on_stdout_only(tmp_path: Path) -> None:
    result = run_cli("synth", "--json", "-o", "out", cwd=tmp_path)

    assert result.returncode == 0, describe_run(result)
    summary = json.loads(result.stdout)  # nothing but JSON on stdout
    assert "wrote 4 templates to out/" in result.stderr, describe_run(result)
    assert not result.stderr.lstrip().startswith(("{", "[")), "JSON leaked to stderr"
    assert set(summary["templates"]) == set(TEMPLATE_FILES)
    assert sorted(Path(p).name for p in summary["written"]) == sorted(TEMPLATE_FILES)
    for name, info in summary["templates"].items():
        template = load_template(tmp_path / "out" / name)
        assert info["resources"] == len(template["Resources"]), name
        assert info["outputs"] == sorted(template.get("Outputs", {})), name


# --- init ----------------------------------------------------------------------------


def test_init_writes_a_config_that_means_the_defaults(tmp_path: Path) -> None:
    with_init, without = tmp_path / "with-init", tmp_path / "without"
    with_init.mkdir()
    without.mkdir()

    init = run_cli("init", cwd=with_init)
    assert init.returncode == 0, describe_run(init)
    assert init.stdout.strip() == "fargate-api.toml", describe_run(init)
    assert "wrote fargate-api.toml" in init.stderr, describe_run(init)
    assert (with_init / "fargate-api.toml").is_file()

    synth_a = run_cli("synth", "-c", "fargate-api.toml", "-o", "out", cwd=with_init)
    synth_b = run_cli("synth", "-o", "out", cwd=without)
    assert synth_a.returncode == 0, describe_run(synth_a)
    assert synth_b.returncode == 0, describe_run(synth_b)
    for name in TEMPLATE_FILES:
        a = (with_init / "out" / name).read_bytes()
        b = (without / "out" / name).read_bytes()
        assert a == b, f"{name}: the starter config does not give the default templates"


def test_init_twice_refuses_to_overwrite(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    config = tmp_path / "fargate-api.toml"
    config.write_text('name = "edited"\n', encoding="utf-8")

    again = run_cli("init", cwd=tmp_path)

    assert again.returncode == 2, describe_run(again)
    assert again.stdout == "", describe_run(again)
    _one_error(again.stderr)
    assert "fargate-api.toml" in again.stderr and "--force" in again.stderr, again.stderr
    assert config.read_text(encoding="utf-8") == 'name = "edited"\n', "init overwrote the file"

    forced = run_cli("init", "--force", cwd=tmp_path)
    assert forced.returncode == 0, describe_run(forced)
    assert config.read_text(encoding="utf-8") != 'name = "edited"\n'


# --- errors --------------------------------------------------------------------------

BAD_CONFIGS: dict[str, tuple[str | None, int | None, tuple[str, ...]]] = {
    # id: (file content, or None for a missing file; line named; fragments of the message)
    "unknown-key": (
        '[service]\nimage = "x"\nimgae = "y"\n',
        3,
        ("unknown key 'imgae' in [service]", "did you mean 'image'"),
    ),
    "invalid-toml": ("name = serverless\n", None, ("not valid TOML", "line 1", "quotes")),
    "bad-cpu": (
        "# sizes\n[service]\ncpu = 300\n",
        3,
        ("cpu = 300", "not a Fargate CPU size", "allowed: 256, 512"),
    ),
    "overlapping-subnets": (
        '[network]\npublic_subnets = ["10.0.0.0/18", "10.0.64.0/18"]\n'
        'private_subnets = ["10.0.32.0/19", "10.0.128.0/18"]\n',
        2,  # the first key the message names
        ("public_subnets[0] = 10.0.0.0/18 overlaps private_subnets[0] = 10.0.32.0/19",),
    ),
    "memory-does-not-fit": (
        "[service]\ncpu = 256\nmemory = 4096\n",
        None,
        ("memory = 4096 does not fit cpu = 256", "512, 1024, 2048"),
    ),
    "missing-file": (None, None, ("config file not found", "fargate-api init")),
}


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_bad_config_is_one_message_and_exit_2(tmp_path: Path, case: str) -> None:
    content, line, fragments = BAD_CONFIGS[case]
    config = tmp_path / "bad.toml"
    if content is not None:
        config.write_text(content, encoding="utf-8")

    result = run_cli("synth", "-c", "bad.toml", "-o", "out", cwd=tmp_path)

    assert result.returncode == 2, describe_run(result)
    assert result.stdout == "", describe_run(result)
    _one_error(result.stderr)
    assert "bad.toml" in result.stderr, f"the message does not name the file:\n{result.stderr}"
    if line is not None:
        assert f"bad.toml:{line}:" in result.stderr, f"line {line} not named:\n{result.stderr}"
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in:\n{result.stderr}"
    assert not (tmp_path / "out").exists(), "a failed synth must not create the out dir"


@pytest.mark.parametrize("case", ["bad-cpu", "missing-file"])
def test_debug_shows_the_traceback(tmp_path: Path, case: str) -> None:
    content, _, fragments = BAD_CONFIGS[case]
    if content is not None:
        (tmp_path / "bad.toml").write_text(content, encoding="utf-8")

    result = run_cli("--debug", "synth", "-c", "bad.toml", "-o", "out", cwd=tmp_path)

    assert result.returncode == 2, describe_run(result)  # the same code as without --debug
    assert "Traceback (most recent call last)" in result.stderr, describe_run(result)
    assert "UserError" in result.stderr and fragments[0] in result.stderr, describe_run(result)


@pytest.mark.parametrize("target", ["/proc/fargate-api-test/out", "a-file"])
def test_unwritable_output_folder_is_one_message(tmp_path: Path, target: str) -> None:
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")

    result = run_cli("synth", "-o", target, cwd=tmp_path)

    assert result.returncode == 2, describe_run(result)
    assert result.stdout == "", describe_run(result)
    _one_error(result.stderr)
    assert target in result.stderr and "cannot write the templates" in result.stderr
    assert "-o" in result.stderr, "the fix should say how to choose another folder"


# --- config and version --------------------------------------------------------------


def test_config_json_prints_the_resolved_config(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(
        'name = "shown"\n[service]\ncpu = 512\nmemory = 2048\n', encoding="utf-8"
    )

    result = run_cli("config", "-c", "c.toml", "--json", cwd=tmp_path)

    assert result.returncode == 0, describe_run(result)
    assert result.stderr == "", describe_run(result)
    data = json.loads(result.stdout)
    assert data["name"] == "shown"
    assert (data["service"]["cpu"], data["service"]["memory"]) == (512, 2048)
    # Every default is filled in.
    assert data["network"]["cidr"] == "10.0.0.0/16"
    assert data["network"]["az_count"] == 2 and data["network"]["nat"] == "per-az"
    assert data["service"]["port"] == 80 and data["service"]["log_retention_days"] == 30
    assert data["load_balancer"]["ingress_cidrs"] == ["0.0.0.0/0"]
    assert data["autoscaling"] is None


def test_config_without_json_prints_tables(tmp_path: Path) -> None:
    result = run_cli("config", cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    assert "[network]" in result.stdout and "az_count = 2" in result.stdout, result.stdout


def test_version(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0, describe_run(result)
    assert result.stdout == f"fargate-api {version('fargate-api')}\n", describe_run(result)
    assert result.stderr == ""


def test_console_script_is_the_same_cli(tmp_path: Path) -> None:
    """The installed `fargate-api` entry point behaves like `python -m fargate_api`."""
    script = Path(sys.executable).with_name("fargate-api")
    assert script.is_file(), f"console script missing: {script}"
    result = subprocess.run(
        [str(script), "synth", "-c", "missing.toml"],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, describe_run(result)
    _one_error(result.stderr)


# --- template invariants -------------------------------------------------------------


def _config(variant: str) -> dict[str, Any]:
    return tomllib.loads(variant_config(variant).read_text(encoding="utf-8"))


def _ref(value: Any) -> str:
    assert isinstance(value, dict) and set(value) == {"Ref"}, f"expected a Ref, got {value!r}"
    return str(value["Ref"])


class Stack:
    """The templates of one synth run, with the lookups the invariants need: one [service]
    (service.yml holds the load balancer and the service) or [[services]] (load-balancer.yml
    holds the load balancer and the services' security groups, each service-<name>.yml a
    service)."""

    def __init__(self, out_dir: Path) -> None:
        self.vpc = load_template(out_dir / "vpc.yml")
        self.cluster = load_template(out_dir / "cluster.yml")
        self.parent = load_template(out_dir / "parent.yml")
        self.shared = (out_dir / "load-balancer.yml").is_file()
        self.balancer_stack = "LoadBalancerStack" if self.shared else "ServiceStack"
        locations = {
            logical_id: body["Properties"]["Location"]
            for logical_id, body in self.parent["Resources"].items()
        }
        self.balancer = load_template(out_dir / locations[self.balancer_stack])
        # Parent child id -> template, for every stack that runs an ECS service.
        self.services = {
            logical_id: load_template(out_dir / location)
            for logical_id, location in locations.items()
            if logical_id.startswith("Service") and logical_id.endswith("Stack")
        }
        assert self.services, f"no service stack in parent.yml: {sorted(locations)}"

    def wired(self, stack: str, parameter: str) -> tuple[str, str]:
        """(source stack, output) the parent passes as `stack`'s `parameter`."""
        value = self.parent["Resources"][stack]["Properties"]["Parameters"][parameter]
        source, attribute = value["Fn::GetAtt"]
        return source, attribute.removeprefix("Outputs.")

    def subnets_passed_as(self, parameter: str) -> list[str]:
        """Follows parent -> VpcStack output -> subnet resources for a parameter of the
        stacks that use it (the load balancer's for public subnets, the services' else)."""
        stacks = [self.balancer_stack] if parameter == "PublicSubnetIds" else list(self.services)
        sources = {self.wired(stack, parameter) for stack in stacks}
        assert len(sources) == 1, f"{parameter} comes from several outputs: {sources}"
        ((stack, output),) = sources
        assert stack == "VpcStack", (stack, output)
        value = self.vpc["Outputs"][output]["Value"]
        delimiter, refs = value["Fn::Join"]
        assert delimiter == ","
        subnets = [_ref(r) for r in refs]
        for subnet in subnets:
            assert self.vpc["Resources"][subnet]["Type"] == "AWS::EC2::Subnet", subnet
        return subnets

    def route_table_of(self, subnet: str) -> str:
        tables = [
            _ref(a["Properties"]["RouteTableId"])
            for a in resources_of_type(self.vpc, "AWS::EC2::SubnetRouteTableAssociation").values()
            if _ref(a["Properties"]["SubnetId"]) == subnet
        ]
        assert len(tables) == 1, f"{subnet} has {len(tables)} route table associations"
        return tables[0]

    def default_routes(self, subnet: str) -> list[Json]:
        table = self.route_table_of(subnet)
        return [
            r["Properties"]
            for r in resources_of_type(self.vpc, "AWS::EC2::Route").values()
            if _ref(r["Properties"]["RouteTableId"]) == table
            and r["Properties"].get("DestinationCidrBlock") == "0.0.0.0/0"
        ]

    def is_public(self, subnet: str) -> bool:
        igws = set(resources_of_type(self.vpc, "AWS::EC2::InternetGateway"))
        return any(
            "GatewayId" in route and _ref(route["GatewayId"]) in igws
            for route in self.default_routes(subnet)
        )

    def load_balancer(self) -> Json:
        balancers = resources_of_type(self.balancer, "AWS::ElasticLoadBalancingV2::LoadBalancer")
        assert len(balancers) == 1, balancers
        props: Json = next(iter(balancers.values()))["Properties"]
        return props

    def service_group(self, stack: str) -> tuple[Json, str]:
        """(template, logical id) of the security group of `stack`'s tasks: in its own
        template, or in the load balancer's, passed in by the parent."""
        service = self.services[stack]
        (group,) = ecs_service(service)["NetworkConfiguration"]["AwsvpcConfiguration"][
            "SecurityGroups"
        ]
        name = _ref(group)
        if name in service["Resources"]:
            return service, name
        source, output = self.wired(stack, name)
        assert source == self.balancer_stack, (stack, name, source)
        return self.balancer, _ref(self.balancer["Outputs"][output]["Value"])


def ecs_service(template: Json) -> Json:
    services = resources_of_type(template, "AWS::ECS::Service")
    assert len(services) == 1, services
    props: Json = next(iter(services.values()))["Properties"]
    return props


def _container(template: Json) -> Json:
    container: Json = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][
        0
    ]
    return container


VARIANT_PARAMS = pytest.mark.parametrize("variant", variant_names())


def test_default_invariants_hold(synthesized: SynthCache) -> None:
    """The defaults: two AZs, a NAT gateway per AZ, 30-day task logs."""
    stack = Stack(synthesized.get("default"))
    assert len(stack.subnets_passed_as("PrivateSubnetIds")) == 2
    assert len(resources_of_type(stack.vpc, "AWS::EC2::NatGateway")) == 2
    service = stack.services["ServiceStack"]
    log_group = _ref(_container(service)["LogConfiguration"]["Options"]["awslogs-group"])
    assert service["Resources"][log_group]["Properties"]["RetentionInDays"] == 30


@VARIANT_PARAMS
def test_tasks_run_in_private_subnets_without_public_ips(
    synthesized: SynthCache, variant: str
) -> None:
    stack = Stack(synthesized.get(variant))
    for service in stack.services.values():
        network = ecs_service(service)["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
        assert _ref(network["Subnets"]) == "PrivateSubnetIds"
    private = stack.subnets_passed_as("PrivateSubnetIds")
    assert private, "no private subnets"
    for subnet in private:
        assert not stack.is_public(subnet), f"task subnet {subnet} routes to the internet gateway"
        props = stack.vpc["Resources"][subnet]["Properties"]
        assert props["MapPublicIpOnLaunch"] is False, subnet


@VARIANT_PARAMS
def test_load_balancer_is_internet_facing_in_the_public_subnets(
    synthesized: SynthCache, variant: str
) -> None:
    stack = Stack(synthesized.get(variant))
    balancer = stack.load_balancer()
    assert balancer["Scheme"] == "internet-facing" and balancer["Type"] == "application"
    assert _ref(balancer["Subnets"]) == "PublicSubnetIds"
    public = stack.subnets_passed_as("PublicSubnetIds")
    private = stack.subnets_passed_as("PrivateSubnetIds")
    assert len(public) == len(private) >= 2, (public, private)
    assert not set(public) & set(private)
    for subnet in public:
        assert stack.is_public(subnet), f"load balancer subnet {subnet} has no route to the IGW"
    zones = [stack.vpc["Resources"][s]["Properties"]["AvailabilityZone"] for s in public]
    assert len({json.dumps(z, sort_keys=True) for z in zones}) == len(public), "AZs repeat"


def _allowed_sources(variant: str, stack: Stack) -> dict[str, set[str]]:
    """Service stack -> the security groups that may reach its tasks besides the load
    balancer's: those of the services its allow_from names ([[services]] only)."""
    services = {svc["name"]: svc for svc in _config(variant).get("services", [])}
    allowed: dict[str, set[str]] = {stack_id: set() for stack_id in stack.services}
    for name, svc in services.items():
        own = "Service" + "".join(p[:1].upper() + p[1:] for p in name.split("-")) + "Stack"
        for source in svc.get("allow_from", []):
            other = "Service" + "".join(p[:1].upper() + p[1:] for p in source.split("-"))
            allowed[own].add(stack.service_group(f"{other}Stack")[1])
    return allowed


@VARIANT_PARAMS
def test_service_accepts_only_the_load_balancer_on_the_container_port(
    synthesized: SynthCache, variant: str
) -> None:
    """...and, with [[services]], the services its allow_from names: no other service."""
    stack = Stack(synthesized.get(variant))
    alb_groups = {_ref(g) for g in stack.load_balancer()["SecurityGroups"]}
    assert alb_groups
    allowed = _allowed_sources(variant, stack)
    for stack_id, service in stack.services.items():
        template, group = stack.service_group(stack_id)
        props = template["Resources"][group]["Properties"]
        assert not props.get("SecurityGroupIngress"), f"{group} has inline ingress rules"
        port_parameter = service["Parameters"]["ContainerPort"]
        container_port = (
            {"Ref": "ContainerPort"} if template is service else port_parameter["Default"]
        )
        rules = [
            r["Properties"]
            for r in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
            if _ref(r["Properties"]["GroupId"]) == group
        ]
        assert rules, f"nothing may reach {group}"
        sources = set()
        for rule in rules:
            assert rule["IpProtocol"] == "tcp", rule
            assert rule["FromPort"] == rule["ToPort"] == container_port, rule
            sources.add(_ref(rule["SourceSecurityGroupId"]))
            peers = {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule)
            assert not peers, f"ingress to the tasks from {peers}: {rule}"
        assert sources & alb_groups, f"the load balancer cannot reach {group}"
        assert sources - alb_groups == allowed[stack_id], (
            f"{group} admits {sorted(sources - alb_groups)} besides the load balancer; "
            f"allow_from names {sorted(allowed[stack_id])}"
        )
        assert _ref(_container(service)["PortMappings"][0]["ContainerPort"]) == "ContainerPort"


@VARIANT_PARAMS
def test_private_routes_use_nat_and_public_routes_use_the_igw(
    synthesized: SynthCache, variant: str
) -> None:

    stack = Stack(synthesized.get(variant))
    nat_mode = _config(variant).get("network", {}).get("nat", "per-az")
    public = stack.subnets_passed_as("PublicSubnetIds")
    nat_gateways = resources_of_type(stack.vpc, "AWS::EC2::NatGateway")

    for subnet in public:
        routes = stack.default_routes(subnet)
        assert len(routes) == 1 and "GatewayId" in routes[0], (subnet, routes)
    used: set[str] = set()
    for subnet in stack.subnets_passed_as("PrivateSubnetIds"):
        routes = stack.default_routes(subnet)
        if nat_mode == "none":
            assert routes == [], f"{subnet}: nat = 'none' but a default route exists: {routes}"
            continue
        assert len(routes) == 1, (subnet, routes)
        assert set(routes[0]) == {"RouteTableId", "DestinationCidrBlock", "NatGatewayId"}
        nat = _ref(routes[0]["NatGatewayId"])
        assert nat in nat_gateways, nat
        assert _ref(nat_gateways[nat]["Properties"]["SubnetId"]) in public, nat
        used.add(nat)
        if nat_mode == "per-az":
            nat_zone = stack.vpc["Resources"][_ref(nat_gateways[nat]["Properties"]["SubnetId"])]
            own_zone = stack.vpc["Resources"][subnet]
            assert (
                nat_zone["Properties"]["AvailabilityZone"]
                == own_zone["Properties"]["AvailabilityZone"]
            ), f"{subnet} egresses through {nat} in another AZ"
    expected_nats = {"per-az": len(public), "single": 1, "none": 0}[nat_mode]
    assert len(nat_gateways) == len(used) == expected_nats, (nat_mode, sorted(nat_gateways))


@VARIANT_PARAMS
def test_circuit_breaker_on_and_every_log_group_expires(
    synthesized: SynthCache, variant: str
) -> None:
    stack = Stack(synthesized.get(variant))
    for stack_id, service in stack.services.items():
        deployment = ecs_service(service)["DeploymentConfiguration"]
        assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        for name, template in (("vpc", stack.vpc), (stack_id, service)):
            groups = resources_of_type(template, "AWS::Logs::LogGroup")
            assert groups, f"{name} has no log group"
            for logical_id, body in groups.items():
                retention = body.get("Properties", {}).get("RetentionInDays")
                assert isinstance(retention, int) and retention > 0, (
                    f"{name}:{logical_id} never expires"
                )
        container = _container(service)
        options = container["LogConfiguration"]["Options"]
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert _ref(options["awslogs-group"]) in resources_of_type(service, "AWS::Logs::LogGroup")
