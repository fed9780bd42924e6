"""Several services ([[services]]) on moto: NAME-vpc, NAME-cluster, NAME-load-balancer and
one NAME-service-<name> stack each, deployed from the real synthesized templates.

A change to one service must change only that service's stack, with a full `deploy` and
with `deploy --service NAME`; the other stacks must see no executed change set. moto 5
sets no LastUpdatedTime and lists every change set under every stack, so "touched" is
read from each stack's own events (an executed update adds a stack-level
UPDATE_IN_PROGRESS event) and from ECS (the desired counts the services now have).
"""

from __future__ import annotations

import time
from pathlib import Path

from functional.aws.cli import Run, run_cli
from functional.aws.conftest import moto_client

CONFIG = """
name = "{name}"

[[services]]
name = "api"
paths = ["/api/*"]
desired_count = {api}

[[services]]
name = "web"
port = 8080
paths = ["/*"]
desired_count = {web}
"""
ROLES = ("vpc", "cluster", "load-balancer", "service-api", "service-web")


def _config(folder: Path, file: str, name: str, *, api: int = 2, web: int = 2) -> str:
    (folder / file).write_text(CONFIG.format(name=name, api=api, web=web), encoding="utf-8")
    return file


def _updates(url: str, stack: str) -> int:
    """How many updates were executed on the stack (its stack-level UPDATE events)."""
    events = moto_client(url, "cloudformation").describe_stack_events(StackName=stack)
    return sum(
        1
        for e in events["StackEvents"]
        if e["LogicalResourceId"] == stack and e["ResourceStatus"] == "UPDATE_IN_PROGRESS"
    )


def _desired(url: str, cluster: str) -> dict[str, int]:
    ecs = moto_client(url, "ecs")
    found = ecs.describe_services(cluster=cluster, services=["api", "web"])["services"]
    return {s["serviceName"]: s["desiredCount"] for s in found}


def _deploy(url: str, folder: Path, config: str, *extra: str) -> Run:
    run = run_cli(folder, "deploy", "-c", config, "--yes", "--json", *extra, endpoint=url)
    assert run.code == 0, run.explain()
    return run


def test_a_change_to_one_service_touches_only_its_stack(moto_url: str, tmp_path: Path) -> None:
    name = "multi-svc"
    first = _deploy(moto_url, tmp_path, _config(tmp_path, "a.toml", name)).json()
    assert [s["name"] for s in first["stacks"]] == [f"{name}-{r}" for r in ROLES]
    assert [s["result"] for s in first["stacks"]] == ["created"] * 5
    assert first["url"].startswith("http://") and len(first["egress_ips"]) == 2
    assert first["service"] is None and first["log_group"] is None  # two services
    cluster = first["cluster"]
    assert _desired(moto_url, cluster) == {"api": 2, "web": 2}

    # A full deploy of a config where only web's desired count changed.
    second = _deploy(moto_url, tmp_path, _config(tmp_path, "b.toml", name, web=3)).json()
    results = {s["role"]: s["result"] for s in second["stacks"]}
    assert results == {
        "vpc": "no changes",
        "cluster": "no changes",
        "load-balancer": "no changes",
        "service-api": "no changes",
        "service-web": "updated",
    }
    assert {c["logical_id"] for c in second["stacks"][4]["changes"]} == {"Service"}
    assert {r: _updates(moto_url, f"{name}-{r}") for r in ROLES} == {
        "vpc": 0,
        "cluster": 0,
        "load-balancer": 0,
        "service-api": 0,
        "service-web": 1,
    }
    assert _desired(moto_url, cluster) == {"api": 2, "web": 3}

    # deploy --service api: only NAME-service-api is deployed; the stacks it reads are read.
    third_config = _config(tmp_path, "c.toml", name, api=4, web=3)
    third = _deploy(moto_url, tmp_path, third_config, "--service", "api")
    data = third.json()
    assert [(s["name"], s["result"]) for s in data["stacks"]] == [
        (f"{name}-service-api", "updated")
    ]
    assert data["url"] == first["url"] and data["egress_ips"] == first["egress_ips"]
    assert data["service"] == "api"
    assert "(only service-api)" in third.stderr
    assert {r: _updates(moto_url, f"{name}-{r}") for r in ROLES} == {
        "vpc": 0,
        "cluster": 0,
        "load-balancer": 0,
        "service-api": 1,
        "service-web": 1,
    }
    assert _desired(moto_url, cluster) == {"api": 4, "web": 3}

    # Nothing left to do: the same config deploys as "no changes" everywhere.
    again = _deploy(moto_url, tmp_path, third_config).json()
    assert again["changed"] is False

    status = run_cli(tmp_path, "status", "-c", third_config, "--json", endpoint=moto_url)
    assert status.code == 0, status.explain()
    services = status.json()["services"]
    assert [(s["name"], s["stack"], s["stack_status"]) for s in services] == [
        ("api", f"{name}-service-api", "UPDATE_COMPLETE"),
        ("web", f"{name}-service-web", "UPDATE_COMPLETE"),
    ]
    assert [s["service_state"]["desired"] for s in services] == [4, 3]
    assert all(s["service_arn"] and s["log_group"] for s in services)
    text = run_cli(tmp_path, "status", "-c", third_config, endpoint=moto_url)
    assert text.code == 0, text.explain()
    assert f"service web ({name}-service-web, UPDATE_COMPLETE):" in text.stdout
    assert "  tasks: 3 running / 3 desired" in text.stdout  # moto runs what is desired

    needs = run_cli(tmp_path, "logs", "-c", third_config, endpoint=moto_url)
    assert needs.code == 2 and "pass --service NAME, one of: api, web" in needs.stderr
    group = services[1]["log_group"]
    logs = moto_client(moto_url, "logs")
    logs.create_log_stream(logGroupName=group, logStreamName="web/web/task1")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="web/web/task1",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "GET / 200"}],
    )
    printed = run_cli(
        tmp_path, "logs", "-c", third_config, "--service", "web", "--since", "1h", endpoint=moto_url
    )
    assert printed.code == 0, printed.explain()
    assert "web/web/task1 GET / 200" in printed.stdout

    gone = run_cli(tmp_path, "destroy", "-c", third_config, "--yes", "--json", endpoint=moto_url)
    assert gone.code == 0, gone.explain()
    assert gone.json()["deleted"] == [f"{name}-{r}" for r in reversed(ROLES)]


def test_deploy_service_before_the_shared_stacks_exist_exits_2(
    moto_url: str, tmp_path: Path
) -> None:
    name = "multi-first"
    config = _config(tmp_path, "a.toml", name)
    run = run_cli(tmp_path, "deploy", "-c", config, "--yes", "--service", "web", endpoint=moto_url)
    assert run.code == 2, run.explain()
    assert f"reads the outputs of {name}-vpc, which does not exist" in run.stderr
    assert "deploy everything first: fargate-api deploy" in run.stderr
    stacks = moto_client(moto_url, "cloudformation").list_stacks()["StackSummaries"]
    assert [s["StackName"] for s in stacks if s["StackName"].startswith(name)] == []
    unknown = run_cli(tmp_path, "deploy", "-c", config, "--service", "admin", endpoint=moto_url)
    assert unknown.code == 2 and "pass one of: api, web" in unknown.stderr
