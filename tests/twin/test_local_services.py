"""Several services behind one ALB in the twin: routing by the listener rules, each
service's security group, and changes to one service that leave the other alone.

The templates come from `[[services]]` configs: `tests/variants/services.toml` (api on
/api/*, web on every other path, web reachable from api's tasks through `allow_from`)
and, for host routing, a config of the test's own. Every task runs
apps/service_server.py in process mode, which answers with its service and task, so a
probe from the internet host (apps/route_probe.py) can tell who served each request.
Process mode: the point is the load balancer and the network, not the container runtime.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from twin.twin_support import REPO, cli, in_netns, twin_status

APPS = Path(__file__).resolve().parent / "apps"
SERVER = APPS / "service_server.py"
PROBE = APPS / "route_probe.py"
VARIANT = REPO / "tests/variants/services.toml"
SCALE = "0.05"  # a minute of ECS time is 3 s here
RUN = (
    "--runtime", "process",
    "--run", f"*={shlex.quote(sys.executable)} {shlex.quote(str(SERVER))} {{port}}",
)  # fmt: skip
ALLOW_FROM_API = 'allow_from = ["api"]'
# api scales on requests per target, which a probe's load would trip (to 8 tasks): the
# deployment test keeps api on its CPU target alone, which the twin does not run.
REQUEST_SCALING = "requests_per_target = 500"
DENIED = 28  # curl: timed out (a security group drops, it does not refuse)


def _up(name: str, config: Path) -> dict[str, Any]:
    cli("local", "up", "-c", str(config), "--name", name, "--time-scale", SCALE, *RUN)
    return twin_status(name)


def _variant(tmp_path: Path, file_name: str = "services.toml", **replace: str) -> Path:
    text = VARIANT.read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / file_name
    path.write_text(text)
    return path


def _tasks(status: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Running tasks by service name (api, web)."""
    names = {service["key"]: service["name"] for service in status["services"]}
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in names.values()}
    for task in status["tasks_detail"]:
        if task["last_status"] == "RUNNING":
            found[names[task["service"]]].append(task)
    return found


def _pids(prefix: str, task_id: str) -> set[int]:
    out = subprocess.run(
        ["ip", "netns", "pids", f"{prefix}t-{task_id}"], capture_output=True, text=True, check=True
    ).stdout
    return {int(pid) for pid in out.split()}


def _probe(prefix: str, seconds: float, out: Path, *routes: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", f"{prefix}inet", sys.executable, str(PROBE), str(seconds),
         str(out), *routes],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _answers(probe: subprocess.Popen[str], out: Path) -> list[tuple[int, int, str, str]]:
    output, _ = probe.communicate(timeout=120)
    assert probe.returncode == 0, output
    return [tuple(json.loads(line)) for line in out.read_text().splitlines()]  # type: ignore[misc]


def _curl_from(prefix: str, task: dict[str, Any], ip: str, port: int) -> tuple[int, str]:
    """(curl's exit code, the service that answered) of a GET from a task's namespace."""
    proc = in_netns(
        f"{prefix}t-{task['id']}",
        "curl", "-s", "--noproxy", "*", "-m", "1", f"http://{ip}:{port}/",
    )  # fmt: skip
    service = json.loads(proc.stdout)["service"] if proc.returncode == 0 else ""
    return proc.returncode, service


# ---------------------------------------------------------------- (a) routing

ROUTES = """
name = "routes"

[[services]]
name = "api"
paths = ["/api/*"]
desired_count = 2

[[services]]
name = "web"
hosts = ["www.example.com"]
desired_count = 2
"""


