"""The twin on template sets other people published (tests/corpus): served or refused.

Each set's expect.toml says what `local up` must do with it. A set that is served must
answer a GET from the twin's internet host, through every internet-facing load balancer
it creates, with the expected status, from one of the service's tasks (process mode: the
tasks run the flaky test server, which names the task that answered); its internal load
balancers must not be reachable from the internet at all; and the plan must list the
notices the set expects (resources the twin does not build, or builds differently). A
set that cannot be run must be refused as bad input (exit 2) with the expected reason and
a fix, never a traceback, and leave nothing behind.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from corpus_support import CorpusSet, corpus_sets
from twin.twin_support import FLAKY_SERVER, cli, in_netns, twin_status

SETS = corpus_sets()
TIME_SCALE = 0.1
REQUESTS_PER_ADDRESS = 4
CURL_TIMEOUT = "3"


def _every_image_runs_the_flaky_server(fail_dir: Path) -> str:
    """`--run` for process mode: whatever image a set names (nginx, an ECR placeholder),
    its tasks run the test server, which answers 200 on every path with its task id."""
    command = (
        f"FLAKY_FAIL_DIR={shlex.quote(str(fail_dir))} {shlex.quote(sys.executable)} "
        f"{shlex.quote(str(FLAKY_SERVER))} {{port}}"
    )
    return f"*={command}"


def _up_args(corpus_set: CorpusSet, name: str, fail_dir: Path) -> list[str]:
    args = ["local", "up"]
    for stack in corpus_set.cli_stacks():
        args += ["-t", stack]
    return [
        *args,
        "--name", name,
        "--runtime", "process",
        "--run", _every_image_runs_the_flaky_server(fail_dir),
        "--time-scale", str(TIME_SCALE),
    ]  # fmt: skip


def _get(internet: str, url: str) -> tuple[int, str, str]:
    """(curl exit code, HTTP status, body) of a GET from the twin's internet host."""
    proc = in_netns(
        internet, "curl", "-s", "--noproxy", "*", "-m", CURL_TIMEOUT,
        "--connect-timeout", CURL_TIMEOUT, "-w", "\n%{http_code}", url,
    )  # fmt: skip
    body, _, status = proc.stdout.rpartition("\n")
    return proc.returncode, status, body


def _notice_lines(status: dict[str, Any]) -> list[str]:
    return [f"{n['resource']} ({n['type']}): {n['reason']}" for n in status["notices"]]


@pytest.mark.parametrize("corpus_set", SETS, ids=[s.name for s in SETS])
def test_local_up_serves_or_refuses_the_set_as_expected(
    corpus_set: CorpusSet, twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, prefix = twin_name
    fail_dir = tmp_path / f"{prefix}fail"
    fail_dir.mkdir()
    up = cli(*_up_args(corpus_set, name, fail_dir), check=False)
    assert "Traceback" not in up.stderr, up.stderr
    expected = corpus_set.twin
    if expected.outcome == "refused":
        assert up.returncode == 2, f"exit {up.returncode}\n{up.stdout}\n{up.stderr}"
        assert expected.reason in up.stderr, up.stderr
        assert "fix:" in up.stderr, up.stderr
        return
    assert up.returncode == 0, f"exit {up.returncode}\n{up.stdout}\n{up.stderr}"
    status = twin_status(name)
    notices = _notice_lines(status)
    for notice in expected.notices:
        assert any(notice in line for line in notices), (notice, notices)
    task_ids = {t["id"] for t in status["tasks"]}
    assert task_ids, status["tasks"]
    internet = f"{prefix}inet"
    facing = [lb for lb in status["load_balancers"] if not lb["internal"]]
    assert facing and all(lb["public_ips"] for lb in facing), status["load_balancers"]
    for lb in facing:
        for ip in lb["public_ips"]:
            for _ in range(REQUESTS_PER_ADDRESS):
                code, http_status, body = _get(internet, f"http://{ip}{expected.path}")
                assert code == 0, (ip, code, body)
                assert http_status == str(expected.status), (ip, http_status, body)
                if expected.status == 200:
                    assert json.loads(body)["task"] in task_ids, body
    for lb in status["load_balancers"]:
        if not lb["internal"]:
            continue
        for ip in lb["private_ips"]:
            code, http_status, _ = _get(internet, f"http://{ip}/")
            assert code != 0, f"the internet reached internal load balancer {ip} ({http_status})"


def test_local_up_names_a_missing_export_and_builds_nothing(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    # The published pair, with the networking stack under another name than the one the
    # service stack imports from ("production"): refused before anything is built.
    (pair,) = [s for s in SETS if len(s.stacks) > 1 and "nathanpeck" in s.name]
    stacks = [f"other={stack.split('=', 1)[1]}" if stack.startswith("production=") else stack
              for stack in pair.cli_stacks()]  # fmt: skip
    name, _ = twin_name
    args = ["local", "up", *(a for s in stacks for a in ("-t", s)), "--name", name]
    up = cli(*args, "--runtime", "process", check=False)
    assert up.returncode == 2, f"exit {up.returncode}\n{up.stderr}"
    assert "Traceback" not in up.stderr
    assert "Fn::ImportValue 'production:" in up.stderr, up.stderr
    assert "none of the given stacks exports it" in up.stderr
    assert "private-subnet-public-loadbalancer.yml:" in up.stderr  # file:line of the import
    assert "Exported: " in up.stderr and "other:ClusterName" in up.stderr  # what there is