def test_path_and_host_rules_route_every_request_to_its_service_under_load(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """api's rule (priority 10) takes /api/* on any host, web's (20) the host
    www.example.com (any case, with or without the port); everything else gets the
    listener's default fixed response, 404. Six routes under steady keep-alive load:
    every answer from the service the rules name, none failed, both tasks of each used."""
    name, prefix = twin_name
    config = tmp_path / "routes.toml"
    config.write_text(ROUTES)
    status = _up(name, config)
    ip = status["load_balancer"]["public_ips"][0]
    routes = {
        f"http://{ip}/api/orders": "api",
        f"http://{ip}/@www.example.com": "web",
        f"http://{ip}/api/cart@www.example.com": "api",  # the lower priority number wins
        f"http://{ip}/shop@WWW.Example.COM:80": "web",
        f"http://{ip}/@other.example.com": "404",
        f"http://{ip}/apiary": "404",  # /api/* does not match /apiary
    }
    out = tmp_path / "answers.jsonl"
    answers = _answers(_probe(prefix, 4, out, *routes), out)
    expected = list(routes.values())
    served = Counter(expected[index] for index, *_ in answers)
    assert all(served[route] >= 20 for route in expected), served  # every route under load
    wrong = [
        (list(routes)[index], status_code, service)
        for index, status_code, service, _ in answers
        if (status_code, service)
        != ((404, "") if expected[index] == "404" else (200, expected[index]))
    ]
    assert not wrong, wrong[:5]  # zero failures, zero misrouted
    tasks = _tasks(status)
    for service in ("api", "web"):
        answering = {task for index, _, got, task in answers if got == service}
        assert answering == {t["id"] for t in tasks[service]}, service  # both targets used


# ---------------------------------------------------------------- (b) security groups


def test_allow_from_opens_one_services_port_to_the_other_and_nothing_else(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """services.toml: web allows api. From api's task web's port answers; from web's
    task api's port stays closed (api allows nobody), as does a task of the same service
    (a group does not admit its own members unless it says so)."""
    name, prefix = twin_name
    tasks = _tasks(_up(name, _variant(tmp_path)))
    api, web = tasks["api"], tasks["web"]
    assert _curl_from(prefix, api[0], web[0]["private_ip"], 8080) == (0, "web")
    assert _curl_from(prefix, api[1], web[1]["private_ip"], 8080) == (0, "web")
    assert _curl_from(prefix, web[0], api[0]["private_ip"], 80) == (DENIED, "")
    assert _curl_from(prefix, api[0], api[1]["private_ip"], 80) == (DENIED, "")
    assert _curl_from(prefix, web[0], web[1]["private_ip"], 8080) == (DENIED, "")
    # The load balancer reaches both (its own group's egress, each service's ingress).
    ip = twin_status(name)["load_balancer"]["public_ips"][0]
    for path, service in (("/api/x", "api"), ("/", "web")):
        proc = in_netns(f"{prefix}inet", "curl", "-s", "-m", "3", f"http://{ip}{path}")
        assert json.loads(proc.stdout)["service"] == service


def test_without_allow_from_no_service_reaches_another(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """The default: the same two services without `allow_from`, and api's tasks can no
    longer reach web's port; the ALB still can."""
    name, prefix = twin_name
    status = _up(name, _variant(tmp_path, **{ALLOW_FROM_API: ""}))
    tasks = _tasks(status)
    api, web = tasks["api"], tasks["web"]
    assert _curl_from(prefix, api[0], web[0]["private_ip"], 8080) == (DENIED, "")
    assert _curl_from(prefix, web[0], api[0]["private_ip"], 80) == (DENIED, "")
    ip = status["load_balancer"]["public_ips"][0]
    proc = in_netns(f"{prefix}inet", "curl", "-s", "-m", "3", f"http://{ip}/")
    assert json.loads(proc.stdout)["service"] == "web"


# ---------------------------------------------------------------- (d) one service at a time


def test_deploying_or_scaling_one_service_leaves_the_others_tasks_alone(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """A new revision of web (its environment changed) rolls web's tasks while api's keep
    their ids and processes and answer every request; `--service api` deploys api alone
    although web changed too; `local scale --service web` adds a web task only."""
    name, prefix = twin_name
    before = _tasks(_up(name, _variant(tmp_path, **{REQUEST_SCALING: ""})))
    api_ids = {t["id"] for t in before["api"]}
    api_pids = {task: _pids(prefix, task) for task in api_ids}
    assert all(api_pids.values())
    web_ids = {t["id"] for t in before["web"]}
    ip = twin_status(name)["load_balancer"]["public_ips"][0]

    web_v2 = _variant(tmp_path, "v2.toml", **{
        REQUEST_SCALING: "",
        ALLOW_FROM_API: ALLOW_FROM_API + '\nenvironment = { RELEASE = "v2" }',
    })  # fmt: skip
    out = tmp_path / "during.jsonl"
    probe = _probe(prefix, 60, out, f"http://{ip}/api/x")
    try:
        deploy = cli("local", "deploy", "-c", str(web_v2), "--name", name)
    finally:
        probe.terminate()
    answers = _answers(probe, out)
    assert "ServiceWebStack/Service: deploying revision 2" in deploy.stderr, deploy.stderr
    assert "ServiceApiStack" not in deploy.stderr
    assert answers and {(code, service) for _, code, service, _ in answers} == {(200, "api")}
    after = _tasks(twin_status(name))
    assert {t["id"] for t in after["api"]} == api_ids
    assert {task: _pids(prefix, task) for task in api_ids} == api_pids
    assert {t["revision"] for t in after["api"]} == {1}
    assert not web_ids & {t["id"] for t in after["web"]}
    assert {t["revision"] for t in after["web"]} == {2}

    # Both changed, only api deployed: web keeps revision 2 and its tasks.
    both = _variant(tmp_path, "v3.toml", **{
        REQUEST_SCALING: "",
        ALLOW_FROM_API: ALLOW_FROM_API + '\nenvironment = { RELEASE = "v3" }',
        "desired_count = 2": 'desired_count = 2\nenvironment = { RELEASE = "v3" }',
    })  # fmt: skip
    web_now = {t["id"] for t in after["web"]}
    only_api = cli("local", "deploy", "-c", str(both), "--name", name, "--service", "api")
    assert "ServiceApiStack/Service: deploying revision 2" in only_api.stderr, only_api.stderr
    assert "ServiceWebStack" not in only_api.stderr
    final = _tasks(twin_status(name))
    assert {t["revision"] for t in final["api"]} == {2}
    assert not api_ids & {t["id"] for t in final["api"]}
    assert {t["id"] for t in final["web"]} == web_now

    scaled_api = {t["id"] for t in final["api"]}
    cli("local", "scale", "3", "--service", "web", "--name", name)
    scaled = _tasks(twin_status(name))
    assert len(scaled["web"]) == 3 and web_now < {t["id"] for t in scaled["web"]}
    assert {t["id"] for t in scaled["api"]} == scaled_api

    unknown = cli("local", "deploy", "-c", str(both), "--name", name, "--service", "nope",
                  check=False)  # fmt: skip
    assert unknown.returncode == 2 and "no service named 'nope'" in unknown.stderr
